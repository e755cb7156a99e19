// Diff: two images of this archive, or an image of this archive against one of a second
// archive dropped here. Files, config and history differences, and shared layers.
import { h, clear, humanSize, shortId, platformOf } from '../util.js';

export function renderDiff(ctx) {
  const { report, index, state } = ctx;
  const label = (image) => `${image.repo_tags[0] || '<none>'} · ${shortId(image.id)}${new Set(report.images.map(platformOf)).size > 1 ? ` · ${platformOf(image)}` : ''}`;
  const result = h('div', { class: 'diff-result', id: 'diff-result', 'aria-live': 'polite' });
  const selectA = h('select', { id: 'diff-a', 'aria-label': 'Old image (A)' },
    report.images.map((i) => h('option', { value: String(i.index), selected: i.index === index ? true : undefined }, label(i))));
  const selectB = h('select', { id: 'diff-b', 'aria-label': 'New image (B)' });
  // The second archive the "1:…" options name (another one may be open by the time
  // Compare is pressed: then they no longer mean anything).
  let second = null;
  const fillB = () => {
    const keep = selectB.value;
    clear(selectB);
    second = state.second;
    for (const i of report.images) selectB.append(h('option', { value: `0:${i.index}` }, label(i)));
    if (second) {
      for (const i of second.report.images) {
        selectB.append(h('option', { value: `1:${i.index}` }, `${second.file.name}: ${label(i)}`));
      }
    }
    const other = report.images.find((i) => i.index !== index);
    selectB.value = keep || (second ? '1:0' : `0:${other ? other.index : index}`);
  };
  fillB();
  const run = async () => {
    const [source, b] = selectB.value.split(':').map(Number);
    const a = Number(selectA.value);
    // Never compare against this archive in place of a second one that is gone.
    if (source === 1 && (!second || second !== state.second)) {
      clear(result).append(h('p', { class: 'inline-error' }, 'The second archive is no longer open: choose it again to compare with it.'));
      return;
    }
    clear(result).append(h('p', { class: 'muted' }, 'Comparing…'));
    try {
      const args = { image: a, otherImage: b };
      if (source === 1) args.otherHandle = second.handle;
      const diff = await ctx.core('diff', args);
      clear(result).append(renderResult(diff));
    } catch (error) {
      clear(result).append(h('p', { class: 'inline-error' }, `Could not compare: ${error.message}`));
    }
  };
  const fileInput = h('input', { type: 'file', id: 'diff-file', class: 'visually-hidden' });
  const secondStatus = h('span', { class: 'muted' });
  const openSecond = async (file) => {
    secondStatus.textContent = `Opening ${file.name}…`;
    try {
      await ctx.openSecond(file);
      secondStatus.textContent = `${file.name}: ${state.second.report.images.length} image(s)`;
      selectB.value = '';
      fillB();
      selectB.value = '1:0';
      run();
    } catch (error) {
      secondStatus.textContent = `${file.name} could not be opened: ${error.message}`;
    }
  };
  fileInput.addEventListener('change', () => {
    const file = fileInput.files[0];
    fileInput.value = '';
    if (file) openSecond(file);
  });
  const zone = h('div', { class: 'second-drop', 'data-second-drop': '' },
    'Compare with another archive: drop it here or ',
    h('label', { for: 'diff-file', class: 'button small secondary' }, 'choose a file…'), fileInput, ' ', secondStatus);
  zone.addEventListener('second-file', (event) => openSecond(event.detail));
  selectA.addEventListener('change', run);
  selectB.addEventListener('change', run);
  const root = h('div', { class: 'diff' },
    h('div', { class: 'toolbar' },
      h('label', { for: 'diff-a' }, 'A (old) '), selectA,
      h('span', { class: 'arrow', 'aria-hidden': 'true' }, '→'),
      h('label', { for: 'diff-b' }, 'B (new) '), selectB,
      h('button', { type: 'button', id: 'diff-run', onclick: run }, 'Compare')),
    zone, result);
  if (report.images.length > 1 || state.second) run();
  else result.append(h('p', { class: 'muted' }, 'This archive holds one image. Drop a second archive above to compare against it.'));
  return root;
}

function renderResult(diff) {
  const files = diff.files || [];
  const sum = diff.summary || {};
  const shared = diff.shared_layers || [];
  const summary = h('p', { class: 'diff-summary' },
    h('span', { class: 'chg added' }, `+${sum.added ?? 0} added`),
    h('span', { class: 'chg deleted' }, `−${sum.removed ?? 0} removed`),
    h('span', { class: 'chg modified' }, `~${sum.changed ?? 0} changed`),
    h('span', { class: 'muted' }, diff.same_image
      ? 'These are the same image (same ID).'
      : `${shared.length} shared layer${shared.length === 1 ? '' : 's'}${diff.shared_base_layers ? `, the bottom ${diff.shared_base_layers} in common (a shared base)` : ''}`));
  const sizeOf = (info) => (info ? (info.kind === 'dir' ? 'dir' : humanSize(info.size)) : '');
  const fileTable = files.length
    ? h('table', { class: 'data diff-files', 'aria-label': 'Changed files' },
      h('thead', null, h('tr', null, [
        h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Change')),
        ...['PATH', 'WHAT CHANGED', 'A', 'B'].map((c) => h('th', { scope: 'col' }, c)),
      ])),
      h('tbody', null, files.map((f) => h('tr', { class: `diff-${f.change}` },
        h('td', null, h('span', { class: `chg ${f.change === 'removed' ? 'deleted' : f.change === 'changed' ? 'modified' : 'added'}`, title: f.change }, { added: '+', removed: '−', changed: '~' }[f.change] || '?')),
        h('td', { class: 'mono wrap' }, `/${f.path}`),
        h('td', null, f.change === 'changed' ? (f.fields || []).join(', ') + (f.content_unknown ? ' (content not compared yet)' : '') : f.change),
        h('td', { class: 'num' }, sizeOf(f.before)),
        h('td', { class: 'num' }, sizeOf(f.after))))))
    : h('p', { class: 'muted' }, 'No file differs.');
  const config = diff.config || [];
  const configTable = config.length
    ? h('table', { class: 'data', 'aria-label': 'Config changes' },
      h('thead', null, h('tr', null, ['SETTING', 'A', 'B'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', null, config.map((c) => h('tr', null,
        h('th', { scope: 'row', class: 'mono' }, c.field),
        h('td', { class: 'mono wrap diff-old' }, show(c.before)),
        h('td', { class: 'mono wrap diff-new' }, show(c.after))))))
    : h('p', { class: 'muted' }, 'The configuration is the same.');
  const hist = diff.history || [];
  const historyList = hist.length
    ? h('ul', { class: 'plain mono diff-history' },
      diff.history_common_prefix ? h('li', { class: 'muted' }, `  (${diff.history_common_prefix} steps in common first)`) : null,
      hist.map((line) => h('li', { class: line.change === 'removed' ? 'diff-old' : 'diff-new' },
        `${line.change === 'removed' ? '− ' : '+ '}${line.created_by || ''}${line.empty_layer ? '  (no layer)' : ''}`)))
    : h('p', { class: 'muted' }, 'The history is the same.');
  const layersList = shared.length
    ? h('ul', { class: 'plain mono' }, shared.map((l) => h('li', null, `A layer ${l.index_a} = B layer ${l.index_b}  ${shortId(l.diff_id)}  ${humanSize(l.size)}`)))
    : h('p', { class: 'muted' }, 'No layer is shared.');
  return h('div', null, summary,
    h('section', { class: 'card' }, h('h3', null, `Files (${(diff.files_total ?? files.length).toLocaleString('en-US')})`),
      diff.files_truncated ? h('p', { class: 'muted' }, `Showing the first ${files.length.toLocaleString('en-US')}.`) : null, fileTable),
    h('section', { class: 'card' }, h('h3', null, 'Config'), configTable),
    h('section', { class: 'card' }, h('h3', null, 'History'), historyList),
    h('section', { class: 'card' }, h('h3', null, 'Shared layers'), layersList));
}

function show(value) {
  if (value === null || value === undefined) return '—';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

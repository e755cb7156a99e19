// Diff: two images of this archive, or an image of this archive against one of a second
// archive dropped here. Files, config and history differences, and shared layers.
import { h, clear, shortId, platformOf, errorReason } from '../util.js';
import { t, tNode, tCount, formatSize, formatNumber } from '../i18n.js';

export function renderDiff(ctx) {
  const { report, index, state } = ctx;
  const label = (image) => `${image.repo_tags[0] || '<none>'} · ${shortId(image.id)}${new Set(report.images.map(platformOf)).size > 1 ? ` · ${platformOf(image)}` : ''}`;
  const result = h('div', { class: 'diff-result', id: 'diff-result', 'aria-live': 'polite' });
  // What the result area shows, as a function of the language of the moment (drawn again
  // after a switch, without comparing again).
  let shown = null;
  const showResult = (draw) => {
    shown = draw;
    clear(result).append(draw());
  };
  // Image names are archive data: the selects are not translated.
  const selectA = h('select', { id: 'diff-a', translate: 'no' },
    report.images.map((i) => h('option', { value: String(i.index), selected: i.index === index ? true : undefined }, label(i))));
  const selectB = h('select', { id: 'diff-b', translate: 'no' });
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
      showResult(() => h('p', { class: 'inline-error' }, t('diff.second_gone')));
      return;
    }
    showResult(() => h('p', { class: 'muted' }, t('diff.comparing')));
    try {
      const args = { image: a, otherImage: b };
      if (source === 1) args.otherHandle = second.handle;
      const diff = await ctx.core('diff', args);
      showResult(() => renderResult(diff));
    } catch (error) {
      showResult(() => h('p', { class: 'inline-error' }, tNode('diff.failed', { reason: errorReason(error) })));
    }
  };
  const fileInput = h('input', { type: 'file', id: 'diff-file', class: 'visually-hidden' });
  const secondStatus = h('span', { class: 'muted' });
  let statusWords = null;
  const setStatus = (draw) => {
    statusWords = draw;
    secondStatus.replaceChildren(draw());
  };
  const openSecond = async (file) => {
    setStatus(() => tNode('diff.second_opening', { name: file.name }));
    try {
      await ctx.openSecond(file);
      const count = state.second.report.images.length;
      setStatus(() => tNode('diff.second_opened', { name: file.name, images: tCount('diff.images', count) }));
      selectB.value = '';
      fillB();
      selectB.value = '1:0';
      run();
    } catch (error) {
      setStatus(() => tNode('diff.second_failed', { name: file.name, reason: errorReason(error) }));
    }
  };
  fileInput.addEventListener('change', () => {
    const file = fileInput.files[0];
    fileInput.value = '';
    if (file) openSecond(file);
  });
  const zoneText = h('span');
  const chooseLabel = h('label', { for: 'diff-file', class: 'button small secondary' });
  const zone = h('div', { class: 'second-drop', 'data-second-drop': '' }, zoneText, ' ', chooseLabel, fileInput, ' ', secondStatus);
  zone.addEventListener('second-file', (event) => openSecond(event.detail));
  selectA.addEventListener('change', run);
  selectB.addEventListener('change', run);
  const labelA = h('label', { for: 'diff-a' });
  const labelB = h('label', { for: 'diff-b' });
  const compare = h('button', { type: 'button', id: 'diff-run', onclick: run });
  const root = h('div', { class: 'diff' },
    h('div', { class: 'toolbar' },
      labelA, selectA,
      h('span', { class: 'arrow', 'aria-hidden': 'true' }, '→'),
      labelB, selectB, compare),
    zone, result);
  const labels = () => {
    labelA.textContent = `${t('diff.a')} `;
    labelB.textContent = `${t('diff.b')} `;
    selectA.setAttribute('aria-label', t('diff.a_label'));
    selectB.setAttribute('aria-label', t('diff.b_label'));
    compare.textContent = t('diff.compare');
    zoneText.textContent = t('diff.drop_here');
    chooseLabel.textContent = t('diff.choose');
  };
  labels();
  // The page calls this after a language switch: same selection, same result, new words.
  root.retranslate = () => {
    labels();
    if (statusWords) setStatus(statusWords);
    if (shown) showResult(shown);
  };
  if (report.images.length > 1 || state.second) run();
  else showResult(() => h('p', { class: 'muted' }, t('diff.one_image')));
  return root;
}

function renderResult(diff) {
  const files = diff.files || [];
  const sum = diff.summary || {};
  const shared = diff.shared_layers || [];
  const summary = h('p', { class: 'diff-summary' },
    h('span', { class: 'chg added' }, t('diff.sum.added', { n: sum.added ?? 0 })),
    h('span', { class: 'chg deleted' }, t('diff.sum.removed', { n: sum.removed ?? 0 })),
    h('span', { class: 'chg modified' }, t('diff.sum.changed', { n: sum.changed ?? 0 })),
    h('span', { class: 'muted' }, diff.same_image
      ? t('diff.same_image')
      : [tCount('diff.shared', shared.length), diff.shared_base_layers ? tCount('diff.shared_base', diff.shared_base_layers) : '']));
  const sizeOf = (info) => (info ? (info.kind === 'dir' ? t('diff.dir') : formatSize(info.size)) : '');
  // The fields that changed are the core's names (size, mode, content…): words when the
  // catalogs know them.
  const field = (name) => (t(`diff.field.${name}`) === `diff.field.${name}` ? name : t(`diff.field.${name}`));
  const changeWord = (change) => (t(`diff.change.${change}`) === `diff.change.${change}` ? change : t(`diff.change.${change}`));
  const fileTable = files.length
    ? h('table', { class: 'data diff-files', 'aria-label': t('diff.files_label') },
      h('thead', null, h('tr', null, [
        h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, t('diff.col.change'))),
        ...['diff.col.path', 'diff.col.what'].map((c) => h('th', { scope: 'col' }, t(c))),
        ...['A', 'B'].map((c) => h('th', { scope: 'col', translate: 'no' }, c)),
      ])),
      h('tbody', null, files.map((f) => h('tr', { class: `diff-${f.change}` },
        h('td', null, h('span', { class: `chg ${f.change === 'removed' ? 'deleted' : f.change === 'changed' ? 'modified' : 'added'}`, title: changeWord(f.change) }, { added: '+', removed: '−', changed: '~' }[f.change] || '?')),
        h('td', { class: 'mono wrap', translate: 'no' }, `/${f.path}`),
        h('td', null, f.change === 'changed'
          ? (f.fields || []).map(field).join(t('list.sep')) + (f.content_unknown ? ` ${t('diff.content_unknown')}` : '')
          : changeWord(f.change)),
        h('td', { class: 'num' }, sizeOf(f.before)),
        h('td', { class: 'num' }, sizeOf(f.after))))))
    : h('p', { class: 'muted' }, t('diff.no_files'));
  const config = diff.config || [];
  const configTable = config.length
    ? h('table', { class: 'data', 'aria-label': t('diff.config_label') },
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, t('diff.col.setting')), ['A', 'B'].map((c) => h('th', { scope: 'col', translate: 'no' }, c)))),
      h('tbody', null, config.map((c) => h('tr', null,
        h('th', { scope: 'row', class: 'mono', lang: 'en', translate: 'no' }, c.field),
        h('td', { class: 'mono wrap diff-old', translate: 'no' }, show(c.before)),
        h('td', { class: 'mono wrap diff-new', translate: 'no' }, show(c.after))))))
    : h('p', { class: 'muted' }, t('diff.config_same'));
  const hist = diff.history || [];
  const historyList = hist.length
    ? h('ul', { class: 'plain mono diff-history' },
      diff.history_common_prefix ? h('li', { class: 'muted' }, `  (${tCount('diff.history_common', diff.history_common_prefix)})`) : null,
      hist.map((line) => h('li', { class: line.change === 'removed' ? 'diff-old' : 'diff-new' },
        line.change === 'removed' ? '− ' : '+ ', h('span', { translate: 'no' }, line.created_by || ''),
        line.empty_layer ? h('span', { class: 'muted' }, `  (${t('history.no_layer')})`) : null)))
    : h('p', { class: 'muted' }, t('diff.history_same'));
  const layersList = shared.length
    ? h('ul', { class: 'plain mono' }, shared.map((l) => h('li', null,
      t('diff.shared_layer', { a: l.index_a, b: l.index_b }), '  ', h('span', { translate: 'no' }, shortId(l.diff_id)), `  ${formatSize(l.size)}`)))
    : h('p', { class: 'muted' }, t('diff.no_shared'));
  return h('div', null, summary,
    h('section', { class: 'card' }, h('h3', null, t('diff.files_heading', { n: formatNumber(diff.files_total ?? files.length) })),
      diff.files_truncated ? h('p', { class: 'muted' }, t('diff.truncated', { n: files.length })) : null, fileTable),
    h('section', { class: 'card' }, h('h3', null, t('diff.config_heading')), configTable),
    h('section', { class: 'card' }, h('h3', null, t('diff.history_heading')), historyList),
    h('section', { class: 'card' }, h('h3', null, t('diff.shared_heading')), layersList));
}

function show(value) {
  if (value === null || value === undefined) return '—';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

// The layer stack as a picture: top layer on top, bar width by size, with what each
// layer did (added / modified / deleted) and its verdict.
import { h, humanSize, worstVerdict, verdictBadge, describeCheck, download, shortId } from '../util.js';

// Per-layer change counts are computed once per image by the core; keep them.
const changeCache = new WeakMap();

export function renderLayers(ctx) {
  const { image, state, navigate } = ctx;
  const biggest = Math.max(1, ...image.layers.map((l) => l.uncompressed_size || l.stored_size || 0));
  const rows = [...image.layers].reverse().map((layer) => {
    const size = layer.uncompressed_size ?? layer.stored_size ?? 0;
    // Square root keeps a 5 kB layer visible next to a 500 MB one, and bigger still looks bigger.
    const width = size ? Math.max(1.5, 100 * Math.sqrt(size / biggest)) : 0.8;
    const entry = layer.history !== null && layer.history !== undefined ? image.history[layer.history] : null;
    const command = entry ? (entry.created_by || '').replace(/^\/bin\/sh -c #\(nop\)\s+/, '') : '';
    const verdict = layer.foreign ? 'not_checkable' : worstVerdict(layer.checks);
    const problems = (layer.checks || []).filter((c) => !['ok', 'pending'].includes(c.verdict));
    const focused = state.layerFocus === layer.index;
    // (tabindex -1: a link to a layer moves focus here.)
    return h('li', { class: `layer-row${focused ? ' focused' : ''}`, dataset: { layer: String(layer.index) }, id: `layer-${layer.index}`, tabindex: '-1' },
      h('div', { class: 'layer-num', title: `layer ${layer.index} (0 is the bottom)` }, String(layer.index)),
      h('div', { class: 'layer-main' },
        h('div', { class: 'layer-bar-track' }, h('div', { class: `layer-bar ${verdictClass(verdict)}`, style: undefined, dataset: { w: width.toFixed(2) } })),
        h('div', { class: 'layer-cmd mono', title: command }, command || h('span', { class: 'muted' }, layer.foreign ? 'foreign layer (not in the archive by design)' : 'no history entry')),
        h('div', { class: 'layer-facts' },
          h('span', null, humanSize(size)),
          layer.stored_size !== null && layer.compression && layer.compression !== 'none'
            ? h('span', { class: 'muted' }, `${humanSize(layer.stored_size)} ${layer.compression}`) : null,
          h('span', { class: 'muted' }, layer.entries !== null && layer.entries !== undefined ? `${layer.entries.toLocaleString('en-US')} entries` : 'entries: …'),
          h('span', { class: 'changes', dataset: { changesFor: String(layer.index) } }),
          h('span', { class: 'mono muted', title: layer.digest || '' }, layer.digest ? shortId(layer.digest) : ''),
          verdictBadge(verdict, (layer.checks || []).map(describeCheck).join('\n'))),
        problems.length ? h('ul', { class: 'layer-problems' }, problems.map((c) => h('li', null, describeCheck(c)))) : null),
      h('div', { class: 'layer-actions' },
        h('button', { type: 'button', class: 'small secondary', disabled: layer.blob === null || layer.blob === undefined ? true : undefined,
          onclick: () => navigate({ tab: 'files', layer: layer.index, path: '/' }) }, 'Files'),
        h('button', { type: 'button', class: 'small secondary', disabled: layer.blob === null || layer.blob === undefined ? true : undefined,
          onclick: (event) => exportLayer(ctx, layer, event.currentTarget) }, 'Download tar')));
  });
  const list = h('ol', { class: 'layer-stack', 'aria-label': 'Layers, top layer first' }, rows);
  // Widths go through the CSSOM (allowed by the CSP), not inline style attributes.
  for (const bar of list.querySelectorAll('.layer-bar')) bar.style.width = `${bar.dataset.w}%`;
  fillChanges(ctx, list);
  if (state.layerFocus !== null && state.layerFocus !== undefined) {
    requestAnimationFrame(() => list.querySelector('.focused')?.scrollIntoView({ block: 'center' }));
  }
  const total = image.layers.reduce((s, l) => s + (l.uncompressed_size || 0), 0);
  return h('div', { class: 'layers' },
    h('p', { class: 'muted' }, `${image.layers.length} layers, ${humanSize(total)} in total. The top layer is drawn on top; a bar's length grows with the layer's size.`),
    list,
    h('div', { class: 'stack-base muted' }, 'base (empty filesystem)'),
    wasteSection(ctx));
}

function verdictClass(verdict) {
  return verdict === 'ok' ? 'ok' : verdict === 'pending' ? 'pending' : verdict === 'not_checkable' ? 'neutral' : 'bad';
}

async function fillChanges(ctx, list) {
  let changes = changeCache.get(ctx.image);
  if (!changes) {
    try {
      changes = await ctx.core('layerChanges', { image: ctx.index });
      changeCache.set(ctx.image, changes);
    } catch {
      return;
    }
  }
  for (const c of changes || []) {
    const cell = list.querySelector(`[data-changes-for="${c.layer}"]`);
    if (!cell) continue;
    cell.append(
      h('span', { class: 'chg added', title: 'added' }, `+${c.added}`), ' ',
      h('span', { class: 'chg modified', title: 'modified' }, `~${c.modified}`), ' ',
      h('span', { class: 'chg deleted', title: 'deleted' }, `−${c.deleted}`));
  }
}

async function exportLayer(ctx, layer, button) {
  const old = button.textContent;
  button.textContent = 'Preparing…';
  button.disabled = true;
  try {
    const blob = await ctx.core('exportLayer', { image: ctx.index, layer: layer.index });
    download(blob, `layer-${layer.index}-${shortId(layer.diff_id || layer.digest)}.tar`, 'application/x-tar');
  } catch (error) {
    button.after(h('span', { class: 'inline-error' }, ` ${error.message}`));
  } finally {
    button.textContent = old;
    button.disabled = false;
  }
}

function wasteSection(ctx) {
  const box = h('section', { class: 'card waste', id: 'waste' }, h('h3', null, 'Wasted space'), h('p', { class: 'muted' }, 'Computing…'));
  ctx.core('waste', { image: ctx.index }).then((waste) => {
    box.lastChild.remove();
    const items = waste.paths || [];
    const total = waste.wasted_bytes || 0;
    box.append(h('p', null,
      `${humanSize(total)} of ${humanSize(waste.total_file_bytes || 0)} of stored file bytes are overwritten or deleted by a later layer`,
      ` — efficiency ${(100 * (waste.efficiency ?? 1)).toFixed(1)} %.`));
    if (items.length) {
      box.append(h('table', { class: 'data', 'aria-label': 'Wasted space by path' },
        h('thead', null, h('tr', null, ['PATH', 'WASTED', 'COPIES (LAYER: SIZE, FATE)'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', null, items.slice(0, 200).map((w) => h('tr', null,
          h('td', { class: 'mono wrap' }, `/${w.path}`, w.present ? '' : h('span', { class: 'muted' }, ' (gone from the image)')),
          h('td', { class: 'num' }, humanSize(w.wasted_bytes)),
          h('td', null, (w.copies || []).map((c) => `L${c.layer}: ${humanSize(c.size)}${c.status === 'visible' ? ' (shown)' : c.by_layer !== undefined ? ` (${c.status} by L${c.by_layer})` : ''}`).join(' · ')))))));
      if (items.length > 200) box.append(h('p', { class: 'muted' }, `…and ${items.length - 200} more paths.`));
    } else {
      box.append(h('p', { class: 'muted' }, 'Nothing is wasted: no layer overwrites or deletes what a lower one stored.'));
    }
  }, (error) => {
    box.lastChild.textContent = `Not available: ${error.message}`;
  });
  return box;
}

// The layer stack as a picture: top layer on top, bar width by size, with what each
// layer did (added / modified / deleted) and its verdict.
import {
  h, worstVerdict, verdictBadge, describeCheck, describeCheckNode, download, shortId, errorReason, showMore, LIST_STEP, imageSizeKnown,
} from '../util.js';
import { saveStream, exportSource } from '../download.js';
import { t, tNode, tCount, formatSize, formatNumber } from '../i18n.js';
import { loadPackages, layerPackageChanges } from './packages.js';

// Per-layer change counts are computed once per image by the core; keep them.
const changeCache = new WeakMap();
// Layers drawn so far, per image ID (a 5 000-layer image drew them all and froze the tab).
// By ID, not by the image object: the report is replaced as verdicts come in.
const drawn = new Map();

export function renderLayers(ctx) {
  const { image, state, navigate } = ctx;
  const biggest = Math.max(1, ...image.layers.map((l) => l.uncompressed_size || l.stored_size || 0));
  const limit = drawn.get(image.id) || LIST_STEP;
  const rows = image.layers.slice(Math.max(0, image.layers.length - limit)).reverse().map((layer) => {
    const size = layer.uncompressed_size ?? layer.stored_size ?? 0;
    // Square root keeps a 5 kB layer visible next to a 500 MB one, and bigger still looks bigger.
    const width = size ? Math.max(1.5, 100 * Math.sqrt(size / biggest)) : 0.8;
    const entry = layer.history !== null && layer.history !== undefined ? image.history[layer.history] : null;
    const command = entry ? (entry.created_by || '').replace(/^\/bin\/sh -c #\(nop\)\s+/, '') : '';
    // After Cancel nothing is checking any more: a check not made says "not checked".
    const worst = layer.foreign ? 'not_checkable' : worstVerdict(layer.checks);
    const verdict = worst === 'pending' && state.stage === 'cancelled' ? 'not_checked' : worst;
    const problems = (layer.checks || []).filter((c) => !['ok', 'pending'].includes(c.verdict));
    const focused = state.layerFocus === layer.index;
    // (tabindex -1: a link to a layer moves focus here.)
    return h('li', { class: `layer-row${focused ? ' focused' : ''}`, dataset: { layer: String(layer.index) }, id: `layer-${layer.index}`, tabindex: '-1' },
      h('div', { class: 'layer-num', title: t('layers.num_title', { layer: layer.index }) }, String(layer.index)),
      h('div', { class: 'layer-main' },
        h('div', { class: 'layer-bar-track' }, h('div', { class: `layer-bar ${verdictClass(verdict)}`, style: undefined, dataset: { w: width.toFixed(2) } })),
        command
          ? h('div', { class: 'layer-cmd mono', title: command, translate: 'no' }, command)
          : h('div', { class: 'layer-cmd mono' }, h('span', { class: 'muted' }, t(layer.foreign ? 'layers.foreign' : 'layers.no_history'))),
        h('div', { class: 'layer-facts' },
          // A compressed layer's uncompressed size is known once it was read.
          layer.uncompressed_size !== null && layer.uncompressed_size !== undefined ? h('span', null, formatSize(size))
            : h('span', { class: 'muted size-unknown' }, t('size.not_known_yet')),
          layer.stored_size !== null && layer.compression && layer.compression !== 'none'
            ? h('span', { class: 'muted' }, tNode('layers.stored', { size: formatSize(layer.stored_size), compression: layer.compression })) : null,
          h('span', { class: 'muted entries' }, entriesText(layer, state)),
          h('span', { class: 'changes', dataset: { changesFor: String(layer.index) } }),
          h('span', { class: 'mono muted', title: layer.digest || '', translate: 'no' }, layer.digest ? shortId(layer.digest) : ''),
          verdictBadge(verdict, (layer.checks || []).map(describeCheck).join('\n'))),
        problems.length ? h('ul', { class: 'layer-problems' }, problems.map((c) => h('li', null, describeCheckNode(c)))) : null,
        h('div', { class: 'layer-packages', dataset: { packagesFor: String(layer.index) } })),
      h('div', { class: 'layer-actions' },
        h('button', { type: 'button', class: 'small secondary', disabled: layer.blob === null || layer.blob === undefined ? true : undefined,
          onclick: () => navigate({ tab: 'files', layer: layer.index, path: '/' }) }, t('layers.files')),
        h('button', { type: 'button', class: 'small secondary', disabled: layer.blob === null || layer.blob === undefined ? true : undefined,
          onclick: (event) => exportLayer(ctx, layer, event.currentTarget) }, tNode('layers.download'))));
  });
  const list = h('ol', { class: 'layer-stack', 'aria-label': t('layers.stack_label') }, rows);
  // Widths go through the CSSOM (allowed by the CSP), not inline style attributes.
  for (const bar of list.querySelectorAll('.layer-bar')) bar.style.width = `${bar.dataset.w}%`;
  fillChanges(ctx, list);
  fillPackageChanges(ctx, list);
  if (state.layerFocus !== null && state.layerFocus !== undefined) {
    requestAnimationFrame(() => list.querySelector('.focused')?.scrollIntoView({ block: 'center' }));
  }
  const total = image.layers.reduce((s, l) => s + (l.uncompressed_size || 0), 0);
  const totalKnown = imageSizeKnown(image);
  const box = h('div', { class: 'layers' });
  const more = showMore(rows.length, image.layers.length, () => {
    drawn.set(image.id, limit + LIST_STEP);
    box.replaceWith(renderLayers(ctx));
  }, tCount);
  // (Element.append would write a null as the text "null": leave the absent parts out.)
  box.append(...[
    h('p', { class: 'muted', id: 'layers-intro' }, tCount(totalKnown ? 'layers.intro' : 'layers.intro_unknown', image.layers.length, { size: formatSize(total) })),
    list,
    more,
    more ? null : h('div', { class: 'stack-base muted' }, t('layers.base')),
    wasteSection(ctx),
  ].filter(Boolean));
  return box;
}

/** A layer's entry count; before it is read, "…" while the page reads, or (after Cancel,
 * when nothing reads any more) that it was not read. */
function entriesText(layer, state) {
  if (layer.entries !== null && layer.entries !== undefined) return tCount('layers.entries', layer.entries);
  return t(state.stage === 'cancelled' ? 'layers.entries_not_read' : 'layers.entries_pending');
}

function verdictClass(verdict) {
  return verdict === 'ok' ? 'ok' : verdict === 'pending' || verdict === 'not_checked' ? 'pending' : verdict === 'not_checkable' ? 'neutral' : 'bad';
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
      h('span', { class: 'chg added', title: t('change.added') }, `+${formatNumber(c.added)}`), ' ',
      h('span', { class: 'chg modified', title: t('change.modified') }, `~${formatNumber(c.modified)}`), ' ',
      h('span', { class: 'chg deleted', title: t('change.deleted') }, `−${formatNumber(c.deleted)}`));
  }
}

/** Each layer's package changes (added / removed / upgraded), from the scan the Packages
 * tab shows. Drawn at once when the scan is in (so a redraw keeps an opened list open). */
async function fillPackageChanges(ctx, list) {
  if (ctx.state.stage === 'opening') return; // (the scan needs every layer's file list)
  const scan = loadPackages(ctx);
  const found = scan.value ?? await scan.promise.catch(() => null);
  if (!found) return;
  for (const change of found.layers || []) {
    if (!change.added?.length && !change.removed?.length && !change.upgraded?.length) continue;
    list.querySelector(`[data-packages-for="${change.index}"]`)?.append(layerPackageChanges(change, change.index));
  }
}

async function exportLayer(ctx, layer, button) {
  const old = [...button.childNodes];
  button.textContent = t('action.preparing');
  button.disabled = true;
  try {
    // Streamed to disk when big (www/js/download.js).
    const source = exportSource(ctx.core, { what: 'layer', image: ctx.index, layer: layer.index });
    const sizeHint = Number(layer.uncompressed_size ?? layer.stored_size ?? 0) || undefined;
    await saveStream({ name: `layer-${layer.index}-${shortId(layer.diff_id || layer.digest)}.tar`, type: 'application/x-tar', sizeHint, source });
  } catch (error) {
    button.after(h('span', { class: 'inline-error' }, ' ', errorReason(error)));
  } finally {
    button.replaceChildren(...old);
    button.disabled = false;
  }
}

/** Wasted-space rows shown at first, and added per "show more" (the nginx image listed
 * every path: a page 8 821 px long). Per image ID, as `drawn`. */
const WASTE_STEP = 20;
const wasteShown = new Map();

function wasteSection(ctx) {
  const box = h('section', { class: 'card waste', id: 'waste' }, h('h3', null, t('waste.heading')), h('p', { class: 'muted' }, t('waste.computing')));
  ctx.core('waste', { image: ctx.index }).then((waste) => {
    box.lastChild.remove();
    const items = waste.paths || [];
    const total = waste.wasted_bytes || 0;
    box.append(h('p', null, t('waste.summary', {
      wasted: formatSize(total), total: formatSize(waste.total_file_bytes || 0),
      efficiency: (100 * (waste.efficiency ?? 1)).toFixed(1),
    })), h('p', { class: 'muted', id: 'waste-explain' }, tNode('waste.explain')));
    if (items.length) {
      const fate = (c) => (c.status === 'visible' ? t('waste.shown')
        : c.by_layer !== undefined ? t(c.status === 'deleted' ? 'waste.deleted_by' : 'waste.overwritten_by', { layer: c.by_layer }) : '');
      const row = (w) => h('tr', null,
        h('td', { class: 'mono wrap' }, h('span', { translate: 'no' }, `/${w.path}`), w.present ? '' : h('span', { class: 'muted' }, ' ', t('waste.gone'))),
        h('td', { class: 'num' }, formatSize(w.wasted_bytes)),
        h('td', null, (w.copies || []).map((c) => t('waste.copy', { layer: c.layer, size: formatSize(c.size), fate: fate(c) })).join(' · ')));
      // The biggest first (the core's order), then more on request.
      const tbody = h('tbody', null);
      const table = h('table', { class: 'data', id: 'waste-table', 'aria-label': t('waste.table_label') },
        h('thead', null, h('tr', null, ['waste.col.path', 'waste.col.wasted', 'waste.col.copies'].map((c) => h('th', { scope: 'col' }, t(c))))),
        tbody);
      const wrap = h('div', { class: 'table-wrap' }, table);
      box.append(wrap);
      let moreBox = null;
      const draw = () => {
        const shown = Math.min(items.length, wasteShown.get(ctx.image.id) || WASTE_STEP);
        tbody.append(...items.slice(tbody.childElementCount, shown).map(row));
        const more = showMore(shown, items.length, () => {
          wasteShown.set(ctx.image.id, shown + LIST_STEP);
          draw();
          tbody.rows[shown]?.querySelector('td')?.setAttribute('tabindex', '-1');
          tbody.rows[shown]?.querySelector('td')?.focus();
        }, tCount);
        if (moreBox) moreBox.remove();
        moreBox = more;
        if (more) wrap.after(more);
      };
      draw();
    } else {
      box.append(h('p', { class: 'muted' }, t('waste.nothing')));
    }
  }, (error) => {
    box.lastChild.replaceChildren(tNode('waste.failed', { reason: errorReason(error) }));
  });
  return box;
}

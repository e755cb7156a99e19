// `docker history`: newest first, <missing> IDs, sizes; each row links to its layer.
// A Dockerfile reconstructed from the same history sits beside it.
import { h, clear, shortId, keepState, visible, errorReason, showMore, LIST_STEP } from '../util.js';
import { t, tNode, tCount, formatSize, formatAgo, formatDateTime } from '../i18n.js';
import { dockerHeader } from './images.js';

const prefs = { full: false, human: true, mode: 'table' };
// Rows drawn so far, per image ID (see showMore; the report is replaced as verdicts come in).
const drawn = new Map();

export function renderHistory(ctx) {
  const root = h('div', { class: 'history' });
  // A toggle redraws the table: focus stays on the control that was used.
  const draw = () => keepState(root, () => {
    clear(root).append(toolbar(draw), prefs.mode === 'table' ? historyTable(ctx, draw) : dockerfileView(ctx));
  });
  draw();
  return root;
}

function toolbar(draw) {
  const toggle = (id, label, key) => {
    const box = h('input', { type: 'checkbox', id, checked: prefs[key] ? true : undefined });
    box.addEventListener('change', () => { prefs[key] = box.checked; draw(); });
    return h('label', { class: 'toggle', for: id }, box, ' ', label);
  };
  const seg = (mode, label) => h('button', {
    type: 'button', class: prefs.mode === mode ? 'seg selected' : 'seg', 'aria-pressed': prefs.mode === mode ? 'true' : 'false',
    onclick: () => { prefs.mode = mode; draw(); },
  }, label);
  return h('div', { class: 'toolbar' },
    h('div', { class: 'segmented', role: 'group', 'aria-label': t('history.view_label') },
      seg('table', tNode('history.mode.table')), seg('dockerfile', tNode('history.mode.dockerfile'))),
    prefs.mode === 'table' ? toggle('history-full', tNode('history.full'), 'full') : null,
    prefs.mode === 'table' ? toggle('history-human', t('history.human'), 'human') : null);
}

function historyTable(ctx, draw) {
  const { image, navigate } = ctx;
  const all = image.history.length;
  if (!all) {
    return h('p', { class: 'empty' }, tNode('history.empty'));
  }
  const limit = drawn.get(image.id) || LIST_STEP;
  // Newest first, as docker prints it; only the first `limit` rows are drawn.
  const entries = image.history.slice(Math.max(0, all - limit)).reverse();
  const rows = entries.map((entry, i) => {
    const layer = entry.layer !== null && entry.layer !== undefined ? image.layers[entry.layer] : null;
    const size = entry.empty_layer ? 0 : layer ? layer.uncompressed_size : null;
    // `docker history --no-trunc` prints the command as stored; the short form drops the
    // `/bin/sh -c #(nop)` noise (the Dockerfile view cleans it up further).
    const command = prefs.full ? (entry.created_by || '') : cleanCommand(entry.created_by || '');
    const shown = prefs.full || command.length <= 45 ? command : `${command.slice(0, 44)}…`;
    const goto = layer ? () => navigate({ tab: 'layers', layerFocus: entry.layer }) : null;
    return h('tr', { class: entry.empty_layer ? 'empty-layer' : layer ? 'clickable' : '', dataset: { history: String(entry.index) } },
      h('td', { class: 'mono', translate: 'no' }, i === 0 ? shortId(image.id) : '<missing>'),
      h('td', { title: entry.created ? formatDateTime(entry.created) : '' }, formatAgo(entry.created)),
      h('td', { class: prefs.full ? 'mono wrap cmd' : 'mono cmd', title: prefs.full ? undefined : command, translate: 'no' }, shown),
      h('td', { class: 'num' }, size === null || size === undefined ? '?' : prefs.human ? formatSize(size) : String(size)),
      h('td', { translate: 'no' }, entry.comment || ''),
      h('td', null, entry.empty_layer
        ? h('span', { class: 'muted', title: t('history.no_layer_title') }, t('history.no_layer'))
        : layer
          ? h('button', { type: 'button', class: 'link', onclick: goto }, t('history.layer', { layer: entry.layer }))
          : h('span', { class: 'muted', title: t('history.unmapped_title') }, t('history.unmapped'))));
  });
  const head = [['IMAGE', 'history.col.image'], ['CREATED', 'images.col.created'], ['CREATED BY', 'history.col.created_by'],
    ['SIZE', 'images.col.size'], ['COMMENT', 'history.col.comment']].map(([word, key]) => dockerHeader(word, key));
  head.push(h('th', { scope: 'col' }, t('history.col.layer')));
  // On a narrow screen each row is a card, every cell named by its column (style.css), so
  // SIZE and LAYER stay on screen.
  const labels = head.map((th) => th.textContent);
  for (const row of rows) [...row.children].forEach((cell, i) => { cell.dataset.label = labels[i]; });
  return h('div', { class: 'table-wrap' }, h('table', { class: 'data history-table stack-narrow', 'aria-label': t('history.table_label') },
    h('thead', null, h('tr', null, head)),
    h('tbody', null, rows)),
  showMore(entries.length, all, () => { drawn.set(image.id, limit + LIST_STEP); draw(); }, tCount));
}

// docker history shows the raw command; `/bin/sh -c #(nop) ` noise is dropped as docker does.
function cleanCommand(command) {
  return command.replace(/^\/bin\/sh -c #\(nop\)\s+/, '').trim();
}

function dockerfileView(ctx) {
  const pre = h('pre', { class: 'mono dockerfile', id: 'dockerfile', tabindex: '0', 'aria-label': t('history.dockerfile_label') }, t('history.reconstructing'));
  // The Dockerfile is archive text (commands as recorded): untranslated, hidden characters
  // shown; only the comment the page writes when there is none is in the page's language.
  ctx.core('dockerfile', { image: ctx.index }).then(
    (text) => {
      if (text) {
        pre.setAttribute('translate', 'no');
        pre.replaceChildren(visible(text, true));
      } else {
        pre.textContent = t('history.dockerfile_none');
      }
    },
    (error) => { pre.replaceChildren(tNode('history.dockerfile_failed', { reason: errorReason(error) })); },
  );
  return h('section', { class: 'card' },
    h('p', { class: 'muted' }, tNode('history.dockerfile_note')),
    pre);
}

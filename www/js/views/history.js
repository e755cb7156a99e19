// `docker history`: newest first, <missing> IDs, sizes; each row links to its layer.
// A Dockerfile reconstructed from the same history sits beside it.
import { h, clear, humanSize, timeAgo, shortId, formatDate, keepState } from '../util.js';

const prefs = { full: false, human: true, mode: 'table' };

export function renderHistory(ctx) {
  const root = h('div', { class: 'history' });
  // A toggle redraws the table: focus stays on the control that was used.
  const draw = () => keepState(root, () => {
    clear(root).append(toolbar(draw), prefs.mode === 'table' ? historyTable(ctx) : dockerfileView(ctx));
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
    h('div', { class: 'segmented', role: 'group', 'aria-label': 'History view' }, seg('table', 'docker history'), seg('dockerfile', 'Dockerfile')),
    prefs.mode === 'table' ? toggle('history-full', 'Full commands (--no-trunc)', 'full') : null,
    prefs.mode === 'table' ? toggle('history-human', 'Human sizes', 'human') : null);
}

function historyTable(ctx) {
  const { image, navigate } = ctx;
  const entries = [...image.history].reverse();
  if (!entries.length) {
    return h('p', { class: 'empty' }, 'This image has no history in its config (some builders, such as Jib or ko, leave it out).');
  }
  const rows = entries.map((entry, i) => {
    const layer = entry.layer !== null && entry.layer !== undefined ? image.layers[entry.layer] : null;
    const size = entry.empty_layer ? 0 : layer ? layer.uncompressed_size : null;
    const command = cleanCommand(entry.created_by || '');
    const shown = prefs.full || command.length <= 45 ? command : `${command.slice(0, 44)}…`;
    const goto = layer ? () => navigate({ tab: 'layers', layerFocus: entry.layer }) : null;
    return h('tr', { class: entry.empty_layer ? 'empty-layer' : layer ? 'clickable' : '', dataset: { history: String(entry.index) } },
      h('td', { class: 'mono' }, i === 0 ? shortId(image.id) : '<missing>'),
      h('td', { title: entry.created ? formatDate(entry.created) : '' }, timeAgo(entry.created)),
      h('td', { class: prefs.full ? 'mono wrap cmd' : 'mono cmd', title: prefs.full ? undefined : command }, shown),
      h('td', { class: 'num' }, size === null || size === undefined ? '?' : prefs.human ? humanSize(size) : String(size)),
      h('td', null, entry.comment || ''),
      h('td', null, entry.empty_layer
        ? h('span', { class: 'muted', title: 'This step changed only metadata (ENV, CMD, LABEL…): it made no layer.' }, 'no layer')
        : layer
          ? h('button', { type: 'button', class: 'link', onclick: goto }, `layer ${entry.layer}`)
          : h('span', { class: 'muted', title: 'The history and the layer list do not line up here.' }, 'unmapped')));
  });
  return h('div', { class: 'table-wrap' }, h('table', { class: 'data history-table', 'aria-label': 'Image history, newest first' },
    h('thead', null, h('tr', null, ['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT', 'LAYER'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, rows)));
}

// docker history shows the raw command; `/bin/sh -c #(nop) ` noise is dropped as docker does.
function cleanCommand(command) {
  return command.replace(/^\/bin\/sh -c #\(nop\)\s+/, '').trim();
}

function dockerfileView(ctx) {
  const pre = h('pre', { class: 'mono dockerfile', id: 'dockerfile', tabindex: '0', 'aria-label': 'Dockerfile reconstructed from the history' }, 'Reconstructing…');
  ctx.core('dockerfile', { image: ctx.index }).then(
    (text) => { pre.textContent = text || '# no history to reconstruct from'; },
    (error) => { pre.textContent = `# could not reconstruct the Dockerfile: ${error.message}`; },
  );
  return h('section', { class: 'card' },
    h('p', { class: 'muted' }, 'Rebuilt from the image history. COPY and ADD show the digest of what was copied, not the source path; base image steps appear as they were recorded.'),
    pre);
}

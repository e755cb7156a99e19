// The container configuration, the way `docker inspect` groups it.
import { h, copyButton } from '../util.js';

export function renderConfig(ctx) {
  const c = ctx.image.config;
  const list = (items, empty = 'none') => (items && items.length
    ? h('ul', { class: 'plain mono' }, items.map((x) => h('li', null, x)))
    : h('span', { class: 'muted' }, empty));
  const argv = (v) => (v ? h('code', { class: 'mono wrap' }, JSON.stringify(v)) : h('span', { class: 'muted' }, 'not set'));
  const text = (v) => (v ? h('code', { class: 'mono' }, v) : h('span', { class: 'muted' }, 'not set'));
  const env = (c.env || []).map((e) => {
    const i = e.indexOf('=');
    return i < 0 ? [e, ''] : [e.slice(0, i), e.slice(i + 1)];
  });
  const labels = Object.entries(c.labels || {});
  const rows = [
    ['Env', env.length ? kvTable(env, 'Environment variables') : h('span', { class: 'muted' }, 'none')],
    ['Entrypoint', argv(c.entrypoint)],
    ['Cmd', argv(c.cmd)],
    ['WorkingDir', text(c.working_dir)],
    ['User', c.user ? text(c.user) : h('span', { class: 'muted' }, 'not set (runs as root)')],
    ['ExposedPorts', list(c.exposed_ports)],
    ['Volumes', list(c.volumes)],
    ['Labels', labels.length ? kvTable(labels, 'Labels') : h('span', { class: 'muted' }, 'none')],
    ['Healthcheck', c.healthcheck ? h('pre', { class: 'mono' }, JSON.stringify(c.healthcheck, null, 2)) : h('span', { class: 'muted' }, 'not set')],
    ['StopSignal', text(c.stop_signal)],
    ['Author', text(c.author)],
  ];
  const raw = JSON.stringify(c.raw, null, 2);
  return h('div', { class: 'config' },
    h('section', { class: 'card' }, h('h3', null, 'Container configuration'),
      h('dl', { class: 'facts' }, rows.flatMap(([k, v]) => [h('dt', null, k), h('dd', null, v)]))),
    h('section', { class: 'card' },
      h('details', { id: 'raw-config' }, h('summary', null, 'Raw config JSON ', h('span', { class: 'muted' }, `(${raw.length.toLocaleString('en-US')} characters)`)),
        h('div', { class: 'raw-actions' }, copyButton(raw, 'Copy JSON')),
        h('pre', { class: 'mono raw-json', tabindex: '0', 'aria-label': 'Raw config JSON' }, raw))));
}

function kvTable(pairs, label) {
  return h('table', { class: 'data kv', 'aria-label': label },
    h('tbody', null, pairs.map(([k, v]) => h('tr', null, h('th', { scope: 'row', class: 'mono' }, k), h('td', { class: 'mono wrap' }, v)))));
}

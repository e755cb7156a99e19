// The container configuration, the way `docker inspect` groups it.
import { h, copyButton } from '../util.js';
import { t, tNode, formatNumber } from '../i18n.js';

// The setting names are docker inspect's JSON keys (Env, Cmd, …): they stay as docker
// prints them (lang="en"), with the page's word beside them.
export function renderConfig(ctx) {
  const c = ctx.image.config;
  const none = () => h('span', { class: 'muted' }, t('config.none'));
  const notSet = () => h('span', { class: 'muted' }, t('config.not_set'));
  const list = (items) => (items && items.length
    ? h('ul', { class: 'plain mono', translate: 'no' }, items.map((x) => h('li', null, x)))
    : none());
  const argv = (v) => (v ? h('code', { class: 'mono wrap', translate: 'no' }, JSON.stringify(v)) : notSet());
  const text = (v) => (v ? h('code', { class: 'mono', translate: 'no' }, v) : notSet());
  const env = (c.env || []).map((e) => {
    const i = e.indexOf('=');
    return i < 0 ? [e, ''] : [e.slice(0, i), e.slice(i + 1)];
  });
  const labels = Object.entries(c.labels || {});
  const rows = [
    ['Env', 'config.env', env.length ? kvTable(env, t('config.env_label')) : none()],
    ['Entrypoint', 'config.entrypoint', argv(c.entrypoint)],
    ['Cmd', 'config.cmd', argv(c.cmd)],
    ['WorkingDir', 'config.working_dir', text(c.working_dir)],
    ['User', 'config.user', c.user ? text(c.user) : h('span', { class: 'muted' }, tNode('config.user_root'))],
    ['ExposedPorts', 'config.exposed_ports', list(c.exposed_ports)],
    ['Volumes', 'config.volumes', list(c.volumes)],
    ['Labels', 'config.labels', labels.length ? kvTable(labels, t('config.labels_label')) : none()],
    ['Healthcheck', 'config.healthcheck', c.healthcheck ? h('pre', { class: 'mono', translate: 'no' }, JSON.stringify(c.healthcheck, null, 2)) : notSet()],
    ['StopSignal', 'config.stop_signal', text(c.stop_signal)],
    ['Author', 'config.author', text(c.author)],
  ];
  const raw = JSON.stringify(c.raw, null, 2);
  const term = (name, key) => {
    const gloss = t(key);
    return h('dt', null, h('span', { lang: 'en', translate: 'no' }, name), gloss && gloss !== name ? h('span', { class: 'col-gloss' }, ' ', tNode(key)) : null);
  };
  return h('div', { class: 'config' },
    h('section', { class: 'card' }, h('h3', null, t('config.heading')),
      h('dl', { class: 'facts' }, rows.flatMap(([name, key, v]) => [term(name, key), h('dd', null, v)]))),
    h('section', { class: 'card' },
      h('details', { id: 'raw-config' }, h('summary', null, tNode('config.raw'), ' ', h('span', { class: 'muted' }, t('config.characters', { n: formatNumber(raw.length) }))),
        h('div', { class: 'raw-actions' }, copyButton(raw, 'copy.json')),
        h('pre', { class: 'mono raw-json', tabindex: '0', 'aria-label': t('config.raw'), translate: 'no' }, raw))));
}

function kvTable(pairs, label) {
  return h('table', { class: 'data kv', 'aria-label': label, translate: 'no' },
    h('tbody', null, pairs.map(([k, v]) => h('tr', null, h('th', { scope: 'row', class: 'mono' }, k), h('td', { class: 'mono wrap' }, v)))));
}

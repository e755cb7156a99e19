// Overview of one image: names, identity, platform, size, and the verification verdict.
import {
  h, data, platformOf, copyButton, describeCheckNode, checkItemNode, imageFailedChecks, imageVerdict, imageSizeKnown, formatName,
} from '../util.js';
import { t, tNode, tCount, formatSize, formatAgo, formatDateTime } from '../i18n.js';

export function renderOverview(ctx) {
  const { image, report, navigate, state } = ctx;
  const verdict = imageVerdict(image, report.verification_done);
  const emptyHistory = image.history.filter((e) => e.empty_layer).length;
  const rows = [
    ['overview.tags', image.repo_tags.length
      ? h('ul', { class: 'tags', translate: 'no' }, image.repo_tags.map((tag) => h('li', { class: 'tag-pill', title: tag }, tag)))
      : h('span', { class: 'none' }, tNode('overview.no_tags'))],
    ['overview.image_id', digestCell(image.id)],
    // No manifest digest: the format says why (named once, from the core's format code).
    ['overview.manifest_digest', image.manifest_digest ? digestCell(image.manifest_digest)
      : h('span', { class: 'muted' }, tNode('overview.no_manifest_digest_in', { format: formatName(report.archive.format) }))],
    ['overview.platform', data(platformOf(image))],
    ['overview.created', image.created
      ? h('span', { title: image.created }, t('overview.created_value', { date: formatDateTime(image.created), ago: formatAgo(image.created) })) : '—'],
    // A compressed layer's uncompressed size is known only once it was read: until then the
    // size says so (the sum would be the compressed size, a wrong number).
    ['overview.size', imageSizeKnown(image)
      ? t('overview.size_value', { size: formatSize(image.size), stored: formatSize(image.stored_size) })
      : t('overview.size_not_known', { stored: formatSize(image.stored_size) })],
    ['overview.layers', [tCount('overview.layer_count', image.layers.length), t('list.sep'), tCount('overview.history_count', image.history.length),
      emptyHistory ? tCount('overview.empty_history', emptyHistory) : '']],
    ['overview.source', data(image.source)],
  ];
  const table = h('dl', { class: 'facts' }, rows.flatMap(([k, v]) => [h('dt', null, tNode(k)), h('dd', null, v)]));
  return h('div', { class: 'overview' },
    verdictPanel(image, report, verdict, navigate, state?.stage === 'cancelled'),
    runsCard(image),
    h('section', { class: 'card' }, h('h3', null, t('overview.image')), table));
}

/** What the image runs, the first thing a person asks: Entrypoint, Cmd, User, WorkingDir,
 * exposed ports (docker inspect's names, as the Config tab shows them). */
function runsCard(image) {
  const c = image.config || {};
  const notSet = () => h('span', { class: 'muted' }, t('config.not_set'));
  const argv = (v) => (v && v.length ? h('code', { class: 'mono wrap', translate: 'no' }, JSON.stringify(v)) : notSet());
  const text = (v) => (v ? h('code', { class: 'mono wrap', translate: 'no' }, v) : notSet());
  const ports = c.exposed_ports && c.exposed_ports.length
    ? h('span', { translate: 'no' }, c.exposed_ports.map((p, i) => [i ? ' ' : '', h('code', { class: 'mono' }, p)]))
    : h('span', { class: 'muted' }, t('config.none'));
  const rows = [
    ['Entrypoint', 'config.entrypoint', argv(c.entrypoint)],
    ['Cmd', 'config.cmd', argv(c.cmd)],
    ['User', 'config.user', c.user ? text(c.user) : h('span', { class: 'muted' }, tNode('config.user_root'))],
    ['WorkingDir', 'config.working_dir', text(c.working_dir)],
    ['ExposedPorts', 'config.exposed_ports', ports],
  ];
  const term = (name, key) => {
    const gloss = t(key);
    return h('dt', null, h('span', { lang: 'en', translate: 'no' }, name), gloss && gloss !== name ? h('span', { class: 'col-gloss' }, ' ', tNode(key)) : null);
  };
  return h('section', { class: 'card runs', id: 'runs' }, h('h3', null, t('overview.runs')),
    h('dl', { class: 'facts' }, rows.flatMap(([name, key, v]) => [term(name, key), h('dd', null, v)])));
}

function digestCell(digest) {
  return h('span', { class: 'digest' }, h('code', { class: 'mono wrap', translate: 'no' }, digest), ' ', copyButton(digest));
}

function verdictPanel(image, report, verdict, navigate, cancelled) {
  const checks = [...image.checks.map((c) => ({ where: t('overview.where_image'), c })),
    ...image.layers.flatMap((l) => l.checks.map((c) => ({ where: t('overview.where_layer', { layer: l.index }), layer: l.index, c })))];
  const total = checks.length;
  const ok = checks.filter((x) => x.c.verdict === 'ok').length;
  const pending = checks.filter((x) => x.c.verdict === 'pending').length;
  let title;
  let cls;
  if (verdict === 'ok') {
    title = t('overview.verdict.ok');
    cls = 'ok';
  } else if (verdict === 'bad') {
    title = t('overview.verdict.bad');
    cls = 'bad';
  } else if (cancelled) {
    title = t('overview.verdict.cancelled');
    cls = 'pending';
  } else {
    title = t('overview.verdict.pending');
    cls = 'pending';
  }
  const failedCount = imageFailedChecks(image).length;
  // A legacy archive has no manifest digest: "every digest matches" does not claim one.
  const okKey = image.manifest_digest ? 'overview.summary.ok' : 'overview.summary.ok_no_manifest';
  const summary = verdict === 'ok'
    ? tCount(okKey, total)
    : verdict === 'bad'
      ? (failedCount ? tCount('overview.summary.bad', failedCount) : t('overview.summary.bad_some'))
      : [t('overview.summary.progress', { ok, total }),
        pending ? tCount(cancelled ? 'overview.summary.not_checked' : 'overview.summary.waiting', pending) : '',
        t('overview.summary.readable')];
  const failed = checks.filter((x) => !['ok', 'pending'].includes(x.c.verdict));
  const list = h('ul', { class: 'checks' }, (failed.length ? failed : checks).map((x) => h('li', { class: `check ${x.c.verdict}` },
    x.layer !== undefined
      ? h('a', { href: '#', onclick: (e) => { e.preventDefault(); navigate({ tab: 'layers', layerFocus: x.layer }); } }, x.where)
      : h('span', null, x.where),
    t('punct.colon'), checkText(x.c))));
  return h('section', { class: `card verdict-panel ${cls}`, id: 'verdict-panel' },
    h('h3', null, title), h('p', null, summary),
    // What "verified" means, and what it does not.
    h('p', { class: 'muted verified-means' }, t('overview.verified_means')),
    failed.length ? list : h('details', { id: 'all-checks' }, h('summary', null, tCount('overview.show_all', total)), list));
}

function checkText(check) {
  if (check.verdict === 'mismatch') {
    return h('span', null, tNode('overview.mismatch', { item: checkItemNode(check) }),
      h('div', { class: 'expected' }, h('span', { class: 'label' }, t('overview.expected')), ' ', h('code', { class: 'mono wrap', translate: 'no' }, String(check.expected))),
      h('div', { class: 'actual' }, h('span', { class: 'label' }, t('overview.actual')), ' ', h('code', { class: 'mono wrap', translate: 'no' }, String(check.actual))));
  }
  return h('span', null, describeCheckNode(check));
}

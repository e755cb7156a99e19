// Overview of one image: names, identity, platform, size, and the verification verdict.
import { h, data, platformOf, copyButton, describeCheckNode, checkItemNode, imageProblems, imageVerdict } from '../util.js';
import { t, tNode, tCount, formatSize, formatAgo, formatDateTime } from '../i18n.js';

export function renderOverview(ctx) {
  const { image, report, navigate, state } = ctx;
  const verdict = imageVerdict(image, report.verification_done);
  const emptyHistory = image.history.filter((e) => e.empty_layer).length;
  const rows = [
    ['overview.tags', image.repo_tags.length
      ? h('ul', { class: 'tags', translate: 'no' }, image.repo_tags.map((tag) => h('li', { class: 'tag-pill' }, tag)))
      : h('span', { class: 'none' }, tNode('overview.no_tags'))],
    ['overview.image_id', digestCell(image.id)],
    ['overview.manifest_digest', image.manifest_digest ? digestCell(image.manifest_digest) : h('span', { class: 'muted' }, tNode('overview.no_manifest_digest'))],
    ['overview.platform', data(platformOf(image))],
    ['overview.created', image.created
      ? h('span', { title: image.created }, t('overview.created_value', { date: formatDateTime(image.created), ago: formatAgo(image.created) })) : '—'],
    ['overview.size', t('overview.size_value', { size: formatSize(image.size), stored: formatSize(image.stored_size) })],
    ['overview.layers', [tCount('overview.layer_count', image.layers.length), t('list.sep'), tCount('overview.history_count', image.history.length),
      emptyHistory ? tCount('overview.empty_history', emptyHistory) : '']],
    ['overview.source', data(image.source)],
  ];
  const table = h('dl', { class: 'facts' }, rows.flatMap(([k, v]) => [h('dt', null, tNode(k)), h('dd', null, v)]));
  return h('div', { class: 'overview' },
    verdictPanel(image, report, verdict, navigate, state?.stage === 'cancelled'),
    h('section', { class: 'card' }, h('h3', null, t('overview.image')), table));
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
  const failedCount = imageProblems(image).length;
  const summary = verdict === 'ok'
    ? tCount('overview.summary.ok', total)
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

// Overview of one image: names, identity, platform, size, and the verification verdict.
import { h, humanSize, timeAgo, platformOf, copyButton, describeCheck, imageProblems, imageVerdict, formatDate, plural } from '../util.js';

export function renderOverview(ctx) {
  const { image, report, navigate, state } = ctx;
  const verdict = imageVerdict(image, report.verification_done);
  const emptyHistory = image.history.filter((e) => e.empty_layer).length;
  const rows = [
    ['Tags', image.repo_tags.length
      ? h('ul', { class: 'tags' }, image.repo_tags.map((t) => h('li', { class: 'tag-pill' }, t)))
      : h('span', { class: 'none' }, '<none>:<none> (saved by ID)')],
    ['Image ID', digestCell(image.id)],
    ['Manifest digest', image.manifest_digest ? digestCell(image.manifest_digest) : h('span', { class: 'muted' }, 'none in this archive (legacy docker save)')],
    ['Platform', platformOf(image)],
    ['Created', image.created ? h('span', { title: image.created }, `${formatDate(image.created)} (${timeAgo(image.created)})`) : '—'],
    ['Size', `${humanSize(image.size)} uncompressed · ${humanSize(image.stored_size)} in the archive`],
    ['Layers', `${plural(image.layers.length, 'layer')}, ${plural(image.history.length, 'history entry', 'history entries')}${emptyHistory ? ` (${emptyHistory} made no layer)` : ''}`],
    ['Described by', image.source],
  ];
  const table = h('dl', { class: 'facts' }, rows.flatMap(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
  return h('div', { class: 'overview' },
    verdictPanel(image, report, verdict, navigate, state?.stage === 'cancelled'),
    h('section', { class: 'card' }, h('h3', null, 'Image'), table));
}

function digestCell(digest) {
  return h('span', { class: 'digest' }, h('code', { class: 'mono wrap' }, digest), ' ', copyButton(digest));
}

function verdictPanel(image, report, verdict, navigate, cancelled) {
  const checks = [...image.checks.map((c) => ({ where: 'image', c })),
    ...image.layers.flatMap((l) => l.checks.map((c) => ({ where: `layer ${l.index}`, layer: l.index, c })))];
  const total = checks.length;
  const ok = checks.filter((x) => x.c.verdict === 'ok').length;
  const pending = checks.filter((x) => x.c.verdict === 'pending').length;
  let title;
  let cls;
  if (verdict === 'ok') {
    title = '✓ Every digest matches';
    cls = 'ok';
  } else if (verdict === 'bad') {
    title = '✗ This image does not match its digests';
    cls = 'bad';
  } else if (cancelled) {
    title = 'Not verified: checking was cancelled';
    cls = 'pending';
  } else {
    title = '… Checking digests';
    cls = 'pending';
  }
  const summary = verdict === 'ok'
    ? `All ${total} checks passed: the config, the manifest and every layer are exactly what their digests say.`
    : verdict === 'bad'
      ? `${imageProblems(image).length || 'Some'} check(s) failed. The archive was changed or damaged after it was written.`
      : `${ok} of ${total} checks done${pending ? `, ${pending} ${cancelled ? 'not checked' : 'waiting'}` : ''}. What is shown below is already readable.`;
  const failed = checks.filter((x) => !['ok', 'pending'].includes(x.c.verdict));
  const list = h('ul', { class: 'checks' }, (failed.length ? failed : checks).map((x) => h('li', { class: `check ${x.c.verdict}` },
    x.layer !== undefined
      ? h('a', { href: '#', onclick: (e) => { e.preventDefault(); navigate({ tab: 'layers', layerFocus: x.layer }); } }, x.where)
      : h('span', null, x.where),
    ': ', checkText(x.c))));
  return h('section', { class: `card verdict-panel ${cls}`, id: 'verdict-panel' },
    h('h3', null, title), h('p', null, summary),
    failed.length ? list : h('details', { id: 'all-checks' }, h('summary', null, `Show all ${total} checks`), list));
}

function checkText(check) {
  if (check.verdict === 'mismatch') {
    return h('span', null, `${check.item} mismatch`,
      h('div', { class: 'expected' }, 'expected ', h('code', { class: 'mono wrap' }, String(check.expected))),
      h('div', { class: 'actual' }, 'actual\u00a0\u00a0\u00a0 ', h('code', { class: 'mono wrap' }, String(check.actual))));
  }
  return h('span', null, describeCheck(check));
}

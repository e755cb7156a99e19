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
      const reportB = source === 1 ? second.report : report;
      const sides = {
        a: { report, image: a, handle: undefined, local: true },
        b: { report: reportB, image: b, handle: source === 1 ? second.handle : undefined, local: source !== 1 },
      };
      sides.a.unread = unreadLayers(report, a);
      sides.b.unread = unreadLayers(reportB, b);
      const opened = new Map(); // path → its open detail row's drawing (kept across redraws)
      showResult(() => renderResult(diff, { ctx, sides, opened }));
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

/** The layers of an image that could not be read in full (a damaged or cut tar, a blob
 * that is not in the archive): what they hold beyond the damage is unknown, so its merged
 * tree lacks those paths. [{index, reason}] */
export function unreadLayers(report, imageIndex) {
  const image = report.images[imageIndex];
  if (!image) return [];
  const out = [];
  for (const layer of image.layers) {
    if (layer.foreign) continue;
    if (layer.blob === null || layer.blob === undefined) {
      out.push({ index: layer.index, missing: true });
      continue;
    }
    const finding = report.findings.find((f) => f.code === 'layer_unreadable' && f.location && f.location === layer.path);
    if (finding) out.push({ index: layer.index, finding });
  }
  return out;
}

function renderResult(diff, { ctx, sides, opened }) {
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
  // A side read in part: a path missing there may only be in its unread part.
  const unknown = (f) => (f.change === 'removed' && sides.b.unread.length) || (f.change === 'added' && sides.a.unread.length);
  const fileRow = (f, i) => {
    const path = `/${f.path}`;
    const detailId = `diff-detail-${i}`;
    const button = h('button', {
      type: 'button', class: 'link mono wrap diff-path', translate: 'no', 'aria-expanded': opened.has(path) ? 'true' : 'false', 'aria-controls': detailId,
    }, path);
    const row = h('tr', { class: `diff-${f.change}${unknown(f) ? ' diff-unknown' : ''}` },
      h('td', null, h('span', { class: `chg ${f.change === 'removed' ? 'deleted' : f.change === 'changed' ? 'modified' : 'added'}`, title: changeWord(f.change) }, { added: '+', removed: '−', changed: '~' }[f.change] || '?')),
      h('td', null, button),
      h('td', null, f.change === 'changed'
        ? (f.fields || []).map(field).join(t('list.sep')) + (f.content_unknown ? ` ${t('diff.content_unknown')}` : '')
        : changeWord(f.change),
      unknown(f) ? h('span', { class: 'diff-unknown-note' }, ' ', t(f.change === 'removed' ? 'diff.unknown_removed' : 'diff.unknown_added')) : null),
      h('td', { class: 'num' }, sizeOf(f.before)),
      h('td', { class: 'num' }, sizeOf(f.after)));
    const detail = h('tr', { class: 'diff-detail', id: detailId, hidden: opened.has(path) ? undefined : true },
      h('td', { colspan: '5' }, opened.has(path) ? opened.get(path)() : null));
    button.addEventListener('click', () => {
      if (opened.has(path)) {
        opened.delete(path);
        detail.hidden = true;
        clear(detail.firstChild);
        button.setAttribute('aria-expanded', 'false');
        return;
      }
      const draw = fileDetail(f, ctx, sides);
      opened.set(path, draw);
      detail.hidden = false;
      detail.firstChild.replaceChildren(draw());
      button.setAttribute('aria-expanded', 'true');
    });
    return [row, detail];
  };
  const fileTable = files.length
    ? h('table', { class: 'data diff-files', 'aria-label': t('diff.files_label') },
      h('thead', null, h('tr', null, [
        h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, t('diff.col.change'))),
        ...['diff.col.path', 'diff.col.what'].map((c) => h('th', { scope: 'col' }, t(c))),
        ...['A', 'B'].map((c) => h('th', { scope: 'col', translate: 'no' }, c)),
      ])),
      h('tbody', null, files.map(fileRow)))
    : h('p', { class: 'muted' }, t('diff.no_files'));
  // (One span inside: the box lays out its children apart.)
  const incomplete = ['a', 'b'].filter((k) => sides[k].unread.length).map((k) => h('p', { class: 'notice-box diff-incomplete', id: `diff-incomplete-${k}` },
    h('span', null, tNode(k === 'a' ? 'diff.incomplete_a' : 'diff.incomplete_b', { layers: sides[k].unread.map((l) => l.index).join(', ') }), ' ',
      t(k === 'a' ? 'diff.incomplete_a_means' : 'diff.incomplete_b_means'))));
  const config = diff.config || [];
  const configTable = config.length
    ? h('table', { class: 'data', 'aria-label': t('diff.config_label') },
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, t('diff.col.setting')), ['A', 'B'].map((c) => h('th', { scope: 'col', translate: 'no' }, c)))),
      h('tbody', null, config.map((c) => h('tr', null,
        h('th', { scope: 'row', class: 'mono', lang: 'en', translate: 'no' }, c.field),
        h('td', { class: 'mono wrap diff-old' }, configValue(c.field, c.before)),
        h('td', { class: 'mono wrap diff-new' }, configValue(c.field, c.after))))))
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
  return h('div', null, incomplete, summary,
    h('section', { class: 'card' }, h('h3', null, t('diff.files_heading', { n: formatNumber(diff.files_total ?? files.length) })),
      diff.files_truncated ? h('p', { class: 'muted' }, t('diff.truncated', { n: files.length })) : null, fileTable),
    h('section', { class: 'card' }, h('h3', null, t('diff.config_heading')), configTable),
    h('section', { class: 'card' }, h('h3', null, t('diff.history_heading')), historyList),
    h('section', { class: 'card' }, h('h3', null, t('diff.shared_heading')), layersList));
}

/** A config value as the Config view shows it: a list as its items, an exec form as JSON
 * (as docker inspect prints Cmd), a Healthcheck as its settings with Go durations (30s),
 * nothing as "not set" (and an empty set as "none", like no set at all). */
function configValue(field, value) {
  const muted = (key) => h('span', { class: 'muted' }, t(key));
  const sets = field === 'Volumes' || field === 'ExposedPorts';
  if (value === null || value === undefined) return muted(sets ? 'config.none' : 'config.not_set');
  if (sets && Array.isArray(value)) {
    return value.length ? h('ul', { class: 'plain', translate: 'no' }, value.map((v) => h('li', null, String(v)))) : muted('config.none');
  }
  if (field === 'Healthcheck' && typeof value === 'object' && !Array.isArray(value)) {
    // In docker's order (Test first), whatever order the JSON had.
    const order = (k) => { const i = HEALTH_ORDER.indexOf(k); return i < 0 ? HEALTH_ORDER.length : i; };
    const entries = Object.entries(value).sort(([a], [b]) => order(a) - order(b));
    return h('ul', { class: 'plain', translate: 'no' }, entries.map(([k, v]) => h('li', null,
      h('span', { lang: 'en' }, k), ': ', DURATION_KEYS.has(k) && typeof v === 'number' ? goDuration(v) : typeof v === 'string' ? v : JSON.stringify(v))));
  }
  return h('span', { translate: 'no' }, typeof value === 'string' ? value : JSON.stringify(value));
}

const DURATION_KEYS = new Set(['Interval', 'Timeout', 'StartPeriod', 'StartInterval']);
const HEALTH_ORDER = ['Test', 'Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries'];

/** Nanoseconds as Go's time.Duration prints them (docker's own words): 30s, 1m30s, 1.5s, 0s. */
export function goDuration(ns) {
  if (!Number.isFinite(ns)) return String(ns);
  if (ns === 0) return '0s';
  const sign = ns < 0 ? '-' : '';
  let n = Math.abs(ns);
  if (n < 1e3) return `${sign}${n}ns`;
  if (n < 1e6) return `${sign}${trim(n / 1e3)}µs`;
  if (n < 1e9) return `${sign}${trim(n / 1e6)}ms`;
  const hours = Math.floor(n / 3.6e12);
  n -= hours * 3.6e12;
  const minutes = Math.floor(n / 6e10);
  n -= minutes * 6e10;
  const seconds = `${trim(n / 1e9)}s`;
  if (hours) return `${sign}${hours}h${minutes}m${seconds}`;
  if (minutes) return `${sign}${minutes}m${seconds}`;
  return `${sign}${seconds}`;
}

function trim(x) {
  return String(Number(x.toFixed(9)));
}

// ---------- one changed path: both versions, and a unified diff of text ----------

/** Largest file (each side) read for a content diff. */
const TEXT_DIFF_MAX = 1 << 20;
/** The diff gives up past this many inserted + deleted lines (its frontiers take O(D²)
 * memory: ~9 MB at this bound)… */
const MAX_EDITS = 1500;
/** …or this many steps of its search (a bound on time whatever the files are: ~40 ms
 * for two 30 000-line files that differ on every third line, where it gives up). */
const MAX_STEPS = 5_000_000;
/** Unchanged lines shown around each change. */
const CONTEXT = 3;

/** The detail under a path of the file table: links to each version in the Files view,
 * then their difference. Returns a drawing (called again after a language switch); the
 * bytes are read once. */
function fileDetail(f, ctx, sides) {
  const path = `/${f.path}`;
  const box = h('div', { class: 'diff-detail-box' });
  let outcome = null; // what the comparison found, once read
  const paint = () => {
    const links = h('p', { class: 'diff-open' });
    for (const [k, info] of [['a', f.before], ['b', f.after]]) {
      const side = sides[k];
      if (!info) continue;
      if (side.local) {
        links.append(h('button', {
          type: 'button', class: 'secondary small', id: `diff-open-${k}`,
          onclick: () => ctx.navigate({ image: side.image, layer: null, path, tab: 'files', focus: true }),
        }, t(k === 'a' ? 'diff.open_a' : 'diff.open_b')), ' ');
      }
    }
    const body = h('div', { class: 'diff-content' });
    if (!outcome) body.append(h('p', { class: 'muted' }, t('diff.reading')));
    else body.append(drawOutcome(outcome, path));
    box.replaceChildren(links, body);
    return box;
  };
  compareContent(f, ctx, sides).then((found) => { outcome = found; if (box.isConnected || box.firstChild) paint(); });
  return paint;
}

const isFile = (info) => info && (info.kind === 'file' || info.kind === 'hardlink');

async function compareContent(f, ctx, sides) {
  const { before, after } = f;
  if ((before && !isFile(before)) || (after && !isFile(after))) return { kind: 'not_files' };
  if ((before && before.size > TEXT_DIFF_MAX) || (after && after.size > TEXT_DIFF_MAX)) return { kind: 'too_big' };
  const read = async (side, info) => {
    if (!info) return new Uint8Array(0);
    const args = { image: side.image, path: `/${f.path}`, offset: 0, length: TEXT_DIFF_MAX + 1 };
    if (side.handle !== undefined) args.handle = side.handle;
    return ctx.core('readFile', args);
  };
  let a;
  let b;
  try {
    [a, b] = await Promise.all([read(sides.a, before), read(sides.b, after)]);
  } catch (error) {
    return { kind: 'failed', error };
  }
  if (a.length > TEXT_DIFF_MAX || b.length > TEXT_DIFF_MAX) return { kind: 'too_big' };
  if (looksBinary(a) || looksBinary(b)) return { kind: 'binary', same: sameBytes(a, b) };
  const decode = (bytes) => new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  const lines = (text) => {
    const out = text.split('\n');
    if (out.length && out[out.length - 1] === '') out.pop();
    return out;
  };
  const la = lines(decode(a));
  const lb = lines(decode(b));
  const ops = diffLines(la, lb);
  if (!ops) return { kind: 'too_different' };
  return { kind: 'text', hunks: hunks(ops, la, lb), same: ops.every((o) => o.op === ' ') };
}

function drawOutcome(outcome, path) {
  const note = (key, params) => h('p', { class: 'muted diff-content-note' }, tNode(key, params || {}));
  switch (outcome.kind) {
    case 'not_files': return note('diff.content_not_files');
    case 'too_big': return note('diff.content_too_big', { max: formatSize(TEXT_DIFF_MAX) });
    case 'too_different': return note('diff.content_too_different');
    case 'failed': return h('p', { class: 'inline-error' }, tNode('diff.content_failed', { reason: errorReason(outcome.error) }));
    case 'binary': return note(outcome.same ? 'diff.content_same' : 'diff.content_binary');
    default: break;
  }
  if (outcome.same) return note('diff.content_same');
  const view = h('div', { class: 'diff-unified mono', tabindex: '0', role: 'region', 'aria-label': t('diff.unified_label', { path }), translate: 'no' });
  for (const hunk of outcome.hunks) {
    view.append(h('div', { class: 'diff-hunk' }, `@@ -${hunk.aStart},${hunk.aCount} +${hunk.bStart},${hunk.bCount} @@`));
    for (const line of hunk.lines) {
      view.append(h('div', { class: line.op === '+' ? 'diff-line diff-add' : line.op === '-' ? 'diff-line diff-del' : 'diff-line' }, `${line.op}${line.text}`));
    }
  }
  return view;
}

function sameBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function looksBinary(bytes) {
  const n = Math.min(bytes.length, 8192);
  for (let i = 0; i < n; i++) if (bytes[i] === 0) return true;
  return false;
}

/** Myers' O(ND) difference of two line arrays: [{op: ' ' | '-' | '+', a, b}] (indexes into
 * each side), or null past MAX_EDITS edits or MAX_STEPS steps. The common head and tail are
 * taken off first; each round's frontier is kept (O(D²) memory) to walk the path back. */
export function diffLines(a, b, maxEdits = MAX_EDITS, maxSteps = MAX_STEPS) {
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let endA = a.length;
  let endB = b.length;
  while (endA > head && endB > head && a[endA - 1] === b[endB - 1]) { endA--; endB--; }
  const n = endA - head;
  const m = endB - head;
  const trace = [];
  let steps = 0;
  let found = false;
  for (let d = 0; d <= n + m && !found; d++) {
    if (d > maxEdits) return null;
    const prev = trace[d - 1];
    const v = new Int32Array(2 * d + 1); // v[k + d]: furthest x on diagonal k after d edits
    for (let k = -d; k <= d; k += 2) {
      let x;
      if (d === 0) x = 0;
      else if (k === -d || (k !== d && prev[k - 1 + d - 1] < prev[k + 1 + d - 1])) x = prev[k + 1 + d - 1];
      else x = prev[k - 1 + d - 1] + 1;
      let y = x - k;
      while (x < n && y < m && a[head + x] === b[head + y]) { x++; y++; steps++; }
      steps++;
      v[k + d] = x;
      if (x >= n && y >= m) { found = true; break; }
    }
    if (steps > maxSteps) return null;
    trace.push(v);
  }
  // Walk back from (n, m).
  const rev = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d > 0; d--) {
    const prev = trace[d - 1];
    const k = x - y;
    const down = k === -d || (k !== d && prev[k - 1 + d - 1] < prev[k + 1 + d - 1]);
    const prevK = down ? k + 1 : k - 1;
    const prevX = prev[prevK + d - 1];
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) { x--; y--; rev.push({ op: ' ', a: head + x, b: head + y }); }
    if (down) { y--; rev.push({ op: '+', a: head + x, b: head + y }); } else { x--; rev.push({ op: '-', a: head + x, b: head + y }); }
  }
  while (x > 0 && y > 0) { x--; y--; rev.push({ op: ' ', a: head + x, b: head + y }); }
  const ops = [];
  for (let i = 0; i < head; i++) ops.push({ op: ' ', a: i, b: i });
  for (let i = rev.length - 1; i >= 0; i--) ops.push(rev[i]);
  for (let i = 0; i < a.length - endA; i++) ops.push({ op: ' ', a: endA + i, b: endB + i });
  return ops;
}

/** The edit script as unified-diff hunks with CONTEXT lines around each change. */
function hunks(ops, a, b) {
  const out = [];
  let i = 0;
  while (i < ops.length) {
    if (ops[i].op === ' ') { i++; continue; }
    // A change at i: the hunk starts CONTEXT lines before it and runs until CONTEXT * 2
    // unchanged lines in a row (or the end).
    let start = Math.max(0, i - CONTEXT);
    if (out.length && start < out[out.length - 1].end) start = out[out.length - 1].end;
    let end = i;
    let quiet = 0;
    while (end < ops.length && quiet <= CONTEXT * 2) {
      quiet = ops[end].op === ' ' ? quiet + 1 : 0;
      end++;
    }
    end = Math.min(ops.length, end - Math.max(0, quiet - CONTEXT));
    const lines = ops.slice(start, end).map((o) => ({ op: o.op, text: o.op === '+' ? b[o.b] : a[o.a] }));
    const first = ops[start];
    const aCount = lines.filter((l) => l.op !== '+').length;
    const bCount = lines.filter((l) => l.op !== '-').length;
    out.push({ aStart: aCount ? first.a + 1 : first.a, aCount, bStart: bCount ? first.b + 1 : first.b, bCount, lines, end });
    i = end;
  }
  return out;
}

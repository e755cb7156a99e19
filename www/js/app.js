// strata page: opens an archive in workers, keeps the report, routes between views.
import { CoreWorker, Priority } from './client.js';
import { h, clear, shortId, download, keepState, data, errorReason, formatName, failedChecks } from './util.js';
import {
  initI18n, translateStatic, onLangChange, setLang, preload, lang, LANGS, t, tNode, tCount, tCodeNode, has, formatSize,
} from './i18n.js';
import { renderImagesTable, renderPlatformPicker } from './views/images.js';
import { renderOverview } from './views/overview.js';
import { renderConfig } from './views/config.js';
import { renderHistory } from './views/history.js';
import { renderLayers } from './views/layers.js';
import { FilesView } from './views/files.js';
import { renderDiff } from './views/diff.js';
import { lessonView } from './views/lesson.js';
import { packagesView } from './views/packages.js';
import { structureView } from './views/structure.js';
import { initHosting } from './hosting.js';
import { initRemote, remoteName, forgetUrl, remoteInfo, registryFormat, sourceKey, addressNamesOther } from './remote.js';

// [id, label]: the label is a catalog key (or, for a tab that has none yet, its text).
const TABS = [
  ['overview', 'tab.overview'],
  ['config', 'tab.config'],
  ['history', 'tab.history'],
  ['layers', 'tab.layers'],
  ['files', 'tab.files'],
  ['packages', 'tab.packages'],
  ['diff', 'tab.diff'],
  ['lesson', 'lesson.tab'],
  ['structure', 'structure.tab'],
];
const tabLabel = (label) => (has(label) ? t(label) : label);

const $ = (id) => document.getElementById(id);

const state = {
  file: null,
  report: null,
  stage: 'idle', // idle | opening | indexed | verified | failed
  browse: null, // { worker, handle }: keeps the Session, answers list/read/diff requests
  helpers: null, // helper workers indexing, then hashing, blobs of the open archive
  run: null, // the open in progress (a newer open or a cancel replaces it)
  workers: new Set(),
  image: 0,
  tab: 'overview',
  path: '/',
  layer: null, // null = merged view in Files; k = layer k alone
  lessonStep: null, // Lesson: the step in the URL (k = layer k; the layer count = the merged view)
  onlyChanges: true, // Files, a layer's view: only what the layer changed (false: its whole tree)
  openStarted: 0,
  timings: {},
  layerFocus: null,
  filesViews: new Map(), // `${image}:${layer}` → FilesView (keeps expansion across tabs)
  second: null, // a second archive, opened for Diff
  diff: null, // { image, element }: the Diff panel on screen (it keeps its own state)
  pendingHash: null,
};
// For tests and the benchmark: read-only access to what the page knows.
window.strata = { state, timings: state.timings };

// The catalogs load while the workers start; nothing is drawn in words before they are in.
const i18nReady = initI18n().catch((error) => console.error(`strata: the page's texts could not be loaded: ${error.message}`)).then(() => {
  translateStatic();
  renderLangSwitch();
  document.documentElement.dataset.texts = 'ready'; // (not data-i18n: that attribute names a key)
  // The other languages' catalogs, once the page is idle: a switch then waits for nothing.
  setTimeout(() => { for (const l of LANGS) preload(l); }, 2000);
});

// ---------- opening archives ----------

// Workers boot (fetch and compile the wasm) before any file is chosen: one browsing worker
// and HELPERS helpers wait in `pool`, so opening an archive never waits for a worker to
// start. Each archive uses fresh ones (terminated when done or cancelled, which also
// frees their memory); the pool refills itself for the next archive.
const HELPERS = 2;

const pool = { browse: null, helpers: [] };

function warmPool() {
  if (!pool.browse) pool.browse = new CoreWorker(onWorkerEvent);
  while (pool.helpers.length < HELPERS) pool.helpers.push(new CoreWorker(onWorkerEvent));
}

function adopt(worker) {
  worker.onEvent = onWorkerEvent;
  state.workers.add(worker);
  return worker;
}

function takeBrowseWorker() {
  const worker = pool.browse && !pool.browse.dead ? pool.browse : new CoreWorker(onWorkerEvent);
  pool.browse = null;
  return adopt(worker);
}

function takeHelpers() {
  const helpers = pool.helpers.filter((w) => !w.dead);
  pool.helpers = [];
  while (helpers.length < HELPERS) helpers.push(new CoreWorker(onWorkerEvent));
  state.helpers = helpers.map(adopt);
  return state.helpers;
}

function dismissHelpers() {
  for (const helper of state.helpers || []) {
    helper.terminate('done');
    state.workers.delete(helper);
  }
  state.helpers = null;
  // Refill the pool once the page is idle again (compiling the wasm takes ~20 ms a worker).
  setTimeout(warmPool, 500);
}

function stopAll() {
  for (const worker of state.workers) worker.terminate();
  state.workers.clear();
  state.browse = null;
  state.helpers = null;
  state.second = null;
  state.filesViews.clear();
  // The Diff panel belongs to the archive it was made for (its B list names that archive's
  // second archive, now closed): the next archive gets a new one.
  state.diff = null;
  delete $('view').dataset.shows;
  clear($('view'));
}

/** Open `file`: a File, or {url}: an archive on a web server, or {ref, platform}: an image
 * in a registry (www/js/remote.js). */
async function openArchive(file) {
  await i18nReady;
  stopAll();
  hideError();
  // A local file: the address no longer names the archive on screen.
  if (file.ref) file = { ref: file.ref, platform: file.platform || null, name: file.name || file.ref, registry: file.registry };
  else if (!file.url) forgetUrl();
  else file = { url: file.url, name: remoteName(file.url) };
  const run = { file, cancelled: false };
  state.run = run;
  state.file = file;
  // What the address names for it (Back/Forward to another source reopens: remote.js).
  state.openKey = sourceKey(file);
  state.report = null;
  state.stage = 'opening';
  document.body.dataset.stage = 'opening';
  state.openStarted = performance.now();
  for (const k of Object.keys(state.timings)) delete state.timings[k];
  state.pendingHash = parseHash();
  showProgress({ phase: 'opening', done: 0, total: file.size || 0 });
  renderArchiveInfo();
  const worker = takeBrowseWorker();
  const helpers = takeHelpers();
  // A compressed archive is read in one pass by the browsing worker; it sends the bytes of
  // big blobs to the first helper, which hashes them with WebCrypto on the other core.
  const channel = new MessageChannel();
  const digesting = helpers[0].request('digestEntries', { port: channel.port2 }, [channel.port2]);
  digesting.catch(() => {}); // (awaited in prepare; a failure there only means hashing in the core)
  let opened;
  try {
    opened = await worker.request('open', { file, digestPort: channel.port1 }, [channel.port1]);
  } catch (error) {
    if (error.cancelled) return;
    state.stage = 'failed';
    document.body.dataset.stage = 'failed';
    hideProgress();
    stopAll();
    showError(() => tNode('error.open_failed', { name: file.name, reason: errorNode(error) }));
    showLanding();
    return;
  }
  state.timings.metadata = performance.now() - state.openStarted;
  if (opened.remote) {
    // What the helpers read: the web server ({url, size, etag}), or the Blob the whole
    // download became (a server without Range).
    const source = opened.source instanceof Blob ? Object.assign(new File([opened.source], file.name), { url: file.url, ref: file.ref }) : { ...opened.source, name: file.name };
    run.file = source;
    state.file = source;
    state.timings.remote = opened.remote;
  }
  state.browse = { worker, handle: opened.handle };
  state.report = opened.report;
  // The helpers get their first layers before the workspace renders (which takes a while).
  const preparing = prepare(run, opened.work, digesting);
  showWorkspace();
  try {
    await preparing;
  } catch (error) {
    if (error.cancelled || run !== state.run) return;
    hideProgress();
    showError(() => tNode('error.read_stopped', { name: file.name, reason: errorNode(error) }));
  }
}

// After the metadata: two helper workers index the layers (largest first, each taking the
// next layer when done; a big layer in two parts at once) and hand each index to the
// browsing worker; it builds the merged tree of the first image (now the page is
// interactive). Then the same helpers hash every blob and hand over what they found, blob
// by blob, as verdicts fill in. (Hashing while the index is still being read was measured
// too: verified ~0.1 s sooner, interactive ~0.1 s later.)
async function prepare(run, work, digesting) {
  const helpers = state.helpers;
  const treeBuilt = await indexLayers(run, helpers, work.unindexed);
  if (run !== state.run) return;
  const browsable = treeBuilt || await core('allIndexed');
  if (browsable) await becomeInteractive(run);
  if (run !== state.run) return;
  if (!state.report.verification_done && !work.seekable) {
    // The blobs a compressed archive's pass sent to the helper: their digests.
    const got = await digesting.catch(() => null);
    if (run !== state.run) return;
    state.timings.hashedElsewhere = got ? got.entries.length : 0;
    if (got && got.entries.length) state.report = await core('setEntryDigests', got);
  }
  if (!state.report.verification_done) {
    if (work.seekable) await hashBlobs(run, helpers, work.pending, !browsable);
    // A compressed archive whose blob digests did not all come back (the helper ran out
    // of memory): the core hashes those blobs itself. So it does a plain archive's sparse
    // blob (GNU tar --sparse left its holes out: no span for the helpers to read).
    if (run === state.run && !state.report.verification_done) state.report = await core('verify');
  }
  if (run !== state.run) return;
  // For the benchmark: each helper's wasm memory now is its high-water mark, and the
  // streams it read through (both asked at once: one round trip).
  const ask = (op) => Promise.all(helpers.map((w) => w.request(op).catch(() => null)));
  [state.timings.helperMemory, state.timings.helperStreams, state.timings.helperHolds] = await Promise.all([ask('memory'), ask('streams'), ask('holds')]);
  dismissHelpers();
  state.timings.verified = performance.now() - state.openStarted;
  hideProgress();
  if (state.timings.interactive === undefined) await becomeInteractive(run);
  if (run !== state.run) return;
  // Trees are rebuilt with content hashes: views that failed to list (compressed layers
  // not read yet) start over.
  for (const [key, view] of state.filesViews) if (view.failed) state.filesViews.delete(key);
  state.stage = 'verified';
  refresh();
  // Announced once the verdicts are on screen (tests and scripts wait for this).
  document.body.dataset.stage = 'verified';
}

/** Layer indexes each helper runs at once. Reading is mostly waiting (a header probe after
 * a jump waits ~2 ms for the browser): with two walks in flight one helper reads while the
 * other waits. Measured on the bench archive: 2 lanes ~20–40 ms sooner than 1; 3 slower. */
const INDEX_LANES = 2;

/** A layer at least this big is walked in two parts at once, by two lanes: the first
 * from its start to its middle, the second from the first header it finds past the middle
 * to its end (see src/chunk_index.rs). Measured on the bench archive: the biggest layer
 * was the index's critical path, one walk reading 131 MB. */
const SPLIT_MIN = 32 << 20;
/** How far past the middle the second part looks for a header before it gives up (the
 * middle is inside a big file; the first part then walks on alone). */
const SEARCH_WITHIN = 4 << 20;

/** Index every layer in `spans` with the helpers. Resolves to whether the browsing worker
 * built the merged tree when the last index came in. */
function indexLayers(run, helpers, spans) {
  const items = [];
  for (const span of spans) {
    if (span.size < SPLIT_MIN) {
      items.push({ span, size: span.size });
      continue;
    }
    const middle = Math.floor(span.size / 2 / 512) * 512;
    const pair = { left: 2, first: null, second: null };
    items.push({ span, size: middle, pair, which: 'first', part: { from: 0, stopAt: middle } });
    items.push({ span, size: span.size - middle, pair, which: 'second', part: { from: middle, searchWithin: SEARCH_WITHIN } });
  }
  const queue = items.sort((a, b) => b.size - a.size);
  const total = queue.reduce((sum, s) => sum + s.size, 0);
  let done = 0;
  let treeBuilt = false;
  if (queue.length) showProgress({ phase: 'indexing', done: 0, total, item: 0, items: 0 });
  const t0 = performance.now();
  const timings = [];
  state.timings.indexSpans = timings;
  const image = () => (state.report.images.length ? state.image : undefined);
  const walk = (helper, span, part) => helper.request('quickIndex', { file: run.file, offset: span.offset, size: span.size, part });
  const whole = async (helper, span) => {
    const data = await walk(helper, span);
    return data ? core('setQuickIndex', { blob: span.blob, data, image: image() }, [data.buffer]) : false;
  };
  // Both parts of a layer are here: join them, walking on from the first part's stop if
  // the second part did not get there (or failed), or the whole layer if nothing else works.
  // (`pair.how` records which, for the benchmark and the tests.)
  const join = async (helper, span, pair) => {
    const { first, second } = pair;
    pair.how = 'whole';
    if (!first) return whole(helper, span);
    let answer = await core('setQuickIndexParts', { blob: span.blob, first, second, image: image() });
    pair.how = 'spliced';
    if (answer.joined >= 0 && run === state.run) {
      pair.how = 'walked on';
      const rest = await walk(helper, span, { from: answer.joined });
      if (rest) answer = await core('setQuickIndexParts', { blob: span.blob, first, second: rest, image: image() }, [rest.buffer]);
    }
    if (answer.joined === -1) return answer.built;
    pair.how = 'whole';
    return run === state.run ? whole(helper, span) : false;
  };
  const lane = async (helper, k) => {
    while (queue.length && run === state.run) {
      const item = queue.shift();
      const t = performance.now();
      let built;
      if (!item.pair) {
        built = await whole(helper, item.span);
      } else {
        item.pair[item.which] = await walk(helper, item.span, item.part);
        item.pair.left -= 1;
        built = item.pair.left === 0 && await join(helper, item.span, item.pair);
      }
      if (built) treeBuilt = true;
      done += item.size;
      if (run === state.run && state.stage === 'opening') showProgress({ phase: 'indexing', done, total, item: 0, items: 0 });
      timings.push({ worker: k, blob: item.span.blob, mb: Math.round(item.size / 1e6), part: item.which, joined: item.pair?.how, ms: Math.round(performance.now() - t), at: Math.round(performance.now() - t0) });
    }
  };
  // Lanes take work helper by helper (0, 1, 0, 1): the two parts of the biggest layer, which
  // come first, go to different helpers.
  const lanes = Array.from({ length: INDEX_LANES }, () => helpers.map((helper, k) => lane(helper, k)));
  return Promise.all(lanes.flat()).then(() => treeBuilt);
}

async function becomeInteractive(run) {
  if (state.report.images.length) {
    try {
      await core('buildTree', { image: state.image });
    } catch (error) {
      // A layer with no file list (damaged, or not a tar): the report, the history and
      // the verdicts are still worth showing; the Files view says what is missing.
    }
  }
  if (run !== state.run) return;
  markInteractive();
}

/** The merged tree is built: the page is browsable. */
function markInteractive() {
  state.timings.interactive = performance.now() - state.openStarted;
  if (state.stage === 'opening') {
    state.stage = 'indexed';
    document.body.dataset.stage = 'indexed';
  }
  refresh();
}

/** Hash the blobs in `spans` with the helpers (largest first, so the last blobs to finish
 * are small ones and the helpers end together). With `buildTree` (compressed layers: the
 * header walks could not index them), the browsing worker builds the merged tree as soon as
 * the last layer's facts are in, and the page is browsable from then on. */
async function hashBlobs(run, helpers, spans, buildTree) {
  const queue = [...spans].sort((a, b) => b.size - a.size);
  const total = queue.reduce((sum, s) => sum + s.size, 0);
  const items = queue.length;
  const running = new Map(); // blob → bytes done
  let finished = 0;
  let finishedBytes = 0;
  const post = () => {
    if (run !== state.run) return;
    let done = finishedBytes;
    for (const d of running.values()) done += d;
    showProgress({ phase: 'verifying', done, total, item: finished, items });
  };
  for (const helper of helpers) {
    helper.onEvent = (event) => {
      if (event.type === 'blob-progress') {
        running.set(event.blob, event.done);
        post();
      }
    };
  }
  post();
  const t0 = performance.now();
  const timings = [];
  state.timings.verifyBlobs = timings;
  const handedOver = [];
  // While the person waits for the browsing worker, the helpers take no new blob and hold
  // their reads (www/js/client.js, `Priority`).
  const holdsBefore = priority.holds;
  priority.setHelpers(helpers);
  let deferred = 0;
  const hashing = Promise.all(helpers.map(async (helper, k) => {
    while (queue.length && run === state.run) {
      if (priority.pending) {
        deferred += 1;
        await priority.idle();
        continue; // (the run may be over, the queue taken meanwhile)
      }
      const span = queue.shift();
      running.set(span.blob, 0);
      const t = performance.now();
      const { facts, how, ms } = await helper.request('analyze', { file: run.file, blob: span.blob, offset: span.offset, size: span.size });
      timings.push({ worker: k, mb: Math.round(span.size / 1e6), how, ms: Math.round(performance.now() - t), at: Math.round(performance.now() - t0), parts: ms });
      running.delete(span.blob);
      finished += 1;
      finishedBytes += span.size;
      // The helper goes on with its next blob while the browsing worker takes these facts.
      const image = buildTree && state.timings.interactive === undefined && state.report.images.length ? state.image : undefined;
      const taken = core('setBlobFacts', { blob: span.blob, data: facts, image }, [facts.buffer]).then(({ report, built }) => {
        if (run !== state.run) return;
        state.report = report;
        if (built && state.timings.interactive === undefined) markInteractive();
        post();
        refreshSoon();
      });
      taken.catch(() => {}); // (awaited below, unless the hashing stopped first)
      handedOver.push(taken);
    }
  }));
  try {
    await hashing;
  } finally {
    if (priority.helpers === helpers) priority.setHelpers([]);
    // For the benchmark and the tests: how often the helpers were held, and the blobs
    // they did not start meanwhile.
    state.timings.helperPauses = priority.holds - holdsBefore;
    state.timings.blobsDeferred = deferred;
  }
  await Promise.all(handedOver);
}

function onWorkerEvent(event, worker) {
  // Events about a second archive (opened for Diff) in the same worker are not ours.
  const fromBrowse = state.browse && state.browse.worker === worker && event.handle === state.browse.handle;
  switch (event.type) {
    case 'progress':
      if (fromBrowse || state.stage === 'opening') showProgress(event);
      break;
    case 'verdict':
      if (fromBrowse) {
        state.report = event.report;
        refreshSoon();
      }
      break;
    case 'dead':
      showError(() => errorNode(event));
      hideProgress();
      break;
    default:
      break;
  }
}

let refreshTimer = 0;
function refreshSoon() {
  if (refreshTimer) return;
  refreshTimer = setTimeout(() => {
    refreshTimer = 0;
    refresh();
  }, 150);
}

/** Ask the browsing worker something about the open archive. */
function core(op, args = {}, transfer = []) {
  if (!state.browse) return Promise.reject(new Error('no archive is open'));
  return state.browse.worker.request(op, { handle: state.browse.handle, ...args }, transfer);
}

/** The views' requests (the person waits for them) go before the helpers' hashing. */
const priority = new Priority();
state.priority = priority;
function coreForPerson(op, args = {}, transfer = []) {
  return priority.forPerson(() => core(op, args, transfer));
}

async function openSample() {
  hideError();
  try {
    const response = await fetch('sample.tar');
    if (!response.ok) throw Object.assign(new Error(`the server answered ${response.status}`), { key: 'error.http_status', params: { status: String(response.status) } });
    const blob = await response.blob();
    await openArchive(new File([blob], 'sample.tar', { type: 'application/x-tar' }));
  } catch (error) {
    showError(() => tNode('error.sample', { reason: errorNode(error) }));
  }
}

// ---------- progress, errors ----------

let lastProgress = { time: 0, done: 0, speed: 0 };
let shownProgress = null; // the last progress drawn (a language switch draws it again)
function showProgress(p) {
  $('progress').hidden = false;
  shownProgress = p;
  const phaseKey = `progress.phase.${p.phase}`;
  let phase = has(phaseKey) ? t(phaseKey) : p.phase;
  // The helpers hash blobs two at a time: say how many are done, not "blob 1 of 4".
  if (p.phase === 'verifying' && p.items) phase = t('progress.verifying_blobs', { n: Math.min(p.item, p.items), total: p.items });
  // A compressed archive's one pass, before anything is known: it reads and decompresses
  // the whole file (and verifies as it goes).
  else if (p.phase === 'verifying' && !state.report) phase = t('progress.phase.decompressing');
  else if (p.items > 1 && p.phase !== 'opening') phase = t('progress.phase_of', { phase, n: Math.min(p.item + 1, p.items), total: p.items });
  // A registry image, until its report is in: what is fetched, and from where.
  if (state.file?.ref && !state.report && (p.phase === 'opening' || p.phase === 'fetching')) {
    phase = t('progress.phase.fetching_registry', { registry: state.file.registry || state.file.ref });
  }
  $('progress-phase').textContent = t('progress.ongoing', { phase });
  const now = performance.now();
  // A new phase measures its own speed: the bytes done since the phase began over the time
  // since then (a window of a few hundred ms swung wildly when progress came in bursts),
  // shown once the phase has run a little while.
  if (p.phase !== lastProgress.phase || p.done < lastProgress.done) lastProgress = { time: now, start: now, startDone: p.done, done: p.done, speed: 0, phase: p.phase };
  const elapsed = (now - lastProgress.start) / 1000;
  lastProgress.done = p.done;
  lastProgress.speed = elapsed >= 0.3 && p.done > lastProgress.startDone ? (p.done - lastProgress.startDone) / elapsed : 0;
  const pct = p.total ? Math.min(100, (100 * p.done) / p.total) : 0;
  // One unit system on the page: docker's SI sizes, the speed too.
  const numbers = { done: formatSize(p.done), total: formatSize(p.total), percent: Math.round(pct) };
  $('progress-numbers').textContent = !p.total ? (p.done && p.phase === 'fetching' ? t('progress.fetched', { done: formatSize(p.done) }) : '')
    : lastProgress.speed ? t('progress.numbers_speed', { ...numbers, speed: formatSize(lastProgress.speed) })
      : t('progress.numbers', numbers);
  $('progress-fill').style.width = `${pct}%`;
}

function hideProgress() {
  $('progress').hidden = true;
  shownProgress = null;
  lastProgress = { time: 0, done: 0, speed: 0 };
}

function cancel() {
  if (state.stage === 'opening' && !state.report) {
    stopAll();
    state.run = null;
    state.stage = 'idle';
    document.body.dataset.stage = 'idle';
    hideProgress();
    showLanding();
    showError(() => t('notice.open_cancelled'), 'notice');
    return;
  }
  // What is on screen stays; only the indexing and hashing stop (a synchronous wasm loop
  // never sees a message: the helper workers are terminated).
  for (const helper of state.helpers || []) {
    helper.terminate();
    state.workers.delete(helper);
  }
  state.helpers = null;
  setTimeout(warmPool, 500);
  state.run = null;
  state.stage = 'cancelled';
  document.body.dataset.stage = 'cancelled';
  hideProgress();
  // Say what happened, keep what is known, and offer to go on from there.
  const cancelledKey = state.timings.interactive === undefined ? 'notice.read_cancelled' : 'notice.verify_cancelled';
  showError(() => [t(cancelledKey), ' ',
    h('button', { type: 'button', class: 'small', id: 'resume-button', onclick: resume }, t('action.resume'))], 'notice');
  refresh();
}

/** Go on after a Cancel: fresh helpers index and hash what is still to do (the core
 * knows: `work`), and keep everything found before. */
async function resume() {
  if (state.stage !== 'cancelled' || !state.browse) return;
  hideError();
  const run = { file: state.file, cancelled: false };
  state.run = run;
  state.stage = state.timings.interactive === undefined ? 'opening' : 'indexed';
  document.body.dataset.stage = state.stage;
  takeHelpers();
  refresh();
  try {
    const work = await core('work');
    if (run !== state.run) return;
    showProgress({ phase: 'verifying', done: 0, total: 0, item: 0, items: 0 });
    await prepare(run, work, Promise.resolve(null));
  } catch (error) {
    if (error.cancelled || run !== state.run) return;
    hideProgress();
    showError(() => tNode('error.read_stopped', { name: state.file.name, reason: errorNode(error) }));
  }
}

let shownError = null; // { render, kind }: drawn again in another language
/** Show an error (or a notice). `render` gives its words (a string or nodes) in the
 * language of the moment, so a switch redraws it. */
function showError(render, kind = 'error') {
  shownError = { render, kind };
  const box = $('error');
  box.className = kind === 'notice' ? 'notice-box' : 'error-box';
  clear(box).append(h('span', null, render()), h('button', { type: 'button', class: 'small secondary', onclick: hideError }, t('action.dismiss')));
  box.hidden = false;
}

function hideError() {
  shownError = null;
  $('error').hidden = true;
}

/** An error's words: a page-side key, a core code ({code, params, message}), or the
 * English message (marked lang="en") when neither is known. */
function errorNode(error) {
  return errorReason(error);
}

// ---------- layout ----------

function showLanding() {
  $('landing').hidden = false;
  $('workspace').hidden = true;
  $('report-button').hidden = true;
  $('copy-link-button').hidden = true;
  clear($('archive-info'));
}

function showWorkspace() {
  // The control that opened the archive (the sample button, the picker) may be on the
  // landing page about to be hidden: then focus would fall to <body>; it goes to the
  // workspace's heading instead, where reading and Tab carry on.
  const lost = !document.activeElement || document.activeElement === document.body || $('landing').contains(document.activeElement);
  $('landing').hidden = true;
  $('workspace').hidden = false;
  $('report-button').hidden = false;
  $('copy-link-button').hidden = false;
  restoreFromHash();
  renderArchiveInfo();
  refresh();
  if (lost) {
    $('workspace-title').setAttribute('tabindex', '-1');
    $('workspace-title').focus({ preventScroll: true });
  }
}

function renderArchiveInfo() {
  const box = $('archive-info');
  if (!state.file) {
    clear(box);
    return;
  }
  // The page's one heading while an archive is open (for screen readers: the name is text).
  $('workspace-title').replaceChildren(tNode('workspace.title', { name: state.file.name }));
  const nodes = [data(state.file.name, { class: 'file-name', title: state.file.url || state.file.name })];
  if (state.file.url || state.file.ref) nodes.push(...[remoteInfo(state.file, state.timings.remote)].flat());
  const report = state.report;
  if (report) {
    const a = report.archive;
    const remote = state.timings.remote;
    if (remote?.mode === 'registry') {
      // The core read a virtual OCI layout tar of the registry's blobs: its size and
      // "OCI archive" are strata's view, not the image's.
      nodes.push(h('span', { class: 'muted registry-format' }, registryFormat(remote)));
    } else {
      const bits = [formatSize(a.size), ' · ', formatName(a.format)];
      if (a.compression && a.compression !== 'none') bits.push(' · ', tNode('archive.compressed', { compression: a.compression }));
      nodes.push(h('span', { class: 'muted' }, bits));
    }
    nodes.push(overallBadge(report));
  }
  replaceKeeping(box, nodes);
}

/** Make `nodes` the children of `box`, leaving where it is any node already in it (the
 * platform picker, which remote.js hands back each time: taken out and put back, it would
 * lose keyboard focus and close its open dropdown). */
function replaceKeeping(box, nodes) {
  const kept = new Set(nodes.filter((node) => node.parentNode === box));
  for (const child of [...box.childNodes]) if (!kept.has(child)) child.remove();
  let before = box.firstChild; // (now the first kept node, or none)
  for (const node of nodes) {
    if (kept.has(node)) before = node.nextSibling;
    else box.insertBefore(node, before);
  }
}

function overallBadge(report) {
  if (!report.verification_done) {
    return h('span', { class: 'badge pending', id: 'overall-verdict' }, t(state.stage === 'cancelled' ? 'verdict.not_verified' : 'verdict.verifying'));
  }
  // One count with one meaning, as the Overview and the layers say it: checks that failed
  // (a blob shared by two images counted once); else, errors among the findings.
  const failed = failedChecks(report).length;
  const errors = report.findings.filter((f) => f.severity === 'error').length;
  const bad = report.images.some((i) => !i.verified);
  if (!failed && !errors && !bad) return h('span', { class: 'badge ok', id: 'overall-verdict' }, t('verdict.all_verified'));
  if (failed || !errors) return h('span', { class: 'badge bad', id: 'overall-verdict' }, tCount('verdict.checks_failed', failed || 1));
  return h('span', { class: 'badge bad', id: 'overall-verdict' }, tCount('verdict.errors', errors));
}

function currentImage() {
  return state.report && state.report.images[state.image];
}

function refresh() {
  const report = state.report;
  if (!report) return;
  if (!report.images[state.image]) state.image = 0;
  renderArchiveInfo();
  // Verdicts redraw these often: focus stays on the row (or picker) it was on.
  const table = $('images-table');
  keepState(table, () => renderImagesTable(table, report, state.image, (i) => selectImage(i), state.stage),
    () => table.querySelector('tr.selected'));
  const picker = $('platform-picker');
  keepState(picker, () => renderPlatformPicker(picker, report, state.image, (i) => selectImage(i)));
  renderFindings(report);
  renderTabs();
  renderView();
}

function renderFindings(report) {
  const box = $('findings');
  // Opened or closed by the person: it stays so when verdicts redraw it.
  const wasOpen = box.querySelector('details')?.open;
  clear(box);
  const findings = report.findings || [];
  if (!findings.length) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  const worst = findings.some((f) => f.severity === 'error') ? 'error' : findings.some((f) => f.severity === 'warning') ? 'warning' : 'info';
  const open = wasOpen ?? worst === 'error';
  const details = h('details', { class: `findings-${worst}`, open: open ? true : undefined },
    h('summary', null, tCount('findings.summary', findings.length), ' ', findingsBreakdown(findings)),
    h('ul', null, findings.map((f) => h('li', { class: `sev-${f.severity}` },
      h('span', { class: 'sev' }, has(`severity.${f.severity}`) ? t(`severity.${f.severity}`) : f.severity), ' ', tCodeNode(f),
      f.location ? h('span', { class: 'muted' }, ' ', tNode('findings.location', { location: f.location })) : null))));
  box.append(details);
}

/** "(3 errors, 1 note)": the findings by severity, in the words the list uses. */
function findingsBreakdown(findings) {
  const parts = [];
  for (const severity of ['error', 'warning', 'info']) {
    const n = findings.filter((f) => f.severity === severity).length;
    if (n) parts.push(tCount(`findings.count.${severity}`, n));
  }
  return h('span', { class: 'muted' }, t('findings.breakdown', { list: parts.join(t('list.sep')) }));
}

// The tab buttons are made once and then only marked: replacing them on every refresh (as
// verdicts arrive) could swallow a click whose mousedown and mouseup land on different buttons.
function renderTabs() {
  const nav = $('tabs');
  if (!nav.childElementCount) {
    for (const [id, label] of TABS) {
      const tab = h('button', {
        type: 'button', role: 'tab', id: `tab-${id}`, 'aria-controls': 'view', class: 'tab',
        onclick: () => navigate({ tab: id }),
      }, tabLabel(label));
      tab.addEventListener('keydown', (event) => {
        const i = TABS.findIndex(([t]) => t === id);
        let next = null;
        if (event.key === 'ArrowRight') next = TABS[(i + 1) % TABS.length][0];
        if (event.key === 'ArrowLeft') next = TABS[(i + TABS.length - 1) % TABS.length][0];
        if (next) {
          event.preventDefault();
          navigate({ tab: next });
          document.getElementById(`tab-${next}`)?.focus();
        }
      });
      nav.append(tab);
    }
  }
  for (const [id, label] of TABS) {
    const tab = document.getElementById(`tab-${id}`);
    // (The label again: the language may have changed since the tab was made.)
    tab.textContent = tabLabel(label);
    const selected = state.tab === id;
    tab.setAttribute('aria-selected', selected ? 'true' : 'false');
    tab.tabIndex = selected ? 0 : -1;
    tab.classList.toggle('selected', selected);
  }
  $('view').setAttribute('aria-labelledby', `tab-${state.tab}`);
}

function filesView() {
  const key = `${state.image}:${state.layer ?? 'merged'}`;
  let view = state.filesViews.get(key);
  if (!view) {
    view = new FilesView({
      image: state.image, layer: state.layer, report: () => state.report, core: coreForPerson, navigate,
      onPath: (path, how = 'push') => { state.path = path; writeHash(how); },
      onlyChanges: state.onlyChanges,
      onOnlyChanges: (on) => { state.onlyChanges = on; writeHash('push'); },
    });
    state.filesViews.set(key, view);
  }
  return view;
}

/** Fill the view with another panel. Focus that was in the old panel goes to the panel
 * itself (a tabpanel), not to <body>. */
function replaceView(view, panel) {
  const hadFocus = view.contains(document.activeElement) && document.activeElement !== view;
  clear(view).append(panel);
  if (hadFocus && !view.contains(document.activeElement)) view.focus({ preventScroll: true });
}

function renderView() {
  const view = $('view');
  const image = currentImage();
  if (!image) {
    clear(view).append(h('p', { class: 'empty' }, t('view.no_images')));
    return;
  }
  const ctx = { report: state.report, image, index: state.image, core: coreForPerson, navigate, state, openSecond };
  const shows = `${state.tab}:${state.image}`;
  const same = view.dataset.shows === shows;
  view.dataset.shows = shows;
  // The Files and Diff views keep their own state: only rebuild them when they change.
  if (state.tab === 'files') {
    const files = filesView();
    if (view.firstChild !== files.element) replaceView(view, files.element);
    files.show(state.path, state.onlyChanges);
    files.refreshVerdicts();
    return;
  }
  if (state.tab === 'diff') {
    // Made once per image (its selection and result survive a visit to another tab), and
    // put back whenever another tab's panel is on screen.
    if (!state.diff || state.diff.image !== state.image) state.diff = { image: state.image, element: renderDiff(ctx) };
    if (view.firstChild !== state.diff.element) replaceView(view, state.diff.element);
    return;
  }
  if (state.tab === 'packages') {
    // Kept per image: its search, filter, sort and scan survive verdict redraws.
    const packages = packagesView(ctx);
    if (view.firstChild !== packages.element) replaceView(view, packages.element);
    packages.show(ctx);
    return;
  }
  if (state.tab === 'lesson') {
    // Kept per image, like Files: its step and opened folders survive verdict redraws.
    const lesson = lessonView(ctx, (step) => { state.lessonStep = step; writeHash(); });
    if (view.firstChild !== lesson.element) replaceView(view, lesson.element);
    lesson.show(state.lessonStep, ctx);
    return;
  }
  if (state.tab === 'structure') {
    // The archive's own documents (one view per archive: it keeps the trail of opened ones).
    const structure = structureView(ctx);
    if (view.firstChild !== structure.element) replaceView(view, structure.element);
    structure.show();
    return;
  }
  const render = { overview: renderOverview, config: renderConfig, history: renderHistory, layers: renderLayers }[state.tab];
  const scroll = window.scrollY;
  if (same) {
    // A redraw of the same panel (verdicts came in): opened <details> stay open and focus
    // stays where it was.
    keepState(view, () => clear(view).append(render(ctx)), () => view);
  } else {
    replaceView(view, render(ctx));
  }
  window.scrollTo(0, scroll);
}

function selectImage(index) {
  if (index === state.image) return;
  state.image = index;
  state.path = '/';
  state.layer = null;
  writeHash('push');
  refresh();
}

/** Go somewhere: {tab, path, layer, image}. */
function navigate(to) {
  // (Another image, e.g. from the Diff's "open B's version": its row in the images table
  // is selected too.)
  const otherImage = to.image !== undefined && to.image !== state.image;
  if (to.image !== undefined) state.image = to.image;
  if (to.layer !== undefined) state.layer = to.layer;
  if (to.path !== undefined) state.path = to.path;
  if (to.tab) state.tab = to.tab;
  state.layerFocus = to.layerFocus ?? null;
  writeHash('push');
  if (otherImage) {
    refresh();
  } else {
    renderTabs();
    renderView();
  }
  if (to.focus) $('view').focus();
  // A link to a layer (History, Overview): focus follows it to that layer's row.
  if (state.tab === 'layers' && state.layerFocus !== null) document.getElementById(`layer-${state.layerFocus}`)?.focus();
}

// Open a second archive (for Diff) in the browsing worker, next to the first.
async function openSecond(file) {
  const opened = await core('open', { file });
  const worker = state.browse.worker;
  await worker.request('indexLayers', { handle: opened.handle });
  // Compressed layers are only listable once read in full.
  if (!(await worker.request('allIndexed', { handle: opened.handle }))) {
    opened.report = await worker.request('verify', { handle: opened.handle });
  }
  state.second = { handle: opened.handle, report: opened.report, file };
  return state.second;
}

// ---------- URL hash: #image=<short id>&tab=files&layer=2&path=/etc/passwd ----------

function parseHash() {
  const params = new URLSearchParams(location.hash.slice(1));
  const wanted = Object.fromEntries(params.entries());
  // Only hashes this page writes describe a view (a "#view" or "#main" is an anchor).
  return wanted.image || wanted.tab ? wanted : null;
}

/** Put the view in the URL. A person's navigation ('push': a tab, an image, a path) is a
 * history entry, so Back returns to it; a restore or a fix-up ('replace') is not. */
function writeHash(mode = 'replace') {
  const image = currentImage();
  if (!image) return;
  const params = new URLSearchParams();
  params.set('image', shortId(image.id));
  params.set('tab', state.tab);
  if (state.layer !== null && state.layer !== undefined) params.set('layer', String(state.layer));
  if (state.path && state.path !== '/') params.set('path', state.path);
  if (state.tab === 'lesson' && state.lessonStep !== null) params.set('step', String(state.lessonStep));
  // A layer's Files view with "Only changes" off (the whole tree as of that layer).
  if (state.tab === 'files' && state.layer !== null && state.layer !== undefined && !state.onlyChanges) params.set('only_changes', '0');
  const hash = `#${params.toString()}`;
  if (location.hash === hash) return;
  if (mode === 'push') history.pushState(null, '', hash);
  else history.replaceState(null, '', hash);
}

/** The page's address as it shows what is on screen, for "Copy link": `?url=…` (kept in
 * the address while a remote archive is open) plus the view in the hash. */
function currentLink() {
  writeHash();
  return { href: location.href, file: state.file, hasArchive: Boolean(state.report) };
}

/** Whether the hash still describes a link the page was loaded with (until the first
 * archive's view is restored from it). */
let hashFromLink = Boolean(parseHash());

function restoreFromHash() {
  const wanted = state.pendingHash || {};
  state.pendingHash = null;
  state.image = 0;
  state.tab = 'overview';
  state.path = '/';
  state.layer = null;
  state.lessonStep = /^\d+$/.test(wanted.step || '') ? Number(wanted.step) : null;
  state.onlyChanges = wanted.only_changes !== '0';
  if (wanted.image) {
    const found = state.report.images.findIndex((i) => shortId(i.id) === wanted.image);
    // A followed link made for another archive (a dropped file is not in the link: the
    // person opens the one they think it names, and the image ID says whether it is). A
    // view left in the hash by the archive opened before is no link: nothing to say.
    if (found < 0 && hashFromLink) {
      const image = wanted.image;
      const name = state.file.name;
      showError(() => tNode('link.image_missing', { image: data(image), name: data(name) }), 'notice');
    }
    if (found >= 0) {
      state.image = found;
      if (TABS.some(([t]) => t === wanted.tab)) state.tab = wanted.tab;
      if (wanted.path) state.path = wanted.path;
      if (wanted.layer !== undefined && wanted.layer !== '') {
        const layer = Number(wanted.layer);
        if (Number.isInteger(layer) && state.report.images[found].layers[layer]) state.layer = layer;
      }
    }
  }
  hashFromLink = false;
  writeHash();
}

// Back/Forward between our entries, or a link or an edited URL: show what the hash says
// (restoreFromHash only replaces, so this never adds an entry).
window.addEventListener('hashchange', () => {
  if (!state.report) return;
  // Back/Forward to an entry naming another archive or image: remote.js reopens it, and its
  // view is restored from this hash then (not applied to the one still on screen).
  if (addressNamesOther(state.openKey)) return;
  const wanted = parseHash();
  if (!wanted) return;
  const image = state.image;
  state.pendingHash = wanted;
  restoreFromHash();
  if (state.image !== image) {
    refresh();
    return;
  }
  // Same image (a link to a tab or a path): only the tabs and the view change.
  renderTabs();
  renderView();
});

// ---------- language ----------

// The switcher in the header: each language named in itself ("English" marked lang="en"
// translate="no", so a page translator leaves it alone).
const LANG_NAMES = { en: 'English', 'zh-CN': '中文' };
function renderLangSwitch() {
  const box = $('lang-switch');
  if (!box) return;
  if (!box.childElementCount) {
    for (const l of LANGS) {
      box.append(h('button', {
        type: 'button', class: 'seg', lang: l, translate: l === 'en' ? 'no' : undefined, dataset: { lang: l },
        onclick: () => { if (l !== lang()) setLang(l); },
      }, LANG_NAMES[l] || l));
    }
  }
  for (const button of box.querySelectorAll('button')) {
    const on = button.dataset.lang === lang();
    button.setAttribute('aria-pressed', on ? 'true' : 'false');
    button.classList.toggle('selected', on);
  }
}

// A switch redraws what is on screen in place: the open archive, its verdicts, the URL
// hash and the view stay; nothing is read or verified again.
onLangChange(() => {
  translateStatic();
  renderLangSwitch();
  if (shownError) showError(shownError.render, shownError.kind);
  if (shownProgress && !$('progress').hidden) showProgress(shownProgress);
  if (!state.report) return;
  for (const view of state.filesViews.values()) view.retranslate?.();
  state.diff?.element.retranslate?.();
  // The other panels are drawn from the report: refresh() draws them again in place
  // (the same panel: opened <details> and focus stay).
  const scroll = window.scrollY;
  refresh();
  window.scrollTo(0, scroll);
});

// ---------- drag and drop, buttons ----------

let dragDepth = 0;
window.addEventListener('dragenter', (event) => {
  if (!event.dataTransfer || ![...event.dataTransfer.types].includes('Files')) return;
  event.preventDefault();
  dragDepth += 1;
  $('drop-overlay').hidden = false;
});
window.addEventListener('dragover', (event) => {
  event.preventDefault();
  if (event.dataTransfer) event.dataTransfer.dropEffect = 'copy';
});
window.addEventListener('dragleave', () => {
  dragDepth = Math.max(0, dragDepth - 1);
  if (dragDepth === 0) $('drop-overlay').hidden = true;
});
window.addEventListener('drop', (event) => {
  event.preventDefault();
  dragDepth = 0;
  $('drop-overlay').hidden = true;
  const file = event.dataTransfer && event.dataTransfer.files[0];
  if (!file) return;
  // Dropped on the Diff view's own drop zone: compare instead of opening.
  if (event.target instanceof Element && event.target.closest('[data-second-drop]')) {
    const zone = event.target.closest('[data-second-drop]');
    zone.dispatchEvent(new CustomEvent('second-file', { detail: file }));
    return;
  }
  openArchive(file);
});

for (const input of [$('file-input'), $('file-input-2')]) {
  input.addEventListener('change', (event) => {
    const file = event.target.files[0];
    event.target.value = '';
    if (file) openArchive(file);
  });
}
// "Skip to content" moves focus, not the URL: a "#view" hash is no view description, and
// changing it would add a history entry.
document.querySelector('a.skip').addEventListener('click', (event) => {
  event.preventDefault();
  ($('workspace').hidden ? $('main') : $('view')).focus();
});
warmPool();
// The service worker (offline shell, streamed downloads), files the OS opens in the
// installed app, and a host's library.json on the landing page (www/js/hosting.js).
initHosting({ openArchive, ready: i18nReady });
initRemote({ openArchive, showError, hideError, currentLink, openKey: () => state.openKey, ready: i18nReady });
$('sample-button').addEventListener('click', openSample);
$('sample-button-2').addEventListener('click', openSample);
$('cancel-button').addEventListener('click', cancel);
$('report-button').addEventListener('click', async () => {
  try {
    const json = await core('reportJson');
    const base = (state.file?.name || 'archive').replace(/\.(tar|tgz|gz|zst|xz)$/g, '');
    download(json, `${base}.strata.json`, 'application/json');
  } catch (error) {
    showError(() => tNode('error.report', { reason: errorNode(error) }));
  }
});


// Browser benchmark (issue 4): the strata page in headless Chromium on the large archive,
// next to the raw speed of reading (and SHA-256ing) the same file in the same browser.
//
//   node benches/browser.mjs [--runs N] [--out FILE.json] LARGE.tar [LARGE.tar.gz [LARGE-OCI.tar]]
//
// (LARGE-OCI.tar: the same image as an OCI archive with gzip layers; page runs only.)
//
// Serves a temporary root holding symlinks to www/ and benches/raw/ with
// `python3 -m http.server` on 127.0.0.1, loads each archive from disk with setInputFiles,
// and reads the page's own clocks (window.strata.timings, set by www/js/app.js):
//   metadata    open request answered (images, config, history known)
//   interactive the browsing worker indexed the layers (merged tree browsable)
//   verified    every digest checked
// Every page gets SETTLE_MS after it loads before the file is set (as a person needs to pick
// or drag a file), so a run measures the work on the archive, not the page's own start-up;
// one extra page run per round sets the file the instant the page's script has run
// (`tar_at_once`), to show what that start-up costs.
// plus the wasm memory of each worker (the `memory` request: wasm memory never shrinks, so
// its size once a worker is done is its high-water mark), the time from setting the URL hash
// to a file's text in the viewer, and a bare readFile request. Medians of N runs.
//
//   node benches/browser.mjs [--runs N] --packages IMAGE.tar [--packages IMAGE2.tar ...]
//
// The Packages tab (issue 25 item 6): once the tree is browsable, the time from clicking the
// tab to the table drawn (the scan of the package databases in the worker included), and the
// browsing worker's wasm memory before and after the scan. Without a LARGE.tar, only this.
// Each round runs three pages, interleaved, so the figures compare within one run: the tab
// clicked at browsable (while the helpers hash), the tab clicked once every digest is checked
// (the baseline: the scan with a core of its own), and no click at all (verification's own
// total, which the pause for the person's request must not lengthen). `--after-verified`
// runs only the second kind. `--www-before DIR` (a copy of www/ from before a change, its
// pkg/ included) runs every kind on that site too, interleaved with the current one, so a
// change is measured against what it replaced in the same minutes.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const { chromium } = await import(path.join(root, 'tests/page/node_modules/playwright-core/index.mjs'));

const args = process.argv.slice(2);
let runs = 3;
let outFile = null;
let quick = false; // --quick: page runs on the .tar and the two-worker baselines only (a dev loop)
let afterVerified = false; // --after-verified: the Packages tab clicked once every digest is checked (helpers idle), not at browsable
let langSwitch = false; // --lang-switch [FILE]: the language switch on an open 100k-entry tree only (issue 21)
let wwwBefore = null; // --www-before DIR: the same runs on another copy of the site, interleaved (an A/B)
let byUrl = false; // --url LARGE.tar: the archive opened by URL (HTTP Range over loopback) against the local file (issue 24)
let byRef = false; // --ref LARGE.tar [TAG]: the image pushed to Debian's docker-registry and opened by ?ref= against the same blobs as a local file (issue 24 item 2)
let refTag = ''; // --ref's TAG: which image of a multi-image archive is pushed
const files = [];
const packageFiles = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--runs') runs = Number(args[++i]);
  else if (args[i] === '--packages') packageFiles.push(path.resolve(args[++i]));
  else if (args[i] === '--out') outFile = args[++i];
  else if (args[i] === '--quick') quick = true;
  else if (args[i] === '--lang-switch') langSwitch = true;
  else if (args[i] === '--after-verified') afterVerified = true;
  else if (args[i] === '--url') byUrl = true;
  else if (args[i] === '--ref') byRef = true;
  else if (byRef && files.length === 1 && !args[i].startsWith('--') && !fs.existsSync(args[i])) refTag = args[i];
  else if (args[i] === '--www-before') wwwBefore = path.resolve(args[++i]);
  else files.push(path.resolve(args[i]));
}
if (!files.length && !packageFiles.length && !langSwitch) {
  console.error('usage: node benches/browser.mjs [--runs N] [--out FILE.json] [--url | --ref] LARGE.tar [LARGE.tar.gz [LARGE-OCI.tar]] (--ref LARGE.tar [TAG])');
  process.exit(64);
}
const SETTLE_MS = 1000;
const settle = () => new Promise((r) => setTimeout(r, SETTLE_MS));
const FILE_PATH = '/app/package.json'; // a small text file in the merged tree of the large image
const TIMEOUT = 300_000;

const median = (xs) => {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};

async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

async function startServer() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-bench-'));
  fs.symlinkSync(path.join(root, 'www'), path.join(dir, 'www'));
  if (wwwBefore) fs.symlinkSync(wwwBefore, path.join(dir, 'www-before'));
  fs.symlinkSync(path.join(here, 'raw'), path.join(dir, 'raw'));
  const port = await freePort();
  const server = spawn('python3', ['-m', 'http.server', String(port), '--bind', '127.0.0.1', '--directory', dir], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  server.stderr.on('data', () => {});
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      const r = await fetch(`${base}/raw/index.html`);
      if (r.ok) break;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { base, dir, stop: () => { server.kill('SIGTERM'); fs.rmSync(dir, { recursive: true, force: true }); } };
}

const launchArgs = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];

function watchErrors(page, sink) {
  page.on('console', (m) => { if (m.type() === 'error') sink.push(`console.error: ${m.text()}`); });
  page.on('pageerror', (e) => sink.push(`pageerror: ${e.message}`));
}

async function rawRun(browser, base, file, opts) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  watchErrors(page, errors);
  await page.goto(`${base}/raw/index.html`);
  await settle();
  await page.setInputFiles('#file-input', file);
  const r = await page.evaluate((o) => window.rawBench(o), opts);
  await context.close();
  if (errors.length) throw new Error(errors.join('; '));
  return r.ms;
}

async function coreRun(browser, base, file) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  watchErrors(page, errors);
  await page.goto(`${base}/raw/core.html`);
  await settle();
  await page.setInputFiles('#file-input', file);
  const r = await page.evaluate((p) => window.coreBench({ path: p }), FILE_PATH);
  await context.close();
  if (errors.length) throw new Error(errors.join('; '));
  return r;
}

async function pageRun(browser, base, file, { atOnce = false } = {}) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  watchErrors(page, errors);
  await page.goto(`${base}/www/index.html`);
  await page.waitForFunction(() => window.strata && window.strata.timings, null, { timeout: 30_000 });
  if (!atOnce) await settle();
  const wallStart = Date.now();
  await page.setInputFiles('#file-input', file);
  const out = {};
  await page.waitForFunction(() => window.strata.timings.interactive !== undefined || document.querySelector('#error:not([hidden])'),
    null, { timeout: TIMEOUT, polling: 5 });
  const t = await page.evaluate(() => ({ ...window.strata.timings }));
  if (t.interactive === undefined) {
    const err = await page.textContent('#error');
    throw new Error(`page error before interactive: ${err}`);
  }
  out.metadata = t.metadata;
  out.interactive = t.interactive;
  out.interactive_wall = Date.now() - wallStart;
  // The browsing worker is idle once the tree is browsable: its memory now is its peak.
  out.mem_browse = await page.evaluate(() => window.strata.state.browse.worker.request('memory'));
  // Show one file: point the URL hash at it, wait for its text in the viewer.
  out.show_file = await page.evaluate(async (filePath) => {
    const params = new URLSearchParams(location.hash.slice(1));
    params.set('tab', 'files');
    params.set('path', filePath);
    const started = performance.now();
    const sel = `#viewer .text-view[data-path="${filePath}"]`;
    location.hash = params.toString();
    return new Promise((resolve) => {
      const done = () => { if (document.querySelector(sel)) { obs.disconnect(); clearTimeout(timer); resolve(performance.now() - started); return true; } return false; };
      const obs = new MutationObserver(done);
      const timer = setTimeout(() => { obs.disconnect(); resolve(null); }, 20_000);
      if (!done()) obs.observe(document.body, { childList: true, subtree: true, attributes: true });
    });
  }, FILE_PATH);
  out.read_file = await page.evaluate(async (filePath) => {
    const { browse } = window.strata.state;
    const started = performance.now();
    await browse.worker.request('readFile', { handle: browse.handle, image: 0, layer: null, path: filePath, offset: 0, length: 65536 });
    return performance.now() - started;
  }, FILE_PATH);
  await page.waitForFunction(() => window.strata.timings.verified !== undefined, null, { timeout: TIMEOUT, polling: 20 });
  out.verified_wall = Date.now() - wallStart;
  const after = await page.evaluate(async () => {
    const { state } = window.strata;
    return {
      timings: { ...window.strata.timings },
      all_verified: state.report.images.every((i) => i.verified),
      // the browsing worker, which took every index and every blob's facts
      mem: await state.browse.worker.request('memory'),
    };
  });
  out.verified = after.timings.verified;
  out.mem_helpers = Math.max(0, ...(after.timings.helperMemory || []).filter((m) => typeof m === 'number'));
  // the page's finer clocks (per-worker index spans, phase marks), for reading a run by eye
  const { metadata: _m, interactive: _i, verified: _v, ...detail } = after.timings;
  out.detail = detail;
  out.mem_verify = after.mem;
  out.all_verified = after.all_verified;
  await context.close();
  out.errors = errors;
  return out;
}

/** One page: set the file, wait until the tree is browsable, click the Packages tab and time
 * it to the table (or the empty state) in the DOM. */
async function packagesRun(browser, base, file, when = afterVerified ? 'verified' : 'browsable', site = 'www') {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  watchErrors(page, errors);
  await page.goto(`${base}/${site}/index.html`);
  await page.waitForFunction(() => window.strata && window.strata.timings, null, { timeout: 30_000 });
  await settle();
  await page.setInputFiles('#file-input', file);
  await page.waitForFunction(() => window.strata.timings.interactive !== undefined, null, { timeout: TIMEOUT, polling: 5 });
  if (when !== 'browsable') await page.waitForFunction(() => window.strata.timings.verified !== undefined, null, { timeout: TIMEOUT, polling: 5 });
  if (when === 'none') {
    // Nobody clicks: verification's own total, from setting the file.
    const t = await page.evaluate(() => ({ ...window.strata.timings }));
    await context.close();
    return { when, verified: t.verified, interactive: t.interactive, errors };
  }
  const memBefore = await page.evaluate(() => window.strata.state.browse.worker.request('memory'));
  const out = await page.evaluate(() => new Promise((resolve) => {
    const sel = '#packages-table, #packages-empty';
    const started = performance.now();
    const done = () => {
      if (!document.querySelector(sel)) return false;
      obs.disconnect();
      clearTimeout(timer);
      resolve({ tab_to_table: performance.now() - started, rows: document.querySelectorAll('#packages-table tbody tr').length });
      return true;
    };
    const obs = new MutationObserver(done);
    const timer = setTimeout(() => { obs.disconnect(); resolve({ tab_to_table: null }); }, 300_000);
    document.getElementById('tab-packages').click();
    if (!done()) obs.observe(document.body, { childList: true, subtree: true });
  }));
  out.packages = await page.evaluate(() => {
    const p = document.querySelector('#view .packages .muted');
    return p ? p.textContent : '';
  });
  // The page's own clocks: the worker's answer (the scan) and the table drawn, from the request.
  Object.assign(out, await page.evaluate(() => ({ answer: window.strata.timings.packagesAnswer, drawn: window.strata.timings.packages })));
  out.mem_before = memBefore;
  out.mem_after = await page.evaluate(() => window.strata.state.browse.worker.request('memory'));
  out.stage = await page.evaluate(() => window.strata.state.stage);
  // Verification goes on after the click: its total, and how often the helpers held back
  // new blobs for the person's requests (www/js/app.js, `state.timings.helperPauses`).
  await page.waitForFunction(() => window.strata.timings.verified !== undefined, null, { timeout: TIMEOUT, polling: 5 });
  Object.assign(out, await page.evaluate(() => ({
    verified: window.strata.timings.verified,
    interactive: window.strata.timings.interactive,
    pauses: window.strata.timings.helperPauses,
  })));
  out.when = when;
  await context.close();
  out.errors = errors;
  return out;
}

async function packagesMain() {
  const server = await startServer();
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: launchArgs });
  const result = { browser: `Chromium ${browser.version()}`, runs, packages: {} };
  const kinds = afterVerified ? ['verified'] : ['browsable', 'verified', 'none'];
  const sites = wwwBefore ? ['www-before', 'www'] : ['www'];
  const spanOf = (xs) => `[${Math.round(Math.min(...xs))}–${Math.round(Math.max(...xs))}]`;
  try {
    for (const file of packageFiles) {
      const row = { file: path.basename(file), bytes: fs.statSync(file).size };
      const samples = {};
      for (const site of sites) samples[site] = Object.fromEntries(kinds.map((k) => [k, []]));
      await packagesRun(browser, server.base, file, kinds[0]); // warm the OS cache and the browser (not counted)
      for (let run = 1; run <= runs; run++) {
        process.stderr.write(`   packages round ${run}/${runs}\n`);
        for (const kind of kinds) for (const site of sites) samples[site][kind].push(await packagesRun(browser, server.base, file, kind, site));
      }
      for (const site of sites) {
        const out = { samples: samples[site] };
        const label = wwwBefore ? `${site === 'www' ? 'after' : 'before'}: ` : '';
        for (const kind of kinds) {
          const ss = samples[site][kind];
          const r = { verified: median(ss.map((s) => s.verified)), interactive: median(ss.map((s) => s.interactive)) };
          if (kind !== 'none') {
            r.tab_to_table = median(ss.map((s) => s.tab_to_table));
            r.answer = median(ss.map((s) => s.answer));
            console.error(`   ${label}packages ${row.file}, clicked ${kind === 'browsable' ? 'at browsable' : 'once verified'}: tab → table ${Math.round(r.tab_to_table)} ms `
              + `${spanOf(ss.map((s) => s.tab_to_table))} (median of ${ss.length}; runs ${ss.map((s) => Math.round(s.tab_to_table)).join(', ')}; the worker's answer ${Math.round(r.answer)} ms); ${ss[0].packages}; `
              + `wasm memory ${ss[0].mem_before} → ${ss[0].mem_after} bytes; stage at the click: ${ss.map((s) => s.stage).join(', ')}; `
              + `helper pauses ${ss.map((s) => s.pauses ?? '-').join(', ')}`);
          }
          console.error(`   ${label}packages ${row.file}, ${kind === 'none' ? 'no click' : `clicked ${kind}`}: browsable ${Math.round(r.interactive)} ms, `
            + `verified ${Math.round(r.verified)} ms ${spanOf(ss.map((s) => s.verified))} (runs ${ss.map((s) => Math.round(s.verified)).join(', ')})`);
          out[kind] = r;
        }
        if (out.browsable && out.verified) {
          out.ratio = out.browsable.tab_to_table / out.verified.tab_to_table;
          console.error(`   ${label}packages ${row.file}: at browsable / once verified = ${out.ratio.toFixed(2)}×`);
        }
        row[site] = out;
        for (const kind of kinds) for (const s of samples[site][kind]) for (const e of s.errors) console.error(`   note: ${row.file}: ${e}`);
      }
      result.packages[row.file] = row;
    }
  } finally {
    await browser.close();
    server.stop();
  }
  if (outFile) fs.writeFileSync(outFile, JSON.stringify(result, null, 1));
}

async function main() {
  const server = await startServer();
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: launchArgs });
  const version = browser.version();
  const tar = files[0];
  const gz = files[1];
  const oci = files[2];
  const samples = { small: [], read1: [], read2: [], sha1: [], sha2: [], read2a: [], sha2a: [], tar: [], tar_at_once: [], gz: [], oci: [], core_tar: [], core_gz: [] };
  const notes = [];
  try {
    // warm the OS cache and the browser once (not counted)
    await rawRun(browser, server.base, tar, { workers: 1, hash: false });
    for (let run = 1; run <= runs; run++) {
      process.stderr.write(`   browser run ${run}/${runs}\n`);
      if (!quick) {
        samples.small.push((await rawRun(browser, server.base, tar, { small: { count: 1000, size: 512 } })) / 1000);
        samples.read1.push(await rawRun(browser, server.base, tar, { workers: 1, hash: false }));
        samples.sha1.push(await rawRun(browser, server.base, tar, { workers: 1, hash: true }));
      }
      samples.read2.push(await rawRun(browser, server.base, tar, { workers: 2, hash: false }));
      samples.sha2.push(await rawRun(browser, server.base, tar, { workers: 2, hash: true }));
      // the same with three async reads in flight per worker (what the page's helpers do)
      samples.read2a.push(await rawRun(browser, server.base, tar, { workers: 2, hash: false, inflight: 3 }));
      samples.sha2a.push(await rawRun(browser, server.base, tar, { workers: 2, hash: true, inflight: 3 }));
      try {
        samples.tar_at_once.push(await pageRun(browser, server.base, tar, { atOnce: true }));
      } catch (e) {
        notes.push(`${path.basename(tar)} set at once, run ${run}: ${e.message.split('\n')[0]}`);
      }
      for (const [key, file] of [['tar', tar], ['gz', quick ? null : gz], ['oci', quick ? null : oci]]) {
        if (!file) continue;
        if (!quick && key !== 'oci') {
          try {
            samples[`core_${key}`].push(await coreRun(browser, server.base, file));
          } catch (e) {
            notes.push(`core probe on ${path.basename(file)}: ${e.message.split('\n')[0]}`);
          }
        }
        try {
          const r = await pageRun(browser, server.base, file);
          samples[key].push(r);
          if (!r.all_verified) notes.push(`${path.basename(file)}: the page did not report every image verified`);
          for (const e of r.errors) notes.push(`${path.basename(file)}: ${e}`);
          if (r.show_file === null) notes.push(`${path.basename(file)}: ${FILE_PATH} never appeared as text in #viewer within 20 s`);
        } catch (e) {
          notes.push(`${path.basename(file)} run ${run}: ${e.message.split('\n')[0]}`);
        }
      }
    }
  } finally {
    await browser.close();
    server.stop();
  }
  const size = fs.statSync(tar).size;
  const baseline = {};
  for (const k of ['read1', 'read2', 'sha1', 'sha2', 'read2a', 'sha2a']) {
    const ms = median(samples[k]);
    baseline[k] = { ms, mbps: size / 1e6 / (ms / 1000), samples: samples[k] };
  }
  baseline.small_read_ms = median(samples.small);
  const page = {};
  for (const k of ['tar', 'tar_at_once', 'gz', 'oci']) {
    if (!samples[k].length) continue;
    const keys = ['metadata', 'interactive', 'interactive_wall', 'verified', 'verified_wall', 'mem_browse', 'mem_verify', 'mem_helpers', 'show_file', 'read_file'];
    page[k] = { runs: samples[k].length };
    for (const key of keys) page[k][key] = median(samples[k].map((s) => s[key]));
    page[k].samples = samples[k];
  }
  const core = {};
  for (const k of ['tar', 'gz']) {
    const list = samples[`core_${k}`];
    if (!list.length) continue;
    core[k] = { runs: list.length };
    for (const key of ['init', 'open', 'index_layers', 'build_tree', 'list_root', 'read_file', 'verify', 'mem_after_index', 'mem_end', 'nodes']) {
      core[k][key] = median(list.map((s) => s[key]));
    }
    if (!list.every((s) => s.verified)) notes.push(`core probe on ${k}: not every image verified`);
  }
  const result = { browser: `Chromium ${version}`, runs, settle_ms: SETTLE_MS, file_path: FILE_PATH, file_bytes: size, baseline, page, core, notes: [...new Set(notes)] };
  if (outFile) fs.writeFileSync(outFile, JSON.stringify(result, null, 1));
  const f = (x) => (x === null || x === undefined ? '—' : `${Math.round(x)} ms`);
  if (baseline.small_read_ms !== null) console.error(`   one 512-byte FileReaderSync read: ${baseline.small_read_ms.toFixed(2)} ms`);
  console.error(`   raw read 1w ${f(baseline.read1.ms)}, 2w ${f(baseline.read2.ms)}, 2w async ${f(baseline.read2a.ms)}; read+sha 1w ${f(baseline.sha1.ms)}, 2w ${f(baseline.sha2.ms)}, 2w async ${f(baseline.sha2a.ms)}`);
  for (const k of Object.keys(page)) {
    const p = page[k];
    console.error(`   page ${k}: metadata ${f(p.metadata)}, interactive ${f(p.interactive)}, verified ${f(p.verified)}, show file ${f(p.show_file)}, mem ${p.mem_browse}/${p.mem_verify}`);
    for (const s of p.samples) console.error(`     run: metadata ${f(s.metadata)}, interactive ${f(s.interactive)}, verified ${f(s.verified)}, show file ${f(s.show_file)}; ${JSON.stringify(s.detail || {})}`);
  }
  for (const k of Object.keys(core)) {
    const c = core[k];
    console.error(`   core alone ${k}: open ${f(c.open)}, index_layers ${f(c.index_layers)}, build_tree ${f(c.build_tree)}, read_file ${f(c.read_file)}, verify ${f(c.verify)}, mem ${c.mem_after_index}/${c.mem_end}`);
  }
  for (const n of result.notes) console.error(`   note: ${n}`);
}

// ---------- the language switch on an open 100k-entry tree (issue 21, "Speed") ----------

/** A docker-archive of 100 000 files in 100 directories (one layer), written once. */
async function write100kTree() {
  const dest = path.join(os.tmpdir(), 'strata-bench-100k.tar');
  if (fs.existsSync(dest)) return dest;
  const { writeDockerArchive } = await import(path.join(root, 'tests/page/harness.js'));
  const entries = [];
  for (let d = 0; d < 100; d++) {
    const dir = `d${String(d).padStart(2, '0')}`;
    entries.push({ name: `${dir}/`, dir: true });
    for (let f = 0; f < 999; f++) entries.push({ name: `${dir}/file-${String(f).padStart(4, '0')}.txt`, data: '' });
  }
  writeDockerArchive(dest, { tag: 'tree:100k', layers: [entries] });
  return dest;
}

/** Open `file`, show the Files view with its first three directories expanded, then switch
 * en → zh-CN → en … with the header's switcher, each time from the click to the redrawn view
 * painted (`<html lang>` and data-texts=ready, the Files tab worded in the new language, a
 * tree row on screen, then two frames). Returns {to_zh: [ms], to_en: [ms], rows}. */
async function langSwitchRun(browser, base, file, switches) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const errors = [];
  watchErrors(page, errors);
  await page.goto(`${base}/www/index.html?lang=en`);
  await page.waitForFunction(() => document.documentElement.dataset.texts === 'ready', null, { timeout: 30_000 });
  await page.setInputFiles('#file-input', file);
  await page.waitForFunction(() => window.strata.timings.interactive !== undefined, null, { timeout: TIMEOUT });
  await page.click('#tab-files');
  // Bottom one first: the rows below an opened directory scroll out of the (virtualised) view.
  for (const dir of ['/d02', '/d01', '/d00']) {
    const row = page.locator(`#view [role="treeitem"][data-path="${dir}"]`);
    await row.waitFor({ timeout: 30_000 });
    await row.click();
    await page.keyboard.press('ArrowRight');
    await page.waitForSelector(`#view [role="treeitem"][data-path="${dir}/file-0000.txt"]`, { timeout: 30_000 });
  }
  // The other language's catalogs are fetched 2 s after the page loads (a switch then
  // waits for nothing): let that happen, as it would for a person.
  await new Promise((r) => setTimeout(r, 2500));
  const out = { to_zh: [], to_en: [] };
  for (let i = 0; i < switches; i++) {
    for (const [lang, tab] of [['zh-CN', '文件'], ['en', 'Files']]) {
      const ms = await page.evaluate(async ([want, tabText]) => {
        const t0 = performance.now();
        document.querySelector(`#lang-switch button[data-lang="${want}"]`).click();
        const frame = () => new Promise((r) => requestAnimationFrame(r));
        while (!(document.documentElement.lang === want && document.documentElement.dataset.texts === 'ready'
          && document.getElementById('tab-files')?.textContent.trim() === tabText
          && document.querySelector('#view [role="treeitem"]'))) await frame();
        await frame();
        await frame();
        return performance.now() - t0;
      }, [lang, tab]);
      out[lang === 'en' ? 'to_en' : 'to_zh'].push(ms);
    }
  }
  out.rows = await page.evaluate(() => document.querySelectorAll('#view [role="treeitem"]').length);
  out.errors = errors;
  await context.close();
  return out;
}

async function langSwitchMain() {
  const file = files[0] || await write100kTree();
  const server = await startServer();
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: launchArgs });
  const to = { to_zh: [], to_en: [] };
  const notes = [];
  let rows = 0;
  try {
    for (let run = 1; run <= runs; run++) {
      process.stderr.write(`   language switch, page ${run}/${runs}\n`);
      const r = await langSwitchRun(browser, server.base, file, 3);
      to.to_zh.push(...r.to_zh);
      to.to_en.push(...r.to_en);
      rows = r.rows;
      notes.push(...r.errors);
    }
  } finally {
    await browser.close();
    server.stop();
  }
  const result = {
    file: path.basename(file), rows_drawn: rows, runs,
    to_zh_ms: median(to.to_zh), to_en_ms: median(to.to_en), samples: to, notes: [...new Set(notes)],
  };
  if (outFile) fs.writeFileSync(outFile, JSON.stringify(result, null, 1));
  const span = (xs) => `[${Math.round(Math.min(...xs))}–${Math.round(Math.max(...xs))}]`;
  console.error(`   language switch on ${result.file} (${rows} rows drawn): en → zh-CN ${Math.round(result.to_zh_ms)} ms ${span(to.to_zh)}, zh-CN → en ${Math.round(result.to_en_ms)} ms ${span(to.to_en)} (medians of ${to.to_zh.length})`);
  for (const n of result.notes) console.error(`   note: ${n}`);
}

// ---------- open by URL (issue 24): `--url LARGE.tar` ----------
//
// The same archive set as a local file and opened by `?url=` from tests/page/static_server.mjs
// (Range, CORS) on loopback, alternately, each in a fresh page after SETTLE_MS: tags (the
// metadata), tree browsable, verified; the bytes the server sent before the tree was
// browsable and in all. Medians of N runs of each.
async function urlRun(browser, base, file, fileServer, ref = null, registryBase = null) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  // By ref: every answer the registry gave the page and its workers (Content-Length: the
  // bytes it sent, a range's when ranged), counted as the browser sees them.
  const answered = { requests: 0, bytes: 0 };
  if (registryBase) {
    context.on('response', (r) => {
      if (!r.url().startsWith(registryBase)) return;
      answered.requests += 1;
      answered.bytes += Number(r.headers()['content-length'] || 0);
    });
  }
  watchErrors(page, errors);
  await page.goto(`${base}/www/index.html`);
  await page.waitForFunction(() => window.strata && window.strata.timings, null, { timeout: 30_000 });
  await settle();
  const started = Date.now();
  if (ref) {
    await page.fill('#url-input', ref);
    await page.click('#url-form button[type=submit]');
  } else if (fileServer) {
    fileServer.reset();
    await page.fill('#url-input', `${fileServer.base}range/${path.basename(file)}`);
    await page.click('#url-form button[type=submit]');
  } else {
    await page.setInputFiles('#file-input', file);
  }
  await page.waitForFunction(() => window.strata.timings.interactive !== undefined || document.querySelector('#error:not([hidden])'),
    null, { timeout: TIMEOUT, polling: 5 });
  const fetchedBrowsable = fileServer ? fileServer.stats.bytes.range || 0 : registryBase ? answered.bytes : null;
  // What the helpers' index walks read (from the File or over HTTP): the index pass's need.
  const indexRead = await page.evaluate(() => Promise.all((window.strata.state.helpers || []).map((w) => w.request('fetched').catch(() => null))))
    .then((all) => all.reduce((sum, f) => sum + (f ? f.index : 0), 0));
  await page.waitForFunction(() => window.strata.timings.verified !== undefined || document.querySelector('#error:not([hidden])'),
    null, { timeout: TIMEOUT, polling: 20 });
  const t = await page.evaluate(() => ({ ...window.strata.timings, ok: window.strata.state.report?.images.every((i) => i.verified) }));
  const out = {
    metadata: t.metadata, interactive: t.interactive, verified: t.verified, all_verified: t.ok, wall: Date.now() - started,
    fetched_browsable: fetchedBrowsable, index_read: indexRead,
    fetched: fileServer ? fileServer.stats.bytes.range || 0 : registryBase ? answered.bytes : null,
    requests: fileServer ? fileServer.stats.requests.range || 0 : registryBase ? answered.requests : null,
    // What the page's registry client says it fetched itself (manifests, config, probes).
    opened_fetched: t.remote?.bytes ?? null, errors,
  };
  if (t.verified === undefined) out.errors.push(`error: ${await page.textContent('#error')}`);
  await context.close();
  return out;
}

async function urlMain() {
  const { startStaticServer } = await import(path.join(root, 'tests/page/static_server.mjs'));
  const file = files[0];
  const server = await startServer();
  const fileServer = await startStaticServer({ files: { [path.basename(file)]: file } });
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: launchArgs });
  const samples = { local: [], url: [] };
  try {
    await urlRun(browser, server.base, file, null); // warm the OS cache and the browser (not counted)
    for (let run = 1; run <= runs; run++) {
      process.stderr.write(`   by URL, run ${run}/${runs}\n`);
      samples.local.push(await urlRun(browser, server.base, file, null));
      samples.url.push(await urlRun(browser, server.base, file, fileServer));
    }
  } finally {
    await browser.close();
    server.stop();
    await fileServer.stop();
  }
  const m = (side, key) => median(samples[side].map((s) => s[key]));
  const span = (side, key) => {
    const xs = samples[side].map((s) => s[key]).filter((x) => typeof x === 'number');
    return `[${Math.round(Math.min(...xs))}–${Math.round(Math.max(...xs))}]`;
  };
  const size = fs.statSync(file).size;
  const result = { file: path.basename(file), bytes: size, runs, samples };
  for (const key of ['metadata', 'interactive', 'verified']) result[key] = { local: m('local', key), url: m('url', key) };
  result.fetched_browsable = m('url', 'fetched_browsable');
  result.index_read = { local: m('local', 'index_read'), url: m('url', 'index_read') };
  result.fetched = m('url', 'fetched');
  if (outFile) fs.writeFileSync(outFile, JSON.stringify(result, null, 1));
  const mb = (b) => `${(b / 1e6).toFixed(1)} MB`;
  for (const key of ['metadata', 'interactive', 'verified']) {
    console.error(`   ${key.padEnd(11)} local ${Math.round(result[key].local)} ms ${span('local', key)}, by URL ${Math.round(result[key].url)} ms ${span('url', key)}`
      + ` (${(result[key].url / result[key].local).toFixed(2)}×)`);
  }
  console.error(`   index walks read: local ${mb(result.index_read.local)}, by URL ${mb(result.index_read.url)}`);
  console.error(`   fetched before browsable ${mb(result.fetched_browsable)} ${span('url', 'fetched_browsable')} B, in all ${mb(result.fetched)} of ${mb(size)}; requests ${m('url', 'requests')}`);
  for (const side of ['local', 'url']) for (const s of samples[side]) for (const e of s.errors) console.error(`   note: ${side}: ${e}`);
}

// ---------- open from a registry (issue 24 item 2): `--ref LARGE.tar [TAG]` ----------
//
// The archive pushed by skopeo to Debian's docker-registry (tests/page/registry_server.mjs,
// CORS on loopback; skopeo gzips the layers on the way, as `docker push` does), copied back
// from it as an OCI archive (the very blobs the registry holds), and the two opened
// alternately, each in a fresh page: the archive as a local file, the image by `?ref=`.
// Tags, tree browsable, verified; for the registry, the requests the page and its workers
// sent and the bytes of the answers (Content-Length), before the tree was browsable and in
// all, against the blobs' bytes. TAG picks an image of a multi-image archive. Medians of N
// runs. (This replaced benches/registry.mjs, which measured the same against the original
// `docker save` tar: plain layers read by Range, not the registry's gzip blobs.)
async function refMain() {
  const { startRegistries } = await import(path.join(root, 'tests/page/registry_server.mjs'));
  const file = files[0];
  const tag = refTag;
  const server = await startServer();
  const registries = await startRegistries();
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: launchArgs });
  const samples = { local: [], ref: [] };
  const name = 'bench/app:1.0';
  const ref = `${registries.cors.host}/${name}`;
  const local = path.join(registries.dir, 'from-registry.oci.tar');
  let blobBytes = 0;
  let layers = 0;
  try {
    const t0 = Date.now();
    await registries.push(`docker-archive:${file}${tag ? `:${tag}` : ''}`, name);
    await registries.copy(['--src-tls-verify=false', `docker://${ref}`, `oci-archive:${local}:${name}`]);
    const manifest = JSON.parse(await registries.inspect(name));
    layers = manifest.layers.length;
    blobBytes = manifest.layers.reduce((sum, l) => sum + l.size, manifest.config.size);
    process.stderr.write(`   pushed and copied back in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${layers} layers, ${(blobBytes / 1e6).toFixed(1)} MB of blobs `
      + `(${(fs.statSync(local).size / 1e6).toFixed(1)} MB as an OCI archive)\n`);
    await urlRun(browser, server.base, local, null); // warm the OS cache and the browser (not counted)
    for (let run = 1; run <= runs; run++) {
      process.stderr.write(`   by ref, run ${run}/${runs}\n`);
      samples.local.push(await urlRun(browser, server.base, local, null));
      samples.ref.push(await urlRun(browser, server.base, local, null, ref, registries.cors.base));
    }
  } finally {
    await browser.close();
    server.stop();
    await registries.stop();
  }
  const m = (side, key) => median(samples[side].map((s) => s[key]));
  const span = (side, key) => {
    const xs = samples[side].map((s) => s[key]).filter((x) => typeof x === 'number');
    return `[${Math.round(Math.min(...xs))}–${Math.round(Math.max(...xs))}]`;
  };
  const result = { file: path.basename(file), tag, layers, blob_bytes: blobBytes, runs, samples };
  for (const key of ['metadata', 'interactive', 'verified']) result[key] = { local: m('local', key), ref: m('ref', key) };
  for (const key of ['requests', 'fetched_browsable', 'fetched', 'opened_fetched']) result[key] = m('ref', key);
  if (outFile) fs.writeFileSync(outFile, JSON.stringify(result, null, 1));
  for (const key of ['metadata', 'interactive', 'verified']) {
    console.error(`   ${key.padEnd(11)} local ${Math.round(result[key].local)} ms ${span('local', key)}, by ref ${Math.round(result[key].ref)} ms ${span('ref', key)}`
      + ` (${(result[key].ref / result[key].local).toFixed(2)}×)`);
  }
  const mb = (b) => `${(b / 1e6).toFixed(1)} MB`;
  console.error(`   registry answered ${result.requests} requests: ${mb(result.fetched_browsable)} before browsable, ${mb(result.fetched)} in all `
    + `(${(result.fetched / blobBytes).toFixed(2)}× the ${mb(blobBytes)} of blobs); the open itself (manifests, config, probes) ${result.opened_fetched} B`);
  for (const side of ['local', 'ref']) for (const s of samples[side]) for (const e of s.errors) console.error(`   note: ${side}: ${e}`);
}

if (langSwitch) await langSwitchMain();
else if (byRef) await refMain();
else if (byUrl) await urlMain();
else if (files.length) await main();
if (packageFiles.length) await packagesMain();

// Shared setup for the page tests: a static server for www/ on 127.0.0.1, headless
// Chromium through playwright-core, and a page that records every console error,
// page error and request to another origin; one server and browser per test file
// (pageTestSetup), a page per test that must end clean (withPage), axe-core, and small
// archives made on the spot.
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, '../..');
// STRATA_WWW serves another copy of the page (e.g. the last commit's, to see a new test fail there).
export const WWW = process.env.STRATA_WWW || path.join(ROOT, 'www');
export const ARTIFACTS = path.join(HERE, 'artifacts');
export const FIXTURES = path.join(ROOT, 'tests/out/page-fixtures');
/** axe-core, the engine of Lighthouse's accessibility audit. */
export const AXE = path.join(HERE, 'node_modules/axe-core/axe.min.js');
mkdirSync(ARTIFACTS, { recursive: true });

/** The native CLI, built by `cargo build --release`: what the page says must agree with it. */
export const CLI = path.join(ROOT, 'target/release/strata');

/** A fixture written by `cargo test --release --test page` (tests/page/run.sh). */
export const fx = (name) => path.join(FIXTURES, name);

/** A loopback port nobody listens on (for a server a test starts). */
export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** A file of image `image` as the browsing worker reads it (`readFile`, whole), as a Buffer. */
export function readWorkerFile(page, filePath, image = 0) {
  return page.evaluate(async ({ filePath, image }) => {
    const { state } = window.strata;
    const bytes = await state.browse.worker.request('readFile', { handle: state.browse.handle, image, path: filePath, offset: 0, length: -1 });
    return Array.from(bytes);
  }, { filePath, image }).then((a) => Buffer.from(a));
}

/** A static server for `directory` (the page, www/, unless a test serves another site). */
export async function startServer(directory = WWW) {
  const port = await freePort();
  const proc = spawn('python3', ['-m', 'http.server', String(port), '--bind', '127.0.0.1', '--directory', directory], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  // The server logs every request to stderr: read it, or once the pipe's 64 KiB are full
  // the server blocks (a page load then times out, ~650 requests into the run). The tail
  // is kept for the error below.
  let log = '';
  proc.stderr.on('data', (chunk) => { log = (log + chunk).slice(-4096); });
  const base = `http://127.0.0.1:${port}/`;
  for (let i = 0; i < 100; i++) {
    try {
      const r = await fetch(base);
      if (r.ok) return { base, stop: () => proc.kill() };
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  proc.kill();
  throw new Error(`the static server did not start: ${log}`);
}

const CHROMIUM_OPTIONS = {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
};

export async function launch() {
  return chromium.launch(CHROMIUM_OPTIONS);
}

/** Chromium with a profile of its own in `dir` (what web apps are installed into): its
 * default context, where the browser itself opens windows (an installed app launched). */
export async function launchWithProfile(dir, options = {}) {
  return chromium.launchPersistentContext(dir, { ...CHROMIUM_OPTIONS, ...options });
}

/** A fresh page that records problems: console errors, page errors, foreign requests, dialogs.
 * `locale` is the browser's language (navigator.languages; English unless a test asks),
 * `query` is added to the page's URL (e.g. '?lang=zh-CN', or a '#…' view). `contextOptions`
 * add to the browser context's (e.g. serviceWorkers), `initScript` ([function, argument])
 * runs in the page before its own scripts. Resolves once the page's texts are loaded. */
export async function openPage(browser, base, {
  colorScheme = 'light', viewport = { width: 1400, height: 900 }, locale = 'en-US', query = '', contextOptions = {}, initScript,
} = {}) {
  const context = await browser.newContext({ colorScheme, viewport, acceptDownloads: true, locale, ...contextOptions });
  if (initScript) await context.addInitScript(...initScript);
  const page = await context.newPage();
  const problems = watchProblems(page, context, base);
  await page.goto(base + query);
  await waitTexts(page);
  return { page, context, problems };
}

/** What goes wrong in `page` from now on: console errors (its workers' too), page errors,
 * dialogs (dismissed), and requests of `context` to another origin than `base`'s. */
export function watchProblems(page, context, base) {
  const problems = { console: [], page: [], foreign: [], dialogs: [] };
  const origin = new URL(base).origin;
  page.on('console', (m) => { if (m.type() === 'error') problems.console.push(m.text()); });
  page.on('pageerror', (e) => problems.page.push(String(e)));
  page.on('dialog', (d) => { problems.dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  context.on('request', (r) => {
    const url = r.url();
    if (url.startsWith('blob:') || url.startsWith('data:')) return;
    if (new URL(url).origin !== origin) problems.foreign.push(url);
  });
  // Workers report their errors on the page too.
  page.on('worker', (w) => w.on('console', (m) => { if (m.type() === 'error') problems.console.push(`worker: ${m.text()}`); }));
  return problems;
}

/** No page error and no console error so far; with `foreign`, no request to another origin
 * either; with `dialogs`, no alert/confirm/prompt opened. `ignoreConsole`: console lines a
 * test causes on purpose (e.g. the browser's own line for a request the test makes fail). */
export function assertClean(problems, { foreign = false, dialogs = false, ignoreConsole = null } = {}) {
  assert.deepEqual(problems.page, [], 'page errors');
  const console = ignoreConsole ? problems.console.filter((m) => !ignoreConsole.test(m)) : problems.console;
  assert.deepEqual(console, [], 'console errors');
  if (foreign) assert.deepEqual(problems.foreign, [], 'requests to other origins');
  if (dialogs) assert.deepEqual(problems.dialogs, [], 'dialogs opened');
}

/** One static server for www/ and one Chromium for a test file's tests: started before
 * them (after `needs`, [file, what to do when it is missing] pairs, are checked, and
 * `prepare()` made what the file makes on the spot), stopped after. Returns
 * {server, browser} (filled in once started) and `withPage`. */
export function pageTestSetup({ needs = [], prepare } = {}) {
  const setup = {
    server: null,
    browser: null,
    /** A fresh page (openPage's options) for `body(page, context, problems)`, which must
     * leave no page or console error behind (assertClean's options); closed either way. */
    async withPage(body, { foreign, dialogs, ignoreConsole, ...options } = {}) {
      const { page, context, problems } = await openPage(setup.browser, setup.server.base, options);
      try {
        await body(page, context, problems);
        assertClean(problems, { foreign, dialogs, ignoreConsole });
      } finally {
        await context.close();
      }
    },
  };
  before(async () => {
    for (const [file, missing] of needs) assert.ok(existsSync(file), missing);
    if (prepare) await prepare();
    setup.server = await startServer();
    setup.browser = await launch();
  });
  after(async () => {
    await setup.browser?.close();
    setup.server?.stop();
  });
  return setup;
}

/** Click a tab of the view and wait until it is the selected one. */
export async function openTab(page, tab) {
  await page.click(`#tab-${tab}`);
  await page.waitForSelector(`#tab-${tab}[aria-selected="true"]`);
}

/** In the Files view, open a path by walking the tree with clicks, folder by folder. */
export async function openPath(page, filePath) {
  const parts = filePath.split('/').filter(Boolean);
  let acc = '';
  for (const part of parts) {
    acc += `/${part}`;
    const row = page.locator(`.tree .row[data-path="${acc}"]`);
    await row.waitFor();
    await row.click();
  }
}

/** The trimmed text of every element `selector` matches, in document order. */
export const texts = (page, selector) => page.$$eval(selector, (nodes) => nodes.map((n) => n.textContent.trim()));

/** axe-core's violations on the page as it is now, one line each, headed by `label`. It is
 * evaluated through the DevTools protocol, so the page's Content-Security-Policy stays on.
 * `rules` turns rules on or off beyond axe's defaults (e.g. { 'target-size': { enabled: true } }). */
export async function axeViolations(page, label, { rules } = {}) {
  if (!(await page.evaluate(() => !!window.axe))) await page.evaluate(readFileSync(AXE, 'utf8'));
  const result = await page.evaluate((r) => window.axe.run(document, { resultTypes: ['violations'], ...(r ? { rules: r } : {}) }), rules);
  return result.violations.map((v) => `${label}: ${v.impact} ${v.id} (${v.help}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
}

/** The page's catalogs are loaded and its static text filled (after a load or a reload). */
export async function waitTexts(page) {
  await page.waitForFunction(() => document.documentElement.dataset.texts === 'ready');
}

/** Open a file on disk through the hidden file input (as a person would with the picker). */
export async function pickFile(page, file) {
  await page.setInputFiles('#file-input', file);
}

/** Drop a file on the page: a real DataTransfer with a File, dispatched as drag events. */
export async function dropFile(page, file, target = 'body') {
  const bytes = readFileSync(file);
  const name = path.basename(file);
  const handle = await page.evaluateHandle(({ b64, name }) => {
    const raw = atob(b64);
    const u8 = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) u8[i] = raw.charCodeAt(i);
    const dt = new DataTransfer();
    dt.items.add(new File([u8], name, { type: 'application/x-tar' }));
    return dt;
  }, { b64: bytes.toString('base64'), name });
  await page.dispatchEvent(target, 'dragenter', { dataTransfer: handle });
  await page.dispatchEvent(target, 'dragover', { dataTransfer: handle });
  await page.dispatchEvent(target, 'drop', { dataTransfer: handle });
}

export async function waitVerified(page, timeout = 30000) {
  await page.waitForFunction(() => document.body.dataset.stage === 'verified', null, { timeout });
}

export async function shot(page, name) {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: false });
}

// ---------- small archives made on the spot (for cases the Rust-built fixtures lack) ----------

/** One ustar header block (sizes up to 8 GiB, in octal). */
export function tarHeader(name, { size = 0, type = '0', link = '', mode = 0o644 } = {}) {
  const b = Buffer.alloc(512);
  const field = (value, at, width) => b.write(`${value.toString(8).padStart(width - 1, '0')}\0`, at, 'ascii');
  b.write(name, 0, 100, 'utf8');
  field(mode, 100, 8);
  field(0, 108, 8);
  field(0, 116, 8);
  field(size, 124, 12);
  field(1700000000, 136, 12);
  b.write('        ', 148, 'ascii');
  b.write(type, 156, 'ascii');
  b.write(link, 157, 100, 'utf8');
  b.write('ustar\0', 257, 'ascii');
  b.write('00', 263, 'ascii');
  let sum = 0;
  for (const x of b) sum += x;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return b;
}

/** The zeros that fill `size` bytes of entry data up to a whole 512-byte block. */
export const tarPad = (size) => Buffer.alloc((512 - (size % 512)) % 512);

/** A tar of entries: {name, data} files, {name, dir: true}, {name, symlink: target}. */
export function tarOf(entries) {
  const parts = [];
  for (const e of entries) {
    if (e.dir) parts.push(tarHeader(e.name, { type: '5', mode: 0o755 }));
    else if (e.symlink !== undefined) parts.push(tarHeader(e.name, { type: '2', link: e.symlink, mode: 0o777 }));
    else {
      const data = Buffer.from(e.data);
      parts.push(tarHeader(e.name, { size: data.length }), data, tarPad(data.length));
    }
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** Write a `docker save` archive (manifest.json layout) of one image with these layers
 * (each a list of tarOf entries) to `dest`. `config` (Env, Labels, …) and `history`
 * (created_by of each layer) replace the defaults. */
export function writeDockerArchive(dest, { tag, layers, config: containerConfig, history }) {
  const sha = (b) => createHash('sha256').update(b).digest('hex');
  const files = [];
  const diffIds = [];
  const layerPaths = [];
  for (const entries of layers) {
    const tar = tarOf(entries);
    const digest = sha(tar);
    files.push([`${digest}/layer.tar`, tar]);
    diffIds.push(`sha256:${digest}`);
    layerPaths.push(`${digest}/layer.tar`);
  }
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux', created: '2024-01-02T03:04:05Z',
    config: containerConfig || { Env: ['PATH=/usr/bin'], Cmd: ['/bin/sh'] },
    rootfs: { type: 'layers', diff_ids: diffIds },
    history: layers.map((_, i) => ({ created: '2024-01-02T03:04:05Z', created_by: history?.[i] ?? `/bin/sh -c #(nop) ADD file:layer${i} in /` })),
  }));
  const configName = `${sha(config)}.json`;
  files.push([configName, config]);
  files.push(['manifest.json', Buffer.from(JSON.stringify([{ Config: configName, RepoTags: [tag], Layers: layerPaths }]))]);
  writeFileSync(dest, tarOf(files.map(([name, data]) => ({ name, data }))));
  return dest;
}

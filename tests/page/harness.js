// Shared setup for the page tests: a static server for www/ on 127.0.0.1, headless
// Chromium through playwright-core, and a page that records every console error,
// page error and request to another origin.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
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
mkdirSync(ARTIFACTS, { recursive: true });

async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export async function startServer() {
  const port = await freePort();
  const proc = spawn('python3', ['-m', 'http.server', String(port), '--bind', '127.0.0.1', '--directory', WWW], {
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

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
  });
}

/** A fresh page that records problems: console errors, page errors, foreign requests, dialogs.
 * `locale` is the browser's language (navigator.languages; English unless a test asks),
 * `query` is added to the page's URL (e.g. '?lang=zh-CN'). Resolves once the page's
 * texts are loaded. */
export async function openPage(browser, base, { colorScheme = 'light', viewport = { width: 1400, height: 900 }, locale = 'en-US', query = '' } = {}) {
  const context = await browser.newContext({ colorScheme, viewport, acceptDownloads: true, locale });
  const page = await context.newPage();
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
  await page.goto(base + query);
  await waitTexts(page);
  return { page, context, problems };
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
  const { readFileSync } = await import('node:fs');
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

/** One ustar header block. */
function tarHeader(name, { size = 0, type = '0', link = '', mode = 0o644 }) {
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

/** A tar of entries: {name, data} files, {name, dir: true}, {name, symlink: target}. */
export function tarOf(entries) {
  const parts = [];
  for (const e of entries) {
    if (e.dir) parts.push(tarHeader(e.name, { type: '5', mode: 0o755 }));
    else if (e.symlink !== undefined) parts.push(tarHeader(e.name, { type: '2', link: e.symlink, mode: 0o777 }));
    else {
      const data = Buffer.from(e.data);
      parts.push(tarHeader(e.name, { size: data.length }), data, Buffer.alloc((512 - (data.length % 512)) % 512));
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

// Shared setup for the page tests: a static server for www/ on 127.0.0.1, headless
// Chromium through playwright-core, and a page that records every console error,
// page error and request to another origin.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, '../..');
export const WWW = path.join(ROOT, 'www');
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

/** A fresh page that records problems: console errors, page errors, foreign requests, dialogs. */
export async function openPage(browser, base, { colorScheme = 'light', viewport = { width: 1400, height: 900 } } = {}) {
  const context = await browser.newContext({ colorScheme, viewport, acceptDownloads: true });
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
  await page.goto(base);
  return { page, context, problems };
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

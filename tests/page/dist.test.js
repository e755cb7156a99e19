// The built site for a team (`./build.sh dist`, tools/dist.py) served by Debian's nginx with
// the README's config (docs/nginx.conf, as written: only `listen` and `root` are set here),
// started as this user on a loopback port with its pid, logs and temp files in a test folder.
// The page works there under the policy header with no console error; it opens offline after
// one visit (the service worker); a worker is held to the header's connect-src; a new build
// replaces the old cache; library.json is listed on the landing page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { launch, openPage, assertClean, axeViolations, startServer, freePort, waitVerified, shot, ROOT } from './harness.js';

const OUT = path.join(ROOT, 'tests/out/dist-test');
const NGINX = process.env.NGINX || '/usr/sbin/nginx';
let browser;
const running = [];

/** `./build.sh dist`'s own step (the site in www/ is built already) into `dir`. */
function buildDist(dir, env = {}, buildId) {
  const args = [path.join(ROOT, 'tools/dist.py'), '--out', dir];
  if (buildId) args.push('--build-id', buildId);
  return execFileSync('python3', args, { env: { ...process.env, ...env }, encoding: 'utf8' });
}

/** nginx with docs/nginx.conf (or `conf`) included at the http level, as Debian's nginx.conf includes
 * conf.d/*.conf; its own prefix, pid, logs and temp paths. */
async function startNginx(name, siteDir, conf = path.join(ROOT, 'docs/nginx.conf')) {
  const prefix = path.join(OUT, `nginx-${name}`);
  rmSync(prefix, { recursive: true, force: true });
  mkdirSync(prefix, { recursive: true });
  const port = await freePort();
  const site = readFileSync(conf, 'utf8')
    .replace(/^(\s*)listen 8080;$/m, `$1listen 127.0.0.1:${port};`)
    .replace(/^(\s*)root \/srv\/strata\/dist;$/m, `$1root ${siteDir};`);
  assert.match(site, new RegExp(`listen 127\\.0\\.0\\.1:${port};`));
  assert.match(site, new RegExp(`root ${siteDir.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')};`));
  writeFileSync(path.join(prefix, 'strata.conf'), site);
  writeFileSync(path.join(prefix, 'nginx.conf'), `daemon off;
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log stderr;
events { worker_connections 64; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log off;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  include ${prefix}/strata.conf;
}
`);
  const proc = spawn(NGINX, ['-e', 'stderr', '-p', prefix, '-c', path.join(prefix, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr.on('data', (d) => { log += d; });
  running.push(proc);
  const base = `http://127.0.0.1:${port}/`;
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(base)).ok) return { base, port, proc };
    } catch {
      // not up yet
    }
    if (proc.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nginx did not start: ${log}`);
}

const SITE = path.join(OUT, 'site');
const LIBRARY = [
  { name: 'Union FS demo', url: 'lessons/unionfs.tar', description: 'One rule per layer <b>not bold</b>' },
  { name: 'team/app:1.4', url: 'https://registry.example.test/v2/team/app/blobs/x.tar', description: 'Our app' },
  { name: 'base image', ref: 'registry.example.test/team/base:12' },
];
let site;
let build;

before(async () => {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const libraryFile = path.join(OUT, 'library.json');
  writeFileSync(libraryFile, JSON.stringify(LIBRARY));
  buildDist(SITE, { STRATA_LIBRARY: libraryFile });
  build = /<meta name="strata-build" content="([^"]+)">/.exec(readFileSync(path.join(SITE, 'index.html'), 'utf8'))[1];
  site = await startNginx('main', SITE);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  for (const proc of running) proc.kill();
});

/** A fresh browser context on `base`, recording console errors (workers' too) and page errors. */
function visit(base, { query = '' } = {}) {
  return openPage(browser, base, { query });
}

/** Poll `fn(arg)` in the page (it may be async: waitForFunction takes a promise as truthy). */
async function until(page, fn, arg, what, timeout = 30000) {
  const end = Date.now() + timeout;
  for (;;) {
    if (await page.evaluate(fn, arg)) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The service worker controls the page, its build's cache is the only one, and the worker
 * is active (it fills the cache before it activates). */
async function waitOffline(page, buildId) {
  await until(page, async (name) => {
    const names = await caches.keys();
    const ctl = navigator.serviceWorker.controller;
    return names.length === 1 && names[0] === name && ctl !== null && ctl.state === 'activated';
  }, `strata-${buildId}`, `the cache strata-${buildId}`);
}

const EXPECTED_CSP = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; connect-src 'self' https: http://127.0.0.1:* http://localhost:*; style-src 'self'; img-src 'self' data: blob:; manifest-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'none'; object-src 'none'; frame-ancestors 'none'";

test('nginx with the README config serves the built site: the policy header, types, caching', async () => {
  const index = await fetch(site.base);
  assert.equal(index.headers.get('content-security-policy'), EXPECTED_CSP);
  assert.equal(index.headers.get('cache-control'), 'no-cache');
  assert.equal(index.headers.get('x-content-type-options'), 'nosniff');
  const html = await index.text();
  assert.match(html, new RegExp(`src="js/app\\.js\\?v=${build}"`));
  const wasm = await fetch(`${site.base}pkg/strata_bg.wasm?v=${build}`);
  assert.equal(wasm.headers.get('content-type'), 'application/wasm');
  assert.equal(wasm.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  const worker = await fetch(`${site.base}worker.js?v=${build}`);
  assert.equal(worker.headers.get('content-security-policy'), EXPECTED_CSP, 'the worker script carries the policy');
  assert.match(await worker.text(), new RegExp(`from '\\./pkg/strata\\.js\\?v=${build}'`), 'nested imports are versioned');
  assert.equal((await fetch(`${site.base}manifest.webmanifest`)).headers.get('content-type'), 'application/manifest+json');
  assert.equal((await fetch(`${site.base}sw.js`)).headers.get('cache-control'), 'no-cache');
  // The config dist/ carries has the same policy, and the README quotes docs/nginx.conf whole.
  assert.ok(readFileSync(path.join(SITE, 'nginx.conf'), 'utf8').includes(EXPECTED_CSP));
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  assert.ok(readme.includes(`\`\`\`nginx\n${readFileSync(path.join(ROOT, 'docs/nginx.conf'), 'utf8')}\`\`\``), 'the README quotes docs/nginx.conf as it is');
});

test('the page on nginx: open the sample, verified, no console error, nothing fetched elsewhere', async () => {
  const { context, page, problems } = await visit(site.base);
  try {
    // The web app manifest as Chromium reads it: no errors, the .tar / .tar.gz handlers.
    const cdp = await context.newCDPSession(page);
    const manifest = await cdp.send('Page.getAppManifest');
    assert.deepEqual(manifest.errors, []);
    const parsed = JSON.parse(manifest.data);
    assert.equal(parsed.short_name, 'strata');
    assert.deepEqual(parsed.file_handlers[0].accept['application/x-tar'], ['.tar']);
    assert.ok(parsed.file_handlers[0].accept['application/gzip'].includes('.tar.gz'));
    await page.click('#sample-button-2');
    await waitVerified(page);
    await page.click('#tab-files');
    await page.waitForSelector('.tree .row[data-path="/etc"]');
    assertClean(problems, { foreign: true });
  } finally {
    await context.close();
  }
});

test('library.json beside index.html is listed on the landing page, as text, and opens', async () => {
  const { context, page, problems } = await visit(site.base);
  try {
    await page.waitForSelector('#library li');
    assert.equal(await page.textContent('#library-title'), 'Library: archives listed by whoever hosts this page');
    const items = await page.$$eval('#library li', (nodes) => nodes.map((n) => n.textContent.trim()));
    assert.deepEqual(items, ['Union FS demoOne rule per layer <b>not bold</b>', 'team/app:1.4Our app', 'base image']);
    assert.equal(await page.locator('#library b').count(), 0, 'the host\'s text is never HTML');
    assert.equal(await page.getAttribute('#library li:nth-child(2) a', 'href'), `?url=${encodeURIComponent(LIBRARY[1].url)}`);
    assert.equal(await page.getAttribute('#library li:nth-child(3) a', 'href'), `?ref=${encodeURIComponent(LIBRARY[2].ref)}`);
    await shot(page, 'dist-library');
    // axe-core over the landing page with the library, light and dark (evaluated through the
    // DevTools protocol: the policy header stays on).
    for (const colorScheme of ['light', 'dark']) {
      await page.emulateMedia({ colorScheme });
      assert.deepEqual(await axeViolations(page, colorScheme), []);
    }
    await page.emulateMedia({ colorScheme: 'light' });
    await page.click('#library button');
    await waitVerified(page);
    assert.match(await page.textContent('#images-table'), /unionfs|union/i);
    // In Chinese too.
    await page.goto(`${site.base}?lang=zh-CN`);
    await page.waitForSelector('#library li');
    assert.equal(await page.textContent('#library-title'), '资料库：托管本页面的人列出的镜像归档');
    assertClean(problems);
  } finally {
    await context.close();
  }
});

test('after one visit the page opens offline (service worker) and opens the sample with no network', async () => {
  const { context, page, problems } = await visit(site.base);
  try {
    await waitOffline(page, build);
    await context.setOffline(true);
    // Offline for real: the server cannot be reached from the page.
    assert.equal(await page.evaluate(async () => { try { await fetch('https://example.com/', { mode: 'no-cors' }); return 'online'; } catch { return 'offline'; } }), 'offline');
    problems.console.length = 0; // (that refused fetch logs its own error)
    await page.reload();
    await page.waitForFunction(() => document.documentElement.dataset.texts === 'ready');
    await page.click('#sample-button-2');
    await waitVerified(page);
    await page.click('#tab-files');
    await page.waitForSelector('.tree .row[data-path="/etc"]');
    await shot(page, 'dist-offline');
    assertClean(problems);
  } finally {
    await context.close();
  }
});

/** From a worker served by this site (under its headers): fetch each URL, and say which
 * the policy refused (securitypolicyviolation) and which the network merely failed. */
async function workerFetches(base, dir, urls) {
  writeFileSync(path.join(dir, 'probe-worker.js'), `
const refused = [];
self.addEventListener('securitypolicyviolation', (e) => refused.push(e.blockedURI));
self.onmessage = async ({ data }) => {
  const out = {};
  for (const url of data) {
    try { await fetch(url, { mode: 'no-cors' }); out[url] = 'fetched'; } catch { out[url] = 'failed'; }
  }
  await new Promise((r) => setTimeout(r, 200));
  for (const url of data) if (refused.some((b) => url.startsWith(b))) out[url] = 'refused';
  postMessage(out);
};`);
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(base);
  const result = await page.evaluate((urls) => new Promise((resolve) => {
    const w = new Worker('probe-worker.js');
    w.onmessage = ({ data }) => resolve(data);
    w.postMessage(urls);
  }), urls);
  await context.close();
  return result;
}

test('a worker is held to the header\'s connect-src: a foreign host is refused, by default and with STRATA_CONNECT_SRC', async () => {
  const loopback = `http://localhost:${site.port}/library.json`;
  const byDefault = await workerFetches(site.base, SITE, ['http://192.0.2.10/x.tar', loopback]);
  assert.equal(byDefault['http://192.0.2.10/x.tar'], 'refused', 'plain http to another host');
  assert.notEqual(byDefault[loopback], 'refused', 'loopback http is allowed');

  const teamSite = path.join(OUT, 'site-team');
  buildDist(teamSite, { STRATA_CONNECT_SRC: 'https://registry.team.test' });
  // (dist/nginx.conf: docs/nginx.conf with this build's policy)
  const team = await startNginx('team', teamSite, path.join(teamSite, 'nginx.conf'));
  const csp = (await fetch(`${team.base}worker.js`)).headers.get('content-security-policy');
  assert.match(csp, /connect-src 'self' https:\/\/registry\.team\.test;/);
  const restricted = await workerFetches(team.base, teamSite, ['https://elsewhere.test/x.tar', 'https://registry.team.test/v2/']);
  assert.equal(restricted['https://elsewhere.test/x.tar'], 'refused');
  assert.notEqual(restricted['https://registry.team.test/v2/'], 'refused');
  // The page itself under that policy still works.
  const { context, page, problems } = await visit(team.base);
  try {
    await page.click('#sample-button-2');
    await waitVerified(page);
    assertClean(problems);
  } finally {
    await context.close();
  }

  // Without the header (a plain static server: only the page's <meta>), the same worker
  // fetch is not refused: the header is what holds workers.
  const plain = await startServer(SITE);
  try {
    const unheadered = await workerFetches(plain.base, SITE, ['http://192.0.2.10/x.tar']);
    assert.notEqual(unheadered['http://192.0.2.10/x.tar'], 'refused');
  } finally {
    plain.stop();
  }
});

test('a new build replaces the old cache', async () => {
  const dir = path.join(OUT, 'site-rebuilt');
  buildDist(dir, {}, 'build-one');
  const server = await startNginx('rebuilt', dir);
  const { context, page, problems } = await visit(server.base);
  try {
    await waitOffline(page, 'build-one');
    // The host puts up a new build in the same place.
    buildDist(dir, {}, 'build-two');
    await page.reload();
    await waitOffline(page, 'build-two');
    await page.reload();
    await page.waitForFunction(() => document.documentElement.dataset.texts === 'ready');
    assert.equal(await page.getAttribute('meta[name="strata-build"]', 'content'), 'build-two');
    assertClean(problems);
  } finally {
    await context.close();
  }
});

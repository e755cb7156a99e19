// Registry images (issue 24, item 2): `?ref=` and the landing page's box open an image
// straight from a real OCI registry — Debian's docker-registry (distribution) on loopback,
// started here by tests/page/registry_server.mjs, with images pushed by skopeo — and the
// page shows it like an archive: a docker-archive image, an OCI image with zstd layers, a
// multi-platform index (the platform picker), a blob tampered in the registry's storage,
// the anonymous bearer-token flow, a registry without CORS, deep links. What the page shows
// is compared with what skopeo reads from the same registry and with the fixture's bytes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import os from 'node:os';
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { startServer, launch, openPage, waitVerified, shot, axeViolations, FIXTURES, writeDockerArchive, readWorkerFile } from './harness.js';
import { startRegistries } from './registry_server.mjs';

const fx = (name) => path.join(FIXTURES, name);
const SAMPLE = fx('sample.tar');
const PLATFORMS = fx('platforms.tar');

let server;
let browser;
let registries;
let work;
/** What skopeo says of each pushed image: {manifest (bytes), digest, json, config}. */
const pushed = {};
/** The blob tampered in the registry's storage after the push. */
let tamperedDigest;

const sha256 = (bytes) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

async function inspected(name) {
  const manifest = await registries.inspect(name, ['--raw']);
  const json = JSON.parse(manifest);
  const entry = { manifest, digest: sha256(Buffer.from(manifest)), json };
  if (json.config) entry.config = JSON.parse(await registries.inspect(name, ['--config']));
  return entry;
}

before(async () => {
  assert.ok(fs.existsSync(SAMPLE) && fs.existsSync(PLATFORMS), 'fixtures missing: run tests/page/run.sh');
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-registry-test-'));
  registries = await startRegistries();
  // The zstd image goes first, into the empty registry: skopeo remembers (in its blob info
  // cache) where it saw each layer before, and would mount the gzip copies of the same
  // layers instead of writing zstd ones.
  const ociArchive = path.join(work, 'demo-2.0.oci.tar');
  await registries.copy(['--dest-compress-format', 'zstd', `docker-archive:${SAMPLE}:strata-demo:2.0`, `oci-archive:${ociArchive}:strata-demo:2.0`]);
  await registries.push(`oci-archive:${ociArchive}`, 'strata/zstd:2.0', ['--format', 'oci', '--dest-compress-format', 'zstd']);
  await registries.push(`docker-archive:${SAMPLE}:strata-demo:1.0`, 'strata/sample:1.0');
  await registries.push(`oci-archive:${PLATFORMS}`, 'strata/platforms:v1', ['--all']);
  // An image of its own (no layer shared with the others) whose first layer is tampered.
  const own = writeDockerArchive(path.join(work, 'own.tar'), {
    tag: 'own:v1',
    layers: [[{ name: 'etc/', dir: true }, { name: 'etc/own.txt', data: 'only in the tampered image\n' }], [{ name: 'top.txt', data: 'top layer\n' }]],
  });
  await registries.push(`docker-archive:${own}`, 'strata/tampered:v1');
  for (const name of ['strata/zstd:2.0', 'strata/sample:1.0', 'strata/platforms:v1', 'strata/tampered:v1']) pushed[name] = await inspected(name);
  tamperedDigest = pushed['strata/tampered:v1'].json.layers[0].digest;
  const elsewhere = Object.entries(pushed).filter(([name]) => name !== 'strata/tampered:v1').map(([, p]) => p.manifest).join('\n');
  assert.ok(!elsewhere.includes(tamperedDigest), 'the tampered layer is no other image\'s');
  registries.tamper(tamperedDigest);
  server = await startServer();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  server?.stop();
  await registries?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

/** What the browser itself prints for a refused or failed request: expected only in the
 * tests that make a request fail on purpose. */
const BROWSER_NETWORK_MESSAGE = /Failed to load resource|blocked by CORS policy|net::ERR_/;

async function withPage(query, body, { networkErrors = false } = {}) {
  const { page, context, problems } = await openPage(browser, server.base, { query });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(server.base).origin });
  try {
    await body(page, context);
    assert.deepEqual(problems.page, [], 'page errors');
    const console = networkErrors ? problems.console.filter((m) => !BROWSER_NETWORK_MESSAGE.test(m)) : problems.console;
    assert.deepEqual(console, [], 'console errors');
  } finally {
    await context.close();
  }
}

const refQuery = (host, name, extra = '') => `?ref=${encodeURIComponent(`${host}/${name}`)}${extra}`;

async function alertText(page) {
  await page.waitForSelector('[role=alert]:not([hidden])', { timeout: 30000 });
  return page.textContent('[role=alert]');
}

async function openTab(page, tab) {
  await page.click(`#tab-${tab}`);
  await page.waitForSelector(`#tab-${tab}[aria-selected="true"]`);
}

/** The file's bytes as the fixture holds them: from the last layer of `tag` in a `docker
 * save` archive that has it (read with tar, not with strata). */
function fixtureFile(archive, tag, filePath) {
  const manifest = JSON.parse(execFileSync('tar', ['-xOf', archive, 'manifest.json']));
  const image = manifest.find((m) => (m.RepoTags || []).includes(tag));
  const inLayer = filePath.replace(/^\//, '');
  for (const layer of [...image.Layers].reverse()) {
    const layerTar = path.join(work, 'layer.tar');
    fs.writeFileSync(layerTar, execFileSync('tar', ['-xOf', archive, layer], { maxBuffer: 64 << 20 }));
    const names = execFileSync('tar', ['-tf', layerTar]).toString().split('\n').map((n) => n.replace(/^\.\//, ''));
    if (names.includes(inLayer)) return execFileSync('tar', ['-xOf', layerTar, names.find((n) => n === inLayer)]);
  }
  throw new Error(`${filePath} is in no layer of ${tag}`);
}

const report = (page) => page.evaluate(() => window.strata.state.report);
const remote = (page) => page.evaluate(() => window.strata.timings.remote);

test('a docker-archive image from the registry: tags, layers and config as skopeo reads them, a file as the fixture has it, verified', async () => {
  const expected = pushed['strata/sample:1.0'];
  await withPage('', async (page, context) => {
    // Every request the page and its workers send to the registry (for the figures below),
    // counted from before the link is followed.
    const requests = [];
    context.on('request', (r) => { if (r.url().startsWith(registries.cors.base)) requests.push(r.url()); });
    await page.goto(server.base + refQuery(registries.cors.host, 'strata/sample:1.0'));
    // What is fetched from where, while it opens.
    await page.waitForSelector('#archive-info .remote-from');
    assert.match(await page.textContent('#archive-info'), new RegExp(`strata/sample:1\\.0.*from ${registries.cors.host.replace(/\./g, '\\.')}`));
    await waitVerified(page, 60000);
    const r = await report(page);
    assert.equal(r.images.length, 1);
    const image = r.images[0];
    assert.ok(image.verified, 'verified');
    assert.ok(image.repo_tags.some((t) => t.endsWith('strata/sample:1.0')), `tags ${image.repo_tags}`);
    assert.equal(image.manifest_digest, expected.digest, 'manifest digest = sha256 of skopeo inspect --raw');
    assert.deepEqual(image.layers.map((l) => l.digest), expected.json.layers.map((l) => l.digest), 'layer digests');
    assert.equal(image.id, expected.json.config.digest, 'image ID = the config digest');
    assert.deepEqual(image.config.cmd, expected.config.config.Cmd, "config's Cmd");
    const info = await remote(page);
    assert.equal(info.mode, 'registry');
    assert.equal(info.registry, registries.cors.host);
    assert.equal(info.repository, 'strata/sample');
    assert.equal(info.digest, expected.digest);
    // A file's bytes, read through the registry's blobs, equal the fixture's.
    for (const file of ['/app/config.json', '/app/logo.png']) {
      assert.deepEqual(await readWorkerFile(page, file), fixtureFile(SAMPLE, 'strata-demo:1.0', file), file);
    }
    assert.match(await page.textContent('#overall-verdict'), /verified/i);
    const timings = await page.evaluate(() => ({ metadata: window.strata.timings.metadata, verified: window.strata.timings.verified }));
    const blobBytes = expected.json.layers.reduce((sum, l) => sum + l.size, expected.json.config.size);
    const perBlob = {};
    for (const url of requests) if (url.includes('/blobs/')) perBlob[url.split('/').pop()] = (perBlob[url.split('/').pop()] || 0) + 1;
    console.log(`registry strata/sample:1.0 (${expected.json.layers.length} layers, ${blobBytes} B of blobs): tags shown after ${Math.round(timings.metadata)} ms, verified after ${Math.round(timings.verified)} ms; `
      + `${info.bytes} B fetched by the open; ${requests.length} requests (${requests.filter((u) => u.includes('/manifests/')).length} manifest, blob requests per blob: ${Object.values(perBlob).join(', ')})`);
    await shot(page, 'registry-docker-archive');
    // The Config view shows the config the registry holds.
    await openTab(page, 'config');
    assert.ok((await page.textContent('#view')).includes(expected.config.config.Cmd[0]));
  });
});

test('an OCI image with zstd layers: opens, verified, a file readable', async () => {
  const expected = pushed['strata/zstd:2.0'];
  assert.ok(expected.json.layers.every((l) => l.mediaType === 'application/vnd.oci.image.layer.v1.tar+zstd'), 'skopeo pushed zstd layers');
  await withPage(refQuery(registries.cors.host, 'strata/zstd:2.0'), async (page) => {
    await waitVerified(page, 60000);
    const image = (await report(page)).images[0];
    assert.ok(image.verified);
    assert.equal(image.manifest_digest, expected.digest);
    assert.deepEqual(image.layers.map((l) => [l.digest, l.compression]), expected.json.layers.map((l) => [l.digest, 'zstd']));
    assert.deepEqual(image.config.cmd, expected.config.config.Cmd);
    assert.deepEqual(await readWorkerFile(page, '/app/config.json'), fixtureFile(SAMPLE, 'strata-demo:2.0', '/app/config.json'));
  });
});

test('a multi-platform index: the picker lists both platforms, each shows its own /etc/arch, switching works', async () => {
  const index = pushed['strata/platforms:v1'].json;
  assert.equal(index.manifests.length, 2);
  await withPage(refQuery(registries.cors.host, 'strata/platforms:v1'), async (page) => {
    await waitVerified(page, 60000);
    const picker = page.locator('#platform-select');
    assert.deepEqual(await picker.locator('option').allTextContents(), ['linux/amd64', 'linux/arm64/v8']);
    assert.equal(await picker.inputValue(), 'linux/amd64');
    assert.equal(await page.textContent('label[for=platform-select]'), 'Platform');
    assert.equal(await picker.getAttribute('translate'), 'no');
    assert.equal((await readWorkerFile(page, '/etc/arch')).toString(), 'built for amd64\n');
    let r = await report(page);
    assert.equal(r.images[0].manifest_digest, index.manifests[0].digest);
    assert.equal(r.images[0].architecture, 'amd64');
    await shot(page, 'registry-platforms');
    // The picker is labelled, and the header with it passes axe-core.
    assert.deepEqual(await axeViolations(page, 'registry image with platforms'), []);
    // Switching: the other platform opens, and the address says which.
    await picker.selectOption('linux/arm64/v8');
    await page.waitForFunction(() => window.strata.state.report?.images[0]?.architecture === 'arm64' && document.body.dataset.stage === 'verified', null, { timeout: 60000 });
    assert.match(page.url(), /[?&]platform=linux%2Farm64%2Fv8/);
    r = await report(page);
    assert.equal(r.images[0].manifest_digest, index.manifests[1].digest);
    assert.ok(r.images[0].verified);
    assert.equal((await readWorkerFile(page, '/etc/arch')).toString(), 'built for arm64\n');
    assert.equal(await page.locator('#platform-select').inputValue(), 'linux/arm64/v8');
    // Back goes to the first platform's address; a link with &platform= opens that one.
    assert.equal((await remote(page)).platform, 'linux/arm64/v8');
  });
  await withPage(refQuery(registries.cors.host, 'strata/platforms:v1', '&platform=linux/arm64'), async (page) => {
    await waitVerified(page, 60000);
    assert.equal((await readWorkerFile(page, '/etc/arch')).toString(), 'built for arm64\n');
  });
});

test('a blob tampered in the registry storage: a digest mismatch, naming the blob', async () => {
  await withPage(refQuery(registries.cors.host, 'strata/tampered:v1'), async (page) => {
    await waitVerified(page, 60000);
    const image = (await report(page)).images[0];
    assert.equal(image.verified, false);
    const layer = image.layers.find((l) => l.digest === tamperedDigest);
    const failed = layer.checks.filter((c) => c.verdict !== 'ok').map((c) => c.code);
    assert.deepEqual(failed, ['blob_digest'], 'only the blob digest fails (the gzip stream still holds the same layer)');
    assert.ok(image.layers.filter((l) => l !== layer).every((l) => l.checks.every((c) => c.verdict === 'ok')));
    const overview = await page.textContent('#view');
    assert.match(await page.textContent('#overall-verdict'), /1 check failed/);
    assert.ok(overview.includes(tamperedDigest.slice(7, 19)), 'the Overview names the blob');
    await shot(page, 'registry-tampered');
  });
});

test('the bearer-token flow: 401 → token → the image; without a token endpoint, the worded error', async () => {
  registries.token.reset();
  await withPage(refQuery(registries.token.host, 'strata/sample:1.0'), async (page) => {
    await waitVerified(page, 60000);
    const image = (await report(page)).images[0];
    assert.ok(image.verified);
    assert.equal(image.manifest_digest, pushed['strata/sample:1.0'].digest);
    assert.deepEqual(await readWorkerFile(page, '/app/config.json'), fixtureFile(SAMPLE, 'strata-demo:1.0', '/app/config.json'));
  }, { networkErrors: true });
  const stats = registries.token.stats;
  console.log(`token flow: ${stats.unauthorized} answered 401, ${stats.tokens} token(s) asked for, ${stats.authorized} requests with the token, ${stats.preflights} preflights`);
  assert.ok(stats.unauthorized >= 1, 'a 401 came first');
  assert.ok(stats.tokens >= 1, 'a token was asked for');
  assert.ok(stats.scopes.every((s) => s === 'repository:strata/sample:pull'), `scopes ${stats.scopes}`);
  assert.ok(stats.authorized >= 3, 'then the manifest, config and layers with it');
  await withPage(refQuery(registries.notoken.host, 'strata/sample:1.0'), async (page) => {
    const text = await alertText(page);
    assert.match(text, /token/i);
    assert.match(text, /404/);
    assert.equal(await page.isVisible('#landing'), true);
    await shot(page, 'registry-token-missing');
  }, { networkErrors: true });
});

test('a registry without CORS: the error names the headers it must send', async () => {
  await withPage(refQuery(registries.nocors.host, 'strata/sample:1.0'), async (page) => {
    const text = await alertText(page);
    assert.match(text, /Access-Control-Allow-Origin/);
    assert.match(text, /Access-Control-Expose-Headers: Content-Range, Content-Length, Docker-Content-Digest, WWW-Authenticate/);
    assert.equal(await page.isVisible('#landing'), true);
    await shot(page, 'registry-no-cors');
  }, { networkErrors: true });
  await withPage(`${refQuery(registries.nocors.host, 'strata/sample:1.0')}&lang=zh-CN`, async (page) => {
    assert.match(await alertText(page), /Access-Control-Allow-Origin/);
  }, { networkErrors: true });
});

test('the landing box takes a URL or a reference; a bad one is worded', async () => {
  await withPage('', async (page) => {
    await page.fill('#url-input', 'Not A/Reference!');
    await page.click('#url-form button[type=submit]');
    assert.match(await alertText(page), /neither a web address .* nor an image reference/);
    assert.doesNotMatch(page.url(), /[?&]ref=/);
    await page.fill('#url-input', `${registries.cors.host}/strata/sample:1.0`);
    await page.click('#url-form button[type=submit]');
    await waitVerified(page, 60000);
    assert.match(page.url(), /\?ref=127\.0\.0\.1%3A\d+%2Fstrata%2Fsample%3A1\.0/);
    assert.equal((await report(page)).images[0].manifest_digest, pushed['strata/sample:1.0'].digest);
  });
  // A `?url=` link stays a URL, a relative one too (only the box tells the two apart).
  await withPage('?url=sample.tar', async (page) => {
    await waitVerified(page, 60000);
    // (python's http.server, the page's server here, ignores Range: read whole, as a URL.)
    assert.equal((await remote(page)).mode, 'whole');
  });
  await withPage('?lang=zh-CN', async (page) => {
    await page.fill('#url-input', 'Not A/Reference!');
    await page.click('#url-form button[type=submit]');
    assert.match(await alertText(page), /既不是网址/);
  });
});

test('deep link round trip: ?ref= plus the view; Copy link gives it to a colleague', async () => {
  let link;
  let ids;
  await withPage(refQuery(registries.cors.host, 'strata/platforms:v1', '&platform=linux/arm64/v8'), async (page) => {
    await waitVerified(page, 60000);
    ids = await page.evaluate(() => window.strata.state.report.images.map((i) => i.id));
    await openTab(page, 'history');
    await page.click('#copy-link-button');
    await page.waitForFunction(() => window.strata.lastLink);
    link = await page.evaluate(() => window.strata.lastLink);
    assert.match(await page.textContent('[role=alert]'), /Link copied/);
  });
  assert.match(link, /\?ref=127\.0\.0\.1%3A\d+%2Fstrata%2Fplatforms%3Av1&platform=linux%2Farm64%2Fv8#image=[0-9a-f]{12}&tab=history/);
  await withPage(link.slice(server.base.length), async (page) => {
    await waitVerified(page, 60000);
    assert.deepEqual(await page.evaluate(() => window.strata.state.report.images.map((i) => i.id)), ids);
    assert.equal(await page.getAttribute('#tab-history', 'aria-selected'), 'true');
    assert.equal(await page.locator('#platform-select').inputValue(), 'linux/arm64/v8');
    await shot(page, 'registry-deep-link');
  });
});

test("a hosted page's library.json entry with `ref` opens the image from its registry", async () => {
  // A built site names its library in <meta name="strata-library"> (./build.sh dist); the
  // source tree's page has none, so the test adds it to the page as served, CSP untouched.
  const { page, context, problems } = await openPage(browser, server.base, { query: '?lang=en' });
  try {
    const origin = new URL(server.base).origin;
    await context.route((url) => url.origin === origin && (url.pathname === '/' || url.pathname === '/index.html'), async (route) => {
      const answer = await route.fetch();
      const html = (await answer.text()).replace('</head>', '<meta name="strata-library" content="library.json">\n</head>');
      await route.fulfill({ response: answer, body: html });
    });
    await context.route(`${origin}/library.json`, (route) => route.fulfill({
      contentType: 'application/json',
      body: JSON.stringify([{ name: 'team/sample:1.0', ref: `${registries.cors.host}/strata/sample:1.0`, description: 'the test registry' }]),
    }));
    await page.reload();
    const entry = page.locator('#library a', { hasText: 'team/sample:1.0' });
    await entry.waitFor();
    assert.match(await entry.getAttribute('href'), /^\?ref=127\.0\.0\.1%3A\d+%2Fstrata%2Fsample%3A1\.0$/);
    await entry.click();
    await waitVerified(page, 60000);
    assert.equal((await report(page)).images[0].manifest_digest, pushed['strata/sample:1.0'].digest);
    assert.deepEqual(problems.page, []);
    assert.deepEqual(problems.console, []);
  } finally {
    await context.close();
  }
});

test('while a registry image opens: what is fetched from where, and Cancel', async () => {
  // The slow proxy holds every answer back 1.5 s: the opening page stays on screen.
  for (const lang of ['en', 'zh-CN']) {
    await withPage(`${refQuery(registries.slow.host, 'strata/sample:1.0')}&lang=${lang}`, async (page) => {
      await page.waitForSelector('#progress:not([hidden])');
      const from = lang === 'en' ? `from ${registries.slow.host}` : `来自镜像仓库 ${registries.slow.host}`;
      assert.ok((await page.textContent('#archive-info')).includes(from), 'the name and the registry');
      const progress = await page.textContent('#progress');
      assert.ok(progress.includes(registries.slow.host), `the progress names the registry: ${progress}`);
      assert.equal(await page.isVisible('#cancel-button'), true);
      await shot(page, `registry-opening${lang === 'en' ? '' : '-zh'}`);
      await page.click('#cancel-button');
      await page.waitForSelector('#landing:not([hidden])');
      assert.notEqual(await page.evaluate(() => document.body.dataset.stage), 'verified');
    });
  }
});

test('the header says a registry image came from its registry (not "OCI archive"); the Structure tab says whose layout it is', async () => {
  const expected = pushed['strata/sample:1.0'];
  const where = `${registries.cors.host}/strata/sample`;
  await withPage(refQuery(registries.cors.host, 'strata/sample:1.0'), async (page) => {
    await waitVerified(page, 60000);
    const header = await page.textContent('#archive-info');
    assert.ok(header.includes(`Registry image · ${where}`), `the header: ${header}`);
    assert.ok(!header.includes('OCI archive'), `the virtual layout's format is not shown as the image's: ${header}`);
    assert.equal(await page.textContent('#archive-info .registry-media-type'), expected.json.mediaType);
    assert.equal(await page.getAttribute('#archive-info .registry-where', 'translate'), 'no');
    await openTab(page, 'structure');
    await page.waitForSelector('#structure-registry-note');
    const note = await page.textContent('#structure-registry-note');
    assert.match(note, /strata's view of the registry's blobs/);
    assert.ok(note.includes(registries.cors.host), note);
    await shot(page, 'registry-structure-note');
  });
  await withPage(`${refQuery(registries.cors.host, 'strata/sample:1.0')}&lang=zh-CN`, async (page) => {
    await waitVerified(page, 60000);
    const header = await page.textContent('#archive-info');
    assert.ok(header.includes(`来自镜像仓库的镜像 · ${where}`), `the header: ${header}`);
    assert.ok(!header.includes('镜像归档'), header);
    await openTab(page, 'structure');
    assert.match(await page.textContent('#structure-registry-note'), /镜像仓库/);
    await shot(page, 'registry-structure-note-zh');
  });
  // A local archive still says its format.
  await withPage('', async (page) => {
    await page.setInputFiles('input[type=file]', SAMPLE);
    await waitVerified(page, 60000);
    assert.doesNotMatch(await page.textContent('#archive-info'), /Registry image/);
    await openTab(page, 'structure');
    assert.equal(await page.locator('#structure-registry-note').count(), 0);
  });
});

test('the platform picker keeps keyboard focus while verdicts redraw the header', async () => {
  // The slow registry (every answer 1.5 s late): the picker is on screen long before the
  // blobs are verified, and the header redraws with each verdict meanwhile.
  await withPage(refQuery(registries.slow.host, 'strata/platforms:v1'), async (page) => {
    await page.waitForSelector('#platform-select', { timeout: 60000 });
    await page.focus('#platform-select');
    await page.evaluate(() => { window.focusedPicker = document.getElementById('platform-select'); });
    const redraws = await page.evaluate(() => new Promise((resolve) => {
      // Count the header's redraws until the image is verified.
      let count = 0;
      const observer = new MutationObserver(() => { count += 1; });
      observer.observe(document.getElementById('archive-info'), { childList: true });
      const poll = setInterval(() => {
        if (document.body.dataset.stage !== 'verified') return;
        clearInterval(poll);
        observer.disconnect();
        resolve(count);
      }, 50);
    }));
    assert.ok(redraws >= 1, `the header redrew (${redraws} times) while the picker had focus`);
    assert.ok(await page.evaluate(() => window.focusedPicker === document.getElementById('platform-select')), 'the same select element');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'platform-select', 'focus stayed on the picker');
    // The keyboard still works on it: ArrowDown picks the next platform, which opens.
    await page.keyboard.press('ArrowDown');
    await page.waitForFunction(() => window.strata.state.report?.images[0]?.architecture === 'arm64' && document.body.dataset.stage === 'verified', null, { timeout: 60000 });
    assert.match(page.url(), /[?&]platform=linux%2Farm64%2Fv8/);
  });
});

test('Back and Forward between ?ref= and ?url= entries reopen what the address names; hash-only steps do not', async () => {
  const arch = (page) => page.evaluate(() => window.strata.state.report?.images[0]?.architecture);
  const opened = (page, check) => page.waitForFunction(check, null, { timeout: 60000 }).then(() => waitVerified(page, 60000));
  await withPage(refQuery(registries.cors.host, 'strata/platforms:v1'), async (page) => {
    await waitVerified(page, 60000);
    assert.equal(await arch(page), 'amd64');
    await page.locator('#platform-select').selectOption('linux/arm64/v8');
    await opened(page, () => window.strata.state.report?.images[0]?.architecture === 'arm64');
    // A hash-only step (a tab) on top: Back over it only changes the view.
    await page.evaluate(() => { window.strata.state.browse.mark = 'arm64 open'; });
    await openTab(page, 'history');
    await page.goBack();
    await page.waitForFunction(() => !location.hash.includes('tab=history'));
    assert.equal(await page.evaluate(() => window.strata.state.browse?.mark), 'arm64 open', 'not reopened for a hash step');
    // Back to the entry before the platform switch: the first platform opens again.
    await page.goBack();
    assert.doesNotMatch(page.url(), /platform=/);
    await opened(page, () => window.strata.state.report?.images[0]?.architecture === 'amd64');
    assert.equal(await page.locator('#platform-select').inputValue(), 'linux/amd64');
    await page.goForward();
    assert.match(page.url(), /platform=linux%2Farm64%2Fv8/);
    await opened(page, () => window.strata.state.report?.images[0]?.architecture === 'arm64');
  });
  // `?url=` entries too. (The landing box, where a URL is typed, is on screen before the
  // first archive opens and again after an open failed: an image not in the registry.)
  await withPage('', async (page) => {
    await page.fill('#url-input', `${registries.cors.host}/strata/missing:1`);
    await page.click('#url-form button[type=submit]');
    await page.waitForFunction(() => document.body.dataset.stage === 'failed', null, { timeout: 60000 });
    await page.fill('#url-input', `${server.base}sample.tar`);
    await page.click('#url-form button[type=submit]');
    await opened(page, () => window.strata.state.timings.remote?.mode === 'whole');
    assert.match(page.url(), /\?url=/);
    // Back: the reference is opened again (and fails again, worded).
    await page.goBack();
    assert.match(page.url(), /\?ref=/);
    await page.waitForFunction(() => document.body.dataset.stage === 'failed', null, { timeout: 60000 });
    assert.match(await alertText(page), /strata\/missing/);
    // Forward: the archive by URL opens again.
    await page.goForward();
    assert.match(page.url(), /\?url=/);
    await opened(page, () => window.strata.state.timings.remote?.mode === 'whole');
    assert.ok((await report(page)).images[0].repo_tags.length > 0);
    await shot(page, 'registry-back-forward');
  }, { networkErrors: true });
});

test('a big gzip layer is fetched once: no tar walk (nor its second half) streams through compressed bytes first', async () => {
  // 40 MiB of random bytes: skopeo's gzip cannot shrink them, so the layer blob is big
  // enough for the page to walk it in two halves at once (app.js SPLIT_MIN), each a stream
  // of range requests (256 KiB, 512 KiB, 1 MiB, … ahead) that finds no tar headers.
  const chunks = [];
  for (let i = 0; chunks.length * 32 < 40 << 20; i++) chunks.push(createHash('sha256').update(String(i)).digest());
  const noise = Buffer.concat(chunks);
  const archive = writeDockerArchive(path.join(work, 'big-layer.tar'), { tag: 'big:v1', layers: [[{ name: 'noise.bin', data: noise }]] });
  await registries.push(`docker-archive:${archive}`, 'strata/big-layer:v1');
  const manifest = (await inspected('strata/big-layer:v1')).json;
  const layer = manifest.layers[0];
  assert.ok(layer.size > 32 << 20, `the gzip'd layer is ${layer.size} B`);
  await withPage('', async (page, context) => {
    let layerBytes = 0;
    context.on('response', (r) => {
      if (r.url().startsWith(registries.cors.base) && r.url().endsWith(layer.digest)) layerBytes += Number(r.headers()['content-length'] || 0);
    });
    await page.goto(server.base + refQuery(registries.cors.host, 'strata/big-layer:v1'));
    await waitVerified(page, 60000);
    assert.ok((await report(page)).images[0].verified);
    console.log(`gzip layer of ${layer.size} B: the registry answered ${layerBytes} B for it`);
    // The blob once, plus the 1-byte probe, a 6-byte look at its start and the core's first 64 KiB.
    assert.ok(layerBytes <= layer.size + (128 << 10), `${layerBytes} B answered for a ${layer.size} B blob`);
  });
});

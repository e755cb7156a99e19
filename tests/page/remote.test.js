// Open by URL (issue 24, items 1 and 3): `?url=` and the "Open URL" box read an archive
// from a web server by HTTP Range requests, in the workers; servers without Range, without
// CORS, a 404, a 401, a file replaced mid-read; deep links and "Copy link". The server is
// tests/page/static_server.mjs on loopback, on another port than the page: another
// origin, so CORS applies as it would on the web.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { statSync } from 'node:fs';
import { pageTestSetup, openTab, pickFile, waitVerified, shot, fx, WWW } from './harness.js';
import { startStaticServer } from './static_server.mjs';

let files;
const SAMPLE = path.join(WWW, 'sample.tar');
const GZIP = path.join(WWW, 'lessons/web.tar.gz');

// The archives' server (another origin than the page's), started before the page's.
const setup = pageTestSetup({
  needs: [[fx('holes.tar'), 'fixtures missing: run tests/page/run.sh']],
  prepare: async () => {
    files = await startStaticServer({
      files: { 'sample.tar': SAMPLE, 'holes.tar': fx('holes.tar'), 'web.tar.gz': GZIP, 'docker25.tar': fx('docker25.tar') },
      replaceAfter: 2,
      replacement: SAMPLE,
    });
  },
});

after(async () => {
  await files?.stop();
});

/** What the browser itself prints for a refused or failed request (not the page's code):
 * expected in the tests that make a request fail on purpose, nowhere else. */
const BROWSER_NETWORK_MESSAGE = /Failed to load resource|blocked by CORS policy|net::ERR_/;

async function withPage(query, body, { networkErrors = false } = {}) {
  await setup.withPage(async (page, context) => {
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(setup.server.base).origin });
    await body(page, context);
  }, { query, ignoreConsole: networkErrors ? BROWSER_NETWORK_MESSAGE : null });
}

const urlQuery = (p) => `?url=${encodeURIComponent(files.base + p)}`;

async function alertText(page) {
  await page.waitForSelector('[role=alert]:not([hidden])', { timeout: 30000 });
  return page.textContent('[role=alert]');
}

/** Image IDs of the archive on screen. */
const imageIds = (page) => page.evaluate(() => window.strata.state.report.images.map((i) => i.id));

test('?url= with Range: tree browsable from headers and metadata, then verified; only plain Range headers, no preflight', async () => {
  // The same archive dropped as a local file, for the image IDs and verdicts to compare.
  let local;
  await withPage('', async (page) => {
    await pickFile(page, fx('holes.tar'));
    await waitVerified(page, 60000);
    local = await page.evaluate(() => window.strata.state.report.images.map((i) => [i.id, i.verified]));
  });
  files.reset();
  await withPage(urlQuery('range/holes.tar'), async (page) => {
    // Opened as the page loads: the address's name and host are on screen.
    await page.waitForFunction(() => ['indexed', 'verified'].includes(document.body.dataset.stage), null, { timeout: 60000 });
    const fetchedWhenBrowsable = files.stats.bytes.range;
    await waitVerified(page, 60000);
    const remote = await page.evaluate(() => window.strata.state.report.images.map((i) => [i.id, i.verified]));
    assert.deepEqual(remote, local, 'same images and verdicts as the local file');
    assert.equal(await page.evaluate(() => window.strata.timings.remote.mode), 'range');
    assert.match(await page.textContent('#archive-info'), /holes\.tar.*from 127\.0\.0\.1:\d+/);
    const size = statSync(fx('holes.tar')).size;
    // Verification read every byte once (plus the index pass): never the whole file over and over.
    assert.ok(files.stats.bytes.range >= size, `fetched ${files.stats.bytes.range} of ${size}`);
    assert.ok(files.stats.bytes.range < 3 * size, `fetched ${files.stats.bytes.range} of ${size}`);
    assert.ok(fetchedWhenBrowsable < size, `browsable after ${fetchedWhenBrowsable} of ${size} bytes`);
    assert.equal(files.stats.preflights, 0, 'no preflight');
    assert.deepEqual(files.stats.odd, [], 'no header beyond Range');
    assert.ok(files.stats.ranges.every((r) => /^bytes=\d+-\d+$/.test(r)), 'plain single ranges');
    console.log(`holes.tar (${size} B) by URL: ${fetchedWhenBrowsable} B fetched before browsable, ${files.stats.bytes.range} B in all, ${files.stats.requests.range} requests`);
    await shot(page, 'remote-range');
  });
});

test('the Open URL box opens an archive; a file of it reads by Range', async () => {
  await withPage('', async (page) => {
    await page.fill('#url-input', `${files.base}range/sample.tar`);
    await page.click('#url-form button[type=submit]');
    await waitVerified(page);
    assert.match(page.url(), /\?url=http/);
    await openTab(page, 'files');
    // The file's bytes come through the browsing worker's HTTP reader.
    const text = await page.evaluate(async () => {
      const { state } = window.strata;
      const image = state.report.images.findIndex((i) => i.repo_tags.some((t) => t.includes('v2')));
      const bytes = await state.browse.worker.request('readFile', { handle: state.browse.handle, image: image < 0 ? 1 : image, path: '/app/config.json', offset: 0, length: -1 });
      return new TextDecoder().decode(bytes);
    });
    assert.match(text, /hello again/);
  });
});

test('a server that ignores Range: one streamed pass, then the same report', async () => {
  files.reset();
  await withPage(urlQuery('norange/sample.tar'), async (page) => {
    await waitVerified(page);
    assert.equal(await page.evaluate(() => window.strata.timings.remote.mode), 'whole');
    assert.ok(await page.evaluate(() => window.strata.state.report.images.every((i) => i.verified)));
    // The probe's own answer was the download: one request.
    assert.equal(files.stats.requests.norange, 1);
  });
});

test('a server that hides Content-Range (no Expose-Headers) is read whole', async () => {
  await withPage(urlQuery('hidden/sample.tar'), async (page) => {
    await waitVerified(page);
    assert.equal(await page.evaluate(() => window.strata.timings.remote.why), 'content-range hidden');
  });
});

test("a gzip'd archive by URL: one streamed pass by Range, verified", async () => {
  await withPage(urlQuery('range/web.tar.gz'), async (page) => {
    await waitVerified(page, 60000);
    const report = await page.evaluate(() => window.strata.state.report);
    assert.equal(report.archive.compression, 'gzip');
    assert.ok(report.images.length >= 2 && report.images.every((i) => i.verified));
  });
});

test('404, 401 and a server without CORS: plain words, the landing page stays', async () => {
  await withPage(urlQuery('range/missing.tar'), async (page) => {
    assert.match(await alertText(page), /missing\.tar could not be opened: the server has no file at this address \(404\)/);
    assert.equal(await page.isVisible('#landing'), true);
    await shot(page, 'remote-404');
  }, { networkErrors: true });
  await withPage(urlQuery('auth/sample.tar'), async (page) => {
    assert.match(await alertText(page), /refused access \(401\)/);
  }, { networkErrors: true });
  await withPage(urlQuery('nocors/sample.tar'), async (page) => {
    const text = await alertText(page);
    assert.match(text, /does not let this page read the file \(CORS\)/);
    assert.match(text, /Access-Control-Allow-Origin/);
    assert.match(text, /Access-Control-Expose-Headers: Content-Range, Content-Length/);
    await shot(page, 'remote-no-cors');
  }, { networkErrors: true });
});

test('a file replaced on the server mid-read: said so, not mixed', async () => {
  await withPage(urlQuery('replace/holes.tar'), async (page) => {
    assert.match(await alertText(page), /changed while it was being read/);
    assert.notEqual(await page.evaluate(() => document.body.dataset.stage), 'verified');
  }, { networkErrors: true });
});

test('the error is in Chinese on a Chinese page', async () => {
  await withPage(`${urlQuery('nocors/sample.tar')}&lang=zh-CN`, async (page) => {
    const text = await alertText(page);
    assert.match(text, /不允许本页面读取这个文件/);
    assert.match(text, /Access-Control-Allow-Origin/);
  }, { networkErrors: true });
});

test('deep link round trip: ?url= plus the view; Copy link gives it to a colleague', async () => {
  let link;
  let ids;
  await withPage(urlQuery('range/sample.tar'), async (page) => {
    await waitVerified(page);
    ids = await imageIds(page);
    await openTab(page, 'history');
    await page.click('#copy-link-button');
    await page.waitForFunction(() => window.strata.lastLink);
    link = await page.evaluate(() => window.strata.lastLink);
    assert.match(await page.textContent('[role=alert]'), /Link copied/);
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), link);
    await shot(page, 'remote-copy-link');
  });
  assert.match(link, /\?url=http.*#image=[0-9a-f]{12}&tab=history/);
  // The colleague follows it in a fresh page.
  await withPage(link.slice(setup.server.base.length), async (page) => {
    await waitVerified(page);
    assert.deepEqual(await imageIds(page), ids);
    assert.equal(await page.getAttribute('#tab-history', 'aria-selected'), 'true');
  });
});

test('a link to a dropped file names it; the same file restores the view, another one is said to differ', async () => {
  let link;
  await withPage('', async (page) => {
    await pickFile(page, SAMPLE);
    await waitVerified(page);
    await openTab(page, 'layers');
    await page.click('#copy-link-button');
    await page.waitForFunction(() => window.strata.lastLink);
    link = await page.evaluate(() => window.strata.lastLink);
    assert.match(await page.textContent('[role=alert]'), /must open the same file/);
  });
  assert.match(link, /#image=[0-9a-f]{12}&tab=layers&file=sample\.tar$/);
  await withPage(link.slice(setup.server.base.length), async (page) => {
    assert.match(await alertText(page), /view of sample\.tar.*Open the same file/);
    await shot(page, 'remote-local-link');
    await pickFile(page, SAMPLE);
    await waitVerified(page);
    assert.equal(await page.getAttribute('#tab-layers', 'aria-selected'), 'true');
  });
  await withPage(link.slice(setup.server.base.length), async (page) => {
    await pickFile(page, fx('docker25.tar'));
    await waitVerified(page);
    assert.match(await alertText(page), /is not in docker25\.tar/);
    assert.equal(await page.getAttribute('#tab-overview', 'aria-selected'), 'true');
  });
});

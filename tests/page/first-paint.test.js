// Issue 21, "a brief English flash before catalogs load": a page opened in Chinese must not
// show the HTML's English words while its catalogs are on the way. The catalog requests are
// held back (page.route) so the first paint happens before they arrive, every time; what a
// person would see then is checked and photographed. And the way out: a catalog that fails,
// or a script that never runs, must not leave a blank page.
//   cd tests/page && node --test --test-concurrency=1 first-paint.test.js
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { pageTestSetup, watchProblems, ARTIFACTS } from './harness.js';

const setup = pageTestSetup();

/** Visible text of the page: text nodes whose element is rendered and not hidden
 * (visibility, display, opacity), outside archive data / marked English (translate="no"). */
function visibleText(page) {
  return page.evaluate(() => {
    const out = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const text = node.textContent.trim();
      const parent = node.parentElement;
      if (!text || !parent || parent.closest('[translate="no"], script, style')) continue;
      if (!parent.checkVisibility({ visibilityProperty: true, opacityProperty: true })) continue;
      out.push(text);
    }
    return out;
  });
}

/** Hold every request for a zh-CN catalog until `release()` (or fail them with `fail`).
 * (The contexts block the page's service worker: requests it answers never reach a route.) */
async function holdCatalogs(context, { fail = false } = {}) {
  let release;
  const released = new Promise((resolve) => { release = resolve; });
  let held = 0;
  await context.route('**/locales/zh-CN/*.json', async (route) => {
    held += 1;
    await released;
    if (fail) await route.fulfill({ status: 404, body: 'gone' });
    else await route.continue();
  });
  return { release, held: () => held };
}

/** A context as the first frame needs it: no service worker (its answers never reach a
 * route), English browser, a laptop's window. */
async function freshPage() {
  const context = await setup.browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 720 }, serviceWorkers: 'block' });
  const page = await context.newPage();
  return { context, page, problems: watchProblems(page, context, setup.server.base) };
}

/** Runs in the page before its own scripts: what the first frame shows (the first animation
 * frame with a body; frames wait for the stylesheet, which blocks rendering), and when. */
function recordFirstFrame() {
  window.firstFrame = new Promise((resolve) => {
    const look = () => {
      if (!document.body) {
        requestAnimationFrame(look);
        return;
      }
      const text = [];
      const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const words = node.textContent.trim();
        const parent = node.parentElement;
        if (!words || !parent || parent.closest('[translate="no"], script, style')) continue;
        if (parent.checkVisibility({ visibilityProperty: true, opacityProperty: true })) text.push(words);
      }
      resolve({ at: performance.now(), text, ready: document.documentElement.dataset.texts === 'ready' });
    };
    requestAnimationFrame(look);
  });
}

test('a Chinese page shows no English while its catalogs load, then Chinese', async () => {
  const { context, page, problems } = await freshPage();
  const catalogs = await holdCatalogs(context);
  await page.addInitScript(recordFirstFrame);
  await page.goto(`${setup.server.base}?lang=zh-CN`, { waitUntil: 'commit' });
  const first = await page.evaluate(() => window.firstFrame);
  // (After 3 s the page shows itself whatever happens: the first frame must come before.)
  assert.ok(first.at < 3000, `the first frame came ${first.at} ms after the navigation began`);
  assert.equal(first.ready, false, 'the catalogs were still on their way at the first frame');
  const english = first.text.filter((text) => /[A-Za-z]{3,}/.test(text));
  assert.deepEqual(english, [], `English shown before the Chinese catalogs arrived: ${JSON.stringify(english)}`);
  // The page asks for the Chinese catalogs once the English ones (its fallback) are in.
  for (let i = 0; i < 600 && catalogs.held() === 0; i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(catalogs.held() > 0, 'the catalog requests were held (the test would prove nothing otherwise)');
  assert.notEqual(await page.evaluate(() => document.documentElement.dataset.texts), 'ready');
  await page.screenshot({ path: path.join(ARTIFACTS, 'first-paint-zh-CN-waiting.png') });

  catalogs.release();
  await page.waitForFunction(() => document.documentElement.dataset.texts === 'ready');
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  await page.screenshot({ path: path.join(ARTIFACTS, 'first-paint-zh-CN-ready.png') });
  const h1 = page.locator('#landing h1');
  assert.ok(await h1.isVisible(), 'the page shows itself once its texts are in');
  assert.match(await h1.textContent(), /[\u4e00-\u9fff]/, 'the heading is Chinese');
  assert.deepEqual(problems.page, []);
  assert.deepEqual(problems.console, []);
  await context.close();
});

test('a catalog that cannot load leaves the page readable (in English), not blank', async () => {
  const { context, page, problems } = await freshPage();
  const catalogs = await holdCatalogs(context, { fail: true });
  await page.goto(`${setup.server.base}?lang=zh-CN`, { waitUntil: 'domcontentloaded' });
  catalogs.release();
  await page.waitForFunction(() => document.documentElement.dataset.texts === 'ready');
  assert.ok(await page.locator('#landing h1').isVisible(), 'the page is shown');
  assert.match(await page.locator('#landing h1').textContent(), /container image/);
  // The page says why in the console; the browser's own lines are the refused requests.
  const ours = problems.console.filter((line) => !/^Failed to load resource: .*404/.test(line));
  assert.equal(ours.length, 1, JSON.stringify(problems.console));
  assert.match(ours[0], /texts could not be loaded/);
  assert.deepEqual(problems.page, []);
  await context.close();
});

test('a page whose script never runs still shows itself (after 3 s)', async () => {
  const { context, page } = await freshPage();
  await context.route('**/js/app.js', (route) => route.abort());
  await page.goto(setup.server.base, { waitUntil: 'domcontentloaded' });
  assert.equal(await page.locator('#landing h1').isVisible(), false, 'hidden while the texts might still come');
  await page.waitForFunction(() => getComputedStyle(document.body).visibility === 'visible', null, { timeout: 10000 });
  assert.ok(await page.locator('#landing h1').isVisible());
  await context.close();
});

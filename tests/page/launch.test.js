// The installed app opens archives the operating system hands it (issue 24, item 5): the
// manifest's file_handlers and www/js/hosting.js's launchQueue consumer. Chromium installs
// the page as a web app and launches it with a file through the DevTools protocol's PWA
// domain (PWA.install, PWA.launchFilesInApp) — Chromium's own file-handling launch, the one
// "Open with" in the OS's file manager starts: the browser opens a new app page at the
// handler's action URL and queues a real FileSystemFileHandle for its launchQueue. Nothing
// in the page is replaced or mocked. Headless, in a profile of its own (apps install there).
//   cd tests/page && node --test --test-concurrency=1 launch.test.js
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { mkdirSync, rmSync } from 'node:fs';
import { startServer, launchWithProfile, watchProblems, assertClean, waitTexts, waitVerified, shot, ROOT, WWW } from './harness.js';

const PROFILE = path.join(ROOT, 'tests/out/launch-profile');
let server;
let context;
let cdp;
let manifestId;

before(async () => {
  server = await startServer();
  rmSync(PROFILE, { recursive: true, force: true });
  mkdirSync(PROFILE, { recursive: true });
  context = await launchWithProfile(PROFILE, { viewport: { width: 1280, height: 800 }, locale: 'en-US' });
  cdp = await context.browser().newBrowserCDPSession();
  // The manifest's "id" is "./": the app's id is the page's own address.
  manifestId = server.base;
  await cdp.send('PWA.install', { manifestId, installUrlOrBundleUrl: server.base });
});

after(async () => {
  await context?.close();
  server?.stop();
  rmSync(PROFILE, { recursive: true, force: true });
});

/** Launch the installed app with `file`, as the OS would: the app page Chromium opens. */
async function launchWith(file) {
  const opened = context.waitForEvent('page', { timeout: 30000 });
  const { targetIds } = await cdp.send('PWA.launchFilesInApp', { manifestId, files: [file] });
  assert.equal(targetIds.length, 1, 'one app page for one file');
  const page = await opened;
  const problems = watchProblems(page, context, server.base);
  await waitTexts(page);
  return { page, problems };
}

test('installed, the app says which files it opens (the manifest\'s file_handlers)', async () => {
  const state = await cdp.send('PWA.getOsAppState', { manifestId });
  assert.equal(state.fileHandlers.length, 1);
  assert.equal(state.fileHandlers[0].action, server.base);
  const accepted = Object.fromEntries(state.fileHandlers[0].accepts.map((a) => [a.mediaType, a.fileExtensions]));
  assert.deepEqual(accepted['application/x-tar'], ['.tar']);
  assert.ok(accepted['application/gzip'].includes('.tar.gz'), JSON.stringify(accepted));
});

test('a .tar opened with the installed app: launchQueue hands it to the page, which reads and verifies it', async () => {
  const { page, problems } = await launchWith(path.join(WWW, 'sample.tar'));
  try {
    assert.equal(page.url(), server.base, 'the handler\'s action URL');
    await waitVerified(page);
    assert.equal(await page.evaluate(() => window.strata.state.file.name), 'sample.tar');
    assert.match(await page.textContent('#images-table'), /strata-demo/);
    assert.match(await page.textContent('#overall-verdict'), /all digests verified/);
    await shot(page, 'launch-installed-tar');
    assertClean(problems);
  } finally {
    await page.close();
  }
});

test('a .tar.gz opened with the installed app: both images of the lesson archive, verified', async () => {
  const { page, problems } = await launchWith(path.join(WWW, 'lessons/web.tar.gz'));
  try {
    await waitVerified(page);
    assert.equal(await page.evaluate(() => window.strata.state.file.name), 'web.tar.gz');
    const tags = await page.$$eval('#images-table tbody tr', (rows) => rows.map((r) => r.textContent));
    assert.equal(tags.length, 2, tags.join(' | '));
    assertClean(problems);
  } finally {
    await page.close();
  }
});

// Lesson view (issue 22): every step of the lesson archives (and of a real-tool archive when
// the tools ran) against the CLI, the URL hash, the keyboard, a path's story, docker's
// output against the CLI, projector mode, both languages, axe-core, screenshots.
// Run: cd tests/page && node --test --test-concurrency=1 lesson.test.js (after ./build.sh build).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { existsSync, readdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { pageTestSetup, pickFile, waitVerified, shot, axeViolations, WWW, FIXTURES, CLI } from './harness.js';

const WEB = path.join(WWW, 'lessons/web.tar.gz');
const UNIONFS = path.join(WWW, 'lessons/unionfs.tar');

const setup = pageTestSetup({ needs: [[WEB, 'www/lessons/ missing: run ./build.sh build'], [UNIONFS, 'www/lessons/ missing: run ./build.sh build']] });

/** A page (openPage's options; `query` is a '?…' or '#…' for its URL) for `body(page)`; it
 * must end with a clean console, no foreign requests and no dialog opened. */
const withPage = (body, options = {}) => setup.withPage(body, { ...options, foreign: true, dialogs: true });

const cli = (...args) => execFileSync(CLI, args, { encoding: 'utf8', maxBuffer: 256 << 20, stdio: ['ignore', 'pipe', 'pipe'] });
const cliJson = (...args) => JSON.parse(cli(...args));

/** Open an archive and show the Lesson tab at its first step. */
async function openLesson(page, file) {
  await pickFile(page, file);
  await page.waitForSelector('#tab-lesson');
  await page.click('#tab-lesson');
  await stepReady(page);
}

async function stepReady(page, step) {
  await page.waitForFunction((want) => {
    const panel = document.getElementById('lesson-step');
    return panel && panel.dataset.ready === 'true' && (want === undefined || panel.dataset.step === String(want));
  }, step, { timeout: 20000 });
}

/** Open every folder of the step's tree, then its rows: {path, change, kind, size, layer}. */
async function wholeTree(page) {
  return page.evaluate(async () => {
    for (let round = 0; round < 100; round++) {
      for (const more of document.querySelectorAll('#lesson-step .lesson-more')) more.click();
      const closed = [...document.querySelectorAll('#lesson-step .lesson-toggle[aria-expanded="false"]')];
      if (!closed.length) break;
      for (const b of closed) b.click();
      const start = performance.now();
      while (closed.some((b) => b.isConnected && b.getAttribute('aria-expanded') === 'false') && performance.now() - start < 10000) {
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    return [...document.querySelectorAll('#lesson-step .lesson-row')].map((li) => ({
      path: li.dataset.path, change: li.dataset.change || null, kind: li.dataset.kind, size: Number(li.dataset.size), layer: Number(li.dataset.layer),
    })).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  });
}

/** The CLI's tree as of layer k, in the same shape. */
function cliTree(file, image, k) {
  return cliJson('ls', '-R', '-l', '--layer', String(k), '--json', '--image', image, file)
    .map((r) => ({ path: `/${r.path}`, change: r.change, kind: r.kind, size: r.size, layer: r.layer }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The whiteout and opaque entries in layer k's own tar, by the CLI's export of that layer. */
function cliMarkers(file, image, k) {
  const dir = mkdtempSync(path.join(tmpdir(), 'lesson-'));
  const out = path.join(dir, 'layer.tar');
  cli('export', '--image', image, '--layer', String(k), '-o', out, file);
  const names = execFileSync('tar', ['-tf', out], { encoding: 'utf8' }).split('\n').filter(Boolean);
  return names.map((n) => `/${n.replace(/^\.?\//, '')}`).filter((n) => /(^|\/)\.wh\.[^/]+$/.test(n) && !/\/\.wh\.\.wh\.(?!\.opq$)/.test(n)).sort();
}

const markersShown = (page) => page.$$eval('#lesson-step [data-marker]', (nodes) => nodes.map((n) => `/${n.dataset.marker}`).sort());
const hashParams = (page) => page.evaluate(() => Object.fromEntries(new URLSearchParams(location.hash.slice(1))));

/** Step through every layer of every image of `file` with Next and compare with the CLI. */
async function stepThrough(page, file) {
  const report = cliJson('inspect', '--json', file);
  for (const image of report.images) {
    const id = image.id.split(':')[1].slice(0, 12);
    await page.evaluate((hash) => { location.hash = hash; }, `image=${id}&tab=lesson&step=0`);
    await stepReady(page, 0);
    for (let k = 0; k < image.layers.length; k++) {
      if (k > 0) {
        await page.click('#lesson-next');
        await stepReady(page, k);
      }
      assert.equal((await hashParams(page)).step, String(k), 'stepping writes the step into the hash');
      assert.deepEqual(await wholeTree(page), cliTree(file, id, k), `${path.basename(file)} image ${id}: the tree as of layer ${k}`);
      assert.deepEqual(await markersShown(page), cliMarkers(file, id, k), `layer ${k}'s own whiteout/opaque entries`);
    }
    // The last stop: what the container sees (the merged tree, no change marks).
    await page.click('#lesson-next');
    await stepReady(page, image.layers.length);
    const merged = cliJson('ls', '-R', '-l', '--json', '--image', id, file).map((r) => `/${r.path}`).sort();
    assert.deepEqual((await wholeTree(page)).map((r) => r.path), merged, 'the merged view');
    assert.ok(await page.isDisabled('#lesson-next'), 'Next stops at the last step');
  }
}

test('lesson archives: offered on the landing page, every step against strata ls --layer K', async () => {
  await withPage(async (page) => {
    // The landing page's link opens the union-FS lesson on the Lesson tab.
    await page.click('[data-lesson-archive="lessons/unionfs.tar"]');
    await page.waitForSelector('#tab-lesson[aria-selected="true"]', { timeout: 20000 });
    await stepReady(page, 0);
    await stepThrough(page, UNIONFS);
    // Markers at their own step only, by their real names (the fixture's intent).
    await page.click('#lesson-first');
    const seen = [];
    for (let k = 0; k < 7; k++) {
      await stepReady(page, k);
      seen.push(await markersShown(page));
      if (k < 6) await page.click('#lesson-next');
    }
    assert.deepEqual(seen, [[], [], ['/demo/.wh.b.txt', '/demo/.wh.big.log'], ['/demo/config/.wh..wh..opq'], [], [], []]);
  });
  await withPage(async (page) => {
    await page.click('[data-lesson-archive="lessons/web.tar.gz"]');
    await page.waitForSelector('#tab-lesson[aria-selected="true"]', { timeout: 20000 });
    await stepReady(page, 0);
    // Two images share the base: their slabs say so.
    const shared = await page.$$eval('.lesson-shared', (nodes) => nodes.length);
    assert.equal(shared, 4, 'web:v1 shares its four base layers with web:v2');
    await waitVerified(page);
    await stepThrough(page, WEB);
  });
});

const REAL = path.join(FIXTURES, 'real');
const realName = existsSync(REAL) ? readdirSync(REAL).filter((f) => f.endsWith('.kind')).map((f) => f.slice(0, -5)).sort()[0] : null;
test('a real-tool archive: every step against strata ls --layer K', { skip: realName ? false : 'no real-tool archives in tests/out' }, async () => {
  const file = path.join(REAL, `${realName}.tar`);
  await withPage(async (page) => {
    await openLesson(page, file);
    await waitVerified(page);
    await stepThrough(page, file);
  });
});

test('the URL hash holds the step: open with step=K, step, reload', async () => {
  const id = cliJson('inspect', '--json', UNIONFS).images[0].id.split(':')[1].slice(0, 12);
  await withPage(async (page) => {
    await pickFile(page, UNIONFS);
    await stepReady(page, 3);
    assert.match(await page.textContent('#lesson-where'), /4/);
    assert.equal(await page.getAttribute('#lesson-slab-3', 'aria-current'), 'step');
    await page.click('#lesson-next');
    await stepReady(page, 4);
    assert.equal((await hashParams(page)).step, '4');
    await page.reload();
    await pickFile(page, UNIONFS);
    await stepReady(page, 4);
    assert.deepEqual(await hashParams(page), { image: id, tab: 'lesson', step: '4' });
    // A step past the end is the last stop.
    await page.evaluate((hash) => { location.hash = hash; }, `image=${id}&tab=lesson&step=99`);
    await stepReady(page, 7);
  }, { query: `#image=${id}&tab=lesson&step=3` });
});

test('keyboard: ← → Home End Space step while focus is in the lesson; the tab strip keeps its arrows', async () => {
  await withPage(async (page) => {
    await openLesson(page, UNIONFS);
    await page.focus('#lesson-step');
    await page.keyboard.press('ArrowRight');
    await stepReady(page, 1);
    await page.keyboard.press('ArrowRight');
    await stepReady(page, 2);
    await page.keyboard.press('ArrowLeft');
    await stepReady(page, 1);
    await page.keyboard.press('End');
    await stepReady(page, 7);
    await page.keyboard.press('Home');
    await stepReady(page, 0);
    // A held key: steps asked for while one is drawn end at the last one asked for.
    for (let i = 0; i < 5; i++) await page.keyboard.press('ArrowRight', { delay: 0 });
    await stepReady(page, 5);
    assert.equal((await hashParams(page)).step, '5');
    assert.equal(await page.getAttribute('#lesson-slab-5', 'aria-current'), 'step');
    await page.keyboard.press('Home');
    await stepReady(page, 0);
    await page.keyboard.press('Space');
    await stepReady(page, 1);
    assert.equal((await hashParams(page)).step, '1');
    // The Next button by keyboard, and its words.
    await page.focus('#lesson-next');
    assert.match(await page.textContent('#lesson-next'), /Next/);
    await page.keyboard.press('Enter');
    await stepReady(page, 2);
    // Arrows in the tab strip move between tabs, not steps.
    await page.focus('#tab-lesson');
    await page.keyboard.press('ArrowLeft');
    await page.waitForSelector('#tab-diff[aria-selected="true"]');
  });
});

test('a path\'s story: a file deleted by a whiteout and added again', async () => {
  await withPage(async (page) => {
    await openLesson(page, UNIONFS);
    await page.fill('#lesson-story-path', '/demo/b.txt');
    await page.click('#lesson-story-go');
    await page.waitForSelector('#lesson-story-result li');
    const events = await page.$$eval('#lesson-story-result li', (nodes) => nodes.map((n) => [Number(n.dataset.layer), n.dataset.change, n.textContent]));
    assert.deepEqual(events.map(([l, c]) => [l, c]), [[0, 'added'], [2, 'deleted'], [4, 'added']]);
    assert.match(events[1][2], /\/demo\/\.wh\.b\.txt/);
    assert.match(events[2][2], /again/);
    // Each layer's Dockerfile line is there.
    assert.match(events[1][2], /rm \/demo\/b\.txt/);
    // From a row of the tree: the story button of a modified file.
    await page.click('#lesson-slab-1');
    await stepReady(page, 1);
    await page.click('#lesson-step .lesson-row[data-path="/demo/a.txt"] .lesson-story-button');
    await page.waitForFunction(() => document.getElementById('lesson-story-result').dataset.path === '/demo/a.txt');
    const changes = await page.$$eval('#lesson-story-result li', (nodes) => nodes.map((n) => n.dataset.change));
    assert.deepEqual(changes, ['added', 'modified']);
    // The modified row says which lower copy it covers.
    await page.waitForFunction(() => /L0|0/.test(document.querySelector('#lesson-step .lesson-row[data-path="/demo/a.txt"] .lesson-covers')?.textContent || ''));
  });
});

test('what docker would print: history, load, images and inspect against the CLI', async () => {
  const report = cliJson('inspect', '--json', WEB);
  await withPage(async (page) => {
    await openLesson(page, WEB);
    await waitVerified(page);
    const out = (id) => page.textContent(`#lesson-out-${id}`);
    assert.equal(await out('history'), cli('history', WEB, '--image', 'web:v1').trimEnd());
    await page.click('#lesson-docker-history summary');
    await page.check('#lesson-no-trunc');
    await page.waitForFunction(() => document.querySelector('#lesson-docker-history summary').textContent.includes('--no-trunc'));
    assert.equal(await out('history'), cli('history', WEB, '--image', 'web:v1', '--no-trunc').trimEnd());
    assert.equal(await out('load'), cli('load-preview', WEB).trimEnd());
    // docker images: the first table of `strata inspect`.
    const firstTable = cli('inspect', WEB).split('\n\n')[0].trimEnd();
    assert.equal(await out('images'), firstTable);
    // docker inspect: docker's shape, from the config.
    const inspect = JSON.parse(await out('inspect'));
    const image = report.images[0];
    assert.equal(inspect.length, 1);
    assert.equal(inspect[0].Id, image.id);
    assert.deepEqual(inspect[0].RepoTags, ['web:v1']);
    assert.deepEqual(inspect[0].RootFS, { Type: 'layers', Layers: image.layers.map((l) => l.diff_id) });
    assert.deepEqual(inspect[0].Config, image.config.raw.config);
    for (const key of ['RepoDigests', 'Created', 'Architecture', 'Os']) assert.ok(key in inspect[0], key);
    assert.match(await page.textContent('#lesson-docker-inspect'), /strata inspect --json/);
  });
});

/** Every visible text node in the lesson whose computed size is under `min` px. */
async function smallText(page, min) {
  return page.evaluate((minPx) => {
    const small = [];
    const walker = document.createTreeWalker(document.getElementById('lesson'), NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      if (!n.textContent.trim()) continue;
      const el = n.parentElement;
      if (el.closest('.visually-hidden, details:not([open]) > :not(summary)')) continue;
      const rect = el.getBoundingClientRect();
      if (!rect.width || !rect.height || el.checkVisibility?.() === false) continue;
      const size = parseFloat(getComputedStyle(el).fontSize);
      if (size < minPx) small.push(`${size}px: ${n.textContent.trim().slice(0, 40)}`);
    }
    return small;
  }, min);
}

for (const lang of ['en', 'zh-CN']) {
  test(`projector mode at 1280×720 (${lang}): text ≥ 20 px, secondary chrome hidden, screenshots`, async () => {
    await withPage(async (page) => {
      assert.ok(await page.evaluate(() => document.body.classList.contains('projector')));
      await openLesson(page, WEB);
      await waitVerified(page);
      await page.click('#lesson-slab-4');
      await stepReady(page, 4);
      for (const d of await page.$$('#lesson details')) await d.evaluate((el) => { el.open = true; });
      assert.deepEqual(await smallText(page, 20), [], 'lesson text under 20 px');
      assert.ok(!(await page.isVisible('#images-table')), 'the images table is hidden in projector mode');
      const next = await page.textContent('#lesson-next');
      assert.match(next, lang === 'en' ? /Next/ : /下一步/);
      // No catalog key shows as text.
      const text = await page.textContent('#lesson');
      assert.doesNotMatch(text, /lesson\.[a-z]/);
      if (lang === 'zh-CN') assert.match(text, /第 5 步/);
      for (const d of await page.$$('#lesson details')) await d.evaluate((el) => { el.open = false; });
      // The stack and the step just below the sticky step buttons, as a class would see them.
      await page.evaluate(() => {
        const below = document.querySelector('.lesson-controls').getBoundingClientRect().bottom;
        window.scrollTo(0, document.querySelector('.lesson-split').getBoundingClientRect().top + window.scrollY - below - 4);
      });
      // (Once more: the buttons stick, and so change where they end, only after the first scroll.)
      await page.evaluate(() => window.scrollBy(0, document.querySelector('.lesson-split').getBoundingClientRect().top - document.querySelector('.lesson-controls').getBoundingClientRect().bottom - 4));
      await shot(page, `lesson-projector-${lang}`);
      // The header toggle turns it off and on.
      await page.click('#projector-toggle');
      assert.ok(!(await page.evaluate(() => document.body.classList.contains('projector'))));
      await page.click('#projector-toggle');
      assert.equal(await page.getAttribute('#projector-toggle', 'aria-pressed'), 'true');
    }, { query: `?projector=1&lang=${lang}`, viewport: { width: 1280, height: 720 } });
  });
}

test('both languages: the lesson in Chinese, unionfs step 2 shows its whiteouts', async () => {
  await withPage(async (page) => {
    await openLesson(page, UNIONFS);
    await page.click('#lesson-slab-2');
    await stepReady(page, 2);
    const text = await page.textContent('#lesson');
    assert.match(text, /白障（whiteout）/);
    assert.match(text, /下一步/);
    assert.doesNotMatch(text, /lesson\.[a-z]/);
    assert.equal(await page.getAttribute('#lesson-step .lesson-marker-list code', 'translate'), 'no');
    await shot(page, 'lesson-zh-CN');
    // The header's switch redraws the lesson in place, at the same step (after the verdicts,
    // whose redraws replace the switch's buttons).
    await waitVerified(page);
    await page.click('#lang-switch [data-lang="en"]');
    await page.waitForFunction(() => /Next/.test(document.getElementById('lesson-next')?.textContent || ''));
    await stepReady(page, 2);
    assert.match(await page.textContent('#lesson-step'), /whiteout: deletes \/demo\/b\.txt/);
    assert.equal((await hashParams(page)).step, '2');
  }, { query: '?lang=zh-CN', viewport: { width: 1280, height: 720 } });
});

for (const colorScheme of ['light', 'dark']) {
  test(`accessibility (axe-core), ${colorScheme}: the lesson view, plain and in projector mode`, async () => {
    const found = [];
    const axe = async (page, label) => { found.push(...await axeViolations(page, label)); };
    await withPage(async (page) => {
      await axe(page, 'landing');
      await openLesson(page, UNIONFS);
      await waitVerified(page);
      await page.click('#lesson-slab-3');
      await stepReady(page, 3);
      for (const d of await page.$$('#lesson details')) await d.evaluate((el) => { el.open = true; });
      await page.fill('#lesson-story-path', '/demo/b.txt');
      await page.click('#lesson-story-go');
      await page.waitForSelector('#lesson-story-result li');
      await axe(page, 'lesson');
      await page.click('#projector-toggle');
      await axe(page, 'lesson, projector');
      await page.click('#projector-toggle');
    }, { colorScheme });
    assert.deepEqual(found, []);
  });
}

// Big counts and long names on the page (issue 20, finding 9; issue 23, defect 6): a 2 000-
// layer image and a 30 000-entry history draw their first rows and more on request instead
// of every row at once; a 100 KB repository name is cut with an ellipsis, not pushing every
// other column off screen; `--no-trunc` shows the command as stored, as docker does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pageTestSetup, openTab, pickFile, waitVerified, shot, fx } from './harness.js';

const { withPage } = pageTestSetup({ needs: [[fx('long-history.tar'), 'fixtures missing: run tests/page/run.sh']] });

test('a 30 000-entry history draws 200 rows, then 200 more on request', async () => {
  await withPage(async (page) => {
    await pickFile(page, fx('long-history.tar'));
    await waitVerified(page, 60000);
    await openTab(page, 'history');
    const rows = () => page.$$eval('#view .history-table tbody tr', (r) => r.length);
    assert.equal(await rows(), 200);
    // Newest first: the first row is the last ENV, the image ID on it.
    const first = await page.textContent('#view .history-table tbody tr:first-child td.cmd');
    assert.match(first, /ENV STEP=29999/);
    await page.click('#view .show-more button');
    await page.waitForFunction(() => document.querySelectorAll('#view .history-table tbody tr').length === 400);
    assert.match(await page.textContent('#view .show-more button'), /Show 200 more \(of 29,?601 not shown\)/);
    // --no-trunc: the command as stored, `/bin/sh -c #(nop)` included (docker history --no-trunc).
    await page.check('#history-full');
    const full = await page.textContent('#view .history-table tbody tr:first-child td.cmd');
    assert.equal(full, '/bin/sh -c #(nop)  ENV STEP=29999');
    await page.uncheck('#history-full');
    assert.equal(await page.textContent('#view .history-table tbody tr:first-child td.cmd'), 'ENV STEP=29999');
    await shot(page, 'long-history');
  });
});

test('a 2 000-layer image draws its top 200 layers, then more on request', async () => {
  await withPage(async (page) => {
    await pickFile(page, fx('two-thousand-layers.tar'));
    // The Layers tab draws from the report: no need to wait for 2 000 blobs to be hashed.
    await page.waitForFunction(() => ['indexed', 'verified'].includes(document.body.dataset.stage), null, { timeout: 120000 });
    await openTab(page, 'layers');
    const layers = () => page.$$eval('#view .layer-stack > li', (r) => r.map((li) => Number(li.dataset.layer)));
    const shown = await layers();
    assert.equal(shown.length, 200);
    assert.equal(shown[0], 1999, 'the top layer first');
    assert.equal(shown.at(-1), 1800);
    // The view redraws as verdicts come in (2 000 blobs): the choice must survive that.
    await page.evaluate(() => document.querySelector('#view .show-more button').click());
    await page.waitForFunction(() => document.querySelectorAll('#view .layer-stack > li').length === 400);
    await page.waitForTimeout(1500);
    assert.equal((await layers()).length, 400, 'still 400 after the redraws of incoming verdicts');
    assert.equal((await layers()).at(-1), 1600);
  });
});

test('a 100 KB repository name is cut with an ellipsis and kept whole in its tooltip', async () => {
  await withPage(async (page) => {
    await page.setViewportSize({ width: 1280, height: 720 });
    await pickFile(page, fx('long-name.tar'));
    await waitVerified(page);
    await page.waitForSelector('#images-table td.repo');
    const m = await page.evaluate(() => {
      const td = document.querySelector('#images-table td.repo');
      const verdict = document.querySelector('#images-table tbody tr:first-child td:last-child').getBoundingClientRect();
      return { width: td.getBoundingClientRect().width, title: td.title, overflows: td.scrollWidth > td.clientWidth, verdictRight: verdict.right };
    });
    assert.ok(m.width < 600, `the name cell is ${m.width}px wide`);
    assert.equal(m.title.length, 100_000);
    assert.ok(m.overflows, 'cut, not wrapped');
    // Every column is on screen, the verdict included.
    assert.ok(m.verdictRight <= 1280, `the verdict ends at ${m.verdictRight}px`);
    await shot(page, 'long-name');
    // The Overview's tag list too: one line, cut, whole in its tooltip.
    await page.click('#tab-overview');
    const pill = await page.evaluate(() => {
      const li = document.querySelector('#view .tag-pill');
      const r = li.getBoundingClientRect();
      return { height: r.height, right: r.right, title: li.title, overflows: li.scrollWidth > li.clientWidth };
    });
    assert.ok(pill.height < 40, `the tag is one line, ${pill.height}px high`);
    assert.ok(pill.right <= 1280, `the tag ends at ${pill.right}px`);
    assert.ok(pill.overflows, 'cut, not wrapped');
    assert.ok(pill.title.length >= 100_000);
    await shot(page, 'long-name-overview');
  });
});

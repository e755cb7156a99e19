// The page's numbers, progress, counts, Cancel, Overview and small screens (issue 23, items
// 2, 3, 4, 7, 9, 10, 11, 12): a size not known yet is said to be not known (never the
// compressed size); the progress bar moves while the helpers hash, in docker's units; one
// count of failed checks in the badge and the Overview, junk beside the image a mild finding
// of its own; each format named once, from the core's code; after Cancel nothing says
// "pending", the notice offers to resume and resuming verifies; the Overview says what the
// image runs and what "verified" means; the wasted-space list shows its top entries, then
// more; a phone and 150 %/200 % zoom reflow without horizontal scrolling.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pageTestSetup, openTab, axeViolations, pickFile, waitVerified, shot, fx } from './harness.js';

const { withPage } = pageTestSetup({ needs: [[fx('oci-gzip-big.tar'), 'fixtures missing: run tests/page/run.sh']] });

const texts = (page, selector) => page.$$eval(selector, (nodes) => nodes.map((n) => n.textContent.trim()));

/** The images table's cell under a docker column (REPOSITORY, SIZE, …) in the first row. */
const cellUnder = (page, word) => page.evaluate((w) => {
  const heads = [...document.querySelectorAll('#images-table thead th')].map((th) => th.textContent);
  const at = heads.findIndex((x) => x.startsWith(w));
  return document.querySelector(`#images-table tbody tr td:nth-child(${at + 1})`)?.textContent.trim();
}, word);

test('gzip layers: the size is "not known yet" until read; Cancel keeps what is known, says so, and Resume verifies', async () => {
  await withPage(async (page) => {
    // Watch from inside the page: the moment the images table is drawn while the helpers
    // still read the gzip layers, note what the page says, then press Cancel.
    await page.evaluate(() => {
      window.__seen = null;
      const timer = setInterval(() => {
        const s = window.strata.state;
        const row = document.querySelector('#images-table tbody tr');
        if (!s.report || !row || s.report.verification_done) return;
        clearInterval(timer);
        const heads = [...document.querySelectorAll('#images-table thead th')].map((th) => th.textContent);
        const size = row.children[heads.findIndex((x) => x.startsWith('SIZE'))].textContent;
        const image = s.report.images[0];
        window.__seen = { size, storedSize: image.stored_size, coreSize: image.size, overview: document.querySelector('#view')?.textContent || '' };
        document.getElementById('cancel-button').click();
      }, 2);
    });
    await pickFile(page, fx('oci-gzip-big.tar'));
    await page.waitForFunction(() => document.body.dataset.stage === 'cancelled', null, { timeout: 60000 });
    const seen = await page.evaluate(() => window.__seen);
    assert.ok(seen, 'the table was drawn while verifying');
    // The core's sum is the compressed size while the layers are unread: never shown.
    assert.equal(seen.size, 'not known yet');
    assert.match(seen.overview, /Size\s*not known yet/);
    const compressed = await page.evaluate((n) => {
      const units = ['B', 'kB', 'MB', 'GB'];
      let v = n; let u = 0;
      while (v >= 1000 && u < 3) { v /= 1000; u += 1; }
      return `${Number(v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2))}${units[u]}`;
    }, seen.coreSize);
    assert.ok(!seen.overview.includes(`${compressed} uncompressed`), `the Overview said ${compressed} uncompressed`);

    // After Cancel: said once, what is known stays, an offer to resume.
    assert.match(await page.textContent('#error'), /Verification was cancelled|Reading was cancelled/);
    assert.match(await page.textContent('#error'), /What is known stays/);
    assert.equal(await page.isVisible('#resume-button'), true);
    assert.match(await page.textContent('#overall-verdict'), /not verified/);
    assert.equal(await cellUnder(page, 'SIZE'), 'not known yet');
    await shot(page, 'polish-after-cancel');
    await openTab(page, 'layers');
    const badges = await texts(page, '#view .layer-row .badge');
    assert.ok(badges.length === 4, badges.join(', '));
    assert.ok(badges.every((b) => !/pending/.test(b)), `after Cancel nothing is pending: ${badges.join(', ')}`);
    assert.ok(badges.some((b) => /not checked/.test(b)), badges.join(', '));
    const intro = await page.textContent('#layers-intro');
    assert.doesNotMatch(intro, /0B in total/);
    assert.match(intro, /not known yet/);
    // A layer not read when Cancel came says so, not "entries: …" as if still being read.
    const facts = await texts(page, '#view .layer-row .layer-facts > span');
    assert.ok(!facts.includes('entries: …'), `after Cancel no count is pending: ${facts.join(', ')}`);
    const entries = await texts(page, '#view .layer-row .entries');
    assert.ok(entries.some((e) => e === 'entries: not read (reading was cancelled)'), entries.join(', '));
    await shot(page, 'polish-after-cancel-layers');
    // Files: the tree cannot be listed yet; the reason is said once (the status line), in
    // words, not again in the empty tree.
    await openTab(page, 'files');
    await page.waitForSelector('#view .tree-status');
    await page.waitForFunction(() => !/Loading/.test(document.querySelector('#view .tree-status').textContent));
    const pane = await page.textContent('#view .tree-pane');
    const status = (await page.textContent('#view .tree-status')).trim();
    assert.match(status, /^Could not list files: /, 'the merged tree needs the unread layers');
    const reason = status.replace(/^Could not list files: /, '');
    assert.equal(pane.split(reason).length - 1, 1, `the reason once in the Files pane: ${pane}`);
    await shot(page, 'polish-after-cancel-files');
    await openTab(page, 'layers');

    // Resume: fresh helpers do what is left; everything verifies and the size is known.
    await page.click('#resume-button');
    await waitVerified(page, 60000);
    assert.match(await page.textContent('#overall-verdict'), /all digests verified/);
    const size = await cellUnder(page, 'SIZE');
    assert.equal(size, '101MB', 'four 24 MiB files and their tar headers');
    const after = await texts(page, '#view .layer-row .badge');
    assert.ok(after.every((b) => /ok/.test(b)), after.join(', '));
    assert.match(await page.textContent('#layers-intro'), /4 layers, 101MB in total/);
    assert.equal(await page.isVisible('#error'), false);
  });
});

test('progress: bytes move while a blob is hashed, blobs are counted as done, SI units throughout', async () => {
  await withPage(async (page) => {
    await page.evaluate(() => {
      window.__progress = [];
      const note = () => {
        const p = document.querySelector('#progress');
        if (p.hidden) return;
        window.__progress.push(`${document.querySelector('#progress-phase').textContent} | ${document.querySelector('#progress-numbers').textContent}`);
      };
      new MutationObserver(note).observe(document.querySelector('#progress'), { subtree: true, childList: true, characterData: true, attributes: true });
    });
    await pickFile(page, fx('oci-gzip-big.tar'));
    await page.waitForFunction(() => /Verifying blobs/.test(document.querySelector('#progress-phase')?.textContent || ''), null, { timeout: 60000 });
    await shot(page, 'polish-progress');
    await waitVerified(page, 60000);
    const seen = await page.evaluate(() => window.__progress);
    const verifying = seen.filter((s) => /Verifying blobs/.test(s));
    assert.ok(verifying.length, seen.join('\n'));
    // Never "blob 1 of 4" (two helpers hash at once): how many are done.
    assert.ok(seen.every((s) => !/blob \d+ of/.test(s)), seen.join('\n'));
    // Before the first blob is done, the bar already moves (read and hashed bytes count).
    const early = verifying.filter((s) => /(?<!\d)0 of \d+ done/.test(s)).map((s) => Number((s.match(/\((\d+) %\)/) || [])[1] || 0));
    assert.ok(early.some((pct) => pct > 0), `progress before the first blob is done: ${verifying.join('\n')}`);
    // docker's SI units, the speed too (no MiB anywhere).
    assert.ok(seen.every((s) => !/[KMG]iB/.test(s)), seen.join('\n'));
    assert.ok(verifying.some((s) => / of \d+(\.\d+)?MB/.test(s)), verifying.join('\n'));
  });
});

test('one count: the badge and the Overview agree on failed checks; junk beside the image is a mild finding', async () => {
  await withPage(async (page) => {
    // Junk alone: the image verifies, and the junk is listed as notes of its own.
    await pickFile(page, fx('junk.tar'));
    await waitVerified(page);
    assert.match(await page.textContent('#overall-verdict'), /all digests verified/);
    assert.match(await page.textContent('#findings summary'), /2 findings about this archive \(2 notes\)/);
    const items = await texts(page, '#findings li');
    assert.equal(items.length, 2);
    assert.ok(items.every((x) => /^info /.test(x) && /is not part of any image/.test(x)), items.join('\n'));
    assert.ok(items.some((x) => x.includes('.DS_Store')), items.join('\n'));

    // Junk and a damaged layer: one number of failed checks, the same in the badge and the
    // Overview; the findings say how many are errors.
    await pickFile(page, fx('junk-tampered.tar'));
    await waitVerified(page);
    const badge = await page.textContent('#overall-verdict');
    const n = Number((badge.match(/(\d+) checks? failed/) || [])[1]);
    assert.ok(n >= 1, badge);
    const overview = await page.textContent('#verdict-panel');
    assert.match(overview, new RegExp(`(?<!\\d)${n} checks? failed`), `badge: ${badge}; overview: ${overview}`);
    assert.equal(await page.$$eval('#verdict-panel ul.checks li', (l) => l.length), n);
    assert.match(await page.textContent('#findings summary'), /\(.*2 notes\)/);
    await shot(page, 'polish-counts');
  });
});

test('each format named once, from the core: the header and the Overview say the same', async () => {
  await withPage(async (page) => {
    await pickFile(page, fx('legacy.tar'));
    await waitVerified(page);
    const header = await page.textContent('#archive-info');
    assert.match(header, /docker save\s*\(legacy\)/);
    const row = await page.evaluate(() => {
      const dt = [...document.querySelectorAll('#view dl.facts dt')].find((d) => d.textContent === 'Manifest digest');
      return dt.nextElementSibling.textContent;
    });
    assert.match(row, /none in this archive \(docker save\s*\(legacy\) has no manifest digest\)/);
    // No manifest digest: the verdict does not claim one was checked.
    const summary = await page.textContent('#verdict-panel p');
    assert.doesNotMatch(summary, /the manifest/);
    assert.match(summary, /no manifest digest/);
    // An OCI archive has one and says so.
    await pickFile(page, fx('oci-gzip.tar'));
    await waitVerified(page);
    assert.match(await page.textContent('#archive-info'), /OCI archive/);
    assert.match(await page.textContent('#verdict-panel p'), /the config, the manifest and every layer/);
  });
});

test('the Overview says what the image runs and what "verified" means; wasted space shows its top entries, then more', async () => {
  await withPage(async (page) => {
    await pickFile(page, fx('runs-waste.tar'));
    await waitVerified(page);
    const runs = await page.evaluate(() => Object.fromEntries([...document.querySelectorAll('#runs dt')]
      .map((dt) => [dt.querySelector('[lang="en"]').textContent, dt.nextElementSibling.textContent])));
    assert.deepEqual(runs, {
      Entrypoint: '["/docker-entrypoint.sh"]',
      Cmd: '["nginx","-g","daemon off;"]',
      User: '101:101',
      WorkingDir: '/srv/www',
      ExposedPorts: '443/tcp 80/tcp',
    });
    // The Overview's first cards: the verdict, then what it runs.
    assert.deepEqual(await page.$$eval('#view .overview > section', (s) => s.map((x) => x.id || x.className)).then((x) => x.slice(0, 2)), ['verdict-panel', 'runs']);
    assert.match(await page.textContent('#verdict-panel .verified-means'), /intact.*not mean that anyone signed/);
    await shot(page, 'polish-overview-runs');

    await openTab(page, 'layers');
    await page.waitForSelector('#waste-table');
    assert.equal(await page.$$eval('#waste-table tbody tr', (r) => r.length), 20);
    assert.match(await page.textContent('#waste-explain'), /tar header and padding/);
    await page.click('#waste .show-more button');
    await page.waitForFunction(() => document.querySelectorAll('#waste-table tbody tr').length === 60);
    assert.equal(await page.$('#waste .show-more'), null);
  });
});

/** What a person can reach on a small screen: page width, header, images table, tabs. */
async function layoutFacts(page) {
  return page.evaluate(() => {
    const header = document.querySelector('.topbar');
    const cs = getComputedStyle(header);
    const right = (el) => el.getBoundingClientRect().right;
    const cells = [...document.querySelectorAll('#images-table tbody td')];
    const tabs = [...document.querySelectorAll('#tabs [role=tab]')];
    return {
      width: innerWidth,
      height: innerHeight,
      scrollWidth: document.documentElement.scrollWidth,
      headerSticky: cs.position === 'sticky' || cs.position === 'fixed',
      headerHeight: header.getBoundingClientRect().height,
      offCells: cells.filter((c) => right(c) > innerWidth + 1 || c.getBoundingClientRect().width === 0).map((c) => c.dataset.label),
      cellCount: cells.length,
      cutTabs: tabs.filter((t) => right(t) > innerWidth + 1 || t.scrollWidth > t.clientWidth + 1).map((t) => t.textContent),
    };
  });
}

function assertReflows(facts, where) {
  assert.ok(facts.scrollWidth <= facts.width, `${where}: the page scrolls sideways (${facts.scrollWidth} > ${facts.width})`);
  assert.ok(!facts.headerSticky || facts.headerHeight <= facts.height * 0.25, `${where}: a sticky header of ${facts.headerHeight}px of ${facts.height}`);
  assert.ok(facts.cellCount >= 7, `${where}: ${facts.cellCount} cells`);
  assert.deepEqual(facts.offCells, [], `${where}: images-table cells off screen`);
  assert.deepEqual(facts.cutTabs, [], `${where}: tabs cut off`);
}

test('a phone (390×844): no sideways scrolling, the header scrolls away, every column and tab on screen, History keeps SIZE and LAYER', async () => {
  await withPage(async (page) => {
    await pickFile(page, fx('runs-waste.tar'));
    await waitVerified(page);
    assertReflows(await layoutFacts(page), 'phone');
    await shot(page, 'polish-phone-overview');
    await openTab(page, 'history');
    const history = await page.evaluate(() => {
      const cells = [...document.querySelectorAll('#view .history-table tbody tr:first-child td')];
      return cells.map((c) => ({ label: c.dataset.label, right: c.getBoundingClientRect().right, visible: c.getBoundingClientRect().width > 0 }));
    });
    const byLabel = (w) => history.find((c) => c.label.startsWith(w));
    for (const w of ['SIZE', 'LAYER']) {
      assert.ok(byLabel(w)?.visible && byLabel(w).right <= 390, `History ${w}: ${JSON.stringify(history)}`);
    }
    assert.ok((await page.evaluate(() => document.documentElement.scrollWidth)) <= 390);
    await shot(page, 'polish-phone-history');
  }, { viewport: { width: 390, height: 844 } });
});

// axe-core at a phone's width (the other axe runs are at 1280–1400 px): every main view, light
// and dark, with WCAG 2.2's target size (2.5.8: 24 × 24 CSS px, or room around) on, which
// axe leaves off unless asked and which a finger needs most; and, what axe does not check,
// no view makes the page scroll sideways (WCAG 1.4.10).
for (const colorScheme of ['light', 'dark']) {
  test(`accessibility (axe-core) on a phone (390×844), ${colorScheme}: every main view, target sizes included, no sideways scrolling`, async () => {
    const found = [];
    const axe = async (page, label) => {
      found.push(...await axeViolations(page, label, { rules: { 'target-size': { enabled: true } } }));
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      if (width > 390) found.push(`${label}: the page is ${width}px wide`);
    };
    await withPage(async (page) => {
      await axe(page, 'landing');
      await page.click('#sample-button-2');
      await waitVerified(page);
      await page.click('#verdict-panel summary');
      await axe(page, 'overview, every check');
      await openTab(page, 'config');
      await page.click('#raw-config summary');
      await axe(page, 'config, raw JSON');
      await openTab(page, 'history');
      await axe(page, 'history');
      await openTab(page, 'layers');
      await page.waitForSelector('#waste table');
      await axe(page, 'layers');
      await openTab(page, 'files');
      for (const p of ['/etc', '/etc/passwd']) await page.locator(`#view .tree .row[data-path="${p}"]`).click();
      await page.waitForSelector('#viewer pre.text');
      await axe(page, 'files, a file open');
      await shot(page, `polish-phone-files-${colorScheme}`);
      await openTab(page, 'diff');
      await page.waitForSelector('#diff-result .diff-summary');
      await axe(page, 'diff');
      await openTab(page, 'lesson');
      await page.waitForFunction(() => document.getElementById('lesson-step')?.dataset.ready === 'true');
      await page.waitForSelector('#lesson .lesson-story-button');
      await axe(page, 'lesson');
      await page.locator('#lesson .lesson-story-button').first().scrollIntoViewIfNeeded();
      // Scrolled down to the tree: the step buttons stick to the top of the screen (the
      // page's header scrolled away on a phone), not down the middle over the text.
      const stuckAt = await page.$eval('#lesson .lesson-controls', (c) => Math.round(c.getBoundingClientRect().top));
      if (stuckAt !== 0) found.push(`lesson: the step buttons stick ${stuckAt}px down the screen`);
      await shot(page, `polish-phone-lesson-${colorScheme}`);
      await openTab(page, 'structure');
      await page.waitForSelector('#structure[data-ready="true"] #structure-doc-title');
      await axe(page, 'structure');
      await openTab(page, 'packages');
      await page.waitForSelector('#packages-table, #packages-empty', { timeout: 60000 });
      await axe(page, 'packages');
    }, { viewport: { width: 390, height: 844 }, colorScheme });
    assert.deepEqual(found, []);
  });
}

test('200 % zoom (1280×720 → 640×360 CSS px) reflows; at 150 % (853×480) the tree and the viewer sit side by side', async () => {
  await withPage(async (page) => {
    await pickFile(page, fx('runs-waste.tar'));
    await waitVerified(page);
    assertReflows(await layoutFacts(page), '200 %');
    await shot(page, 'polish-zoom-200');
  }, { viewport: { width: 640, height: 360 } });
  await withPage(async (page) => {
    await pickFile(page, fx('runs-waste.tar'));
    await waitVerified(page);
    await openTab(page, 'files');
    await page.waitForSelector('.files-split > :nth-child(2)');
    const [a, b] = await page.$$eval('.files-split > *', (n) => n.slice(0, 2).map((x) => x.getBoundingClientRect()).map((r) => ({ top: r.top, left: r.left })));
    assert.ok(Math.abs(a.top - b.top) < 2 && b.left > a.left, `side by side: ${JSON.stringify([a, b])}`);
    assert.ok((await page.evaluate(() => document.documentElement.scrollWidth)) <= 853);
    await shot(page, 'polish-zoom-150-files');
  }, { viewport: { width: 853, height: 480 } });
});

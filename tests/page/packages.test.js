// The Packages tab (issue 25 item 6): the page's table against `strata packages --json` of
// the same archive (types, names, versions, architectures, layers, licenses), search, type
// filter and sort (by mouse and keyboard, aria-sort), the layer links (Layers view, lesson
// step), both SBOM downloads against `strata sbom`, the Layers view's per-layer package
// changes against the CLI's `layers`, the OS line and the readers' findings, the empty
// state, archive text drawn as text (markup, a bidi override as a token), English and
// 中文, axe-core, screenshots.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { pageTestSetup, openTab, axeViolations, pickFile, waitVerified, shot, fx, ROOT, writeDockerArchive } from './harness.js';

const CLI = path.join(ROOT, 'target/release/strata');
const DEBIAN_LIKE = path.join(ROOT, 'target/tmp/packages/debian-like.tar');
const REAL_DEBIAN = path.join(ROOT, 'benches/out/debian-real.tar');

const setup = pageTestSetup({
  needs: [[fx('packages.tar'), 'fixtures missing: run tests/page/run.sh'], [CLI, 'target/release/strata missing: cargo build --release']],
});
const withPage = (body, options = {}) => setup.withPage(body, { ...options, foreign: true });

function cli(args) {
  return execFileSync(CLI, args, { encoding: 'utf8', maxBuffer: 256 << 20, env: { ...process.env, SOURCE_DATE_EPOCH: '0' } });
}

// As www/js/util.js draws archive text: hidden characters as ⟨U+XXXX⟩ tokens.
const HIDDEN = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]/g;
const shown = (s) => String(s).replace(HIDDEN, (c) => `⟨U+${c.codePointAt(0).toString(16).toUpperCase().padStart(4, '0')}⟩`);

async function openPackages(page, file) {
  await pickFile(page, file);
  await waitVerified(page, 120000);
  await openTab(page, 'packages');
  await page.waitForSelector('#packages-table, #packages-empty', { timeout: 60000 });
}

/** The table as drawn: one object per row. */
const tableRows = (page) => page.$$eval('#packages-table tbody tr', (rows) => rows.map((tr) => {
  const cells = tr.querySelectorAll('td');
  return {
    type: cells[0].textContent, name: cells[1].textContent, version: cells[2].textContent, arch: cells[3].textContent,
    layer: Number(tr.dataset.layer), licenses: cells[5].textContent,
  };
}));

const expectedRows = (json) => json.packages.map((p) => ({
  type: p.type, name: shown(p.name), version: shown(p.version), arch: p.arch || '', layer: p.layer, licenses: (p.licenses || []).join(', '),
}));

async function download(page, click) {
  const [file] = await Promise.all([page.waitForEvent('download'), click()]);
  return { name: file.suggestedFilename(), text: readFileSync(await file.path(), 'utf8') };
}

test('the Packages table equals strata packages --json; OS line, findings, archive text as text', async () => {
  const json = JSON.parse(cli(['packages', fx('packages.tar'), '--json']));
  assert.equal(json.packages.length, 10, 'the fixture: 4 deb, 2 pypi, 4 npm');
  await withPage(async (page) => {
    await openPackages(page, fx('packages.tar'));
    assert.deepEqual(await tableRows(page), expectedRows(json));
    assert.match(await page.textContent('#view .packages-os'), /Operating system: Debian GNU\/Linux 12 \(bookworm\) \(point release 12\.5\)/);
    assert.equal(await page.getAttribute('#view .packages-os .os-name', 'translate'), 'no');
    // Archive text: markup is text, a bidi override a marked token.
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
    assert.ok(await page.$('#packages-table td.pkg-name:has-text("<img src=x onerror=window.__pwned=1>")'));
    assert.equal(await page.textContent('#packages-table td.pkg-name .ctl'), '⟨U+202E⟩');
    for (const cell of await page.$$('#packages-table td.pkg-name, #packages-table td.pkg-version')) {
      assert.equal(await cell.getAttribute('translate'), 'no');
    }
    // The broken package.json is a finding, with the layer and the file.
    const findings = await page.$$eval('#view .packages-findings li', (li) => li.map((l) => l.textContent));
    assert.equal(findings.length, json.findings.length);
    assert.equal(findings[0], `layer ${json.findings[0].layer}: ${json.findings[0].path}: ${json.findings[0].message}`);
    assert.match(await page.textContent('#packages-count'), /Showing all 10/);
    await shot(page, 'packages-en');
  });
});

test('search, type filter and sort (mouse and keyboard, aria-sort)', async () => {
  const json = JSON.parse(cli(['packages', fx('packages.tar'), '--json']));
  await withPage(async (page) => {
    await openPackages(page, fx('packages.tar'));
    const names = async () => (await tableRows(page)).map((r) => r.name);
    await page.fill('#packages-search', 'LIB');
    assert.deepEqual(await names(), ['libc6', 'zlib1g', 'urllib3'], 'a substring of the name, any case, in the core order');
    assert.match(await page.textContent('#packages-count'), /Showing 3 of 10/);
    await page.fill('#packages-search', '7.88');
    assert.deepEqual(await names(), ['curl'], 'versions are searched too');
    await page.fill('#packages-search', 'no such package');
    assert.equal(await page.$('#packages-table'), null);
    assert.match(await page.textContent('#view .packages-results'), /No package matches/);
    await page.fill('#packages-search', '');
    await page.selectOption('#packages-type', 'npm');
    const npm = json.packages.filter((p) => p.type === 'npm').map((p) => shown(p.name));
    assert.deepEqual(await names(), npm);
    await page.selectOption('#packages-type', 'pypi');
    assert.deepEqual(await names(), ['requests', 'urllib3']);
    await page.selectOption('#packages-type', 'rpm');
    assert.match(await page.textContent('#view .packages-results'), /No package matches/);
    await page.selectOption('#packages-type', '');
    assert.equal((await tableRows(page)).length, 10);
    // Sort by name (click): ascending, then descending.
    const sortOf = (column) => page.getAttribute(`#packages-table th[data-column="${column}"]`, 'aria-sort');
    assert.equal(await sortOf('type'), 'ascending', 'the core order is by type first');
    await page.click('#packages-sort-name');
    assert.equal(await sortOf('name'), 'ascending');
    assert.equal(await sortOf('type'), null, 'only the sorted column says how');
    const byName = json.packages.map((p) => shown(p.name)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    assert.deepEqual(await names(), byName);
    await page.click('#packages-sort-name');
    assert.equal(await sortOf('name'), 'descending');
    assert.deepEqual(await names(), [...byName].reverse());
    // By keyboard: Tab to the LAYER header's button, Enter sorts; focus stays on it.
    await page.focus('#packages-sort-arch');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'packages-sort-layer');
    await page.keyboard.press('Enter');
    assert.equal(await sortOf('layer'), 'ascending');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'packages-sort-layer', 'focus stays on the header');
    const layers = (await tableRows(page)).map((r) => r.layer);
    assert.deepEqual(layers, [...layers].sort((a, b) => a - b));
    await page.keyboard.press('Space');
    assert.equal(await sortOf('layer'), 'descending');
    // The search, filter and sort survive a visit to another tab.
    await page.selectOption('#packages-type', 'deb');
    await page.click('#tab-history');
    await page.click('#tab-packages');
    assert.equal(await page.inputValue('#packages-type'), 'deb');
    assert.equal(await sortOf('layer'), 'descending');
    assert.deepEqual((await tableRows(page)).map((r) => r.layer), [1, 1, 0, 0]);
  });
});

test('the layer cell links to the layer in the Layers view and to the lesson step', async () => {
  await withPage(async (page) => {
    await openPackages(page, fx('packages.tar'));
    await page.click('#packages-table tr:has(td.pkg-name:text-is("curl")) .layer-link');
    await page.waitForSelector('#tab-layers[aria-selected="true"]');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'layer-1', 'focus on layer 1, which installed curl');
    await page.click('#tab-packages');
    await page.click('#packages-table tr:has(td.pkg-name:text-is("requests")) .step-link');
    await page.waitForSelector('#tab-lesson[aria-selected="true"]');
    assert.match(await page.evaluate(() => location.hash), /tab=lesson&step=2/);
    await page.waitForSelector('#lesson-slab-2[aria-current="step"]');
  });
});

test('both SBOM downloads are valid JSON with the package set of strata sbom', async () => {
  const set = (names) => [...names].sort();
  const spdxCli = JSON.parse(cli(['sbom', fx('packages.tar'), '--format', 'spdx-json']));
  const cdxCli = JSON.parse(cli(['sbom', fx('packages.tar'), '--format', 'cyclonedx-json']));
  const spdxSet = (doc) => set(doc.packages.map((p) => `${p.name}@${p.versionInfo}`));
  const cdxSet = (doc) => set(doc.components.map((c) => `${c.type}:${c.name}@${c.version}:${c.purl ?? ''}`));
  await withPage(async (page) => {
    await openPackages(page, fx('packages.tar'));
    const spdx = await download(page, () => page.click('[data-sbom="spdx-json"]'));
    assert.equal(spdx.name, 'pkgs_1.spdx.json');
    const spdxDoc = JSON.parse(spdx.text);
    assert.equal(spdxDoc.spdxVersion, 'SPDX-2.3');
    assert.deepEqual(spdxSet(spdxDoc), spdxSet(spdxCli));
    assert.equal(spdxDoc.packages.length, spdxCli.packages.length);
    const cdx = await download(page, () => page.click('[data-sbom="cyclonedx-json"]'));
    assert.equal(cdx.name, 'pkgs_1.cdx.json');
    const cdxDoc = JSON.parse(cdx.text);
    assert.equal(cdxDoc.bomFormat, 'CycloneDX');
    assert.equal(cdxDoc.specVersion, '1.6');
    assert.deepEqual(cdxSet(cdxDoc), cdxSet(cdxCli));
    // The documents' time is the page's now (the CLI's here: SOURCE_DATE_EPOCH=0).
    const created = Date.parse(spdxDoc.creationInfo.created);
    assert.ok(Math.abs(created - Date.now()) < 10 * 60_000, spdxDoc.creationInfo.created);
  });
});

test('the Layers view shows each layer\'s package changes, as the CLI\'s layers', async () => {
  const json = JSON.parse(cli(['packages', fx('packages.tar'), '--json']));
  await withPage(async (page) => {
    await openPackages(page, fx('packages.tar'));
    await page.click('#tab-layers');
    await page.waitForSelector('.layer-packages details');
    const drawn = await page.$$eval('.layer-packages', (cells) => cells.map((cell) => ({
      layer: Number(cell.dataset.packagesFor),
      summary: cell.querySelector('summary')?.textContent ?? null,
      items: [...cell.querySelectorAll('li[data-how]')].map((li) => ({ ...li.dataset })),
    })).sort((a, b) => a.layer - b.layer));
    const expected = json.layers.map((l) => {
      const changed = l.added.length + l.removed.length + l.upgraded.length > 0;
      return {
        layer: l.index,
        summary: changed ? `Packages: ${l.added.length} added, ${l.removed.length} removed, ${l.upgraded.length} upgraded` : null,
        items: [
          ...l.upgraded.map((u) => ({ how: 'upgraded', type: u.type, name: u.name, version: u.to, from: u.from })),
          ...l.added.map((a) => ({ how: 'added', type: a.type, name: a.name, version: a.version })),
          ...l.removed.map((r) => ({ how: 'removed', type: r.type, name: r.name, version: r.version })),
        ],
      };
    });
    assert.deepEqual(drawn, expected);
    // Opened, the list stays open when verdicts or a language switch redraw the view.
    await page.click('#layer-packages-1 summary');
    assert.match(await page.textContent('#layer-packages-1'), /upgraded libc6 2\.36-9 → 2\.36-9\+deb12u4/);
    await page.click('#lang-switch button[data-lang="zh-CN"]');
    await page.waitForFunction(() => document.documentElement.lang === 'zh-CN');
    assert.equal(await page.evaluate(() => document.getElementById('layer-packages-1').open), true);
    assert.match(await page.textContent('#layer-packages-1 summary'), /软件包：新增 1 个，删除 0 个，升级 1 个/);
    await page.click('#layer-packages-4 summary');
    await page.locator('#layer-1').scrollIntoViewIfNeeded();
    await shot(page, 'packages-layers-zh-CN');
  });
});

test('an image without package databases says so; the scan waits for the layers', async () => {
  await withPage(async (page) => {
    await openPackages(page, fx('legacy.tar'));
    assert.equal(await page.textContent('#packages-empty'), 'No package database found in this image.');
    // Compressed layers: listable (and scannable) once read in full.
    await openPackages(page, fx('oci-gzip.tar'));
    assert.equal(await page.textContent('#packages-empty'), 'No package database found in this image.');
  });
});

test('zh-CN: the Packages tab in Chinese, no English UI text outside archive data', async () => {
  await withPage(async (page) => {
    await openPackages(page, fx('packages.tar'));
    assert.equal(await page.textContent('#tab-packages'), '软件包');
    assert.match(await page.textContent('#view'), /共安装了 10 个软件包/);
    assert.match(await page.textContent('#view .packages-os'), /操作系统：Debian GNU\/Linux 12 \(bookworm\)（小版本 12\.5）/);
    assert.deepEqual(await page.$$eval('#packages-table th', (th) => th.map((t) => t.textContent.trim())), ['类型 ▲', '名称', '版本', '架构', '层', '许可证']);
    assert.match(await page.textContent('#packages-table tbody tr:first-child .layer-link'), /^第 0 层$/);
    // English outside archive data, code and marked English (as tests/page/i18n.test.js counts it).
    const leaks = await page.evaluate(() => {
      const skip = '[translate="no"], [lang="en"], code, pre, select, .ctl';
      const out = [];
      const walker = document.createTreeWalker(document.getElementById('view'), NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const el = node.parentElement;
        if (!el || el.closest(skip) || !el.checkVisibility()) continue;
        if (/[A-Za-z][A-Za-z'’-]*[A-Za-z]/.test(node.textContent)) out.push(node.textContent.trim());
      }
      for (const el of document.querySelectorAll('#view [aria-label], #view [placeholder]')) {
        for (const attr of ['aria-label', 'placeholder']) if (/[A-Za-z]{2}/.test(el.getAttribute(attr) || '')) out.push(`${attr}: ${el.getAttribute(attr)}`);
      }
      return out;
    });
    assert.deepEqual(leaks, []);
    await shot(page, 'packages-zh-CN');
  }, { query: '?lang=zh-CN', locale: 'zh-CN' });
});

for (const [lang, colorScheme] of [['en', 'light'], ['zh-CN', 'dark']]) {
  test(`accessibility (axe-core), ${lang} ${colorScheme}: the Packages tab, a search, the Layers view's package changes`, async () => {
    const found = [];
    await withPage(async (page) => {
      await openPackages(page, fx('packages.tar'));
      found.push(...await axeViolations(page, 'packages'));
      await page.click('#packages-sort-version');
      await page.fill('#packages-search', 'zzz');
      found.push(...await axeViolations(page, 'packages, no match'));
      await page.click('#tab-layers');
      await page.waitForSelector('.layer-packages details');
      for (const summary of await page.$$('.layer-packages summary')) await summary.click();
      found.push(...await axeViolations(page, 'layers, package changes open'));
      await openPackages(page, fx('legacy.tar'));
      found.push(...await axeViolations(page, 'packages, empty'));
    }, { query: `?lang=${lang}`, colorScheme });
    assert.deepEqual(found, []);
  });
}

// Bigger images, when present: a real Debian (`benches/gen_debian.sh`: debootstrap, apt-get,
// umoci, skopeo; ~125 packages) and the Debian-sized one `cargo test --release --test packages
// -- --ignored write_big_packages_image` writes (120 dpkg packages, then 20 more).
for (const [label, file] of [['a real Debian image (debootstrap)', REAL_DEBIAN], ['a Debian-sized image (120 + 20 dpkg packages)', DEBIAN_LIKE]]) {
  test(`${label}: the table equals the CLI's, drawn in steps`, { skip: !existsSync(file) && `${path.relative(ROOT, file)} not written` }, async () => {
    const json = JSON.parse(cli(['packages', file, '--json']));
    await withPage(async (page) => {
      await openPackages(page, file);
      const expected = expectedRows(json);
      assert.deepEqual(await tableRows(page), expected.slice(0, 200));
      if (expected.length > 200) {
        await page.click('#view .packages-results .show-more button');
        await page.waitForFunction((n) => document.querySelectorAll('#packages-table tbody tr').length === n, Math.min(400, expected.length));
      }
      assert.deepEqual(await tableRows(page), expected.slice(0, 400));
      if (json.os?.pretty_name) assert.match(await page.textContent('#view .packages-os'), new RegExp(json.os.pretty_name.replace(/[()]/g, '\\$&')));
      // The Layers view's counts per layer, as the CLI's layers.
      await page.click('#tab-layers');
      await page.waitForSelector('.layer-packages details');
      const drawn = await page.$$eval('.layer-packages', (cells) => cells
        .map((cell) => [Number(cell.dataset.packagesFor), cell.querySelector('summary')?.textContent ?? null]).sort((a, b) => a[0] - b[0]));
      assert.deepEqual(drawn, json.layers.map((l) => [l.index, l.added.length + l.removed.length + l.upgraded.length
        ? `Packages: ${l.added.length} added, ${l.removed.length} removed, ${l.upgraded.length} upgraded` : null]));
    });
  });
}

// Issue 25's speed: the person's requests go before the helpers' hashing (www/js/client.js,
// `Priority`). An image with one dpkg package and four 48 MB layers to hash; the Packages tab
// is clicked the moment the tree is browsable, while the helpers hash. The view's request
// must go through the Priority (which holds the helpers while it is pending). Then the test
// itself keeps a request of the person's pending (the same `forPerson` the views use, with a
// promise it settles when it likes), so what the helpers do while held is seen without
// depending on how fast anything runs: a helper's read loop reports that it waits, and
// verification does not end while held; once let go, verification ends and every digest is
// checked. Without the mechanism there is no Priority, no hold reaches the helpers, and
// verification ends while the request is pending.
test('while a request of the person is pending, the helpers hold their hashing; verification ends after', async () => {
  const file = path.join(ROOT, 'target/tmp/page-priority.tar');
  mkdirSync(path.dirname(file), { recursive: true });
  const filler = (k) => [{ name: `srv/filler-${k}.bin`, data: Buffer.alloc(48 << 20, k) }];
  writeDockerArchive(file, {
    tag: 'priority:1',
    layers: [
      [{ name: 'var/lib/dpkg/status', data: 'Package: tiny\nStatus: install ok installed\nVersion: 1.0-1\nArchitecture: amd64\n\n' }],
      filler(1), filler(2), filler(3), filler(4),
    ],
  });
  await withPage(async (page) => {
    await pickFile(page, file);
    // Click the tab in the same turn as the page becomes browsable (no gap for the helpers
    // to finish in), and say what the stage was.
    const stageAtClick = await page.waitForFunction(() => {
      if (window.strata.timings.interactive === undefined) return false;
      document.getElementById('tab-packages').click();
      return window.strata.state.stage;
    }, null, { timeout: 120000, polling: 'raf' }).then((h) => h.jsonValue());
    assert.equal(stageAtClick, 'indexed', 'the helpers were still hashing at the click (192 MB to hash)');
    const priority = await page.evaluate(() => {
      const p = window.strata.state.priority;
      return p && { requests: p.requests, pending: p.pending };
    });
    assert.ok(priority && priority.requests >= 1, `the Packages view's request went through the Priority: ${JSON.stringify(priority)}`);
    // A request of the person's, kept pending by the test.
    await page.evaluate(() => {
      window.strata.state.priority.forPerson(() => new Promise((resolve) => { window.letHelpersGo = resolve; }));
    });
    await page.waitForSelector('#packages-table', { timeout: 60000 });
    assert.equal(await page.textContent('#packages-table tbody tr td:nth-child(2)'), 'tiny');
    await shot(page, 'packages-while-verifying');
    // Each helper answers while held (its loop awaits): some helper's reads wait.
    const helperHolds = () => page.evaluate(() => Promise.all(window.strata.state.helpers.map((h) => h.request('holds'))));
    let holds = [];
    for (let tries = 0; tries < 600; tries++) {
      holds = await helperHolds();
      if (holds.some((h) => h.waits > 0)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(holds.every((h) => h.holds >= 1), `every helper was told to hold: ${JSON.stringify(holds)}`);
    assert.ok(holds.some((h) => h.waits > 0), `a helper's reads waited: ${JSON.stringify(holds)}`);
    // While held, a helper that waits mid-blob cannot finish: verification does not end.
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await page.evaluate(() => window.strata.state.stage), 'indexed', 'verification went on while a request was pending');
    // Let go: verification ends, every digest checked.
    await page.evaluate(() => window.letHelpersGo());
    await waitVerified(page, 180000);
    const after = await page.evaluate(() => ({
      pauses: window.strata.timings.helperPauses,
      holds: window.strata.timings.helperHolds,
      verified: window.strata.state.report.images.every((i) => i.verified),
      pending: window.strata.state.priority.pending,
    }));
    assert.ok(after.pauses >= 1, `the page held its helpers: ${JSON.stringify(after)}`);
    assert.equal(after.verified, true);
    assert.equal(after.pending, 0);
    assert.equal(await page.textContent('#packages-table tbody tr td:nth-child(2)'), 'tiny');
  });
});

// Page tests: the inspector in headless Chromium, as a person would use it.
// Run with `bash tests/page/run.sh` (builds fixtures, serves www/, runs `node --test`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { existsSync, readFileSync, readdirSync, lstatSync, readlinkSync, mkdtempSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import {
  pageTestSetup, pickFile, dropFile, waitVerified, shot, writeDockerArchive, fx, CLI, openTab, openPath, texts, axeViolations,
} from './harness.js';

const setup = pageTestSetup({ needs: [[fx('legacy.tar'), 'fixtures missing: run tests/page/run.sh']] });

/** A page (openPage's options) for `body(page, context, problems)`; it must end with a clean
 * console, no foreign requests and no dialog opened. */
const withPage = (body, options = {}) => setup.withPage(body, { ...options, foreign: true, dialogs: true });

/** What the native CLI says about the same file: the page must agree with it. With
 * `orNull`, a file the CLI refuses (an error, no report) gives null instead of a throw. */
function cliReport(file, { orNull = false } = {}) {
  try {
    return JSON.parse(execFileSync(CLI, ['inspect', '--json', file], { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] }));
  } catch (error) {
    if (error.stdout) return JSON.parse(error.stdout);
    if (orNull) return null;
    throw error;
  }
}

/** Show `filePath` in the viewer by the URL hash, as a link would; its text. */
async function showFile(page, filePath) {
  await page.evaluate((p) => {
    const params = new URLSearchParams(location.hash.slice(1));
    params.set('tab', 'files');
    params.set('path', p);
    location.hash = params.toString();
  }, filePath);
  const view = `#viewer .text-view[data-path="${filePath}"]`;
  await page.waitForSelector(view);
  return page.textContent(view);
}

test('landing page: drop zone, sample button, strict CSP, no requests', async () => {
  await withPage(async (page) => {
    await page.waitForSelector('#landing:not([hidden])');
    const csp = await page.$eval('meta[http-equiv="Content-Security-Policy"]', (m) => m.content);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self' 'wasm-unsafe-eval'/);
    assert.equal(await page.isVisible('#sample-button-2'), true);
    await shot(page, '01-landing');
  });
});

test('the sample: images, overview, config, history, layers, files, diff', async () => {
  await withPage(async (page) => {
    await page.click('#sample-button-2');
    await waitVerified(page);
    const cli = cliReport(fx('sample.tar'));
    const rows = await texts(page, '#images-table tbody tr');
    assert.equal(rows.length, 2);
    assert.match(rows[0], /strata-demo\s*1\.0/);
    assert.match(rows[1], /strata-demo\s*2\.0/);
    for (const image of cli.images) {
      assert.ok(rows.some((r) => r.includes(image.id.slice(7, 19))), `image ID ${image.id} shown`);
    }
    assert.match(await page.textContent('#overall-verdict'), /all digests verified/);
    assert.match(await page.textContent('#verdict-panel'), /Every digest matches/);
    assert.match(await page.textContent('#view'), new RegExp(cli.images[0].id));
    await shot(page, '02-overview');

    await openTab(page, 'config');
    const config = await page.textContent('#view');
    assert.match(config, /GREETING/);
    assert.match(config, /\/usr\/bin\/app/);
    assert.match(config, /org\.opencontainers\.image\.title/);
    await page.click('#raw-config summary');
    assert.match(await page.textContent('#raw-config pre'), /"rootfs"/);
    await shot(page, '03-config');

    await openTab(page, 'history');
    const history = await texts(page, '.history-table tbody tr');
    assert.equal(history.length, cli.images[0].history.length);
    assert.match(history[0], /CMD \["\/usr\/bin\/app"\]/);
    assert.match(history[history.length - 1], /ADD file:4f1b2e0c9a/);
    assert.equal(await page.locator('.history-table tr.empty-layer').count(), 6);
    await shot(page, '04-history');
    await page.click('.segmented .seg:has-text("Dockerfile")');
    await page.waitForFunction(() => /CMD/.test(document.querySelector('#dockerfile')?.textContent || ''));
    assert.match(await page.textContent('#dockerfile'), /RUN apk add --no-cache libdemo/);
    await page.click('.segmented .seg:has-text("docker history")');

    await openTab(page, 'layers');
    assert.equal(await page.locator('.layer-row').count(), 3);
    assert.equal(await page.locator('.layer-row .badge.ok').count(), 3);
    await page.waitForSelector('[data-changes-for="1"] .chg.deleted');
    assert.match(await page.textContent('[data-changes-for="1"]'), /−3/);
    await page.waitForSelector('#waste table');
    assert.match(await page.textContent('#waste'), /APKINDEX/);
    await shot(page, '05-layers');

    await openTab(page, 'files');
    await openPath(page, '/etc/passwd');
    await page.waitForSelector('#viewer pre.text');
    assert.match(await page.textContent('#viewer pre.text'), /root:x:0:0:root/);
    assert.match(await page.textContent('#viewer'), /Written by\s*layer 0/);
    await shot(page, '06-files');
    await openPath(page, '/app/logo.png');
    await page.waitForSelector('#viewer img.preview');
    await page.waitForFunction(() => document.querySelector('#viewer img.preview')?.naturalWidth === 32);
    await shot(page, '07-image-preview');
    // A symlink's target is a link that goes there.
    await openPath(page, '/bin/sh');
    await page.click('#viewer button.link:has-text("/usr/bin/sh")');
    await page.waitForFunction(() => document.querySelector('#viewer .viewer-path')?.textContent.startsWith('/usr/bin/sh'));

    // Layer 0 alone: /etc/hostname was deleted by layer 1, so it is struck through.
    await page.selectOption('.files select[aria-label="Show files of"]', '0');
    await openPath(page, '/etc');
    const hostname = page.locator('.tree .row[data-path="/etc/hostname"]');
    await hostname.waitFor();
    assert.match(await hostname.getAttribute('class'), /shadowed/);
    assert.match(await hostname.textContent(), /deleted by layer 1/);
    await shot(page, '08-layer-view-shadowed');

    await openTab(page, 'diff');
    await page.waitForSelector('#diff-result .diff-summary');
    const diff = await page.textContent('#diff-result');
    assert.match(diff, /\/app\/CHANGELOG\.md/);
    assert.match(diff, /\/app\/README\.md/);
    assert.match(diff, /User/);
    await shot(page, '09-diff');
  });
});

const FORMATS = [
  ['legacy.tar', 'docker-legacy', ['web:v1'], 'hello from v1'],
  ['docker25.tar', 'docker-oci', ['web:v1', 'web:v2'], 'hello from v1'],
  ['multi-legacy.tar', 'docker-legacy', ['web:v1', 'web:v2'], 'hello from v1'],
  ['containerd.tar', 'docker-oci', ['web:v1'], 'hello from v1'],
  ['oci-gzip.tar', 'oci-archive', ['web:v1'], 'hello from v1'],
  ['oci-zstd.tar', 'oci-archive', ['web:v2'], 'hello from v2'],
  ['oci-zstd-chunked.tar', 'oci-archive', ['web:v2'], 'hello from v2'],
  ['whole.tar.gz', 'docker-legacy', ['web:v2'], 'hello from v2'],
];

for (const [file, format, tags, content] of FORMATS) {
  test(`drop ${file}: tags, IDs, verdicts, history, a file`, async () => {
    await withPage(async (page) => {
      await dropFile(page, fx(file));
      await waitVerified(page);
      const cli = cliReport(fx(file));
      assert.equal(cli.archive.format, format);
      const report = await page.evaluate(() => window.strata.state.report);
      assert.equal(report.archive.format, format);
      const rows = await texts(page, '#images-table tbody tr');
      for (const tag of tags) {
        const [repo, t] = tag.split(':');
        assert.ok(rows.some((r) => r.includes(repo) && r.includes(t)), `${tag} listed`);
      }
      assert.deepEqual(report.images.map((i) => i.id), cli.images.map((i) => i.id), 'same IDs as the CLI');
      for (const image of cli.images) assert.ok(rows.some((r) => r.includes(image.id.slice(7, 19))));
      assert.match(await page.textContent('#overall-verdict'), /all digests verified/);
      await openTab(page, 'layers');
      const layers = report.images[0].layers.length;
      assert.equal(await page.locator('.layer-row .badge.ok').count(), layers);
      await openTab(page, 'history');
      assert.equal(await page.locator('.history-table tbody tr').count(), cli.images[0].history.length);
      await openTab(page, 'files');
      await openPath(page, '/app/main.txt');
      await page.waitForSelector('#viewer pre.text');
      assert.match(await page.textContent('#viewer pre.text'), new RegExp(content));
      // Deleted by a whiteout in layer 1: absent from the merged tree.
      await openPath(page, '/etc');
      await page.waitForSelector('.tree .row[data-path="/etc/os-release"]');
      assert.equal(await page.locator('.tree .row[data-path="/etc/hostname"]').count(), 0);
    });
  });
}

// ---------- archives written by real tools ----------
// tests/tools/make-real-archives.sh (run by `cargo test --test page`) builds an image with
// umoci layer by layer (deletions become whiteouts; an opaque re-creation of two
// directories) and writes it with skopeo as docker-archive, oci-archive (umoci's gzip
// layers), zstd, zstd:chunked, whole-archive gzip/zstd/xz, a GNU-tarred OCI layout and a
// two-platform index; buildah writes a second image. What the page shows must agree with
// what the tools say (skopeo's config bytes: the image ID; its tags; the config's history)
// and with umoci's own unpacked filesystem, path by path.

const REAL = fx('real');
const realWritten = existsSync(path.join(REAL, 'status'));
const realNames = realWritten ? readdirSync(REAL).filter((f) => f.endsWith('.kind')).map((f) => f.slice(0, -5)).sort() : [];

/** Every check of a report, image by image and layer by layer, as `item: verdict`. */
const reportChecks = (r) => r.images.flatMap((i) => [...i.checks, ...i.layers.flatMap((l) => l.checks)].map((c) => `${c.item}: ${c.verdict}`));

/** umoci's unpacked merged filesystem: path → {kind, size, link}. */
function unpackedTree(dir) {
  const out = new Map();
  const walk = (rel) => {
    for (const name of readdirSync(path.join(dir, rel))) {
      const p = rel ? `${rel}/${name}` : name;
      const st = lstatSync(path.join(dir, p));
      if (st.isSymbolicLink()) out.set(`/${p}`, { kind: 'symlink', link: readlinkSync(path.join(dir, p)) });
      else if (st.isDirectory()) {
        out.set(`/${p}`, { kind: 'dir' });
        walk(p);
      } else out.set(`/${p}`, { kind: 'file', size: st.size });
    }
  };
  walk('');
  return out;
}

/** Every path of the selected image's merged tree, asked of the page's own worker. */
async function pageTree(page) {
  const found = await page.evaluate(() => {
    const { browse, image } = window.strata.state;
    return browse.worker.request('find', { handle: browse.handle, image, pattern: '**', limit: 100000 });
  });
  assert.equal(found.truncated, false);
  const out = new Map();
  for (const e of found.entries) {
    const p = e.path.startsWith('/') ? e.path : `/${e.path}`;
    // A hardlink is a regular file once unpacked.
    const kind = e.kind === 'hardlink' ? 'file' : e.kind;
    out.set(p, kind === 'symlink' ? { kind, link: e.link } : kind === 'file' ? { kind, size: e.size } : { kind });
  }
  return out;
}

if (!realWritten) {
  test('archives written by real tools', { skip: process.env.STRATA_REQUIRE_TOOLS ? false : 'umoci/skopeo not installed' }, () => {
    assert.fail('tests/out/page-fixtures/real is missing: make-real-archives.sh did not run (STRATA_REQUIRE_TOOLS is set)');
  });
}

for (const name of realNames) {
  test(`real tools: ${name} shows what the tools say`, async () => {
    const file = path.join(REAL, `${name}.tar`);
    const configBytes = readFileSync(path.join(REAL, `${name}.config.json`));
    const config = JSON.parse(configBytes);
    const id = `sha256:${createHash('sha256').update(configBytes).digest('hex')}`;
    const tags = readFileSync(path.join(REAL, `${name}.tags`), 'utf8').split('\n').filter(Boolean);
    const cli = cliReport(file);
    await withPage(async (page) => {
      await pickFile(page, file);
      await waitVerified(page);
      const report = await page.evaluate(() => window.strata.state.report);
      // The image ID is the sha256 of the config skopeo reads out of the archive.
      assert.deepEqual(report.images.map((i) => i.id), [id]);
      // One row per tag, as `docker images` (buildah also keeps its local name as a tag).
      const rows = await texts(page, '#images-table tbody tr');
      assert.equal(rows.length, Math.max(1, cli.images[0].repo_tags.length));
      assert.ok(rows.every((r) => r.includes(id.slice(7, 19))), rows.join(' | '));
      for (const tag of tags) {
        const cut = tag.lastIndexOf(':');
        assert.ok(rows.some((r) => r.includes(tag.slice(0, cut)) && r.includes(tag.slice(cut + 1))), `${tag} in ${rows.join(' | ')}`);
      }
      // Every check as the CLI found it, and all of them ok.
      assert.deepEqual(reportChecks(report), reportChecks(cli));
      assert.ok(reportChecks(report).every((c) => c.endsWith(': ok')), reportChecks(report).join('\n'));
      assert.match(await page.textContent('#overall-verdict'), /all digests verified/);
      await openTab(page, 'layers');
      assert.equal(await page.locator('.layer-row .badge.ok').count(), report.images[0].layers.length);
      await openTab(page, 'history');
      assert.equal(await page.locator('.history-table tbody tr').count(), config.history.length);
      if (name.startsWith('buildah')) {
        assert.match(await showFile(page, '/app/run.sh'), /built by buildah/);
        assert.match(await showFile(page, '/etc/app.json'), /"k":"v"/);
        await openTab(page, 'config');
        const shown = await page.textContent('#view');
        for (const s of ['MODE=real', 'built.by', 'buildah', '9000/tcp', '/app/run.sh']) assert.ok(shown.includes(s), `config shows ${s}`);
        return;
      }
      // The merged filesystem is umoci's own unpacking of the image, path for path.
      const want = unpackedTree(path.join(REAL, 'layout-unpacked'));
      const got = await pageTree(page);
      assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
      for (const [p, w] of want) assert.deepEqual(got.get(p), w, p);
      assert.match(await showFile(page, '/etc/hostname'), /realtools-again/);
      assert.match(await showFile(page, '/etc/os-release'), /VERSION_ID=2/);
      assert.match(await showFile(page, '/opt/thing'), /now a file/);
    });
  });
}

if (realNames.length) {
  test('real tools: skopeo\'s two-platform index and its zstd:chunked layers', async () => {
    // One tag, two platforms: each platform's image ID is what skopeo reads for it.
    const platforms = readFileSync(path.join(REAL, 'multi-platform.platforms'), 'utf8').split('\n').filter(Boolean).map((l) => l.split(' '));
    await withPage(async (page) => {
      await pickFile(page, path.join(REAL, 'multi-platform.tar'));
      await waitVerified(page);
      const report = await page.evaluate(() => window.strata.state.report);
      assert.deepEqual(report.images.map((i) => [[i.os, i.architecture, i.variant].filter(Boolean).join('/'), i.id]), platforms);
      const rows = await texts(page, '#images-table tbody tr');
      assert.ok(rows[0].includes('linux/amd64') && rows[1].includes('linux/arm64/v8'), rows.join(' | '));
      assert.match(await page.textContent('#overall-verdict'), /all digests verified/);
      assert.deepEqual([...(await pageTree(page)).keys()].sort(), [...unpackedTree(path.join(REAL, 'layout-unpacked')).keys()].sort());
    });
    // zstd:chunked (a zstd frame per file, the table of contents in skippable frames): the
    // page agrees with the CLI on every check (skopeo 1.9 keeps the config's old diff_ids
    // for the tars it writes anew), and reads the files.
    const chunked = path.join(REAL, 'skopeo-oci-zstd-chunked.tar');
    const cli = cliReport(chunked);
    await withPage(async (page) => {
      await pickFile(page, chunked);
      await waitVerified(page);
      const report = await page.evaluate(() => window.strata.state.report);
      assert.deepEqual(reportChecks(report), reportChecks(cli));
      assert.match(await showFile(page, '/etc/hostname'), /realtools-again/);
      assert.deepEqual([...(await pageTree(page)).keys()].sort(), [...unpackedTree(path.join(REAL, 'layout-unpacked')).keys()].sort());
    });
  });
}

test('containerd store: attestation manifests and absent platforms are not images', async () => {
  await withPage(async (page) => {
    await pickFile(page, fx('containerd.tar'));
    await waitVerified(page);
    const report = await page.evaluate(() => window.strata.state.report);
    assert.ok(report.images.every((i) => i.os !== 'unknown'));
  });
});

test('one tag, two platforms: a platform column, a picker, and each platform its own files', async () => {
  await withPage(async (page) => {
    await pickFile(page, fx('platforms.tar'));
    await waitVerified(page);
    const rows = await texts(page, '#images-table tbody tr');
    assert.equal(rows.length, 2);
    assert.ok(rows[0].includes('linux/amd64') && rows[1].includes('linux/arm64/v8'), rows.join(' | '));
    assert.ok(rows.every((r) => r.includes('web') && r.includes('v1')), 'both platforms carry the tag');
    // The picker lists both platforms of the selected tag and switches between them.
    const options = await texts(page, '#platform-select option');
    assert.deepEqual(options, ['linux/amd64', 'linux/arm64/v8']);
    await openTab(page, 'files');
    await openPath(page, '/etc/arch');
    await page.waitForSelector('#viewer pre.text');
    assert.match(await page.textContent('#viewer pre.text'), /built for amd64/);
    await page.selectOption('#platform-select', { label: 'linux/arm64/v8' });
    await page.waitForSelector('#images-table tbody tr.selected:nth-child(2)');
    await openTab(page, 'overview');
    assert.match(await page.textContent('#view'), /linux\/arm64\/v8/);
    await openTab(page, 'files');
    await openPath(page, '/etc/arch');
    await page.waitForFunction(() => /built for arm64/.test(document.querySelector('#viewer pre.text')?.textContent || ''));
    await shot(page, 'platforms');
    // Diff: the two platforms, named apart, differ in /etc/arch only.
    await openTab(page, 'diff');
    assert.deepEqual((await texts(page, '#diff-a option')).map((t) => t.split(' · ').pop()), ['linux/amd64', 'linux/arm64/v8']);
    await page.waitForSelector('#diff-result .diff-summary');
    const diff = await page.textContent('#diff-result');
    assert.match(diff, /\/etc\/arch/);
    assert.doesNotMatch(diff, /\/app\/main\.txt/);
  });
});

test('a tampered layer shows the mismatch with expected and actual digests', async () => {
  await withPage(async (page) => {
    await pickFile(page, fx('tampered.tar'));
    await waitVerified(page);
    assert.match(await page.textContent('#overall-verdict'), /checks? failed/);
    const panel = await page.textContent('#verdict-panel');
    assert.match(panel, /does not match/);
    assert.match(panel, /layer 1/);
    assert.match(panel, /expected\s*sha256:[0-9a-f]{64}/);
    assert.match(panel, /actual\s*sha256:[0-9a-f]{64}/);
    assert.match(await page.textContent('#images-table'), /failed/);
    await shot(page, '10-tampered');
    await openTab(page, 'layers');
    assert.ok(await page.locator('.layer-row[data-layer="1"] .badge.bad').count() >= 1);
    assert.equal(await page.locator('.layer-row[data-layer="0"] .badge.ok').count(), 1);
  });
});

/** The holes image with a byte of layer 0 changed: the page says so, and only layer 0 fails. */
async function assertOnlyLayer0Failed(page) {
  assert.match(await page.textContent('#overall-verdict'), /checks? failed/);
  assert.match(await page.textContent('#verdict-panel'), /layer 0/);
  await openTab(page, 'layers');
  assert.ok(await page.locator('.layer-row[data-layer="0"] .badge.bad').count() >= 1);
  assert.equal(await page.locator('.layer-row[data-layer="1"] .badge.ok').count(), 1);
}

test('big files between small ones: the bytes the index jumps over are hashed too, and a change there is caught', async () => {
  await withPage(async (page) => {
    await pickFile(page, fx('holes.tar'));
    await waitVerified(page);
    assert.match(await page.textContent('#overall-verdict'), /all digests verified/);
    // Hashed by WebCrypto from the whole blob (the page is a secure context: localhost).
    const how = await page.evaluate(() => window.strata.timings.verifyBlobs.map((b) => b.how));
    assert.ok(how.includes('webcrypto'), `hashing paths: ${how.join(', ')}`);
  });
  await withPage(async (page) => {
    await pickFile(page, fx('holes-tampered.tar'));
    await waitVerified(page);
    await assertOnlyLayer0Failed(page);
  });
});

test('a gzip\'d archive: the big layer is hashed in a helper while the pass goes on, and a change in it is caught', async () => {
  await withPage(async (page) => {
    await pickFile(page, fx('holes.tar.gz'));
    await waitVerified(page);
    assert.match(await page.textContent('#overall-verdict'), /all digests verified/);
    assert.ok(await page.evaluate(() => window.strata.timings.hashedElsewhere) >= 1, 'the 12 MiB layer went to the helper');
  });
  await withPage(async (page) => {
    await pickFile(page, fx('holes-tampered.tar.gz'));
    await waitVerified(page);
    assert.ok(await page.evaluate(() => window.strata.timings.hashedElsewhere) >= 1);
    await assertOnlyLayer0Failed(page);
  });
});

test('a gzip layer\'s stream is hashed by WebCrypto too, and a diff_id the config gets wrong is caught', async () => {
  await withPage(async (page) => {
    await pickFile(page, fx('oci-gzip.tar'));
    await waitVerified(page);
    assert.match(await page.textContent('#overall-verdict'), /all digests verified/);
    const hows = await page.evaluate(() => window.strata.timings.verifyBlobs.map((b) => b.how));
    assert.ok(hows.filter((h) => h === 'webcrypto, stream too').length >= 2, `the gzip layers' streams were handed out: ${hows}`);
    // The tree was built as the last layer's facts came in, not after verification.
    const t = await page.evaluate(() => window.strata.timings);
    assert.ok(t.interactive <= t.verified, `browsable (${t.interactive} ms) by the time it is verified (${t.verified} ms)`);
  });
  await withPage(async (page) => {
    await pickFile(page, fx('oci-gzip-wrong-diff-id.tar'));
    await waitVerified(page);
    assert.match(await page.textContent('#verdict-panel'), /diff_id/);
    await assertOnlyLayer0Failed(page);
  });
});

test('big layers are indexed in two parts at once, also when a stored tar misleads the second part', async () => {
  await withPage(async (page) => {
    await pickFile(page, fx('split.tar'));
    await page.waitForFunction(() => window.strata.timings.interactive !== undefined, null, { timeout: 60_000 });
    // Listed right away, from the headers-only index (verification is still reading).
    const listed = await page.evaluate(async () => {
      const { worker, handle } = window.strata.state.browse;
      const names = async (path) => (await worker.request('listDir', { handle, image: 0, path })).entries.map((e) => e.name);
      return { stage: document.body.dataset.stage, dense: await names('/dense'), more: await names('/more') };
    });
    assert.equal(listed.dense.length, 1800 + 1 + 400, `entries in /dense (at stage ${listed.stage})`);
    assert.ok(listed.dense.includes('z-0399') && listed.dense.includes('nested.tar'));
    assert.ok(!listed.dense.some((n) => n.startsWith('file-')), 'no entry of the stored tar leaked into the layer');
    assert.equal(listed.more.length, 3600 + 1);
    const spans = await page.evaluate(() => window.strata.timings.indexSpans);
    const joined = (part) => spans.filter((s) => s.part === part && s.joined).map((s) => s.joined).sort();
    // Each layer's two parts ran; the first layer's parts met no common boundary.
    assert.equal(spans.filter((s) => s.part === 'first').length, 2);
    assert.equal(spans.filter((s) => s.part === 'second').length, 2);
    assert.deepEqual([...joined('first'), ...joined('second')].sort(), ['spliced', 'walked on']);
    await waitVerified(page);
    assert.match(await page.textContent('#overall-verdict'), /all digests verified/);
    // (row 2200 of a virtualised directory)
    assert.match(await showFile(page, '/dense/z-0399'), /after the nested tar: 399/);
  });
});

test('an image of 400 tiny layers is indexed and verified (it used to hang the page)', async () => {
  await withPage(async (page) => {
    await pickFile(page, fx('tiny-layers.tar'));
    await waitVerified(page, 60_000);
    assert.match(await page.textContent('#overall-verdict'), /all digests verified/);
    assert.equal(await page.evaluate(() => window.strata.state.report.images[0].layers.length), 400);
    assert.match(await showFile(page, '/etc/layer'), /layer 399\n/);
    assert.match(await showFile(page, '/tiny/000.txt'), /tiny layer 0\n/);
  });
});

test('past its BYOB streams a helper reads through default readers, byte for byte', async () => {
  // (80 layers of ~1.2–1.5 MiB: a stream each to index and to hash, per layer)
  const streams = async (page) => (await page.evaluate(() => window.strata.timings.helperStreams));
  const sum = (all, use, kind) => all.reduce((n, s) => n + s[use][kind], 0);
  await withPage(async (page) => {
    await pickFile(page, fx('many-layers.tar'));
    await waitVerified(page, 60_000);
    assert.match(await page.textContent('#overall-verdict'), /all digests verified/);
    const all = await streams(page);
    assert.ok(sum(all, 'index', 'default') > 0 && sum(all, 'whole', 'default') > 0, `streams: ${JSON.stringify(all)}`);
    for (const helper of all) assert.ok(helper.index.byob <= 12 && helper.whole.byob <= 12, JSON.stringify(helper));
    assert.match(await showFile(page, '/etc/layer'), /layer 79\n/);
  });
  await withPage(async (page) => {
    // The flipped byte is in the smallest layer, hashed last: through a default reader.
    await pickFile(page, fx('many-layers-tampered.tar'));
    await waitVerified(page, 60_000);
    assert.equal((await page.evaluate(() => window.strata.timings.verifyBlobs)).length, 80);
    for (const helper of await streams(page)) assert.ok(helper.whole.default > 0, JSON.stringify(helper));
    assert.match(await page.textContent('#verdict-panel'), /layer 79\b/);
    const failed = await page.evaluate(() => window.strata.state.report.images[0].layers
      .filter((l) => l.checks.some((c) => c.verdict !== 'ok')).map((l) => l.index));
    assert.deepEqual(failed, [79]);
  });
});

test('a file that is not an archive gets a plain error', async () => {
  await withPage(async (page) => {
    await pickFile(page, fx('not-an-archive.txt'));
    await page.waitForSelector('#error:not([hidden])');
    const message = await page.textContent('#error');
    assert.match(message, /not-an-archive\.txt could not be opened: not a tar archive/);
    assert.equal(await page.isVisible('#landing'), true);
    await shot(page, '11-not-an-archive');
  });
});

test('a truncated archive says where it ends', async () => {
  await withPage(async (page) => {
    await pickFile(page, fx('truncated.tar'));
    await page.waitForFunction(() => !document.querySelector('#error').hidden || document.body.dataset.stage === 'verified');
    const text = (await page.textContent('#error')) + (await page.textContent('body'));
    assert.match(text, /truncated|ends|missing/i);
  });
});

test('markup in tags, labels, env, file names, history and file content stays text', async () => {
  await withPage(async (page, context, problems) => {
    await pickFile(page, fx('hostile.tar'));
    await waitVerified(page);
    assert.match(await page.textContent('#images-table'), /<img src=x onerror=window.__pwned=1>/);
    await openTab(page, 'config');
    const config = await page.textContent('#view');
    assert.match(config, /<script>window.__pwned=9<\/script>/);
    assert.match(config, /<img src=x onerror=window.__pwned=8>/);
    await openTab(page, 'history');
    await page.check('#history-full');
    assert.match(await page.textContent('#view'), /<script>window.__pwned=7<\/script>/);
    await openTab(page, 'files');
    await openPath(page, '/app');
    await page.waitForSelector('.tree .row[data-path^="/app/<img"]');
    await page.click('.tree .row[data-path^="/app/<img"]');
    await page.waitForSelector('#viewer pre.text');
    assert.match(await page.textContent('#viewer pre.text'), /<script>window.__pwned=3<\/script>/);
    await page.click('.tree .row[data-path="/app/page.svg"]');
    await page.waitForFunction(() => /onload/.test(document.querySelector('#viewer pre.text')?.textContent || ''));
    await shot(page, '12-hostile');
    await page.waitForTimeout(300);
    assert.equal(await page.evaluate(() => window.__pwned), undefined, 'no injected code ran');
    assert.equal(await page.locator('#view img:not(.preview), #images-table img, #view script').count(), 0);
    assert.deepEqual(problems.dialogs, []);
  });
});

// ---------- damaged archives ----------
// Seeded damage (tests/common/damage.rs, as the fuzz test does it): header fields inside
// layers rewritten with fixed checksums, flipped bits, cut tails. Each damaged archive gives
// what the CLI gives — a plain error, or a report whose images verify or fail as the CLI's
// do — and a page that still works: the layers and files of a damaged image can be looked at,
// and no console error (a panic in the core would log one) or page error appears.
const DAMAGED = fx('damaged');
const damagedNames = existsSync(DAMAGED) ? readdirSync(DAMAGED).filter((f) => f.endsWith('.tar')).sort() : [];

test(`damaged archives (${damagedNames.length}): the CLI's outcome, and a page that keeps working`, async () => {
  assert.ok(damagedNames.length >= 20, 'damaged archives written by cargo test --test page');
  let reports = 0;
  let errors = 0;
  for (const name of damagedNames) {
    const file = path.join(DAMAGED, name);
    const cli = cliReport(file, { orNull: true });
    await withPage(async (page) => {
      await pickFile(page, file);
      await page.waitForFunction(() => document.body.dataset.stage === 'verified' || !document.querySelector('#error').hidden, null, { timeout: 30000 });
      const failed = await page.evaluate(() => !document.querySelector('#error').hidden);
      if (!cli) {
        assert.ok(failed, `${name}: the CLI refuses it, the page shows an error`);
        assert.ok((await page.textContent('#error')).length > 20, `${name}: a plain error`);
        errors += 1;
        return;
      }
      assert.ok(!failed, `${name}: the CLI reads it, the page shows no error: ${await page.textContent('#error')}`);
      const report = await page.evaluate(() => window.strata.state.report);
      assert.deepEqual(report.images.map((i) => [i.id, i.verified]), cli.images.map((i) => [i.id, i.verified]), name);
      reports += 1;
      // Look around the damaged image: layers, and the files view (a listing may fail in
      // words where a layer could not be read; it must not break the page).
      await openTab(page, 'layers');
      await page.waitForSelector('.layer-row');
      await openTab(page, 'files');
      await page.waitForFunction(() => !/Loading/.test(document.querySelector('.tree-status')?.textContent || 'Loading'), null, { timeout: 10000 });
    });
  }
  // Both outcomes were met (else the damage tests only one path).
  assert.ok(reports >= 10 && errors >= 3, `reports ${reports}, errors ${errors}`);
});

// ---------- accessibility ----------
// axe-core (the engine behind Lighthouse's accessibility audit) over every view and state a
// person meets, in light and dark mode: contrast (a projector washes colours out), names and
// roles (the tree, tables, buttons), headings, landmarks. It is evaluated through the
// DevTools protocol, so the page's Content-Security-Policy stays on.
for (const colorScheme of ['light', 'dark']) {
  test(`accessibility (axe-core), ${colorScheme} mode: every view, the viewer, errors and progress`, async () => {
    const found = [];
    await withPage(async (page) => {
      found.push(...await axeViolations(page, 'landing'));
      await page.click('#sample-button-2');
      await waitVerified(page);
      found.push(...await axeViolations(page, 'overview'));
      await page.click('#verdict-panel summary');
      found.push(...await axeViolations(page, 'overview, every check'));
      await openTab(page, 'config');
      await page.click('#raw-config summary');
      found.push(...await axeViolations(page, 'config, raw JSON'));
      await openTab(page, 'history');
      found.push(...await axeViolations(page, 'history'));
      await page.click('.segmented .seg:has-text("Dockerfile")');
      await page.waitForSelector('#dockerfile');
      found.push(...await axeViolations(page, 'history, Dockerfile'));
      await page.click('.segmented .seg:has-text("docker history")');
      await openTab(page, 'layers');
      await page.waitForSelector('#waste table');
      found.push(...await axeViolations(page, 'layers'));
      await openTab(page, 'files');
      await openPath(page, '/etc/passwd');
      await page.waitForSelector('#viewer pre.text');
      found.push(...await axeViolations(page, 'files, text'));
      await page.click('#viewer button:has-text("Hex")');
      await page.waitForSelector('#viewer .hex');
      found.push(...await axeViolations(page, 'files, hex'));
      await openPath(page, '/app/logo.png');
      await page.waitForSelector('#viewer img.preview');
      found.push(...await axeViolations(page, 'files, image'));
      await page.fill('.files input[type="search"]', 'os-*');
      await page.waitForFunction(() => /matching/.test(document.querySelector('.tree-status')?.textContent || ''));
      found.push(...await axeViolations(page, 'files, filtered'));
      await page.fill('.files input[type="search"]', '');
      await page.selectOption('.files select[aria-label="Show files of"]', '0');
      await openPath(page, '/etc');
      await page.waitForSelector('.tree .row[data-path="/etc/hostname"].shadowed');
      found.push(...await axeViolations(page, 'files, one layer, shadowed'));
      await openTab(page, 'diff');
      await page.waitForSelector('#diff-result .diff-summary');
      found.push(...await axeViolations(page, 'diff'));
    }, { colorScheme });
    await withPage(async (page) => {
      await pickFile(page, fx('tampered.tar'));
      await waitVerified(page);
      found.push(...await axeViolations(page, 'tampered, overview'));
      await openTab(page, 'layers');
      found.push(...await axeViolations(page, 'tampered, layers'));
      await pickFile(page, fx('not-an-archive.txt'));
      await page.waitForSelector('#error:not([hidden])');
      found.push(...await axeViolations(page, 'error'));
    }, { colorScheme });
    await withPage(async (page) => {
      await pickFile(page, fx('big.tar'));
      await page.waitForSelector('#progress:not([hidden])');
      found.push(...await axeViolations(page, 'progress'));
      await waitVerified(page, 60000);
    }, { colorScheme });
    assert.deepEqual(found, []);
  });
}

test('keyboard only: tab to the tree, arrows, type-ahead, Enter', async () => {
  await withPage(async (page) => {
    await page.click('#sample-button-2');
    await waitVerified(page);
    await page.focus('#tab-overview');
    // Arrow keys move between tabs.
    for (let i = 0; i < 4; i++) await page.keyboard.press('ArrowRight');
    assert.equal(await page.getAttribute('#tab-files', 'aria-selected'), 'true');
    await page.waitForSelector('.tree .row');
    await page.focus('.tree');
    const active = () => page.$eval('.tree', (t) => document.getElementById(t.getAttribute('aria-activedescendant'))?.dataset.path);
    assert.equal(await active(), '/app');
    await page.keyboard.press('ArrowDown');
    assert.equal(await active(), '/bin');
    await page.keyboard.type('e');
    assert.equal(await active(), '/etc');
    await page.keyboard.press('ArrowRight');
    await page.waitForSelector('.tree .row[data-path="/etc/passwd"]');
    assert.equal(await page.getAttribute('.tree .row[data-path="/etc"]', 'aria-expanded'), 'true');
    await page.keyboard.press('ArrowRight');
    assert.match(await active(), /^\/etc\//);
    await page.keyboard.type('pa');
    assert.equal(await active(), '/etc/passwd');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#viewer pre.text');
    assert.match(await page.textContent('#viewer pre.text'), /root:x:0:0/);
    await page.keyboard.press('ArrowLeft');
    assert.equal(await active(), '/etc');
    await page.keyboard.press('ArrowLeft');
    assert.equal(await page.getAttribute('.tree .row[data-path="/etc"]', 'aria-expanded'), 'false');
    assert.equal(await page.$eval('.tree', (t) => t.getAttribute('role')), 'tree');
    assert.equal(await page.getAttribute('.tree .row[data-path="/etc"]', 'role'), 'treeitem');
  });
});

test('the URL hash keeps image, tab and path, and restores them when the archive is opened again', async () => {
  await withPage(async (page) => {
    await page.click('#sample-button-2');
    await waitVerified(page);
    await page.click('#images-table tbody tr:nth-child(2)');
    await openTab(page, 'files');
    await openPath(page, '/app/config.json');
    await page.waitForSelector('#viewer pre.text');
    const hash = await page.evaluate(() => location.hash);
    assert.match(hash, /tab=files/);
    assert.match(hash, /path=%2Fapp%2Fconfig\.json/);
    await page.reload();
    await page.click('#sample-button-2');
    await waitVerified(page);
    assert.equal(await page.getAttribute('#tab-files', 'aria-selected'), 'true');
    await page.waitForSelector('#viewer pre.text');
    assert.match(await page.textContent('#viewer pre.text'), /hello again/);
    assert.match(await page.textContent('#images-table tr.selected'), /2\.0/);
  });
});

/** legacy.tar open on the Diff tab, compared with v2-only.tar dropped as the second archive. */
async function diffAgainstSecondArchive(page) {
    await pickFile(page, fx('legacy.tar'));
    await waitVerified(page);
    await openTab(page, 'diff');
    await page.setInputFiles('#diff-file', fx('v2-only.tar'));
    await page.waitForFunction(() => /extra\.txt/.test(document.querySelector('#diff-result')?.textContent || ''));
}

test('diff against a second dropped archive', async () => {
  await withPage(async (page) => {
    await diffAgainstSecondArchive(page);
    const diff = await page.textContent('#diff-result');
    assert.match(diff, /\/app\/main\.txt/);
    assert.match(diff, /Labels\.version/);
    assert.match(diff, /echo v2/);
  });
});

test('100k files in one directory: virtualised rows, filter, scroll to the end', async () => {
  await withPage(async (page) => {
    await pickFile(page, fx('wide.tar'));
    await waitVerified(page, 60000);
    await openTab(page, 'files');
    await openPath(page, '/many');
    await page.waitForSelector('.tree .row[data-path="/many/file-000000.txt"]');
    const rendered = await page.locator('.tree .row').count();
    assert.ok(rendered < 200, `only visible rows exist (${rendered})`);
    await page.focus('.tree');
    const started = Date.now();
    await page.keyboard.press('End');
    await page.waitForSelector('.tree .row[data-path="/many/file-099999.txt"]');
    assert.ok(Date.now() - started < 5000, 'End reaches the last of 100k rows quickly');
    await page.fill('.files input[type="search"]', 'file-04242*');
    await page.waitForFunction(() => /10 matching/.test(document.querySelector('.tree-status')?.textContent || ''));
    await shot(page, '13-wide-filter');
  });
});

test('an archive past 4 GiB: browsable at once, files past 2^32 read right, every digest verified', async () => {
  const want = JSON.parse(readFileSync(fx('past-4gib.json'), 'utf8'));
  await withPage(async (page) => {
    await pickFile(page, fx('past-4gib.tar'));
    // The tree comes from the headers (the walk jumps over big.bin), long before the hashing ends.
    await page.waitForFunction(() => ['indexed', 'verified'].includes(document.body.dataset.stage), null, { timeout: 60000 });
    const rows = await texts(page, '#images-table tbody tr');
    const [repo, tag] = want.tag.split(':');
    assert.ok(rows.some((r) => r.includes(repo) && r.includes(tag) && r.includes(want.image_id.slice(7, 19))), rows.join('\n'));
    // after.txt and the config sit past 2^32 in the archive; after.txt also in its layer.
    assert.ok((await showFile(page, '/after.txt')).includes(want.after.trim()), 'after.txt');
    assert.ok((await showFile(page, '/etc/note.txt')).includes(want.note.trim()), 'note.txt');
    await page.waitForSelector('.tree .row[data-path="/big.bin"]');
    assert.match(await page.textContent('.tree .row[data-path="/big.bin"]'), /big\.bin.*4\.29 ?GB/);
    // Both ends of big.bin: the end is a range read from an offset past 2^32 in the layer.
    const read = (offset, length) => page.evaluate(async ({ offset, length }) => {
      const { browse, image } = window.strata.state;
      const bytes = await browse.worker.request('readFile', { handle: browse.handle, image, path: '/big.bin', offset, length });
      return new TextDecoder().decode(bytes);
    }, { offset, length });
    assert.equal(await read(0, want.start.length), want.start);
    assert.equal(await read(want.big_size - want.end.length, 1000), want.end);
    // Hashing 4.3 GB in wasm takes a while (~25 s here): every digest checks out.
    await waitVerified(page, 300000);
    assert.match(await page.textContent('#overall-verdict'), /all digests verified/);
    const report = await page.evaluate(() => window.strata.state.report);
    assert.deepEqual(reportChecks(report), reportChecks(cliReport(fx('past-4gib.tar'))), 'the same checks as the CLI');
    assert.equal(report.images[0].id, want.image_id);
  });
});

test('progress shows bytes and speed while verifying, and Cancel stops only the hashing', async () => {
  await withPage(async (page) => {
    await pickFile(page, fx('big.tar'));
    await page.waitForFunction(() => /Verifying/.test(document.querySelector('#progress-phase')?.textContent || '')
      && !document.querySelector('#progress').hidden, null, { timeout: 60000 });
    assert.match(await page.textContent('#progress-numbers'), /of 168MB/);
    await shot(page, '15-progress');
    await page.click('#cancel-button');
    await page.waitForFunction(() => document.body.dataset.stage === 'cancelled');
    assert.equal(await page.isHidden('#progress'), true);
    assert.match(await page.textContent('#error'), /Verification was cancelled/);
    assert.match(await page.textContent('#overall-verdict'), /not verified/);
    // Each image row says the same as the header: nothing is checking any more.
    const verdicts = await texts(page, '#images-table tbody tr td:last-child');
    assert.ok(verdicts.length && verdicts.every((v) => !/checking/.test(v)), verdicts.join(', '));
    // The metadata and the tree stay usable.
    assert.match(await page.textContent('#images-table'), /big/);
    await openTab(page, 'files');
    await page.waitForSelector('.tree .row[data-path="/blob.bin"]');
  });
});

test('downloads: a file, the merged rootfs as a tar, one layer, the JSON report', async () => {
  await withPage(async (page) => {
    await page.click('#sample-button-2');
    await waitVerified(page);
    const save = async (click) => {
      const [download] = await Promise.all([page.waitForEvent('download'), click()]);
      const { readFileSync } = await import('node:fs');
      return { name: download.suggestedFilename(), bytes: readFileSync(await download.path()) };
    };
    const report = await save(() => page.click('#report-button'));
    assert.match(report.name, /\.strata\.json$/);
    assert.equal(JSON.parse(report.bytes.toString('utf8')).images.length, 2);
    await openTab(page, 'files');
    const rootfs = await save(() => page.click('#export-rootfs'));
    assert.match(rootfs.name, /rootfs\.tar$/);
    assert.ok(rootfs.bytes.length > 10_000 && rootfs.bytes.length % 512 === 0);
    assert.ok(rootfs.bytes.includes(Buffer.from('root:x:0:0:root')), 'the tar holds /etc/passwd');
    assert.ok(!rootfs.bytes.includes(Buffer.from('etc/hostname')), 'deleted files are not exported');
    await openPath(page, '/app/logo.png');
    const logo = await save(() => page.click('#download-file'));
    assert.equal(logo.name, 'logo.png');
    assert.deepEqual([...logo.bytes.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
    // A name without an extension gets none (an untyped download became "busybox.txt").
    await openPath(page, '/usr/bin/busybox');
    const busybox = await save(() => page.click('#download-file'));
    assert.equal(busybox.name, 'busybox');
    await openPath(page, '/etc/passwd');
    assert.equal((await save(() => page.click('#download-file'))).name, 'passwd');
    await openTab(page, 'layers');
    const layer = await save(() => page.click('.layer-row[data-layer="1"] button:has-text("Download tar")'));
    assert.match(layer.name, /^layer-1-/);
    assert.ok(layer.bytes.includes(Buffer.from('libdemo.so.1')));
  });
});

test('dark mode follows the system', async () => {
  await withPage(async (page) => {
    await page.click('#sample-button-2');
    await waitVerified(page);
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.equal(bg, 'rgb(15, 18, 23)');
    await openTab(page, 'layers');
    await shot(page, '14-dark-layers');
  }, { colorScheme: 'dark' });
});

// ---------- navigation, focus and state kept across redraws ----------

const focused = (page) => page.evaluate(() => {
  const a = document.activeElement;
  return a ? `${a.tagName.toLowerCase()}${a.id ? `#${a.id}` : ''} ${(a.textContent || '').trim().slice(0, 30)}` : null;
});
const activeRow = (page) => page.$eval('.tree', (t) => document.getElementById(t.getAttribute('aria-activedescendant'))?.dataset.path);

/** An archive with symlinks of every sort, a big text file and names with spaces. */
function linksArchive() {
  const dir = mkdtempSync(path.join(tmpdir(), 'strata-page-'));
  const big = Array.from({ length: 6000 }, (_, i) => `line ${String(i).padStart(6, '0')} lorem ipsum dolor sit amet\n`).join('');
  return writeDockerArchive(path.join(dir, 'links.tar'), {
    tag: 'links/test:1',
    layers: [[
      { name: 'usr', dir: true }, { name: 'usr/lib', dir: true },
      { name: 'usr/lib/libz.so.1', data: Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46]), Buffer.alloc(300, 1)]) },
      { name: 'lib', symlink: 'usr/lib' },
      { name: 'via-dir-link', symlink: '/lib/libz.so.1' },
      { name: 'broken', symlink: '/nowhere/at/all' },
      { name: 'big.txt', data: big },
      { name: 'name', data: 'no extension\n' },
      { name: 'name with spaces.txt', data: 'spaces\n' },
    ]],
  });
}

test('diff: Diff, then Files, then Diff again shows the diff', async () => {
  await withPage(async (page) => {
    await page.click('#sample-button-2');
    await waitVerified(page);
    await openTab(page, 'diff');
    await page.waitForSelector('#diff-result .diff-summary');
    await openTab(page, 'files');
    await page.waitForSelector('#view .files .tree .row');
    await openTab(page, 'diff');
    await page.waitForSelector('#view .diff #diff-result .diff-summary');
    assert.equal(await page.locator('#view .files').count(), 0);
  });
});

test('diff: opening an archive again forgets the second archive of the old Diff panel', async () => {
  await withPage(async (page) => {
    await diffAgainstSecondArchive(page);
    assert.ok((await page.$$eval('#diff-b option', (os) => os.map((o) => o.value))).includes('1:0'));
    await pickFile(page, fx('legacy.tar'));
    await waitVerified(page);
    assert.equal(await page.getAttribute('#tab-diff', 'aria-selected'), 'true');
    // The B list holds only this archive's images, and nothing was compared with a gone archive.
    assert.deepEqual(await page.$$eval('#diff-b option', (os) => os.map((o) => o.value)), ['0:0']);
    await page.click('#diff-run');
    await page.waitForSelector('#diff-result .diff-summary');
    assert.match(await page.textContent('#diff-result'), /same image/);
    assert.doesNotMatch(await page.textContent('#view'), /v2-only/);
  });
});

test('skip link: focus moves to the view, the URL and the view stay', async () => {
  await withPage(async (page) => {
    await page.click('#sample-button-2');
    await waitVerified(page);
    await page.click('#images-table tbody tr[data-image="1"]');
    await openTab(page, 'files');
    const hash = await page.evaluate(() => location.hash);
    await page.focus('a.skip');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.activeElement?.id === 'view');
    assert.equal(await page.evaluate(() => location.hash), hash);
    // A hash that is not a view description (an anchor) changes nothing.
    await page.evaluate(() => { location.hash = 'view'; });
    await page.waitForFunction(() => location.hash === '#view');
    assert.deepEqual(await page.evaluate(() => [window.strata.state.image, window.strata.state.tab]), [1, 'files']);
    assert.equal(await page.getAttribute('#tab-files', 'aria-selected'), 'true');
  });
});

test('Back and Forward walk through tabs, images and paths, and stay on the page', async () => {
  await withPage(async (page) => {
    await page.click('#sample-button-2');
    await waitVerified(page);
    const start = await page.evaluate(() => history.length);
    const where = () => page.evaluate(() => [window.strata.state.image, window.strata.state.tab, window.strata.state.path]);
    await openTab(page, 'config');
    await page.click('#images-table tbody tr[data-image="1"]');
    await openTab(page, 'files');
    await openPath(page, '/etc/passwd');
    await page.waitForSelector('#viewer pre.text');
    const end = await page.evaluate(() => history.length);
    // (/etc, then /etc/passwd: a path opened is an entry too)
    assert.equal(end - start, 5);
    const back = async (want) => {
      await page.goBack();
      await page.waitForFunction((w) => JSON.stringify([window.strata.state.image, window.strata.state.tab, window.strata.state.path]) === w, JSON.stringify(want));
    };
    await back([1, 'files', '/etc']);
    await back([1, 'files', '/']);
    await back([1, 'config', '/']);
    await page.waitForSelector('#images-table tr.selected[data-image="1"]');
    await back([0, 'config', '/']);
    await page.waitForSelector('#images-table tr.selected[data-image="0"]');
    await back([0, 'overview', '/']);
    assert.match(page.url(), /^http:\/\/127\.0\.0\.1/);
    // Going back did not add entries; Forward goes the other way.
    assert.equal(await page.evaluate(() => history.length), end);
    await page.goForward();
    await page.waitForFunction(() => window.strata.state.tab === 'config');
    assert.deepEqual(await where(), [0, 'config', '/']);
    // Typing in the filter adds none.
    await openTab(page, 'files');
    const before = await page.evaluate(() => history.length);
    await page.fill('.files input[type="search"]', 'pass');
    await page.waitForFunction(() => /matching/.test(document.querySelector('.tree-status')?.textContent || ''));
    assert.equal(await page.evaluate(() => history.length), before);
  });
});

test('keyboard focus stays put when a control redraws what holds it', async () => {
  await withPage(async (page) => {
    await page.click('#sample-button-2');
    await waitVerified(page);
    // Enter on an image row: the table is redrawn, focus stays on that row.
    await page.focus('#images-table tbody tr[data-image="1"]');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#images-table tr.selected[data-image="1"]');
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.image), '1');
    // History: Space on a toggle, Enter on a "layer N" link (focus goes to that layer).
    await page.click('#images-table tbody tr[data-image="0"]');
    await openTab(page, 'history');
    await page.focus('#history-full');
    await page.keyboard.press('Space');
    await page.waitForFunction(() => document.querySelector('#history-full')?.checked);
    assert.match(await focused(page), /^input#history-full/);
    await page.focus('.history-table button.link');
    const layer = (await page.textContent('.history-table button.link')).replace('layer ', '');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#tab-layers[aria-selected="true"]');
    assert.match(await focused(page), new RegExp(`^li#layer-${layer} `));
    // A symlink's target: the tree takes the focus, on the target.
    await openTab(page, 'files');
    await openPath(page, '/bin/sh');
    await page.focus('#viewer button.link');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelector('#viewer .viewer-path')?.textContent.startsWith('/usr/bin/sh'));
    assert.match(await focused(page), /^div#tree\d+/);
    assert.equal(await activeRow(page), '/usr/bin/sh');
  });
  await withPage(async (page) => {
    await pickFile(page, linksArchive());
    await waitVerified(page);
    await openTab(page, 'files');
    await openPath(page, '/big.txt');
    await page.waitForSelector('#viewer #show-more');
    // Show more, then Text/Hex: focus stays on the button pressed.
    await page.focus('#show-more');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelector('#viewer pre.text')?.textContent.length > 65536);
    assert.match(await focused(page), /^button#show-more/);
    await page.focus('#viewer button.seg:has-text("Hex")');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#viewer pre.hex');
    assert.match(await focused(page), /^button Hex/);
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#viewer pre.text');
    assert.match(await focused(page), /^button Text/);
  });
});

test('file inputs hidden behind their labels show a focus ring on the label', async () => {
  await withPage(async (page) => {
    const ring = (label) => page.$eval(label, (l) => getComputedStyle(l).outlineStyle);
    const tabTo = async (id) => {
      for (let i = 0; i < 30 && (await page.evaluate(() => document.activeElement?.id)) !== id; i++) await page.keyboard.press('Tab');
      assert.equal(await page.evaluate(() => document.activeElement?.id), id);
    };
    assert.equal(await ring('label[for="file-input"]'), 'none');
    await tabTo('file-input');
    assert.equal(await ring('label[for="file-input"]'), 'solid');
    await tabTo('file-input-2');
    assert.equal(await ring('label[for="file-input-2"]'), 'solid');
    assert.equal(await ring('label[for="file-input"]'), 'none');
    await page.click('#sample-button');
    await waitVerified(page);
    await openTab(page, 'diff');
    await page.waitForSelector('#diff-file');
    await tabTo('diff-file');
    assert.equal(await ring('label[for="diff-file"]'), 'solid');
  });
});

test('a verdict-driven redraw keeps opened details and the focus', async () => {
  await withPage(async (page) => {
    await page.click('#sample-button-2');
    await waitVerified(page);
    // What the page does when the browsing worker reports verdicts: a redraw of the view.
    const verdictArrives = async (selector) => {
      await page.evaluate((sel) => {
        window.oldPanel = document.querySelector(sel);
        const { browse, report } = window.strata.state;
        browse.worker.onEvent({ type: 'verdict', handle: browse.handle, report }, browse.worker);
      }, selector);
      await page.waitForFunction((sel) => document.querySelector(sel) !== window.oldPanel, selector);
    };
    await page.click('#verdict-panel summary');
    await page.focus('#verdict-panel summary');
    await verdictArrives('#verdict-panel');
    assert.equal(await page.$eval('#verdict-panel details', (d) => d.open), true);
    assert.match(await focused(page), /^summary Show all/);
    await openTab(page, 'config');
    await page.click('#raw-config summary');
    await page.focus('#raw-config summary');
    await verdictArrives('#raw-config');
    assert.equal(await page.$eval('#raw-config', (d) => d.open), true);
    assert.match(await focused(page), /^summary Raw config JSON/);
  });
});

test('symlinks: through a linked directory, broken, and to a directory', async () => {
  await withPage(async (page) => {
    await pickFile(page, linksArchive());
    await waitVerified(page);
    await openTab(page, 'files');
    const heading = () => page.textContent('#viewer .viewer-path');
    // Through /lib -> usr/lib: the target is the file itself, not the linked directory.
    await openPath(page, '/via-dir-link');
    await page.waitForSelector('#viewer pre.hex');
    await page.click('#viewer button.link');
    await page.waitForFunction(() => document.querySelector('#viewer .viewer-path')?.textContent.startsWith('/usr/lib/libz.so.1'));
    assert.equal(await activeRow(page), '/usr/lib/libz.so.1');
    assert.match(await page.evaluate(() => decodeURIComponent(location.hash)), /path=\/usr\/lib\/libz\.so\.1/);
    // Broken: it says so, and its target is said not to exist (not / shown in its place).
    await openPath(page, '/broken');
    await page.waitForSelector('#viewer-missing');
    assert.match(await page.textContent('#viewer'), /broken.*\/nowhere\/at\/all does not exist/s);
    assert.equal(await page.locator('#download-file').count(), 0);
    await page.click('#viewer button.link');
    await page.waitForFunction(() => document.querySelector('#viewer .viewer-path')?.textContent.startsWith('/nowhere/at/all'));
    assert.match(await page.textContent('#viewer-missing'), /does not exist/);
    // To a directory: offered as the directory, no download, no error.
    await openPath(page, '/lib');
    await page.waitForSelector('#open-link-dir');
    assert.equal(await page.locator('#download-file').count(), 0);
    assert.equal(await page.locator('#viewer .inline-error').count(), 0);
    await page.click('#open-link-dir');
    await page.waitForFunction(() => document.querySelector('#viewer .viewer-path')?.textContent.startsWith('/usr/lib'));
    assert.match(await heading(), /^\/usr\/lib\b/);
    assert.equal(await page.getAttribute('.tree .row[data-path="/usr/lib"]', 'aria-expanded'), 'true');
  });
});

test('tree type-ahead: a space within a word is part of the name', async () => {
  await withPage(async (page) => {
    await pickFile(page, linksArchive());
    await waitVerified(page);
    await openTab(page, 'files');
    await page.waitForSelector('.tree .row');
    await page.focus('.tree');
    await page.keyboard.type('name w');
    assert.equal(await activeRow(page), '/name with spaces.txt');
    // Nothing was opened by the space; after a pause Space opens again.
    assert.doesNotMatch(await page.evaluate(() => location.hash), /path=/);
    await page.waitForTimeout(800); // (the type-ahead word ends after 700 ms of no typing: nothing to wait for)
    await page.keyboard.press('Space');
    await page.waitForFunction(() => document.querySelector('#viewer .viewer-path')?.textContent.startsWith('/name with spaces.txt'));
  });
});

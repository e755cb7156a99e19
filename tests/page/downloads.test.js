// Big downloads go to disk a piece at a time (www/js/download.js), never whole in memory:
// the File System Access API where the browser has showSaveFilePicker, else a download
// streamed by the service worker (www/sw.js), else a Blob up to a stated cap. The fixture is
// an archive with one 300 MB file (zeros, with a marker every 4 MiB so pieces out of order
// or lost show up in the hash), written here on the spot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, existsSync, mkdirSync, openSync, statSync, writeSync } from 'node:fs';
import { pageTestSetup, pickFile, waitVerified, shot, tarHeader, tarPad as pad, FIXTURES, ROOT } from './harness.js';

const BIG_SIZE = 300_000_000;
const BIG = path.join(FIXTURES, 'downloads', 'big-file.tar');
let bigSha;

const header = (name, size) => tarHeader(name, { size });

/** The big file's bytes, one 1 MiB block at a time. */
function* bigBlocks() {
  const block = 1 << 20;
  for (let at = 0; at < BIG_SIZE; at += block) {
    const b = Buffer.alloc(Math.min(block, BIG_SIZE - at));
    if (at % (4 << 20) === 0) b.write(`piece at ${at}\n`, 0, 'ascii');
    yield b;
  }
}

/** Write the archive without holding it: the layer tar is written inside the outer tar
 * (its size is known in advance), hashed as it goes; config and manifest come after it. */
function writeBigArchive() {
  mkdirSync(path.dirname(BIG), { recursive: true });
  const layerSize = 512 + BIG_SIZE + pad(BIG_SIZE).length + 1024;
  const fd = openSync(`${BIG}.part`, 'w');
  const layerHash = createHash('sha256');
  const fileHash = createHash('sha256');
  const put = (b, hashes = []) => {
    writeSync(fd, b);
    for (const h of hashes) h.update(b);
  };
  put(header('layer0/layer.tar', layerSize));
  put(header('big.bin', BIG_SIZE), [layerHash]);
  for (const b of bigBlocks()) put(b, [layerHash, fileHash]);
  put(pad(BIG_SIZE), [layerHash]);
  put(Buffer.alloc(1024), [layerHash]);
  put(pad(layerSize));
  const diffId = `sha256:${layerHash.digest('hex')}`;
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux', created: '2024-01-02T03:04:05Z', config: { Cmd: ['/bin/sh'] },
    rootfs: { type: 'layers', diff_ids: [diffId] },
    history: [{ created: '2024-01-02T03:04:05Z', created_by: '/bin/sh -c #(nop) ADD file:big in /' }],
  }));
  const configName = `${createHash('sha256').update(config).digest('hex')}.json`;
  const manifest = Buffer.from(JSON.stringify([{ Config: configName, RepoTags: ['big:file'], Layers: ['layer0/layer.tar'] }]));
  for (const [name, data] of [[configName, config], ['manifest.json', manifest]]) {
    put(header(name, data.length));
    put(data);
    put(pad(data.length));
  }
  put(Buffer.alloc(1024));
  closeSync(fd);
  execFileSync('mv', [`${BIG}.part`, BIG]);
  return fileHash.digest('hex');
}

function shaOfFile(file) {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(file).on('data', (d) => h.update(d)).on('end', () => resolve(h.digest('hex'))).on('error', reject);
  });
}

const setup = pageTestSetup({
  prepare: () => {
    if (existsSync(BIG)) {
      const h = createHash('sha256');
      for (const b of bigBlocks()) h.update(b);
      bigSha = h.digest('hex');
    } else {
      bigSha = writeBigArchive();
    }
  },
});

/** How the page can save, set up before its scripts run: 'picker' (a showSaveFilePicker
 * that skips the dialog and answers with a real file of the origin private file system,
 * written through its real writable stream), 'none' (no showSaveFilePicker). Any Blob of
 * more than 16 MB the page makes is noted in window.__bigBlobs. */
function savingScript(saving) {
  window.__bigBlobs = [];
  const NativeBlob = window.Blob;
  window.Blob = class extends NativeBlob {
    constructor(parts, options) {
      super(parts, options);
      if (this.size > 16e6) window.__bigBlobs.push(this.size);
    }
  };
  delete Window.prototype.showSaveFilePicker;
  delete window.showSaveFilePicker;
  if (saving === 'picker') {
    window.showSaveFilePicker = async ({ suggestedName }) => {
      window.__pickerAsked = suggestedName;
      const dir = await navigator.storage.getDirectory();
      return dir.getFileHandle(suggestedName, { create: true });
    };
  }
}

/** A page with the big archive open and its big file shown, saving as `saving` says, for
 * `body(page)`. */
async function withBigFile(saving, body, { serviceWorkers = 'allow' } = {}) {
  await setup.withPage(async (page) => {
    // (The source tree's page registers its service worker at the first big download.)
    assert.equal(await page.evaluate(() => navigator.serviceWorker.controller), null);
    await pickFile(page, BIG);
    await waitVerified(page, 120000);
    await page.click('#tab-files');
    await page.locator('.tree .row[data-path="/big.bin"]').click();
    await page.waitForSelector('#download-file');
    await body(page);
  }, { contextOptions: { serviceWorkers }, initScript: [savingScript, saving] });
}

test('a 300 MB file goes through the service worker as a stream, with the right bytes', async () => {
  await withBigFile('none', async (page) => {
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 120000 }), page.click('#download-file')]);
    assert.match(download.url(), /\/download\/[^/]+\/big\.bin$/, 'the download is the service worker\'s stream');
    assert.equal(download.suggestedFilename(), 'big.bin');
    const file = await download.path();
    assert.equal(statSync(file).size, BIG_SIZE);
    assert.equal(await shaOfFile(file), bigSha);
    const last = await page.evaluate(() => ({ ...window.strata.lastDownload }));
    assert.equal(last.sink, 'service-worker');
    assert.equal(last.bytes, BIG_SIZE);
    assert.deepEqual(await page.evaluate(() => window.__bigBlobs), [], 'no Blob holds the download');
  });
});

test('the merged rootfs export streams through the service worker, equal to strata export', async () => {
  await withBigFile('none', async (page) => {
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 120000 }), page.click('#export-rootfs')]);
    const file = await download.path();
    const cli = path.join(path.dirname(BIG), 'rootfs-cli.tar');
    execFileSync(path.join(ROOT, 'target/release/strata'), ['export', BIG, '-o', cli]);
    assert.equal(statSync(file).size, statSync(cli).size);
    assert.equal(await shaOfFile(file), await shaOfFile(cli));
    assert.equal(await page.evaluate(() => window.strata.lastDownload.sink), 'service-worker');
    assert.deepEqual(await page.evaluate(() => window.__bigBlobs), []);
  });
});

test('with showSaveFilePicker, the file is written through the picked file\'s writable stream', async () => {
  await withBigFile('picker', async (page) => {
    await page.click('#download-file');
    await page.waitForFunction(() => window.strata.lastDownload.sink === 'file-system-access', null, { timeout: 120000 });
    assert.equal(await page.evaluate(() => window.__pickerAsked), 'big.bin');
    // Read the file back from the origin private file system.
    const written = await page.evaluate(async () => {
      const dir = await navigator.storage.getDirectory();
      const file = await (await dir.getFileHandle('big.bin')).getFile();
      const digest = await crypto.subtle.digest('SHA-256', await file.arrayBuffer());
      const hex = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
      await dir.removeEntry('big.bin');
      return { size: file.size, hex };
    });
    assert.equal(written.size, BIG_SIZE);
    assert.equal(written.hex, bigSha);
    assert.equal(await page.evaluate(() => window.strata.lastDownload.bytes), BIG_SIZE);
    assert.deepEqual(await page.evaluate(() => window.__bigBlobs), [], 'no Blob holds the download');
  });
});

test('where nothing streams, a download over the cap is refused in words', async () => {
  await withBigFile('none', async (page) => {
    let downloaded = false;
    page.on('download', () => { downloaded = true; });
    await page.click('#download-file');
    const error = page.locator('#viewer .inline-error');
    await error.waitFor({ timeout: 30000 });
    assert.match(await error.textContent(), /This download is 300MB.*at most 268MB.*strata export/s);
    await error.scrollIntoViewIfNeeded();
    await shot(page, 'download-too-big');
    assert.equal(downloaded, false);
    assert.deepEqual(await page.evaluate(() => window.__bigBlobs), []);
  }, { serviceWorkers: 'block' });
});

test('a small file is still saved from memory, with no dialog', async () => {
  await setup.withPage(async (page) => {
    await page.click('#sample-button-2');
    await waitVerified(page);
    await page.click('#tab-files');
    for (const p of ['/etc', '/etc/passwd']) await page.locator(`.tree .row[data-path="${p}"]`).click();
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-file')]);
    assert.equal(download.suggestedFilename(), 'passwd');
    assert.equal(await page.evaluate(() => window.strata.lastDownload.sink), 'memory');
  });
});

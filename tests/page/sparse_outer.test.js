// A sparse entry in the OUTER archive (GNU tar --sparse over a docker save directory): the
// page must show what docker load unpacks — the layer blob expanded — verified, with the
// same digests and files as the same directory packed plainly. A sparse blob has no span
// the helper workers could read, so the browsing worker indexes and verifies it itself.
//   cd tests/page && node --test --test-concurrency=1 sparse_outer.test.js
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, renameSync, readFileSync, readdirSync, rmSync, statSync, lstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pageTestSetup, pickFile, waitVerified, openTab, shot, writeDockerArchive } from './harness.js';

const MIB = 1 << 20;
const work = mkdtempSync(path.join(tmpdir(), 'strata-sparse-outer-'));
const plainTar = path.join(work, 'plain.tar');
const sparseTar = path.join(work, 'sparse.tar');
after(() => rmSync(work, { recursive: true, force: true }));

/** 12 MiB, mostly zero: its layer tar is too, so GNU tar --sparse leaves holes out. */
function bigFile() {
  const b = Buffer.alloc(12 * MIB + 3);
  b.write('HEAD', 0);
  b.write('MIDDLE', 7 * MIB + 11);
  b.write('TAIL', b.length - 4);
  return b;
}

function filesUnder(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return lstatSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

const setup = pageTestSetup({
  prepare() {
    const archive = writeDockerArchive(path.join(work, 'fixture.tar'), {
      tag: 'sparse:outer',
      layers: [
        [{ name: 'data/', dir: true }, { name: 'data/big.img', data: bigFile() }, { name: 'data/z-after.txt', data: 'after the holes\n' }],
        [{ name: 'etc/', dir: true }, { name: 'etc/os-release', data: 'NAME=sparse\n' }],
      ],
    });
    const root = path.join(work, 'root');
    mkdirSync(root);
    execFileSync('tar', ['-xf', archive, '-C', root]);
    for (const file of filesUnder(root)) {
      if (statSync(file).size < MIB) continue;
      execFileSync('cp', ['--sparse=always', file, `${file}.copy`]);
      renameSync(`${file}.copy`, file);
    }
    const pack = (out, sparse) => execFileSync('tar', [...(sparse ? ['--sparse', '--sparse-version=1.0'] : []), '--format=posix',
      '--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=2024-01-01', '-cf', out, '-C', root, '.']);
    pack(plainTar, false);
    pack(sparseTar, true);
    assert.ok(readFileSync(sparseTar).includes('GNU.sparse.major'), 'GNU tar stored the layer sparsely');
    assert.ok(statSync(sparseTar).size < 2 * MIB, 'the holes are not stored');
  },
});

/** The archive opened on the page: its images (ids, verdicts, layer digests and sizes), and
 * the text of a file that lies after the holes in the sparse layer. */
async function opened(file) {
  let seen;
  await setup.withPage(async (page) => {
    await pickFile(page, file);
    await waitVerified(page, 60000);
    const report = await page.evaluate(() => window.strata.state.report);
    assert.equal(report.verification_done, true, `${file}: verified in full`);
    await openTab(page, 'files');
    for (const p of ['/data', '/data/z-after.txt']) {
      const row = page.locator(`.tree .row[data-path="${p}"]`);
      await row.waitFor();
      await row.click();
    }
    await page.waitForSelector('#viewer pre.text');
    const afterHoles = await page.textContent('#viewer pre.text');
    if (file === sparseTar) await shot(page, 'sparse-outer-files');
    seen = {
      images: report.images.map((i) => ({
        id: i.id,
        verified: i.verified,
        layers: i.layers.map((l) => ({ digest: l.digest, diff_id: l.diff_id, stored: l.stored_size, size: l.uncompressed_size, checks: l.checks })),
      })),
      findings: report.findings.map((f) => f.code),
      afterHoles,
    };
  });
  return seen;
}

test('a layer stored sparsely in the outer tar: verified, the same digests and files as the plain packing', async () => {
  const plain = await opened(plainTar);
  const sparse = await opened(sparseTar);
  assert.ok(plain.images.every((i) => i.verified), JSON.stringify(plain.images));
  assert.match(plain.afterHoles, /after the holes/);
  assert.deepEqual(sparse, plain);
});

// Registry images whose layers are not read by range (issue 24 item 2, the worker side): a
// registry that ignores Range (200 to a range request) gets each layer streamed once into a
// Blob, and the image is then a tar of inline bytes and Blob parts — read by the core
// (src/wasm/parts_reader.rs, BlobReader parts) and by the helpers (js/parts_source.js, Blob
// slices). Debian's docker-registry always honours Range, so this uses the small loopback
// registry of tests/page/mini_registry.mjs (CORS on, Range off). The page tests against the
// real registry (Range, token, tampered blob, no CORS) are tests/page/registry.test.js.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pageTestSetup, waitVerified, shot, readWorkerFile } from './harness.js';
import { startMiniRegistry } from './mini_registry.mjs';

const setup = pageTestSetup();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-registry-parts-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('a registry that ignores Range: each layer streamed once, the image browsable and verified, a file readable', async () => {
  const registry = await startMiniRegistry({ tmp, cors: true, range: false });
  try {
    await setup.withPage(async (page) => {
      await waitVerified(page, 60000);
      const report = await page.evaluate(() => window.strata.state.report);
      const remote = await page.evaluate(() => window.strata.timings.remote);
      assert.equal(remote.mode, 'registry');
      assert.equal(remote.streamed, 2, 'both layers streamed into Blobs');
      assert.equal(remote.platform, 'linux/amd64');
      const image = report.images[0];
      assert.equal(image.verified, true);
      assert.equal(image.manifest_digest, registry.digests.amd);
      assert.equal(image.architecture, 'amd64');
      assert.equal((await readWorkerFile(page, '/etc/amd')).toString(), 'amd64 only\n'.repeat(300));
      assert.equal((await readWorkerFile(page, '/etc/base')).toString(), 'shared layer\n');
      // Once per layer blob (the probe's own answer is the download) and once for the config:
      // nothing read again by range afterwards.
      const blobGets = registry.requests.filter((r) => r.method === 'GET' && r.path.includes('/blobs/'));
      assert.equal(blobGets.length, 3, JSON.stringify(blobGets));
      await shot(page, 'registry-no-range');
    }, { query: `?ref=${encodeURIComponent(`127.0.0.1:${registry.port}/team/app:multi`)}` });
  } finally {
    await registry.stop();
  }
});

test('a registry that ignores Range, a layer tampered: the mismatch is shown (blobs are named by the claimed digest)', async () => {
  const registry = await startMiniRegistry({ tmp, cors: true, range: false, tamper: 'layer' });
  try {
    await setup.withPage(async (page) => {
      await waitVerified(page, 60000);
      const image = (await page.evaluate(() => window.strata.state.report)).images[0];
      assert.equal(image.verified, false);
      const layer = image.layers.find((l) => l.digest === registry.digests.amdLayer);
      assert.ok(layer, 'the layer keeps the digest the manifest claims');
      assert.ok(layer.checks.some((c) => c.code === 'blob_digest' && c.verdict !== 'ok'), JSON.stringify(layer.checks));
    }, { query: `?ref=${encodeURIComponent(`127.0.0.1:${registry.port}/team/app:amd`)}` });
  } finally {
    await registry.stop();
  }
});

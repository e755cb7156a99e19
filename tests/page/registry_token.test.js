// Registry tokens that expire while the image is read (issue 24): the browsing worker's
// synchronous reads (src/wasm/http_reader.rs, a token shared by src/wasm/parts_reader.rs's
// part readers) and the helpers' async reads (js/parts_source.js → RemoteFile) each ask the
// token endpoint the parts description carries for a new token on a 401, and retry the read
// once. The loopback registry of tests/page/mini_registry.mjs hands out tokens that serve
// only a few requests each, so every reader meets expired tokens mid-way.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pageTestSetup, waitVerified, shot, readWorkerFile } from './harness.js';
import { startMiniRegistry } from './mini_registry.mjs';

const setup = pageTestSetup();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-registry-token-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('tokens expiring mid-way: the image still opens, verifies and reads (each reader renews its token and retries)', async () => {
  const registry = await startMiniRegistry({ tmp, cors: true, token: true, tokenUses: 2 });
  try {
    await setup.withPage(async (page) => {
      await waitVerified(page, 60000);
      const image = (await page.evaluate(() => window.strata.state.report)).images[0];
      assert.equal(image.verified, true);
      assert.equal(image.manifest_digest, registry.digests.amd);
      assert.equal((await readWorkerFile(page, '/etc/amd')).toString(), 'amd64 only\n'.repeat(300));
      assert.equal((await readWorkerFile(page, '/etc/base')).toString(), 'shared layer\n');
      const expired = registry.requests.filter((r) => r.method === 'GET' && r.path.includes('/blobs/') && r.auth && r.range !== 'bytes=0-0');
      const tokens = registry.requests.filter((r) => r.path === '/token').length;
      // Reads after the open met expired tokens and were answered after a renewal.
      assert.ok(tokens >= 3, `${tokens} tokens fetched`);
      assert.ok(expired.length > 2, JSON.stringify(expired));
      await shot(page, 'registry-token-expired');
    }, { query: `?ref=${encodeURIComponent(`127.0.0.1:${registry.port}/team/app:multi`)}` });
  } finally {
    await registry.stop();
  }
});

// How an archive opened by URL is read (issue 24, speed): the requests the server sees.
// The probe's first bytes start the browsing worker's reader (no second request for them),
// and verification reads a big blob in big range requests from its first byte (it reads
// every byte, so it has no reason to start small as a walk that may jump does).
// tests/page/static_server.mjs on loopback, another origin than the page.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { pageTestSetup, waitVerified, fx } from './harness.js';
import { startStaticServer } from './static_server.mjs';

let files;
const setup = pageTestSetup({
  needs: [[fx('holes.tar'), 'fixtures missing: run tests/page/run.sh']],
  prepare: async () => {
    files = await startStaticServer({ files: { 'holes.tar': fx('holes.tar') } });
  },
});

after(async () => {
  await files?.stop();
});

/** The entries of an uncompressed tar: [{name, size, data (offset of its bytes)}]. */
function tarEntries(bytes) {
  const out = [];
  for (let at = 0; at + 512 <= bytes.length;) {
    const header = bytes.subarray(at, at + 512);
    if (header.every((b) => b === 0)) break;
    const text = (from, len) => new TextDecoder().decode(header.subarray(from, from + len)).replace(/\0.*$/s, '');
    const size = parseInt(text(124, 12).trim() || '0', 8);
    out.push({ name: text(0, 100), size, data: at + 512 });
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

/** The Range requests the server answered, as [start, length]. */
const ranges = () => files.stats.ranges.map((r) => {
  const [, a, b] = /^bytes=(\d+)-(\d+)$/.exec(r);
  return [Number(a), Number(b) - Number(a) + 1];
});

test('by URL: the first bytes are asked for once (the probe\'s start the core\'s reader), a big blob is verified in 8 MiB requests from its start', async () => {
  const layer = tarEntries(readFileSync(fx('holes.tar'))).find((e) => e.name.endsWith('layer.tar'));
  assert.ok(layer && layer.size > 8 << 20, 'holes.tar has a layer over 8 MiB');
  files.reset();
  await setup.withPage(async (page) => {
    await waitVerified(page, 60000);
    assert.ok(await page.evaluate(() => window.strata.state.report.images.every((i) => i.verified)), 'verified');
    assert.equal(await page.evaluate(() => window.strata.timings.remote.mode), 'range');
  }, { query: `?url=${encodeURIComponent(`${files.base}range/holes.tar`)}` });
  const seen = ranges();
  // The probe asked for bytes 0–65535; the browsing worker's reader began with them.
  assert.deepEqual(seen.filter(([a]) => a === 0), [[0, 64 << 10]], 'bytes 0– asked for once, by the probe');
  // Verification: one 8 MiB request at the layer's first byte (then the rest), not a stream
  // starting at 256 KiB and doubling.
  const atLayer = seen.filter(([a]) => a === layer.data).map(([, n]) => n);
  assert.ok(atLayer.includes(8 << 20), `requests at the layer's start: ${atLayer.join(', ')}`);
  const rest = layer.size - (8 << 20);
  assert.ok(seen.some(([a, n]) => a === layer.data + (8 << 20) && n === rest), 'and the rest of it in one request');
  assert.equal(files.stats.preflights, 0, 'no preflight');
  assert.deepEqual(files.stats.odd, [], 'no header beyond Range');
});

// The floor under open-by-URL (issue 24): Chromium's own range fetches of the bench archive
// over loopback, from a dedicated worker, with no page work at all. Each argument PxK is one
// configuration: pieces of P MiB, K requests in flight; each is run twice.
//
//   node benches/url_raw.mjs [--file benches/out/large.tar] 8x1 8x2 8x4 1x4 2x2
//
// The server is tests/page/static_server.mjs (the one the page tests and `browser.mjs --url`
// use); the worker runs on one of its pages (another origin than nothing: plain CORS).
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { chromium } = await import(path.join(root, 'tests/page/node_modules/playwright-core/index.mjs'));
const { startStaticServer } = await import(path.join(root, 'tests/page/static_server.mjs'));
const args = process.argv.slice(2);
let file = path.join(root, 'benches/out/large.tar');
const configs = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--file') file = path.resolve(args[++i]);
  else configs.push(args[i].split('x').map(Number));
}
if (!configs.length) configs.push([8, 1], [8, 2], [8, 4], [1, 4], [2, 2]);
const size = fs.statSync(file).size;
const server = await startStaticServer({ files: { 'archive.tar': file } });
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
try {
  const page = await browser.newPage();
  await page.goto(`${server.base}range/none`); // (a 404 page of the server's origin: no CSP)
  for (const [mib, inFlight] of configs) {
    for (let rep = 0; rep < 2; rep++) {
      const load = os.loadavg()[0].toFixed(1);
      const out = await page.evaluate(async ({ url, piece, inFlight, size }) => {
        const source = `onmessage = async (e) => {
          const { url, piece, inFlight, size } = e.data;
          const t0 = performance.now();
          let next = 0;
          let got = 0;
          const lane = async () => {
            while (next < size) {
              const a = next;
              const b = Math.min(size, a + piece);
              next = b;
              const r = await fetch(url, { headers: { Range: 'bytes=' + a + '-' + (b - 1) }, cache: 'no-store' });
              if (r.status !== 206) throw new Error('status ' + r.status);
              const bytes = await r.arrayBuffer();
              got += bytes.byteLength; // (after the await: lanes add in turn)
            }
          };
          await Promise.all(Array.from({ length: inFlight }, lane));
          postMessage({ ms: performance.now() - t0, got });
        };`;
        const worker = new Worker(URL.createObjectURL(new Blob([source], { type: 'text/javascript' })));
        const answer = await new Promise((resolve) => {
          worker.onmessage = (e) => resolve(e.data);
          worker.postMessage({ url, piece, inFlight, size });
        });
        worker.terminate();
        return answer;
      }, { url: `${server.base}range/archive.tar`, piece: mib << 20, inFlight, size });
      console.log(`${mib} MiB × ${inFlight} in flight: ${Math.round(out.ms)} ms for ${(out.got / 1e6).toFixed(0)} MB, ${(out.got / out.ms / 1000).toFixed(0)} MB/s (load ${load})`);
    }
  }
} finally {
  await browser.close();
  await server.stop();
}

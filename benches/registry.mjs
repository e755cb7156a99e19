// Registry benchmark (issue 24 item 2): a `docker save` archive opened in the page as a
// local file, and the same image pushed by skopeo to a real docker-registry on loopback and
// opened with `?ref=`, alternating, each in a fresh page. Reads the page's own clocks
// (window.strata.timings): metadata (tags shown), interactive (tree browsable), verified;
// and, for the registry, the requests the page and its workers sent and the bytes of their
// answers (Content-Length), in all and before the tree was browsable. Medians of N runs.
//
//   node benches/registry.mjs [--runs N] ARCHIVE.tar [TAG]
//
// skopeo pushes the layers gzip'd (as `docker push` does), so the registry image is a
// compressed one: the page reads each layer in one pass, where the local archive's layers
// are plain tars read by Range. Needs the site built (./build.sh build).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, launch, openPage } from '../tests/page/harness.js';
import { startRegistries } from '../tests/page/registry_server.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
let runs = 3;
if (args[0] === '--runs') {
  runs = Number(args[1]);
  args.splice(0, 2);
}
const archive = path.resolve(args[0] || path.join(HERE, '../tests/out/page-fixtures/holes.tar'));
const tag = args[1] || '';

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN;
};

const registries = await startRegistries();
const server = await startServer();
const browser = await launch();
try {
  const pushStarted = Date.now();
  await registries.push(`docker-archive:${archive}${tag ? `:${tag}` : ''}`, 'bench/image:1');
  const manifest = JSON.parse(await registries.inspect('bench/image:1'));
  const blobBytes = manifest.layers.reduce((sum, l) => sum + l.size, manifest.config.size);
  console.log(`pushed ${path.basename(archive)} in ${((Date.now() - pushStarted) / 1000).toFixed(1)} s: ${manifest.layers.length} layers, ${blobBytes} B of blobs in the registry`);
  const rows = { local: [], registry: [] };
  for (let run = 0; run < runs; run++) {
    for (const kind of ['local', 'registry']) {
      const { page, context } = await openPage(browser, server.base);
      const seen = { requests: 0, bytes: 0, bytesBrowsable: null };
      context.on('response', (r) => {
        if (!r.url().startsWith(registries.cors.base)) return;
        seen.requests += 1;
        seen.bytes += Number(r.headers()['content-length'] || 0);
      });
      await new Promise((resolve) => setTimeout(resolve, 1000)); // the page settles, as for a person
      if (kind === 'local') await page.setInputFiles('#file-input', archive);
      else await page.goto(`${server.base}?ref=${encodeURIComponent(`${registries.cors.host}/bench/image:1`)}`);
      await page.waitForFunction(() => ['indexed', 'verified'].includes(document.body.dataset.stage), null, { timeout: 600000 });
      seen.bytesBrowsable = seen.bytes;
      await page.waitForFunction(() => document.body.dataset.stage === 'verified', null, { timeout: 600000 });
      const t = await page.evaluate(() => window.strata.timings);
      rows[kind].push({ metadata: t.metadata, interactive: t.interactive, verified: t.verified, ...seen });
      await context.close();
    }
  }
  for (const kind of ['local', 'registry']) {
    const r = rows[kind];
    const m = (k) => median(r.map((x) => x[k]));
    let line = `${kind.padEnd(8)} tags ${Math.round(m('metadata'))} ms, browsable ${Math.round(m('interactive'))} ms, verified ${Math.round(m('verified'))} ms`;
    if (kind === 'registry') line += `; ${m('requests')} requests, ${m('bytesBrowsable')} B answered before browsable, ${m('bytes')} B in all`;
    console.log(`${line} (medians of ${r.length})`);
  }
} finally {
  await browser.close();
  server.stop();
  await registries.stop();
}

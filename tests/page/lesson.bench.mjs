// Lesson view figures (issue 22, "Speed"; figures, not a timed test): one step on a big image
// (the 27k-entry bench archive: python3 benches/gen_large.py, then pass benches/out/large.tar)
// and the stack picture of a generated 120-layer archive. Needs ./build.sh build.
//   node tests/page/lesson.bench.mjs [big-archive.tar]
// Prints, per step: wall time from the Next click to the step's tree on screen, the step's own
// time (panel data-ms) and its worker part (data-ms-core), and the rows drawn.
import path from 'node:path';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { startServer, launch, openPage, pickFile, waitVerified, writeDockerArchive, ROOT } from './harness.js';

const big = process.argv[2] || path.join(ROOT, 'benches/out/large.tar');
const server = await startServer();
const browser = await launch();

async function stepTimes(file, label) {
  const { page, context, problems } = await openPage(browser, server.base, { viewport: { width: 1280, height: 720 } });
  await pickFile(page, file);
  await waitVerified(page, 300000);
  await page.click('#tab-lesson');
  await page.waitForFunction(() => document.getElementById('lesson-step')?.dataset.ready === 'true', null, { timeout: 60000 });
  console.log(`${label}: stack picture ${await page.evaluate(() => document.querySelector('.lesson-stack').dataset.ms)} ms`);
  const layers = await page.evaluate(() => window.strata.state.report.images[0].layers.length);
  for (let k = 1; k <= Math.min(layers, 8); k++) {
    const [wall, own, coreMs, rows] = await page.evaluate(async (want) => {
      const t0 = performance.now();
      document.getElementById('lesson-next').click();
      const panel = document.getElementById('lesson-step');
      while (!(panel.dataset.step === String(want) && panel.dataset.ready === 'true')) await new Promise((r) => requestAnimationFrame(r));
      return [performance.now() - t0, panel.dataset.ms, panel.dataset.msCore, panel.querySelectorAll('.lesson-row').length];
    }, k);
    console.log(`  step ${k}: ${wall.toFixed(0)} ms (step ${own} ms, worker ${coreMs} ms), ${rows} rows`);
  }
  if (problems.console.length || problems.page.length) console.log('  problems:', JSON.stringify(problems));
  await context.close();
}

if (existsSync(big)) await stepTimes(big, path.basename(big));
else console.log(`${big} is missing (python3 benches/gen_large.py writes it): big-image steps skipped`);
const many = path.join(mkdtempSync(path.join(tmpdir(), 'lesson-bench-')), 'layers120.tar');
const layerList = [];
for (let i = 0; i < 120; i++) layerList.push([{ name: `l${i}/`, dir: true }, { name: `l${i}/f.txt`, data: 'x'.repeat(((i * 997) % 5000) + 1) }]);
writeDockerArchive(many, { tag: 'many:120', layers: layerList });
await stepTimes(many, '120 layers');
await browser.close();
server.stop();

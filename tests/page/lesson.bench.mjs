// Lesson view figures (issue 22, "Speed"; figures, not a timed test): one step on a big image
// (the 27k-entry bench archive: python3 benches/gen_large.py, then pass benches/out/large.tar)
// and the stack picture of a generated 120-layer archive. Needs ./build.sh build.
//   node tests/page/lesson.bench.mjs [big-archive.tar] [--rounds N]
// A step is timed from the Next (or Back) click to the step's tree on screen, in three ways:
//   back to back  Next clicked the instant the previous step is drawn (a held arrow key)
//   paced         Next clicked PACE_MS after it (a class reading the step: the page has asked
//                 the worker for the next step's tree meanwhile)
//   back          Back to a step seen a moment ago (the session keeps the last layer views)
// with the step's own clock (panel data-ms) and its worker part (data-ms-core), medians over
// every step of every round; and, as the baseline in the same run, the Files view's first
// draw of the same image's merged tree (the tab opened, its root rows on screen). The stack
// picture: its first draw and its redraws on a language switch (data-ms on .lesson-stack:
// building it and its layout), median.
import path from 'node:path';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { startServer, launch, openPage, pickFile, waitVerified, writeDockerArchive, ROOT } from './harness.js';

const args = process.argv.slice(2);
let rounds = 3;
const files = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--rounds') rounds = Number(args[++i]);
  else files.push(args[i]);
}
const big = files[0] || path.join(ROOT, 'benches/out/large.tar');
const PACE_MS = 800;
const server = await startServer();
const browser = await launch();

const median = (xs) => {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};
const range = (xs) => `[${Math.round(Math.min(...xs))}–${Math.round(Math.max(...xs))}]`;
const figure = (label, xs) => console.log(`  ${label}: median ${Math.round(median(xs))} ms ${range(xs)} (n=${xs.length})`);

/** Click a control of the lesson and time until step `want` is drawn. */
function timeStep(page, control, want) {
  return page.evaluate(async ([id, step]) => {
    const t0 = performance.now();
    document.getElementById(id).click();
    const panel = document.getElementById('lesson-step');
    while (!(panel.dataset.step === String(step) && panel.dataset.ready === 'true')) await new Promise((r) => requestAnimationFrame(r));
    return { wall: performance.now() - t0, own: Number(panel.dataset.ms), core: Number(panel.dataset.msCore), rows: panel.querySelectorAll('.lesson-row').length };
  }, [control, want]);
}

const stackMs = (page) => page.waitForFunction(() => document.querySelector('.lesson-stack')?.dataset.ms, null, { timeout: 60000 })
  .then((handle) => handle.jsonValue()).then(Number);

async function openLesson(page) {
  await page.click('#tab-lesson');
  await page.waitForFunction(() => document.getElementById('lesson-step')?.dataset.ready === 'true', null, { timeout: 60000 });
}

async function stepFigures(file, label) {
  const { page, context, problems } = await openPage(browser, server.base, { viewport: { width: 1280, height: 720 } });
  await pickFile(page, file);
  await waitVerified(page, 300000);
  // Baseline: the Files view's first draw of the merged tree (same page, same worker).
  const filesOpen = await page.evaluate(async () => {
    const t0 = performance.now();
    document.getElementById('tab-files').click();
    while (!document.querySelector('#view [role="treeitem"]')) await new Promise((r) => requestAnimationFrame(r));
    await new Promise((r) => requestAnimationFrame(r));
    return performance.now() - t0;
  });
  await openLesson(page);
  const stacks = [await stackMs(page)];
  const layers = await page.evaluate(() => window.strata.state.report.images[0].layers.length);
  const last = Math.min(layers, 8);
  const backToBack = [];
  const paced = [];
  const back = [];
  for (let round = 0; round < rounds; round++) {
    await timeStep(page, 'lesson-first', 0).catch(() => {});
    for (let k = 1; k <= last; k++) backToBack.push({ k, ...(await timeStep(page, 'lesson-next', k)) });
    for (let k = last - 1; k >= Math.max(0, last - 3); k--) back.push({ k, ...(await timeStep(page, 'lesson-back', k)) });
    await timeStep(page, 'lesson-first', 0);
    for (let k = 1; k <= last; k++) {
      await new Promise((r) => setTimeout(r, PACE_MS));
      paced.push({ k, ...(await timeStep(page, 'lesson-next', k)) });
    }
  }
  // The stack's redraws: a language switch draws the whole lesson again.
  for (const lang of ['zh-CN', 'en', 'zh-CN', 'en']) {
    await page.evaluate(() => { delete document.querySelector('.lesson-stack').dataset.ms; });
    await page.click(`#lang-switch button[data-lang="${lang}"]`);
    stacks.push(await stackMs(page));
  }
  console.log(`${label} (${layers} layers; steps 1..${last}, ${rounds} rounds):`);
  console.log(`  baseline, the Files view's first draw of the merged tree: ${Math.round(filesOpen)} ms`);
  for (const [name, list] of [['back to back', backToBack], [`paced (${PACE_MS} ms)`, paced], ['back (seen before)', back]]) {
    figure(`step ${name}, click to tree on screen`, list.map((s) => s.wall));
    figure(`  its own clock (data-ms)`, list.map((s) => s.own));
    figure(`  its worker part (data-ms-core)`, list.map((s) => s.core));
  }
  const perStep = new Map();
  for (const s of backToBack) perStep.set(s.k, [...(perStep.get(s.k) || []), s]);
  for (const [k, list] of perStep) console.log(`    step ${k} back to back: ${list.map((s) => Math.round(s.wall)).join(', ')} ms, ${list[0].rows} rows`);
  figure('stack picture (first draw and 4 redraws)', stacks);
  if (problems.console.length || problems.page.length) console.log('  problems:', JSON.stringify(problems));
  await context.close();
}

if (existsSync(big)) await stepFigures(big, path.basename(big));
else console.log(`${big} is missing (python3 benches/gen_large.py writes it): big-image steps skipped`);
const many = path.join(mkdtempSync(path.join(tmpdir(), 'lesson-bench-')), 'layers120.tar');
const layerList = [];
for (let i = 0; i < 120; i++) layerList.push([{ name: `l${i}/`, dir: true }, { name: `l${i}/f.txt`, data: 'x'.repeat(((i * 997) % 5000) + 1) }]);
writeDockerArchive(many, { tag: 'many:120', layers: layerList });
await stepFigures(many, '120 layers');
await browser.close();
server.stop();

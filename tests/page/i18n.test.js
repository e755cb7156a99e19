// Page tests for issue 21 (the page in English and 简体中文) and issue 20 item 3 (control,
// bidi and zero-width characters from an archive drawn visibly). Run with
// `bash tests/page/run.sh`, or alone: `cd tests/page && node --test --test-concurrency=1 i18n.test.js`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { readFileSync, readdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import {
  pageTestSetup, pickFile, waitVerified, waitTexts, shot, writeDockerArchive, fx, WWW, openTab, openPath, axeViolations,
} from './harness.js';

const LANGS = ['en', 'zh-CN'];
const PARTS = ['app', 'core', 'lesson'];

const setup = pageTestSetup({ needs: [[fx('sample.tar'), 'fixtures missing: run tests/page/run.sh']] });

/** A page (openPage's options: locale, query, colorScheme) for `body(page, context, problems)`;
 * it must end with a clean console, no foreign requests and no dialog opened. */
const withPage = (body, options = {}) => setup.withPage(body, { ...options, foreign: true, dialogs: true });

const zh = { query: '?lang=zh-CN' };

async function openSample(page) {
  await page.click('#sample-button-2');
  await waitVerified(page);
}

// ---------- the catalogs ----------

function catalog(lang, part) {
  return JSON.parse(readFileSync(path.join(WWW, 'locales', lang, `${part}.json`), 'utf8'));
}

test('catalogs: the same keys in en and zh-CN for every part, every text filled, parameters alike', () => {
  for (const part of PARTS) {
    const en = catalog('en', part);
    const zhCN = catalog('zh-CN', part);
    assert.deepEqual(Object.keys(zhCN).sort(), Object.keys(en).sort(), `${part}.json: keys differ between en and zh-CN`);
    for (const [key, text] of Object.entries(en)) {
      assert.equal(typeof text, 'string', `${part}.json en ${key}`);
      assert.equal(typeof zhCN[key], 'string', `${part}.json zh-CN ${key}`);
      // A parameter one language names and the other does not would be lost (or shown as {name}).
      const params = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      assert.deepEqual(params(zhCN[key]), params(en[key]), `${part}.json ${key}: parameters differ`);
      if (/\.one$/.test(key)) assert.ok(`${key.slice(0, -4)}.other` in en, `${key} has no .other form`);
    }
  }
});

test('catalogs: every key the page\'s code names is in the catalogs', () => {
  const all = Object.assign({}, ...PARTS.map((part) => catalog('en', part)));
  const prefixes = new Set(Object.keys(all).map((k) => k.split('.')[0]));
  const known = (key) => key in all || `${key}.other` in all;
  const missing = [];
  const jsFiles = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.js')) jsFiles.push(full);
    }
  };
  walk(path.join(WWW, 'js'));
  for (const file of jsFiles) {
    // (Comments dropped: they name keys and fields in prose.)
    const source = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/[^\n]*/g, '$1');
    // Every quoted string that looks like a catalog key (a known first part, a dot, a name).
    for (const m of source.matchAll(/['`]([a-z][a-zA-Z]*(?:\.[\w-]+)+)['`]/g)) {
      const key = m[1];
      if (!prefixes.has(key.split('.')[0])) continue;
      if (!known(key)) missing.push(`${path.relative(WWW, file)}: ${key}`);
    }
  }
  const html = readFileSync(path.join(WWW, 'index.html'), 'utf8');
  for (const m of html.matchAll(/data-i18n(?:-title|-aria-label|-placeholder)?="([^"]+)"/g)) {
    if (!known(m[1])) missing.push(`index.html: ${m[1]}`);
  }
  // Keys built at run time from the core's words: every value the core sends has a text.
  const families = {
    verdict: ['ok', 'mismatch', 'size_mismatch', 'missing', 'not_checkable', 'pending'],
    'progress.phase': ['opening', 'indexing', 'verifying', 'merging'],
    severity: ['info', 'warning', 'error'],
    format: ['docker-legacy', 'docker-pre110', 'docker-archive', 'docker-oci', 'oci-archive', 'unknown'],
    kind: ['file', 'dir', 'symlink', 'hardlink', 'char', 'block', 'fifo', 'other'],
    change: ['added', 'modified', 'deleted'],
    'diff.change': ['added', 'removed', 'changed'],
    'diff.field': ['kind', 'size', 'mode', 'owner', 'link', 'content'],
    item: ['blob_digest', 'blob_size', 'layer_blob', 'file_name_digest', 'layer_tar_readable', 'diff_id', 'config_digest',
      'manifest_digest', 'config_size', 'manifest_size'],
  };
  for (const [family, names] of Object.entries(families)) {
    for (const name of names) if (!known(`${family}.${name}`)) missing.push(`family ${family}: ${name}`);
  }
  assert.deepEqual(missing, []);
});

// ---------- choosing the language ----------

test('language: ?lang= wins, then the browser\'s languages; <html lang> follows', async () => {
  await withPage(async (page) => {
    assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN');
    assert.equal(await page.textContent('#landing h1'), '看看容器镜像里有什么');
    assert.equal(await page.title(), 'strata — 查看容器镜像归档的内部');
  }, zh);
  await withPage(async (page) => {
    assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN');
    assert.match(await page.textContent('#sample-button-2'), /打开示例镜像/);
  }, { locale: 'zh-CN' });
  await withPage(async (page) => {
    assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN');
  }, { locale: 'zh-TW' });
  await withPage(async (page) => {
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    assert.equal(await page.textContent('#landing h1'), 'Look inside a container image');
  }, { locale: 'zh-CN', query: '?lang=en' });
  await withPage(async (page) => {
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
  }, { locale: 'fr-FR' });
});

test('language: the switcher is remembered across reloads, and ?lang= still wins', async () => {
  await withPage(async (page) => {
    // The switcher names each language in itself; "English" is marked as English.
    const english = page.locator('#lang-switch button[data-lang="en"]');
    assert.equal(await english.getAttribute('lang'), 'en');
    assert.equal(await english.getAttribute('translate'), 'no');
    assert.equal(await page.locator('#lang-switch button[data-lang="zh-CN"]').getAttribute('lang'), 'zh-CN');
    assert.equal(await english.getAttribute('aria-pressed'), 'true');
    await page.click('#lang-switch button[data-lang="zh-CN"]');
    await page.waitForFunction(() => document.documentElement.lang === 'zh-CN');
    assert.equal(await page.textContent('#landing h1'), '看看容器镜像里有什么');
    assert.equal(await page.getAttribute('#lang-switch button[data-lang="zh-CN"]', 'aria-pressed'), 'true');
    await page.reload();
    await waitTexts(page);
    assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN');
    assert.equal(await page.textContent('#landing h1'), '看看容器镜像里有什么');
    await page.goto(`${setup.server.base}?lang=en`);
    await waitTexts(page);
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    await page.goto(setup.server.base);
    await waitTexts(page);
    assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN', 'the switcher\'s choice is still remembered');
  }, { locale: 'en-US' });
});

test('switching the language redraws in place: same view, same hash, same file, no reopening', async () => {
  await withPage(async (page) => {
    await openSample(page);
    await openTab(page, 'files');
    await openPath(page, '/etc/os-release');
    await page.waitForSelector('#viewer pre.text');
    const hash = await page.evaluate(() => location.hash);
    assert.match(hash, /tab=files/);
    assert.match(hash, /path=%2Fetc%2Fos-release/);
    await page.evaluate(() => {
      window.openedReport = window.strata.state.report;
      window.openedAt = window.strata.state.openStarted;
      window.openedTimings = JSON.stringify(window.strata.timings);
      window.historyLength = history.length;
    });
    await page.click('#lang-switch button[data-lang="zh-CN"]');
    await page.waitForFunction(() => document.documentElement.lang === 'zh-CN');
    await page.waitForFunction(() => /普通文件/.test(document.querySelector('#viewer')?.textContent || ''));
    assert.equal(await page.evaluate(() => location.hash), hash);
    assert.equal(await page.getAttribute('#tab-files', 'aria-selected'), 'true');
    assert.equal(await page.textContent('#tab-files'), '文件');
    assert.match(await page.textContent('#viewer h3'), /\/etc\/os-release/);
    await page.waitForSelector('#viewer pre.text');
    assert.equal(await page.locator('.tree .row.current[data-path="/etc/os-release"]').count(), 1);
    assert.match(await page.textContent('.tree-status'), /显示/);
    // The file's Hex view stays Hex across a switch.
    await page.click('#viewer .segmented .seg:nth-child(2)');
    await page.waitForSelector('#viewer .hex');
    await page.click('#lang-switch button[data-lang="en"]');
    await page.waitForFunction(() => document.documentElement.lang === 'en' && /regular file/.test(document.querySelector('#viewer')?.textContent || ''));
    await page.waitForSelector('#viewer .hex');
    await page.click('#lang-switch button[data-lang="zh-CN"]');
    await page.waitForFunction(() => document.documentElement.lang === 'zh-CN' && /普通文件/.test(document.querySelector('#viewer')?.textContent || ''));
    await page.waitForSelector('#viewer .hex');
    // The archive was not opened or verified again: the same report object, the same start.
    assert.equal(await page.evaluate(() => window.strata.state.report === window.openedReport), true);
    assert.equal(await page.evaluate(() => window.strata.state.openStarted === window.openedAt), true);
    assert.equal(await page.evaluate(() => JSON.stringify(window.strata.timings) === window.openedTimings), true);
    assert.equal(await page.evaluate(() => history.length === window.historyLength), true, 'a switch adds no history entry');
    assert.equal(await page.evaluate(() => document.body.dataset.stage), 'verified');
    // Overview, Diff and back: every view is in Chinese now, the archive still the same.
    await openTab(page, 'overview');
    assert.match(await page.textContent('#verdict-panel'), /所有摘要都匹配/);
    await openTab(page, 'diff');
    await page.waitForSelector('#diff-result .diff-summary');
    assert.match(await page.textContent('#diff-result'), /新增/);
    await page.selectOption('#diff-b', '0:0');
    await page.waitForFunction(() => /同一个镜像/.test(document.querySelector('#diff-result')?.textContent || ''));
    // Back to English: the diff keeps its selection and result.
    await page.click('#lang-switch button[data-lang="en"]');
    await page.waitForFunction(() => document.documentElement.lang === 'en');
    assert.equal(await page.inputValue('#diff-b'), '0:0');
    assert.match(await page.textContent('#diff-result'), /same image/);
    assert.equal(await page.textContent('#tab-diff'), 'Diff');
    assert.equal(await page.evaluate(() => window.strata.state.report === window.openedReport), true);
  });
});

// ---------- every view, in both languages ----------

// The parts of the page another part of the project draws (the Lesson tab, its landing
// links, the projector toggle): checked by a test of their own, so a leak says whose it is.
const OTHER_PARTS = '.lesson, .lesson-links, #projector-toggle';

/** Visible text of the page, outside archive data and code, that is English UI text.
 * Skipped: translate="no" (archive data), lang="en" (English on purpose: docker's column
 * headers, format names, glosses), <code>/<pre>, the select's options (archive names), and
 * the marked control-character tokens. Counted: words of two or more Latin letters.
 * `part`: 'page' (all but OTHER_PARTS) or 'other' (only OTHER_PARTS). */
async function englishLeaks(page, where, part = 'page') {
  const found = await page.evaluate(({ other, part }) => {
    const inScope = (el) => (part === 'other') === !!el.closest(other);
    // Units and abbreviations Chinese Docker material writes in Latin letters: the
    // glossary's own terms 镜像 ID and tar 包 (an archive), and docker's size units.
    const allowed = new Set(['ID', 'tar', 'kB', 'MB', 'GB', 'TB', 'UTC']);
    const out = [];
    const skip = '[translate="no"], [lang="en"], [lang^="en-"], code, pre, kbd, samp, script, style, select, .ctl';
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const el = node.parentElement;
      if (!el || el.closest(skip) || !inScope(el)) continue;
      // Visible, or read to a screen reader (the visually-hidden class keeps a 1px box).
      if (!el.checkVisibility()) continue;
      const words = (node.textContent.match(/[A-Za-z][A-Za-z'’-]*[A-Za-z]/g) || []).filter((w) => !allowed.has(w));
      if (words.length) out.push(`"${node.textContent.trim().slice(0, 90)}" in <${el.localName} class="${el.className}">`);
    }
    // Names read to screen readers and placeholders: words the page wrote.
    for (const el of document.querySelectorAll('[aria-label], [placeholder]')) {
      if (el.closest(skip) || !inScope(el) || !el.checkVisibility()) continue;
      for (const attr of ['aria-label', 'placeholder']) {
        // An attribute holds one string: archive data in it (a path, a tag, a name with a
        // dot) cannot be marked, so such tokens are left out here.
        const value = (el.getAttribute(attr) || '').replace(/\S*[/:.@*]\S*/g, ' ');
        if (!value.trim()) continue;
        const words = (value.match(/[A-Za-z][A-Za-z'’-]*[A-Za-z]/g) || []).filter((w) => !allowed.has(w));
        if (words.length) out.push(`${attr}="${value.slice(0, 90)}" on <${el.localName} id="${el.id}">`);
      }
    }
    return out;
  }, { other: OTHER_PARTS, part });
  return found.map((f) => `${where}: ${f}`);
}

/** Walk every view and state of the sample (and a few other archives), calling `visit`
 * at each; `words` are what each step waits for, per language. */
async function walkViews(page, lang, visit) {
  const w = (en, zhCN) => (lang === 'en' ? en : zhCN);
  await visit('landing');
  await openSample(page);
  await visit('overview');
  await page.click('#verdict-panel summary');
  await visit('overview, every check');
  await openTab(page, 'config');
  await page.click('#raw-config summary');
  await visit('config');
  await openTab(page, 'history');
  await visit('history');
  await page.click('.history .segmented .seg:nth-child(2)');
  await page.waitForFunction(() => /CMD/.test(document.querySelector('#dockerfile')?.textContent || ''));
  await visit('history, Dockerfile');
  await page.click('.history .segmented .seg:nth-child(1)');
  await openTab(page, 'layers');
  await page.waitForSelector('#waste table');
  await page.waitForSelector('.changes .chg');
  await visit('layers');
  await openTab(page, 'files');
  await openPath(page, '/etc/os-release');
  await page.waitForSelector('#viewer pre.text');
  await visit('files, text');
  await page.click('#viewer .segmented .seg:nth-child(2)');
  await page.waitForSelector('#viewer .hex');
  await visit('files, hex');
  await openPath(page, '/app/logo.png');
  await page.waitForSelector('#viewer img.preview');
  await visit('files, image');
  await page.fill('.files input[type="search"]', 'os-*');
  await page.waitForFunction((re) => new RegExp(re).test(document.querySelector('.tree-status')?.textContent || ''), w('matching', '匹配'));
  await visit('files, filtered');
  await page.fill('.files input[type="search"]', '');
  await page.selectOption('.files select:first-of-type', '0');
  await openPath(page, '/etc');
  await page.waitForSelector('.tree .row[data-path="/etc/hostname"].shadowed');
  await visit('files, one layer, shadowed');
  await openTab(page, 'diff');
  await page.waitForSelector('#diff-result .diff-summary');
  await visit('diff');
  // Any other tab (another part of the page may add one): its words too.
  for (const id of await page.$$eval('#tabs [role=tab]', (tabs) => tabs.map((t) => t.id.replace(/^tab-/, '')))) {
    if (['overview', 'config', 'history', 'layers', 'files', 'diff'].includes(id)) continue;
    await openTab(page, id);
    await page.waitForTimeout(500);
    await visit(id);
  }
  await pickFile(page, fx('tampered.tar'));
  await waitVerified(page);
  await visit('tampered, overview');
  await openTab(page, 'layers');
  await page.waitForSelector('#waste h3');
  await visit('tampered, layers');
  await pickFile(page, fx('not-an-archive.txt'));
  await page.waitForSelector('#error:not([hidden])');
  await visit('error, not an archive');
}

test('zh-CN: every view has no English UI text outside archive data, code and marked English', async () => {
  const leaks = [];
  await withPage(async (page) => {
    await walkViews(page, 'zh-CN', async (where) => leaks.push(...await englishLeaks(page, where)));
  }, zh);
  await withPage(async (page) => {
    await pickFile(page, fx('big.tar'));
    await page.waitForFunction(() => !document.querySelector('#progress').hidden
      && /正在/.test(document.querySelector('#progress-phase')?.textContent || ''), null, { timeout: 60000 });
    leaks.push(...await englishLeaks(page, 'progress'));
    await waitVerified(page, 60000);
  }, zh);
  assert.deepEqual(leaks, []);
});

test('zh-CN: the parts other views add (Lesson tab, landing links) have no English UI text either', async () => {
  const leaks = [];
  await withPage(async (page) => {
    leaks.push(...await englishLeaks(page, 'landing', 'other'));
    await openSample(page);
    leaks.push(...await englishLeaks(page, 'header', 'other'));
    for (const id of await page.$$eval('#tabs [role=tab]', (tabs) => tabs.map((t) => t.id.replace(/^tab-/, '')))) {
      if (['overview', 'config', 'history', 'layers', 'files', 'diff'].includes(id)) continue;
      await openTab(page, id);
      await page.waitForTimeout(800);
      leaks.push(...await englishLeaks(page, id, 'other'));
    }
  }, zh);
  assert.deepEqual(leaks, []);
});

test('en and zh-CN: what every view says', async () => {
  const expect = {
    en: {
      overall: /all digests verified/, verdict: /Every digest matches/, ago: /^(\d+ (years|months|weeks|days|hours|minutes|seconds)|About an? \w+|Less than a second) ago$/,
      config: /Container configuration/, history: /no layer/, layers: /Wasted space/, viewer: /regular file/,
      status: /entries in \/, \d+ rows shown/, diff: /added/, tampered: /does not match its digests/, expected: /expected\s*sha256:[0-9a-f]{64}/,
      error: /not-an-archive\.txt could not be opened/, sizes: /^\d+(\.\d+)?(B|kB|MB)$/,
    },
    'zh-CN': {
      overall: /全部摘要校验通过/, verdict: /所有摘要都匹配/, ago: /^\d+\s*(年|个月|周|天|小时|分钟|秒钟?)前$/,
      config: /容器配置/, history: /没有生成层/, layers: /浪费的空间/, viewer: /普通文件/,
      status: /\/ 下有 \d+ 个条目，显示 \d+ 行/, diff: /新增/, tampered: /与它的摘要不匹配/, expected: /应为\s*sha256:[0-9a-f]{64}/,
      error: /无法打开 not-an-archive\.txt/, sizes: /^\d+(\.\d+)?(B|kB|MB)$/,
    },
  };
  for (const lang of LANGS) {
    const e = expect[lang];
    await withPage(async (page) => {
      await walkViews(page, lang, async (where) => {
        const view = () => page.textContent('#view');
        switch (where) {
          case 'overview':
            assert.match(await page.textContent('#overall-verdict'), e.overall);
            assert.match(await page.textContent('#verdict-panel'), e.verdict);
            // CREATED as docker words it; the absolute time in the tooltip.
            for (const cell of await page.$$eval('#images-table tbody tr td:nth-child(4)', (tds) => tds.map((td) => [td.textContent, td.title]))) {
              assert.match(cell[0], e.ago, `CREATED: ${cell[0]}`);
              assert.match(cell[1], /2024.*UTC/, `CREATED title: ${cell[1]}`);
            }
            for (const size of await page.$$eval('#images-table tbody tr td:nth-child(5)', (tds) => tds.map((td) => td.textContent))) {
              assert.match(size, e.sizes);
            }
            // docker's column headers stay as docker prints them.
            assert.match(await page.textContent('#images-table thead'), /REPOSITORY.*TAG.*IMAGE ID.*CREATED.*SIZE/);
            break;
          case 'config': assert.match(await view(), e.config); break;
          case 'history': assert.match(await view(), e.history); break;
          case 'layers': assert.match(await view(), e.layers); break;
          case 'files, text':
            assert.match(await page.textContent('#viewer'), e.viewer);
            assert.match(await page.textContent('.tree-status'), e.status);
            break;
          case 'diff': assert.match(await page.textContent('#diff-result'), e.diff); break;
          case 'tampered, overview':
            assert.match(await page.textContent('#verdict-panel'), e.tampered);
            assert.match(await page.textContent('#verdict-panel'), e.expected);
            break;
          case 'error, not an archive': assert.match(await page.textContent('[role=alert]'), e.error); break;
          default: break;
        }
        if (lang === 'zh-CN' && ['landing', 'overview', 'history', 'layers', 'files, text', 'diff', 'tampered, overview'].includes(where)) {
          await shot(page, `zh-CN-${where.replace(/[^a-z]+/g, '-')}`);
        }
      });
    }, { query: `?lang=${lang}` });
  }
});

test('zh-CN: the progress bar speaks Chinese, in docker\'s SI units', async () => {
  await withPage(async (page) => {
    await pickFile(page, fx('big.tar'));
    await page.waitForFunction(() => /正在校验/.test(document.querySelector('#progress-phase')?.textContent || '')
      && !document.querySelector('#progress').hidden, null, { timeout: 60000 });
    assert.match(await page.textContent('#progress-numbers'), /^\d+(\.\d+)?(B|kB|MB) \/ 168MB（\d+%）/);
    assert.equal(await page.getAttribute('#progress', 'aria-label'), '进度');
    assert.equal(await page.textContent('#cancel-button'), '取消');
    await shot(page, 'zh-CN-progress');
    await page.click('#cancel-button');
    await page.waitForFunction(() => document.body.dataset.stage === 'cancelled');
    assert.match(await page.textContent('#error'), /已取消校验/);
    assert.match(await page.textContent('#overall-verdict'), /未校验/);
  }, zh);
});

test('zh-CN: a damaged archive\'s verdicts, and the finding list', async () => {
  await withPage(async (page) => {
    await pickFile(page, fx('tampered.tar'));
    await waitVerified(page);
    assert.match(await page.textContent('#overall-verdict'), /\d+ 项校验未通过/);
    const panel = await page.textContent('#verdict-panel');
    assert.match(panel, /第 1 层/);
    assert.match(panel, /数据块摘要不匹配|diff_id（[^）]+）不匹配/);
    assert.match(panel, /实际\s*sha256:[0-9a-f]{64}/);
    assert.match(await page.textContent('#images-table'), /校验失败/);
    // The finding list: its summary and severities in Chinese; each finding worded from its
    // code (or, for a code the catalogs lack, the core's English marked lang="en"); where it
    // was found is archive data.
    assert.match(await page.textContent('#findings summary'), /关于这个归档的 \d+ 条发现/);
    assert.match(await page.textContent('#findings .sev'), /^(错误|警告|提示)$/);
    for (const item of await page.$$eval('#findings li', (lis) => lis.map((li) => ({
      english: [...li.childNodes].some((n) => n.nodeType === 3
        && (n.textContent.match(/[A-Za-z]{2,}/g) || []).some((w) => !['ID', 'tar'].includes(w))),
      location: li.querySelector('.muted [translate="no"]')?.textContent || '',
    })))) {
      assert.equal(item.english, false, 'no bare English in a finding');
      assert.match(item.location, /layer\.tar|\S/);
    }
    await page.click('#tab-layers');
    assert.match(await page.textContent('.layer-row[data-layer="1"]'), /摘要不匹配/);
    await shot(page, 'zh-CN-tampered-layers');
  }, zh);
});

// ---------- accessibility in both languages ----------

for (const lang of LANGS) {
  test(`accessibility (axe-core) in ${lang}: every view, the viewer, an error`, async () => {
    const found = [];
    await withPage(async (page) => {
      await walkViews(page, lang, async (where) => {
        // (axe is injected anew after a new archive replaced nothing: the page stays the same document)
        found.push(...await axeViolations(page, `${lang} ${where}`));
      });
    }, { query: `?lang=${lang}` });
    assert.deepEqual(found, []);
  });
}

// ---------- control, bidi and zero-width characters (issue 20, item 3) ----------

test('control, bidi and zero-width characters in archive text are drawn as visible tokens', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'strata-ctl-'));
  const file = writeDockerArchive(path.join(dir, 'ctl.tar'), {
    tag: 'fake\u202eevil:1',
    layers: [[
      { name: 'evil\u202etxt.exe', data: 'abc\u202edef\nsecond line\r\nthird\n' },
      { name: 'zero\u200bwidth', data: 'x' },
      { name: 'line1\nINJECTED', data: 'x' },
      { name: 'c1\u0085esc\u001b[31mred', data: 'x' },
      { name: 'isolate\u2066x\u2069', data: 'x' },
    ]],
    config: { Env: ['PATH=/usr/bin', 'HIDDEN=a\u200bb'], Labels: { 'note': 'one\ntwo' }, Cmd: ['/bin/sh'] },
    history: ['/bin/sh -c #(nop) ADD FAKE\u202eevil in /'],
  });
  // Any hidden character that reached the page's text as itself (not as a token).
  const rawHidden = (page) => page.evaluate(() => {
    const re = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/;
    const found = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (re.test(node.textContent)) found.push(JSON.stringify(node.textContent.slice(0, 60)));
      // Outside multi-line text, a newline is hidden too.
      else if (/[\r\n]/.test(node.textContent) && !node.parentElement.closest('pre') && node.textContent.trim()) {
        found.push(JSON.stringify(node.textContent.slice(0, 60)));
      }
    }
    for (const el of document.querySelectorAll('[title], [aria-label], option')) {
      for (const value of [el.getAttribute('title'), el.getAttribute('aria-label'), el.localName === 'option' ? el.textContent : null]) {
        if (value && re.test(value)) found.push(`attribute ${JSON.stringify(value.slice(0, 60))}`);
      }
    }
    return found;
  });
  await withPage(async (page) => {
    await pickFile(page, file);
    await waitVerified(page);
    // Tags: the images table and the overview.
    assert.match(await page.textContent('#images-table'), /fake⟨U\+202E⟩evil/);
    assert.ok(await page.locator('#images-table .ctl').count() >= 1);
    assert.match(await page.textContent('#view .tags'), /fake⟨U\+202E⟩evil:1/);
    assert.deepEqual(await rawHidden(page), [], 'overview');
    // History and the Dockerfile.
    await openTab(page, 'history');
    assert.match(await page.textContent('.history-table'), /FAKE⟨U\+202E⟩evil/);
    await page.click('.history .segmented .seg:nth-child(2)');
    await page.waitForFunction(() => /FAKE⟨U\+202E⟩evil/.test(document.querySelector('#dockerfile')?.textContent || ''));
    assert.deepEqual(await rawHidden(page), [], 'history');
    await page.click('.history .segmented .seg:nth-child(1)');
    // Config: env and labels.
    await openTab(page, 'config');
    const config = await page.textContent('#view');
    assert.match(config, /a⟨U\+200B⟩b/);
    assert.match(config, /one⟨U\+000A⟩two/);
    assert.deepEqual(await rawHidden(page), [], 'config');
    // Layers.
    await openTab(page, 'layers');
    assert.match(await page.textContent('.layer-stack'), /FAKE⟨U\+202E⟩evil/);
    // Files: the tree, the crumbs, the viewer.
    await openTab(page, 'files');
    const names = await page.$$eval('.tree .row .name', (nodes) => nodes.map((n) => n.textContent));
    for (const name of ['evil⟨U+202E⟩txt.exe', 'zero⟨U+200B⟩width', 'line1⟨U+000A⟩INJECTED', 'c1⟨U+0085⟩esc⟨U+001B⟩[31mred', 'isolate⟨U+2066⟩x⟨U+2069⟩']) {
      assert.ok(names.includes(name), `tree shows ${name}: ${names.join(' | ')}`);
    }
    assert.equal(await page.locator('.tree .row .name .ctl').first().getAttribute('translate'), 'no');
    await page.click('.tree .row[data-path="/evil\u202etxt.exe"]');
    await page.waitForSelector('#viewer pre.text');
    assert.match(await page.textContent('#viewer h3'), /evil⟨U\+202E⟩txt\.exe/);
    // File content: the bidi override is a token; its lines stay lines (and CRLF stays a line end).
    assert.equal(await page.textContent('#viewer pre.text'), 'abc⟨U+202E⟩def\nsecond line\r\nthird\n');
    assert.deepEqual(await rawHidden(page), [], 'files');
    // (A newline cannot be written in a CSS attribute selector: the row is found by its data.)
    await page.evaluate(() => [...document.querySelectorAll('.tree .row')].find((r) => r.dataset.path === '/line1\nINJECTED').click());
    await page.waitForFunction(() => /line1⟨U\+000A⟩INJECTED/.test(document.querySelector('#viewer h3')?.textContent || ''));
    // Diff against the sample: these names are the ones it removes.
    await openTab(page, 'diff');
    await page.setInputFiles('#diff-file', fx('sample.tar'));
    await page.waitForFunction(() => /⟨U\+202E⟩/.test(document.querySelector('#diff-result .diff-files')?.textContent || ''), null, { timeout: 20000 });
    const diff = await page.textContent('#diff-result');
    assert.match(diff, /\/evil⟨U\+202E⟩txt\.exe/);
    assert.match(diff, /FAKE⟨U\+202E⟩evil/);
    assert.deepEqual(await rawHidden(page), [], 'diff');
    await shot(page, 'control-characters');
  });
});

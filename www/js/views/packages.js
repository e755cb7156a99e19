// The Packages tab: every installed package of the image (what `strata packages --json`
// lists: dpkg, apk, rpm, Python, npm, Go, Maven), with the layer that installed its current
// version, searchable, filterable by type and sortable; the package readers' findings; and
// "Download SBOM" in SPDX 2.3 and CycloneDX 1.6 JSON (the documents `strata sbom` writes).
// Names, versions and licenses are archive data: drawn as text (`h`), never translated.
import { h, clear, shortId, errorReason, keepState, showMore, LIST_STEP } from '../util.js';
import { t, tNode, tCount, tCodeNode, lang } from '../i18n.js';
import { saveStream, SMALL } from '../download.js';

/** The purl types the core reports, in the order the filter offers them. */
const TYPES = ['deb', 'apk', 'rpm', 'pypi', 'npm', 'golang', 'maven'];

/** The table's columns: [id, catalog key, how a package sorts by it]. */
const COLUMNS = [
  // By type in the core's order (OS packages first), which is also the table's first order.
  ['type', 'packages.col.type', (p) => (TYPES.includes(p.type) ? TYPES.indexOf(p.type) : TYPES.length)],
  ['name', 'packages.col.name', (p) => p.name],
  ['version', 'packages.col.version', (p) => p.version],
  ['arch', 'packages.col.arch', (p) => p.arch || ''],
  ['layer', 'packages.col.layer', (p) => p.layer],
  ['licenses', 'packages.col.licenses', (p) => (p.licenses || []).join(', ')],
];

// One scan per image of the open archive, shared by this tab and the Layers view (the
// worker keeps it too; this saves the round trip and the copy). Keyed by the open archive
// (`state.browse`, replaced when another archive opens), then by image index.
const scans = new WeakMap();

/** The packages of the image in `ctx`: {promise, value} (value once it is in). A failed
 * scan is forgotten, so the next call tries again (the layers may be indexed by then). */
export function loadPackages(ctx) {
  const browse = ctx.state.browse;
  let perImage = scans.get(browse);
  if (!perImage) {
    perImage = new Map();
    if (browse) scans.set(browse, perImage);
  }
  let entry = perImage.get(ctx.index);
  if (!entry) {
    entry = { promise: null, value: null };
    entry.promise = ctx.core('packages', { image: ctx.index }).then((value) => {
      entry.value = value;
      return value;
    }, (error) => {
      perImage.delete(ctx.index);
      throw error;
    });
    perImage.set(ctx.index, entry);
  }
  return entry;
}

// The panel per image of the open archive: its search, filter and sort survive visits to
// other tabs and the redraws verdicts cause.
const panels = new WeakMap();

/** The Packages panel of the image in `ctx`: {element, show(ctx)}. */
export function packagesView(ctx) {
  const browse = ctx.state.browse || {};
  let perImage = panels.get(browse);
  if (!perImage) {
    perImage = new Map();
    panels.set(browse, perImage);
  }
  let panel = perImage.get(ctx.index);
  if (!panel) {
    panel = new PackagesPanel();
    perImage.set(ctx.index, panel);
  }
  return panel;
}

class PackagesPanel {
  constructor() {
    this.element = h('div', { class: 'packages', id: 'packages' });
    this.found = null;
    this.error = null;
    this.loading = false;
    this.drawnLang = null;
    this.query = '';
    this.type = '';
    this.sort = { column: 'type', descending: false };
    this.limit = LIST_STEP;
    this.results = null;
  }

  /** Draw what is known; start the scan when the layers are browsable. */
  show(ctx) {
    this.ctx = ctx;
    if (this.found) {
      if (this.drawnLang !== lang()) this.draw();
      return;
    }
    if (this.loading) return;
    // A failed scan (a compressed layer not read yet) is tried again when the page knows
    // more (its stage changed), not on every redraw verdicts cause.
    if (this.error && this.failedAt === ctx.state.stage) return;
    if (ctx.state.stage === 'opening') {
      // The scan needs every layer's file list: it starts when the tree is browsable
      // (the page redraws this view then).
      this.message(t('packages.waiting'), 'muted');
      this.drawnLang = null;
      return;
    }
    this.load();
  }

  async load() {
    const ctx = this.ctx;
    const started = performance.now();
    this.loading = true;
    this.error = null;
    this.message(t('packages.loading'), 'muted loading');
    let answered = started;
    try {
      this.found = await loadPackages(ctx).promise;
      answered = performance.now();
    } catch (error) {
      this.error = error;
    } finally {
      this.loading = false;
    }
    if (this.error) {
      this.failedAt = ctx.state.stage;
      clear(this.element).append(h('p', { class: 'inline-error', role: 'status' }, tNode('packages.failed', { reason: errorReason(this.error) })));
      this.drawnLang = lang();
      return;
    }
    this.draw();
    // For the benchmark: from the request to the worker's answer (the scan), and to the
    // table on screen.
    const timings = ctx.state.timings;
    if (timings) {
      timings.packagesAnswer = answered - started;
      timings.packages = performance.now() - started;
    }
  }

  message(text, cls) {
    clear(this.element).append(h('p', { class: cls, role: 'status' }, text));
  }

  /** The whole panel: OS line, findings, toolbar, results. */
  draw() {
    const found = this.found;
    const all = found.packages || [];
    this.drawnLang = lang();
    const parts = [];
    const os = found.os;
    if (os && (os.pretty_name || os.id)) {
      const name = h('span', { translate: 'no', class: 'os-name' }, os.pretty_name || os.id);
      parts.push(h('p', { class: 'packages-os' }, os.point_release
        ? tNode('packages.os_point', { name, point: os.point_release })
        : tNode('packages.os', { name })));
    }
    if (!all.length) {
      parts.push(h('p', { class: 'empty', id: 'packages-empty' }, t(found.findings?.length ? 'packages.none_read' : 'packages.empty')));
    } else {
      parts.push(h('p', { class: 'muted' }, tCount('packages.summary', all.length)));
      parts.push(this.toolbar(all));
    }
    if (found.findings?.length) parts.push(findingsList(found.findings));
    if (all.length) {
      this.results = h('div', { class: 'packages-results' });
      parts.push(this.results);
    }
    keepState(this.element, () => {
      clear(this.element).append(...parts);
      if (all.length) this.drawResults();
    });
  }

  toolbar(all) {
    const counts = new Map(TYPES.map((type) => [type, 0]));
    for (const p of all) counts.set(p.type, (counts.get(p.type) || 0) + 1);
    const search = h('input', {
      type: 'search', id: 'packages-search', value: this.query, placeholder: t('packages.search_placeholder'), autocomplete: 'off', spellcheck: 'false',
    });
    search.value = this.query;
    search.addEventListener('input', () => {
      this.query = search.value;
      this.limit = LIST_STEP;
      this.drawResults();
    });
    const select = h('select', { id: 'packages-type' },
      h('option', { value: '' }, t('packages.type_all', { n: all.length })),
      [...counts].map(([type, n]) => h('option', { value: type, translate: 'no', selected: type === this.type ? true : undefined }, `${type} (${n})`)));
    select.value = this.type;
    select.addEventListener('change', () => {
      this.type = select.value;
      this.limit = LIST_STEP;
      this.drawResults();
    });
    const sbomButton = (format, key, suffix) => h('button', {
      type: 'button', class: 'small secondary', dataset: { sbom: format },
      onclick: (event) => this.downloadSbom(format, suffix, event.currentTarget),
    }, tNode(key));
    return h('div', { class: 'toolbar packages-toolbar' },
      h('label', { for: 'packages-search' }, t('packages.search')), search,
      h('label', { for: 'packages-type' }, t('packages.type_filter')), select,
      h('span', { class: 'sbom-buttons', role: 'group', 'aria-labelledby': 'sbom-label' },
        h('span', { id: 'sbom-label', class: 'muted' }, tNode('packages.sbom')),
        sbomButton('spdx-json', 'packages.sbom_spdx', 'spdx.json'),
        sbomButton('cyclonedx-json', 'packages.sbom_cyclonedx', 'cdx.json')));
  }

  /** The packages the search and the type filter let through, in the chosen order. */
  shown() {
    const query = this.query.trim().toLowerCase();
    const column = COLUMNS.find(([id]) => id === this.sort.column) || COLUMNS[0];
    const key = column[2];
    const rows = (this.found.packages || []).filter((p) => (!this.type || p.type === this.type)
      && (!query || p.name.toLowerCase().includes(query) || p.version.toLowerCase().includes(query)));
    // A stable sort: ties keep the core's order (type, name, arch, version).
    const order = rows.map((p, i) => [p, i]);
    const sign = this.sort.descending ? -1 : 1;
    order.sort(([a, i], [b, j]) => {
      const x = key(a);
      const y = key(b);
      const c = typeof x === 'number' ? x - y : x < y ? -1 : x > y ? 1 : 0;
      return c ? sign * c : i - j;
    });
    return order.map(([p]) => p);
  }

  /** The count, the table and "show more": redrawn alone when the search, the filter or
   * the order changes (the search box keeps its focus and caret). */
  drawResults() {
    const box = this.results;
    if (!box) return;
    const rows = this.shown();
    const total = (this.found.packages || []).length;
    keepState(box, () => {
      clear(box);
      box.append(h('p', { class: 'muted', id: 'packages-count', role: 'status' },
        rows.length === total ? t('packages.shown_all', { n: total }) : t('packages.shown', { shown: rows.length, total })));
      if (!rows.length) {
        box.append(h('p', { class: 'empty' }, t('packages.no_match')));
        return;
      }
      const limit = Math.min(this.limit, rows.length);
      box.append(h('div', { class: 'table-wrap' }, h('table', { class: 'data packages-table', id: 'packages-table', 'aria-label': t('packages.table_label') },
        h('thead', null, h('tr', null, COLUMNS.map(([id, label]) => this.header(id, label)))),
        h('tbody', null, rows.slice(0, limit).map((p) => this.row(p))))));
      const more = showMore(limit, rows.length, () => {
        this.limit += LIST_STEP;
        this.drawResults();
      }, tCount);
      if (more) box.append(more);
    });
  }

  /** A column header: a button that sorts by it (again: the other way), `aria-sort` on the
   * sorted one. */
  header(id, label) {
    const sorted = this.sort.column === id;
    const direction = sorted ? (this.sort.descending ? 'descending' : 'ascending') : undefined;
    return h('th', { scope: 'col', 'aria-sort': direction, dataset: { column: id } },
      h('button', {
        type: 'button', class: 'sort', id: `packages-sort-${id}`,
        onclick: () => {
          this.sort = { column: id, descending: sorted ? !this.sort.descending : false };
          this.drawResults();
        },
      }, t(label), h('span', { class: 'sort-mark', 'aria-hidden': 'true' }, sorted ? (this.sort.descending ? ' ▼' : ' ▲') : '')));
  }

  row(p) {
    const { image, navigate } = this.ctx;
    const createdBy = historyLine(image, p.layer);
    const step = new URLSearchParams({ image: shortId(image.id), tab: 'lesson', step: String(p.layer) });
    return h('tr', { dataset: { type: p.type, layer: String(p.layer) } },
      h('td', { class: 'mono', translate: 'no' }, p.type),
      h('td', { class: 'mono wrap pkg-name', translate: 'no', title: p.purl }, p.name),
      h('td', { class: 'mono wrap pkg-version', translate: 'no' }, p.version),
      h('td', { class: 'mono', translate: 'no' }, p.arch || ''),
      h('td', { class: 'pkg-layer' },
        h('button', {
          type: 'button', class: 'link layer-link', title: createdBy || undefined,
          onclick: () => navigate({ tab: 'layers', layerFocus: p.layer }),
        }, t('packages.layer', { layer: p.layer })),
        ' ',
        h('a', { href: `#${step}`, class: 'step-link', title: t('packages.step_title', { layer: p.layer }) }, t('packages.step', { layer: p.layer }))),
      h('td', { class: 'wrap', translate: 'no' }, (p.licenses || []).join(', ')));
  }

  async downloadSbom(format, suffix, button) {
    const old = [...button.childNodes];
    button.textContent = t('action.preparing');
    button.disabled = true;
    button.parentElement.querySelector('.inline-error')?.remove();
    try {
      const text = await this.ctx.core('sbom', { image: this.ctx.index, format });
      const bytes = new TextEncoder().encode(text);
      let given = false;
      const source = {
        async next() {
          if (given) return null;
          given = true;
          return bytes;
        },
        cancel() { given = true; },
      };
      // The document is in memory already: the in-memory path (a Blob) costs nothing more,
      // and a streaming sink's save dialog would need the click's activation, gone by now.
      await saveStream({ name: `${sbomBaseName(this.ctx.image)}.${suffix}`, type: 'application/json', sizeHint: Math.min(bytes.length, SMALL), size: bytes.length, source });
    } catch (error) {
      button.parentElement.append(h('span', { class: 'inline-error' }, ' ', tNode('packages.sbom_failed', { reason: errorReason(error) })));
    } finally {
      button.replaceChildren(...old);
      button.disabled = false;
    }
  }
}

/** The history line of an image's layer (for a tooltip), or ''. */
function historyLine(image, k) {
  const layer = image.layers[k];
  const entry = layer && layer.history !== null && layer.history !== undefined ? image.history[layer.history] : null;
  return entry?.created_by || '';
}

/** `debian:12` → `debian_12`; an image without a tag is named by its short ID. */
function sbomBaseName(image) {
  const name = (image.repo_tags && image.repo_tags[0]) || shortId(image.id);
  return name.split('/').pop().replace(/[^\w.\-+@]+/g, '_').slice(0, 120) || 'image';
}

/** What the package readers could not read: the layer, the file, and what is wrong (a code
 * the catalogs word; a reader's own description of damage stays as it said it). */
function findingsList(findings) {
  return h('section', { class: 'card packages-findings' },
    h('h3', null, tCount('packages.findings', findings.length)),
    h('ul', null, findings.map((f) => h('li', null, tNode('packages.finding', {
      layer: f.layer, path: f.path, message: tCodeNode(f),
    })))));
}

/** One layer's package changes for the Layers view: counts in a <details> summary, the
 * changed packages inside (long lists drawn in steps). */
export function layerPackageChanges(change, layerIndex) {
  const items = [
    ...(change.upgraded || []).map((u) => ['upgraded', u, () => tNode('layers.packages.upgraded', { name: u.name, from: u.from, to: u.to })]),
    ...(change.added || []).map((a) => ['added', a, () => tNode('layers.packages.added', { name: a.name, version: a.version })]),
    ...(change.removed || []).map((r) => ['removed', r, () => tNode('layers.packages.removed', { name: r.name, version: r.version })]),
  ];
  const list = h('ul', { class: 'pkg-change-list' });
  let limit = LIST_STEP;
  const fill = () => {
    clear(list);
    for (const [how, p, words] of items.slice(0, limit)) {
      const dataset = { how, type: p.type, name: p.name, version: p.version ?? p.to };
      if (p.from !== undefined) dataset.from = p.from;
      list.append(h('li', { class: `pkg-${how}`, dataset }, words()));
    }
    const more = showMore(Math.min(limit, items.length), items.length, () => {
      limit += LIST_STEP;
      fill();
    }, tCount);
    if (more) list.append(h('li', { class: 'more' }, more));
  };
  fill();
  return h('details', { class: 'pkg-changes', id: `layer-packages-${layerIndex}` },
    h('summary', null, tNode('layers.packages.summary', {
      added: (change.added || []).length, removed: (change.removed || []).length, upgraded: (change.upgraded || []).length,
    })),
    list);
}

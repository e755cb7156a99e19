// Files: the merged filesystem of an image, or one layer alone, as an ARIA tree.
// Directories load lazily (one list_dir call each) and only the rows in view exist in
// the DOM, so a directory with 100k entries scrolls as smoothly as one with ten.
import { h, clear, download, shortId, visibleString, errorReason } from '../util.js';
import { saveStream, exportSource } from '../download.js';
import { t, tNode, tCount, formatSize, formatNumber } from '../i18n.js';
import { FileViewer, shadowText, coverText } from './viewer.js';

const ROW_HEIGHT = 30;
const OVERSCAN = 12;
/** Keys typed within this many ms make one type-ahead word. */
const TYPEAHEAD_MS = 700;
/** Symlinks followed while resolving one path (as the core: Linux's MAXSYMLINKS). */
const MAX_SYMLINKS = 40;
/** A change of the source picker within this many ms of a key press came from the keyboard. */
const SOURCE_KEY_MS = 150;
/** How long a burst of arrow keys on the source picker must pause before the view follows. */
const SOURCE_SETTLE_MS = 600;
let treeCounter = 0;

export class FilesView {
  constructor({ image, layer, report, core, navigate, onPath, onlyChanges = true, onOnlyChanges }) {
    this.imageIndex = image;
    this.layer = layer;
    // A layer's view: only what it changed, or (off) the whole tree as of that layer. The
    // page keeps the choice in its URL (`onOnlyChanges`), so links and Back restore it.
    this.onlyChanges = onlyChanges;
    this.onOnlyChanges = onOnlyChanges;
    this.report = report;
    this.core = core;
    this.navigate = navigate;
    this.onPath = onPath;
    this.sort = 'name';
    this.filter = '';
    this.filterResults = null;
    this.root = { path: '/', name: '/', depth: -1, expanded: true, children: null, entry: { kind: 'dir' }, parent: null };
    this.rows = [];
    this.active = 0;
    this.typeahead = { text: '', time: 0 };
    this.id = `tree${++treeCounter}`;
    this.currentPath = null;
    this.build();
    this.load(this.root).then(() => this.relayout());
  }

  get image() {
    return this.report().images[this.imageIndex];
  }

  // ---------- DOM ----------

  build() {
    const image = this.image;
    const source = h('select', { id: `${this.id}-source`, class: 'files-source' },
      h('option', { value: 'merged' }),
      [...image.layers].map((l) => h('option', { value: String(l.index), disabled: l.blob === null || l.blob === undefined ? true : undefined })));
    this.source = source;
    source.value = this.sourceValue();
    // A native select changes on every arrow key while it is closed: the view (and the
    // page's history) follow once a burst of keys has settled, or at once on Enter, a
    // pick with the pointer, or when focus leaves the select.
    source.addEventListener('keydown', (event) => {
      this.sourceKeyAt = performance.now();
      if (event.key === 'Enter' && this.sourceTimer) {
        event.preventDefault();
        this.switchSource();
      }
    });
    source.addEventListener('change', () => {
      clearTimeout(this.sourceTimer);
      this.sourceTimer = null;
      if (performance.now() - (this.sourceKeyAt || 0) < SOURCE_KEY_MS) {
        this.sourceTimer = setTimeout(() => this.switchSource(), SOURCE_SETTLE_MS);
      } else {
        this.switchSource();
      }
    });
    source.addEventListener('blur', () => { if (this.sourceTimer) this.switchSource(false); });
    this.onlyChangesBox = h('input', { type: 'checkbox', id: `${this.id}-only-changes`, class: 'files-only-changes', checked: this.onlyChanges ? true : undefined });
    this.onlyChangesBox.addEventListener('change', () => {
      const on = this.onlyChangesBox.checked;
      this.setOnlyChanges(on);
      if (this.onOnlyChanges) this.onOnlyChanges(on);
    });
    this.onlyChangesText = h('span');
    const onlyChanges = h('label', { class: 'files-switch', for: `${this.id}-only-changes` }, this.onlyChangesBox, ' ', this.onlyChangesText);
    if (this.layer === null || this.layer === undefined) onlyChanges.hidden = true;
    this.filterInput = h('input', { type: 'search', id: `${this.id}-filter`, autocomplete: 'off', spellcheck: 'false', translate: 'no' });
    let filterTimer = 0;
    this.filterInput.addEventListener('input', () => {
      clearTimeout(filterTimer);
      filterTimer = setTimeout(() => this.applyFilter(this.filterInput.value.trim()), 250);
    });
    const sort = h('select', { id: `${this.id}-sort` }, h('option', { value: 'name' }), h('option', { value: 'size' }));
    this.sortSelect = sort;
    sort.addEventListener('change', () => { this.sort = sort.value; this.resort(); });
    const exportButton = h('button', { type: 'button', class: 'secondary small', id: 'export-rootfs' });
    this.exportButton = exportButton;
    exportButton.addEventListener('click', () => this.exportTar(exportButton));

    this.scroller = h('div', { class: 'tree', role: 'tree', tabindex: '0', id: this.id });
    this.spacer = h('div', { class: 'tree-spacer' });
    this.scroller.append(this.spacer);
    // The pane's height and scroll offset are kept here, not read back from the DOM: reading
    // them forces a layout of the whole page, which costs tens of ms while workers hash.
    this.paneHeight = 0;
    this.top = 0;
    this.scroller.addEventListener('scroll', () => {
      this.top = this.scroller.scrollTop;
      this.scheduleRender();
    });
    this.scroller.addEventListener('keydown', (event) => this.onKey(event));
    this.scroller.addEventListener('click', (event) => this.onClick(event));
    this.status = h('div', { class: 'tree-status muted', 'aria-live': 'polite' });
    this.crumbs = h('nav', { class: 'crumbs', translate: 'no' });
    this.viewer = new FileViewer({
      core: this.core, image: this.imageIndex, layer: this.layer, report: this.report,
      reveal: (path) => this.revealAndFocus(path),
      resolve: (path, followLast) => this.resolve(path, followLast),
    });
    this.legend = h('div', { class: 'legend muted' });
    this.element = h('div', { class: 'files' },
      h('div', { class: 'toolbar' }, source, onlyChanges, this.filterInput, sort, exportButton),
      h('div', { class: 'files-split' },
        h('div', { class: 'tree-pane' }, this.crumbs, this.scroller, this.status, this.legend),
        this.viewer.element));
    new ResizeObserver(() => this.scheduleRender()).observe(this.scroller);
    this.labels();
  }

  /** Every word of the toolbar, the tree's names and the legend, in the page's language
   * (again after a language switch). */
  labels() {
    const image = this.image;
    const merged = this.layer === null || this.layer === undefined;
    this.source.setAttribute('aria-label', t('files.source_label'));
    const options = this.source.options;
    options[0].textContent = t('files.merged');
    image.layers.forEach((l, i) => {
      options[i + 1].textContent = t('files.layer_option', { layer: l.index, label: layerLabel(image, l) });
    });
    this.onlyChangesText.textContent = t('files.only_changes');
    this.filterInput.placeholder = t('files.filter_placeholder');
    this.filterInput.setAttribute('aria-label', t('files.filter_label'));
    this.sortSelect.setAttribute('aria-label', t('files.sort_label'));
    this.sortSelect.options[0].textContent = t('files.sort_name');
    this.sortSelect.options[1].textContent = t('files.sort_size');
    if (!this.exportButton.disabled) this.exportButton.replaceChildren(tNode(merged ? 'files.export_rootfs' : 'files.export_layer'));
    this.scroller.setAttribute('aria-label', merged ? t('files.tree_merged') : t('files.tree_layer', { layer: this.layer }));
    this.crumbs.setAttribute('aria-label', t('files.crumbs_label'));
    this.legend.replaceChildren(
      h('span', { class: 'chg added' }, 'A'), ' ', t('change.added'), '  ', h('span', { class: 'chg modified' }, 'M'), ' ', t('change.modified'), '  ',
      h('span', { class: 'chg deleted' }, 'D'), ' ', t('change.deleted'), '  ',
      h('span', { class: 'shadowed-sample' }, t('files.legend_struck')), ' ', t('files.legend_hidden'));
  }

  /** The language changed: the same tree, rows and file, in the new words. */
  retranslate() {
    this.labels();
    if (this.filterResults || !this.root.error) this.updateStatus();
    else this.status.replaceChildren(tNode('files.list_failed', { reason: errorReason(this.root.error) }));
    this.renderedKey = null;
    this.renderRows();
    this.viewer.retranslate();
  }

  // ---------- data ----------

  async load(node) {
    if (node.children && node.children !== 'loading') return;
    if (node.loading) return node.loading;
    const early = this.prefetchedDirs && this.prefetchedDirs.get(node.path);
    node.loading = (async () => {
      try {
        const listing = await (early || this.core('listDir', this.listArgs(node.path)));
        // A merged listing names the rows that cover a lower layer's copy (and that copy).
        const covers = new Map((listing.covers || []).map((c) => [c.name, c]));
        node.children = listing.entries.map((entry) => {
          if (covers.has(entry.name)) entry.covers = covers.get(entry.name);
          return this.makeNode(entry, node);
        });
        this.sortChildren(node);
      } catch (error) {
        node.children = [];
        node.error = error;
        if (node === this.root) {
          this.failed = true;
          this.status.replaceChildren(tNode('files.list_failed', { reason: errorReason(error) }));
        }
      } finally {
        node.loading = null;
      }
    })();
    return node.loading;
  }

  /** What the worker is asked for one directory: a layer's listing holds only what the
   * layer changed (and the folders on the way), unless "only changes" is off: then every
   * path as of that layer, its changes marked (dive's layer view). */
  listArgs(path) {
    return { image: this.imageIndex, layer: this.layer, path, whole: this.onlyChanges ? undefined : true };
  }

  /** "Only changes" switched (by the box, or by the page restoring its URL): the same
   * layer listed again, the current path kept. */
  async setOnlyChanges(on) {
    if (on === this.onlyChanges) return;
    this.onlyChanges = on;
    this.onlyChangesBox.checked = on;
    this.root = { path: '/', name: '/', depth: -1, expanded: true, children: null, entry: { kind: 'dir' }, parent: null };
    this.filterResults = null;
    this.filterInput.value = '';
    this.filter = '';
    this.active = 0;
    this.relayout();
    const path = this.currentPath;
    this.currentPath = null;
    await this.load(this.root);
    this.relayout();
    if (path && path !== '/') await this.reveal(path, false, 'replace');
    // Nothing opened: the viewer's words for / say which tree this is now.
    else this.viewer.showRoot(this.image, this.layer, !this.onlyChanges);
  }

  makeNode(entry, parent) {
    const path = parent.path === '/' ? `/${entry.name}` : `${parent.path}/${entry.name}`;
    return { entry, name: entry.name, path, depth: parent.depth + 1, parent, expanded: false, children: null };
  }

  sortChildren(node) {
    if (!Array.isArray(node.children)) return;
    const bySize = this.sort === 'size';
    node.children.sort((a, b) => {
      if (bySize) {
        const d = sizeOf(b.entry) - sizeOf(a.entry);
        if (d) return d;
      } else {
        const ad = a.entry.kind === 'dir' ? 0 : 1;
        const bd = b.entry.kind === 'dir' ? 0 : 1;
        if (ad !== bd) return ad - bd;
      }
      return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
    });
  }

  resort() {
    const walk = (node) => {
      this.sortChildren(node);
      if (Array.isArray(node.children)) for (const c of node.children) if (c.expanded) walk(c);
    };
    walk(this.root);
    const current = this.rows[this.active];
    this.relayout();
    if (current) this.setActive(Math.max(0, this.rows.indexOf(current)));
  }

  // Flatten the expanded part of the tree into rows (only what is expanded is walked).
  relayout() {
    if (this.filterResults) {
      this.rows = this.filterResults;
    } else {
      const rows = [];
      const walk = (node) => {
        if (!Array.isArray(node.children)) return;
        for (const child of node.children) {
          rows.push(child);
          if (child.expanded) walk(child);
        }
      };
      walk(this.root);
      this.rows = rows;
    }
    this.active = Math.min(this.active, Math.max(0, this.rows.length - 1));
    this.version = (this.version || 0) + 1;
    this.spacer.style.height = `${this.rows.length * ROW_HEIGHT}px`;
    // A short listing gets a short pane; a long one scrolls inside at most 70 % of the window.
    if (!this.remPx) this.remPx = parseFloat(getComputedStyle(document.documentElement).fontSize || '16') || 16;
    const max = Math.min(window.innerHeight * 0.7, 42 * this.remPx);
    this.paneHeight = Math.max(8 * 16, Math.min(max, (this.rows.length + 1) * ROW_HEIGHT));
    this.scroller.style.height = `${this.paneHeight}px`;
    this.scrollTo(Math.min(this.top, Math.max(0, this.rows.length * ROW_HEIGHT - this.paneHeight)));
    this.updateStatus();
    this.renderRows();
  }

  updateStatus() {
    if (this.filterResults) {
      const found = tCount('files.matching', this.filterResults.length);
      this.status.textContent = this.filterCapped ? t('files.matching_capped', { found }) : found;
      return;
    }
    if (this.root.loading || this.root.children === null) this.status.textContent = t('files.loading');
    else if (!this.root.error) {
      const top = this.root.children.length;
      this.status.textContent = t('files.status', { entries: tCount('files.entries', top), rows: tCount('files.rows', this.rows.length) });
    }
  }

  async applyFilter(pattern) {
    this.filter = pattern;
    if (!pattern) {
      this.filterResults = null;
      this.relayout();
      return;
    }
    this.status.textContent = t('files.searching');
    try {
      const limit = 5000;
      // What the tree shows is searched: with "only changes" off, a layer's whole tree.
      const found = await this.core('find', { image: this.imageIndex, layer: this.layer, pattern, limit, whole: this.onlyChanges ? undefined : true });
      if (this.filter !== pattern) return; // a newer filter is running
      this.filterCapped = found.truncated;
      this.filterResults = found.entries.map((entry) => {
        const path = entry.path.startsWith('/') ? entry.path : `/${entry.path}`;
        return { entry, name: entry.name, path, depth: 0, parent: null, expanded: false, children: null, flat: true };
      });
      this.active = 0;
      this.scrollTo(0);
      this.relayout();
    } catch (error) {
      this.status.replaceChildren(tNode('files.filter_failed', { reason: errorReason(error) }));
    }
  }

  // ---------- rendering ----------

  scheduleRender() {
    if (this.renderQueued) return;
    this.renderQueued = true;
    requestAnimationFrame(() => {
      this.renderQueued = false;
      this.renderRows();
    });
  }

  /** The visible height of the tree pane (as set by relayout). */
  viewHeight() {
    return this.paneHeight || 600;
  }

  scrollTo(top) {
    const to = Math.max(0, top);
    if (to === this.top) return;
    this.top = to;
    this.scroller.scrollTop = to;
  }

  renderRows() {
    const height = this.viewHeight();
    const first = Math.max(0, Math.floor(this.top / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(this.rows.length, Math.ceil((this.top + height) / ROW_HEIGHT) + OVERSCAN);
    // Same rows on screen: only move the highlight. Replacing the row elements under the
    // pointer between mousedown and mouseup would swallow the click.
    const key = `${first}:${last}:${this.version}:${this.currentPath}`;
    if (key === this.renderedKey) {
      for (const row of this.spacer.querySelectorAll('.row')) {
        const on = Number(row.dataset.index) === this.active;
        row.classList.toggle('active', on);
        row.setAttribute('aria-selected', on ? 'true' : 'false');
      }
      if (this.rows.length) this.scroller.setAttribute('aria-activedescendant', `${this.id}-r${this.active}`);
      return;
    }
    this.renderedKey = key;
    const fragment = document.createDocumentFragment();
    for (let i = first; i < last; i++) fragment.append(this.renderRow(this.rows[i], i));
    clear(this.spacer).append(fragment);
    if (this.rows.length === 0 && !this.root.loading && this.root.children !== null) {
      this.spacer.append(h('div', { class: 'tree-empty muted' }, this.filterResults ? t('files.no_match') : this.root.error ? t('files.not_listed') : t('files.empty')));
    }
    if (this.rows.length) this.scroller.setAttribute('aria-activedescendant', `${this.id}-r${this.active}`);
    else this.scroller.removeAttribute('aria-activedescendant');
  }

  renderRow(node, index) {
    const e = node.entry;
    const isDir = e.kind === 'dir';
    const siblings = node.parent && Array.isArray(node.parent.children) ? node.parent.children : this.rows;
    const shadow = shadowText(e.shadow);
    const classes = ['row'];
    if (index === this.active) classes.push('active');
    if (shadow) classes.push('shadowed');
    if (e.change === 'deleted') classes.push('deleted');
    if (node.path === this.currentPath) classes.push('current');
    const row = h('div', {
      class: classes.join(' '), role: 'treeitem', id: `${this.id}-r${index}`,
      'aria-level': String(node.depth + 1), 'aria-setsize': String(siblings.length),
      'aria-posinset': String(siblings.indexOf(node) + 1),
      'aria-selected': index === this.active ? 'true' : 'false',
      'aria-expanded': isDir && !node.flat ? (node.expanded ? 'true' : 'false') : undefined,
      dataset: { index: String(index), path: node.path },
    });
    row.style.transform = `translateY(${index * ROW_HEIGHT}px)`;
    const indent = h('span', { class: 'indent' });
    indent.style.width = `${node.depth * 18}px`;
    const twisty = h('span', { class: 'twisty', 'aria-hidden': 'true' }, isDir && !node.flat ? (node.loading ? '…' : node.expanded ? '▾' : '▸') : '');
    const name = h('span', { class: 'name', title: node.path, translate: 'no' }, node.flat ? node.path : node.name);
    const parts = [indent, twisty, h('span', { class: `icon k-${e.kind}`, 'aria-hidden': 'true' }, iconFor(e)), name];
    if (e.link) parts.push(h('span', { class: 'link-target', translate: 'no' }, e.kind === 'hardlink' ? ` ⇒ /${e.link}` : ` → ${e.link}`));
    const meta = h('span', { class: 'meta' });
    if (shadow) meta.append(h('span', { class: 'shadow-note' }, shadow));
    if (e.covers) meta.append(h('span', { class: 'covers-note' }, coverText(e.covers)));
    if (e.change) meta.append(h('span', { class: `chg ${e.change}`, title: t(`change.${e.change}`) }, e.change[0].toUpperCase()));
    if (e.layer !== null && e.layer !== undefined && (this.layer === null || this.layer === undefined)) {
      meta.append(h('span', { class: 'writer', title: t('files.written_by', { layer: e.layer }) }, `L${e.layer}`));
    }
    meta.append(h('span', { class: 'size' }, isDir ? formatSize(e.cumulative_size ?? 0) : e.kind === 'file' || e.kind === 'hardlink' ? formatSize(e.size) : ''));
    parts.push(meta);
    row.append(...parts);
    return row;
  }

  // ---------- interaction ----------

  onClick(event) {
    const row = event.target.closest('.row');
    if (!row) return;
    const index = Number(row.dataset.index);
    const node = this.rows[index];
    this.setActive(index);
    this.scroller.focus({ preventScroll: true });
    if (event.target.closest('.twisty')) this.toggle(node);
    else this.open(node);
  }

  async toggle(node, expand = !node.expanded) {
    if (node.entry.kind !== 'dir' || node.flat) return;
    if (expand) {
      node.expanded = true;
      if (!Array.isArray(node.children)) {
        const loading = this.load(node);
        this.relayout();
        await loading;
      }
    } else {
      node.expanded = false;
    }
    const keep = this.rows[this.active];
    this.relayout();
    const at = this.rows.indexOf(keep);
    if (at >= 0) this.active = at;
    this.renderRows();
  }

  open(node, how = 'push') {
    if (!node) return;
    this.currentPath = node.path;
    this.onPath(node.path, how);
    this.renderCrumbs(node.path);
    this.viewer.show(node);
    if (node.entry.kind === 'dir' && !node.flat && !node.expanded) this.toggle(node, true);
    else this.renderRows();
  }

  setActive(index) {
    if (!this.rows.length) return;
    this.active = Math.max(0, Math.min(this.rows.length - 1, index));
    // Bring the row into view before rendering, so aria-activedescendant points at a real element.
    const top = this.active * ROW_HEIGHT;
    const view = this.viewHeight();
    if (top < this.top) this.scrollTo(top);
    else if (top + ROW_HEIGHT > this.top + view) this.scrollTo(top + ROW_HEIGHT - view);
    this.renderRows();
  }

  onKey(event) {
    const node = this.rows[this.active];
    const page = Math.max(1, Math.floor(this.viewHeight() / ROW_HEIGHT) - 1);
    switch (event.key) {
      case 'ArrowDown': this.setActive(this.active + 1); break;
      case 'ArrowUp': this.setActive(this.active - 1); break;
      case 'PageDown': this.setActive(this.active + page); break;
      case 'PageUp': this.setActive(this.active - page); break;
      case 'Home': this.setActive(0); break;
      case 'End': this.setActive(this.rows.length - 1); break;
      case 'ArrowRight':
        if (!node) break;
        if (node.entry.kind === 'dir' && !node.flat) {
          if (!node.expanded) this.toggle(node, true);
          else if (Array.isArray(node.children) && node.children.length) this.setActive(this.active + 1);
        }
        break;
      case 'ArrowLeft':
        if (!node) break;
        if (node.expanded) this.toggle(node, false);
        else if (node.parent && node.parent !== this.root) this.setActive(this.rows.indexOf(node.parent));
        break;
      case 'Enter':
        if (node) this.open(node);
        break;
      case ' ':
        // Within a type-ahead word a space is part of the name ("name with spaces").
        if (this.typeahead.text && performance.now() - this.typeahead.time <= TYPEAHEAD_MS) {
          this.typeAhead(' ');
          event.preventDefault();
          return;
        }
        if (node) this.open(node);
        break;
      default:
        if (event.key.length === 1 && !event.ctrlKey && !event.metaKey && !event.altKey) {
          this.typeAhead(event.key);
          event.preventDefault();
        }
        return;
    }
    // Any other key ends a type-ahead word.
    this.typeahead.text = '';
    event.preventDefault();
  }

  // Type the start of a name to jump to the next visible entry that begins with it.
  typeAhead(char) {
    const now = performance.now();
    const fresh = now - this.typeahead.time > TYPEAHEAD_MS;
    this.typeahead = { text: (fresh ? '' : this.typeahead.text) + char.toLowerCase(), time: now };
    const text = this.typeahead.text;
    const start = text.length === 1 ? this.active + 1 : this.active;
    for (let k = 0; k < this.rows.length; k++) {
      const i = (start + k) % this.rows.length;
      if (this.rows[i].name.toLowerCase().startsWith(text)) {
        this.setActive(i);
        return;
      }
    }
  }

  renderCrumbs(path) {
    clear(this.crumbs);
    const parts = path.split('/').filter(Boolean);
    const link = (label, target) => h('button', { type: 'button', class: 'crumb', onclick: () => this.revealAndFocus(target) }, label);
    this.crumbs.append(link('/', '/'));
    let acc = '';
    parts.forEach((part, i) => {
      acc += `/${part}`;
      if (i > 0) this.crumbs.append(h('span', { class: 'sep', 'aria-hidden': 'true' }, '/'));
      this.crumbs.append(i === parts.length - 1 ? h('span', { class: 'crumb-current' }, part) : link(part, acc));
    });
  }

  /** Whether the directory at `path` needs no listing (listed already, or known not to exist). */
  loaded(path) {
    let node = this.root;
    for (const part of path.split('/').filter(Boolean)) {
      if (!Array.isArray(node.children)) return false;
      node = node.children.find((c) => c.name === part);
      if (!node) return true;
    }
    return Array.isArray(node.children);
  }

  /** Find `path` in the tree as the core resolves it: a symlink in a directory part of
   * the path (and in the last part too with `followLast`) is followed, `..` stops at /.
   * Loads the directories on the way. {node} (this.root for /), or, when nothing is
   * there, {missing: true, at: the last node found on the way}. */
  async resolve(path, followLast = false) {
    const todo = path.split('/').filter(Boolean).reverse(); // popped from the end
    let node = this.root;
    let hops = 0;
    while (todo.length) {
      const part = todo.pop();
      if (part === '.') continue;
      if (part === '..') {
        node = node.parent || this.root;
        continue;
      }
      if (node.entry.kind !== 'dir') return { missing: true, at: node };
      await this.load(node);
      const next = (node.children || []).find((c) => c.name === part && c.entry.change !== 'deleted');
      if (!next) return { missing: true, at: node };
      if (next.entry.kind === 'symlink' && (todo.length || followLast)) {
        if (++hops > MAX_SYMLINKS) return { missing: true, at: next };
        const link = next.entry.link || '';
        if (link.startsWith('/')) node = this.root;
        // The target's parts come before what is left of the path.
        todo.push(...link.split('/').filter(Boolean).reverse());
        continue;
      }
      node = next;
    }
    return { node };
  }

  /** Expand down to a path (loading directories on the way, following symlinked
   * directories), select it and, with `open`, show it. `how` the page records the path:
   * 'push' (a person went there) or 'replace' (a restore). */
  async reveal(path, open, how = 'push') {
    if (this.filterResults) {
      this.filterInput.value = '';
      this.filter = '';
      this.filterResults = null;
    }
    const parts = path.split('/').filter(Boolean);
    // Ask for every directory on the way (and the file itself) at once: one round trip to
    // the worker instead of one per level, which counts while other workers keep the CPU busy.
    this.prefetchedDirs = new Map();
    for (let i = 0; i < parts.length; i++) {
      const at = i === 0 ? '/' : `/${parts.slice(0, i).join('/')}`;
      if (!this.loaded(at)) {
        const listing = this.core('listDir', this.listArgs(at));
        listing.catch(() => {}); // load() reports it
        this.prefetchedDirs.set(at, listing);
      }
    }
    if (open && parts.length) this.viewer.prefetch(path);
    await this.load(this.root);
    const found = await this.resolve(path);
    this.prefetchedDirs = null;
    const node = found.node || found.at;
    for (let up = node.parent; up && up !== this.root; up = up.parent) up.expanded = true;
    this.relayout();
    const index = this.rows.indexOf(node);
    if (index >= 0) {
      this.scrollTo(index * ROW_HEIGHT - this.viewHeight() / 3);
      this.setActive(index);
    }
    if (found.missing || node === this.root) {
      // Remembered, so that a redraw of the page does not look for it again.
      this.currentPath = found.missing ? path : '/';
      if (open) this.onPath(this.currentPath, how);
      this.renderCrumbs(this.currentPath);
      if (found.missing) this.viewer.showMissing(path);
      else this.viewer.showRoot(this.image, this.layer, !this.onlyChanges);
      this.renderRows();
      return;
    }
    if (open) this.open(node, how);
  }

  /** Go to `path` from a link (a symlink's target, a crumb): the tree, with the target
   * selected, takes the focus (the link itself is redrawn away). */
  async revealAndFocus(path) {
    await this.reveal(path, true);
    if (this.scroller.isConnected) this.scroller.focus({ preventScroll: true });
  }

  /** The source picker's value for this view. */
  sourceValue() {
    return this.layer === null || this.layer === undefined ? 'merged' : String(this.layer);
  }

  /** Go to the layer (or merged view) the source picker names. The page shows that
   * view's own picker: focus moves to it when it was on this one. */
  switchSource(refocus = document.activeElement === this.source) {
    clearTimeout(this.sourceTimer);
    this.sourceTimer = null;
    const value = this.source.value;
    // Shown again later (Back): this picker names this view, whatever was picked.
    this.source.value = this.sourceValue();
    // (Another view took the page meanwhile, e.g. Back during a burst: nothing to switch.)
    if (!this.element.isConnected || value === this.sourceValue()) return;
    this.navigate({ layer: value === 'merged' ? null : Number(value), path: '/', tab: 'files' });
    if (refocus) document.querySelector('#view select.files-source')?.focus();
  }

  /** Called by the page when this view is shown for a path (a tab, a restored URL), with
   * the page's "only changes" choice (a layer's view). */
  show(path, onlyChanges = this.onlyChanges) {
    // The picker names the view it sits in (a pick that did not settle yet excepted):
    // after Back, or a redraw for incoming verdicts.
    if (!this.sourceTimer) this.source.value = this.sourceValue();
    if (this.layer !== null && this.layer !== undefined && onlyChanges !== this.onlyChanges) {
      // (Listed again first; then the path, in the tree as the switch now shows it.)
      this.setOnlyChanges(onlyChanges).then(() => {
        if (path && path !== this.currentPath) this.reveal(path, true, 'replace');
      });
      return;
    }
    if (path && path !== this.currentPath) this.reveal(path, true, 'replace');
    else if (!this.currentPath) this.reveal('/', false, 'replace');
    requestAnimationFrame(() => this.renderRows());
  }

  refreshVerdicts() {}

  async exportTar(button) {
    button.disabled = true;
    button.textContent = t('action.preparing');
    try {
      const image = this.image;
      const name = (image.repo_tags[0] || shortId(image.id)).replace(/[^\w.-]+/g, '_');
      // Streamed to disk when big (www/js/download.js); the size of what the tar will
      // hold picks the way (the merged tree's top entries, or the layer's own size).
      const type = 'application/x-tar';
      if (this.layer === null || this.layer === undefined) {
        const top = this.root.children;
        const sizeHint = top ? top.reduce((sum, node) => sum + Number(sizeOf(node.entry) || 0), 0) : undefined;
        const source = exportSource(this.core, { what: 'rootfs', image: this.imageIndex });
        await saveStream({ name: `${name}-rootfs.tar`, type, sizeHint, source });
      } else {
        const layer = image.layers && image.layers[this.layer];
        const sizeHint = layer ? Number(layer.uncompressed_size ?? layer.stored_size ?? 0) || undefined : undefined;
        const source = exportSource(this.core, { what: 'layer', image: this.imageIndex, layer: this.layer });
        await saveStream({ name: `${name}-layer-${this.layer}.tar`, type, sizeHint, source });
      }
    } catch (error) {
      this.status.replaceChildren(tNode('files.export_failed', { reason: errorReason(error) }));
    } finally {
      button.disabled = false;
      // (The words of the moment: the language may have changed while it ran.)
      button.replaceChildren(tNode(this.layer === null || this.layer === undefined ? 'files.export_rootfs' : 'files.export_layer'));
    }
  }
}

function sizeOf(e) {
  return e.kind === 'dir' ? e.cumulative_size ?? 0 : e.size ?? 0;
}

function iconFor(e) {
  return { symlink: '↪', hardlink: '⇒', char: 'c', block: 'b', fifo: '|' }[e.kind] || '';
}

function layerLabel(image, layer) {
  const entry = layer.history !== null && layer.history !== undefined ? image.history[layer.history] : null;
  let text = entry && entry.created_by ? entry.created_by.replace(/^\/bin\/sh -c (#\(nop\)\s+)?/, '') : shortId(layer.digest);
  if (text.length > 60) text = `${text.slice(0, 59)}…`;
  // (An <option> holds only text: hidden characters as their tokens.)
  return visibleString(`${text} (${formatSize(layer.uncompressed_size ?? layer.stored_size)})`);
}

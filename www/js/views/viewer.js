// The file viewer: facts about one entry, then its content as text, hex or a picture.
// Bytes come from the worker on demand; nothing is read until a file is opened.
import { h, clear, data, formatMode, download, safeFileName, copyButton, keepState, errorReason } from '../util.js';
import { t, tNode, formatSize, formatNumber, formatDateTime } from '../i18n.js';
import { saveStream, fileSource } from '../download.js';

const TEXT_STEP = 64 * 1024;
const HEX_STEP = 4 * 1024;
const IMAGE_CAP = 16 * 1024 * 1024;

export class FileViewer {
  constructor({ core, image, layer, report, reveal, resolve }) {
    this.core = core;
    this.image = image;
    this.layer = layer;
    this.report = report;
    this.reveal = reveal;
    this.resolve = resolve;
    this.element = h('section', { class: 'viewer', id: 'viewer' });
    this.objectUrl = null;
    this.token = 0;
    this.empty();
  }

  /** The language changed: what is shown is shown again, in the new words (a file's
   * content is read again from the worker: the archive is not). */
  retranslate() {
    const again = this.shown;
    if (again) again();
  }

  empty() {
    this.shown = () => this.empty();
    this.element.setAttribute('aria-label', t('viewer.label'));
    clear(this.element).append(h('div', { class: 'viewer-empty muted' },
      h('p', null, t('viewer.empty')),
      h('p', null, t('viewer.keys'))));
  }

  /** `/` of the tree: what the tree is (merged; a layer's changes; with `whole`, a layer's
   * whole tree as of that layer). */
  showRoot(image, layer, whole = false) {
    this.shown = () => this.showRoot(image, layer, whole);
    this.element.setAttribute('aria-label', t('viewer.label'));
    this.release();
    clear(this.element).append(h('h3', { class: 'viewer-path mono' }, '/'),
      h('p', { class: 'muted' }, layer === null || layer === undefined
        ? (image.repo_tags[0] ? tNode('viewer.root_merged', { image: image.repo_tags[0] }) : t('viewer.root_merged_untagged'))
        : tNode(whole ? 'viewer.root_layer_whole' : 'viewer.root_layer', { layer })));
  }

  /** A path that is not in this filesystem (a broken link's target, an old URL). */
  showMissing(path) {
    this.shown = () => this.showMissing(path);
    this.element.setAttribute('aria-label', t('viewer.label'));
    this.release();
    this.token += 1;
    clear(this.element).append(h('h3', { class: 'viewer-path mono', translate: 'no' }, path),
      h('p', { class: 'notice-box', id: 'viewer-missing' }, this.layer === null || this.layer === undefined
        ? tNode('viewer.missing', { path }) : tNode('viewer.missing_layer', { path, layer: this.layer })));
  }

  release() {
    if (this.objectUrl) URL.revokeObjectURL(this.objectUrl);
    this.objectUrl = null;
  }

  show(node) {
    this.shown = () => this.show(node);
    this.element.setAttribute('aria-label', t('viewer.label'));
    this.release();
    const token = ++this.token;
    const e = node.entry;
    const path = node.path;
    // A layer's whole tree ("only changes" off) lists files lower layers wrote: their bytes
    // are read as the layer that wrote them last (as of this one) wrote them.
    this.readLayer = this.readLayerOf(e);
    const facts = [
      ['viewer.type', kindWord(e.kind)],
      ['viewer.mode', h('code', { translate: 'no' }, `${formatMode(e.kind, e.mode)} (${(Number(e.mode || 0) & 0o7777).toString(8).padStart(4, '0')})`)],
      ['viewer.owner', data(`${e.uid ?? 0}:${e.gid ?? 0}`)],
      ['viewer.size', e.kind === 'dir'
        ? (e.children !== undefined ? t('viewer.dir_size_entries', { size: formatSize(e.cumulative_size ?? 0), n: e.children }) : t('viewer.dir_size', { size: formatSize(e.cumulative_size ?? 0) }))
        // A symlink's own size is that of its target's name (0 in a tar): said as the
        // link's, since what is shown below is its target's content.
        : e.kind === 'symlink' ? t('viewer.link_size', { size: formatSize(e.size) })
          : t('viewer.file_size', { size: formatSize(e.size), bytes: formatNumber(Number(e.size || 0)) })],
      ['viewer.modified', e.mtime ? formatDateTime(e.mtime) : '—'],
    ];
    if (e.layer !== null && e.layer !== undefined) facts.push(['viewer.written_by', t('history.layer', { layer: e.layer })]);
    if (e.change) facts.push(['viewer.in_layer', t(`change.${e.change}`)]);
    const shadow = shadowText(e.shadow);
    if (shadow) facts.push(['viewer.hidden', shadow]);
    let target = null;
    let pointsTo = null;
    if (e.link) {
      target = e.kind === 'hardlink' ? `/${e.link}` : resolveLink(path, e.link);
      pointsTo = h('dd', null, h('button', {
        type: 'button', class: 'link mono', title: t('viewer.go_to', { target }), onclick: () => this.reveal(target), translate: 'no',
      }, e.link));
      facts.push([e.kind === 'hardlink' ? 'viewer.hardlink_to' : 'viewer.points_to', pointsTo]);
    }
    const actions = h('div', { class: 'viewer-actions' });
    this.content = h('div', { class: 'viewer-content' });
    const factList = h('dl', { class: 'facts small' }, facts.flatMap(([k, v]) => [h('dt', null, t(k)), v === pointsTo ? v : h('dd', null, v)]));
    this.facts = factList;
    clear(this.element).append(
      h('h3', { class: 'viewer-path mono' }, h('span', { translate: 'no' }, path), ' ', copyButton(path, 'copy.path')),
      factList, actions, this.content);
    this.addCover(path, e, token);
    if (e.change === 'deleted') {
      this.content.append(h('p', { class: 'muted' }, tNode('viewer.whiteout')));
      return;
    }
    if (e.kind === 'symlink') {
      this.followLink(path, e, target, pointsTo, actions, token);
    } else if (e.kind === 'file' || e.kind === 'hardlink') {
      this.showFile(path, e, actions, token);
    } else if (e.kind === 'dir') {
      this.content.append(h('p', { class: 'muted' }, t('viewer.dir')));
    } else {
      this.content.append(h('p', { class: 'muted' }, e.device
        ? t('viewer.device', { kind: kindWord(e.kind), major: String(e.device[0]), minor: String(e.device[1]) })
        : t('viewer.no_content', { kind: kindWord(e.kind) })));
    }
  }

  /** One more fact, added once the worker answered (if the same entry is still shown). */
  addFact(key, value, token, id) {
    if (token !== this.token || !this.facts) return;
    this.facts.append(h('dt', null, t(key)), h('dd', id ? { id } : null, value));
  }

  /** A file that covers a lower layer's copy says so: "Overwrites layer 2's 47B copy" (the
   * merged view: the layer that wrote it last; a layer's view: when that layer modified it).
   * One path story from the worker (one pass over the image's entries), only for the file shown. */
  async addCover(path, e, token) {
    if (e.kind === 'dir' || e.change === 'deleted' || e.change === 'added') return;
    // (A merged listing says it already.)
    if (e.covers) {
      this.addFact('viewer.covers', coverText(e.covers), token, 'viewer-covers');
      return;
    }
    const merged = this.layer === null || this.layer === undefined;
    const writer = merged ? e.layer : this.layer;
    if (writer === null || writer === undefined || writer === 0 || (!merged && e.change !== 'modified')) return;
    let events;
    try {
      events = await this.core('pathStory', { image: this.image, path });
    } catch (error) {
      return; // the fact is only left out
    }
    const at = events.findIndex((ev) => ev.layer === writer && ev.change === 'modified');
    const below = at > 0 ? events[at - 1] : null;
    if (!below || below.change === 'deleted') return;
    this.addFact('viewer.covers', coverText(below), token, 'viewer-covers');
  }

  showFile(path, e, actions, token, targetSize = null) {
    actions.append(h('button', { type: 'button', class: 'secondary small', id: 'download-file', onclick: () => this.downloadFile(path, targetSize ?? (e.kind === 'symlink' ? undefined : Number(e.size || 0))) }, t('viewer.download')));
    this.loadContent(path, e, token, targetSize);
  }

  /** A symlink: what its target is decides what is shown (the core reads through links,
   * but only files: a link to a directory is offered as that directory, a broken one says so). */
  async followLink(path, e, target, pointsTo, actions, token) {
    const found = await this.resolve(path, true);
    if (token !== this.token) return;
    const kind = found.node ? found.node.entry.kind : null;
    // A layer's own listing holds only what that layer changed: a target it did not write
    // is still read by the core (as of that layer), so the content is tried.
    if (kind === 'file' || kind === 'hardlink' || (!found.node && this.layer !== null && this.layer !== undefined)) {
      // The content shown is the target's: its size and name say so.
      if (found.node) {
        const size = Number(found.node.entry.size || 0);
        this.addFact('viewer.target_size', t('viewer.file_size', { size: formatSize(size), bytes: formatNumber(size) }), token, 'viewer-target-size');
      }
      this.content.append(h('p', { class: 'muted', id: 'viewer-target-note' },
        tNode('viewer.target_content', { target: h('code', { class: 'mono', translate: 'no' }, found.node ? found.node.path : target) })));
      if (found.node && this.layer !== null && this.layer !== undefined) {
        // A layer's view reads a file by its own path, as the layer that wrote it last
        // (as of this one) wrote it: the target's, not the link's (an older link may point
        // at a newer file).
        this.readLayer = this.readLayerOf(found.node.entry);
        this.showFile(found.node.path, found.node.entry, actions, token);
      } else {
        this.showFile(path, e, actions, token, found.node ? Number(found.node.entry.size || 0) : null);
      }
    } else if (kind === 'dir') {
      const dir = found.node.path;
      this.content.append(h('p', { class: 'muted' }, tNode('viewer.link_dir', { dir: h('code', { class: 'mono', translate: 'no' }, dir) }), ' ',
        h('button', { type: 'button', class: 'secondary small', id: 'open-link-dir', onclick: () => this.reveal(dir) }, t('viewer.open_dir'))));
    } else if (!found.node) {
      pointsTo.append(h('span', { class: 'muted' }, ' ', t('viewer.broken')));
      this.content.append(h('p', { class: 'notice-box', id: 'viewer-missing' }, tNode('viewer.link_broken', { target })));
    } else {
      this.content.append(h('p', { class: 'muted' }, tNode('viewer.link_other', { kind: kindWord(kind), path: found.node.path })));
    }
  }

  /** The layer to read an entry of this view from: in a layer's whole tree ("only
   * changes" off) an entry a lower layer wrote is read as that layer wrote it. */
  readLayerOf(e) {
    const layerView = this.layer !== null && this.layer !== undefined;
    return layerView && !e.change && e.layer !== undefined && e.layer !== null && e.layer < this.layer ? e.layer : this.layer;
  }

  async read(path, offset, length) {
    return this.core('readFile', { image: this.image, layer: this.readLayer ?? this.layer, path, offset, length });
  }

  /** Start reading the first bytes of `path` now, before the tree has found its entry
   * (opening a link to a file): the read then travels with the directory listings instead
   * of after them. Used by the next show() of that path, dropped otherwise. */
  prefetch(path) {
    this.readLayer = this.layer; // (the entry is not known yet)
    const promise = this.read(path, 0, TEXT_STEP);
    promise.catch(() => {}); // not a file after all: show() says what it is
    this.prefetched = { path, promise, layer: this.layer };
  }

  firstBytes(path) {
    const pre = this.prefetched;
    this.prefetched = null;
    return pre && pre.path === path && pre.layer === (this.readLayer ?? this.layer) ? pre.promise : this.read(path, 0, TEXT_STEP);
  }

  async loadContent(path, e, token, targetSize = null) {
    const reading = h('p', { class: 'muted' }, t('viewer.reading'));
    this.content.append(reading);
    let bytes;
    try {
      bytes = await this.firstBytes(path);
    } catch (error) {
      if (token !== this.token) return;
      reading.replaceWith(h('p', { class: 'inline-error' }, tNode('viewer.read_failed', { reason: errorReason(error) })));
      return;
    }
    if (token !== this.token) return;
    reading.remove();
    const size = e.kind === 'symlink' ? targetSize : Number(e.size || 0);
    const image = imageType(bytes);
    if (image) {
      this.showImage(path, bytes, size, image, token);
      return;
    }
    const binary = looksBinary(bytes);
    // The mode picked for this file survives its redraw in another language.
    const picked = this.picked && this.picked.path === path ? this.picked.mode : null;
    const state = { mode: picked || (binary ? 'hex' : 'text'), bytes, eof: bytes.length < TEXT_STEP };
    const pick = (mode) => {
      state.mode = mode;
      this.picked = { path, mode };
      draw();
    };
    const tabs = h('div', { class: 'segmented', role: 'group', 'aria-label': t('viewer.show_as') });
    const body = h('div', { class: 'viewer-body' });
    // Text/Hex and Show more redraw both: focus stays on the button used (or, when there is
    // no more to show, goes to the content).
    const draw = () => keepState(this.content, () => {
      clear(tabs).append(
        h('button', { type: 'button', class: state.mode === 'text' ? 'seg selected' : 'seg', 'aria-pressed': String(state.mode === 'text'), onclick: () => pick('text') }, t('viewer.text')),
        h('button', { type: 'button', class: state.mode === 'hex' ? 'seg selected' : 'seg', 'aria-pressed': String(state.mode === 'hex'), onclick: () => pick('hex') }, t('viewer.hex')));
      clear(body);
      const limit = state.mode === 'hex' ? Math.min(state.bytes.length, state.hexShown || HEX_STEP) : state.bytes.length;
      const shown = state.bytes.subarray(0, limit);
      body.append(state.mode === 'hex' ? hexDump(shown, state.hexColumns || 16) : textView(shown, path));
      fitHex();
      const more = state.mode === 'hex' ? limit < state.bytes.length || !state.eof : !state.eof;
      if (more) {
        const remaining = size !== null ? size - limit : null;
        body.append(h('div', { class: 'more' },
          h('span', { class: 'muted' }, remaining !== null ? t('viewer.not_shown', { size: formatSize(remaining) }) : t('viewer.more_follows'), ' '),
          h('button', { type: 'button', class: 'secondary small', id: 'show-more', onclick: () => this.more(path, state, draw, token) }, t('viewer.show_more'))));
      }
    }, () => body.querySelector('pre.text, pre.hex'));
    // 16 bytes a row need ~78 characters: where the viewer is narrower, rows of 8 keep the
    // ASCII column in view instead of behind a horizontal scroll.
    const fitHex = () => {
      const pre = body.querySelector('pre.hex');
      if (!pre || !pre.isConnected || (state.hexColumns || 16) === 8) return;
      if (pre.scrollWidth > pre.clientWidth + 1) {
        state.hexColumns = 8;
        pre.replaceWith(hexDump(state.bytes.subarray(0, Math.min(state.bytes.length, state.hexShown || HEX_STEP)), 8));
      }
    };
    draw();
    if (binary) this.content.append(h('p', { class: 'muted' }, t('viewer.binary')));
    this.content.append(tabs, body);
    fitHex();
  }

  async more(path, state, draw, token) {
    if (state.mode === 'hex' && (state.hexShown || HEX_STEP) < state.bytes.length) {
      state.hexShown = (state.hexShown || HEX_STEP) * 4;
      draw();
      return;
    }
    const step = Math.max(TEXT_STEP, state.bytes.length);
    try {
      const next = await this.read(path, state.bytes.length, step);
      if (token !== this.token) return;
      const joined = new Uint8Array(state.bytes.length + next.length);
      joined.set(state.bytes);
      joined.set(next, state.bytes.length);
      state.bytes = joined;
      state.eof = next.length < step;
      if (state.mode === 'hex') state.hexShown = (state.hexShown || HEX_STEP) * 4;
      draw();
    } catch (error) {
      this.content.append(h('p', { class: 'inline-error' }, tNode('viewer.more_failed', { reason: errorReason(error) })));
    }
  }

  async showImage(path, head, size, type, token) {
    let bytes = head;
    if (size !== null && size > head.length) {
      if (size > IMAGE_CAP) {
        this.content.append(h('p', { class: 'muted' }, t('viewer.picture_big', { type: type.toUpperCase(), size: formatSize(size) })));
        return;
      }
      try {
        bytes = await this.read(path, 0, size);
      } catch (error) {
        this.content.append(h('p', { class: 'inline-error' }, tNode('viewer.picture_failed', { reason: errorReason(error) })));
        return;
      }
      if (token !== this.token) return;
    }
    // A blob: URL of the bytes (allowed by img-src blob:); the browser decodes it as an image only.
    this.objectUrl = URL.createObjectURL(new Blob([bytes], { type: `image/${type}` }));
    const img = h('img', { src: this.objectUrl, alt: t('viewer.preview_alt', { path }), class: 'preview' });
    img.addEventListener('error', () => img.replaceWith(h('p', { class: 'muted' }, t('viewer.picture_undecodable'))));
    // Fit the viewer: a 16×16 icon drawn at its own size is a speck. Scaled (up or down)
    // to the viewer's width, at most 60 % of the window high; scaled up, pixels stay sharp.
    img.addEventListener('load', () => {
      const width = img.naturalWidth;
      const height = img.naturalHeight;
      const room = this.content.clientWidth - 2; // (its border)
      if (!width || !height || room <= 0) return;
      const scale = Math.min(room / width, (window.innerHeight * 0.6) / height);
      img.style.width = `${Math.max(1, Math.floor(width * scale))}px`;
      img.classList.toggle('upscaled', scale > 1);
    });
    this.content.append(img);
  }

  /** Streamed to disk when big (www/js/download.js): a piece is read when the last is saved. */
  async downloadFile(path, size) {
    try {
      const source = fileSource(this.core, { image: this.image, layer: this.readLayer ?? this.layer, path, size });
      await saveStream({ name: safeFileName(path), size, sizeHint: size, source });
    } catch (error) {
      this.content.prepend(h('p', { class: 'inline-error' }, tNode('viewer.download_failed', { reason: errorReason(error) })));
    }
  }
}

/** "overwritten by layer 3" / "deleted by layer 2" for an entry a later layer hides. */
export function shadowText(shadow) {
  if (!shadow) return null;
  if (shadow.status === 'overwritten') return t('shadow.overwritten', { layer: shadow.by_layer });
  if (shadow.status === 'deleted') return t('shadow.deleted', { layer: shadow.by_layer });
  return null;
}

/** "overwrites layer 2's 47B copy": what a file covers of a lower layer (a merged row's
 * `covers`, or a path story's event below the writer). */
export function coverText(cover) {
  return cover.kind === 'file' || cover.kind === 'hardlink'
    ? t('files.covers_copy', { layer: cover.layer, size: formatSize(cover.size) })
    : t('files.covers_kind', { layer: cover.layer, kind: kindWord(cover.kind) });
}

function kindWord(kind) {
  const key = `kind.${kind}`;
  return t(key) === key ? t('kind.other') : t(key);
}

/** Where a symlink at `path` with target `link` points, as an absolute path. */
export function resolveLink(path, link) {
  const base = link.startsWith('/') ? [] : path.split('/').filter(Boolean).slice(0, -1);
  for (const part of link.split('/')) {
    if (!part || part === '.') continue;
    if (part === '..') base.pop();
    else base.push(part);
  }
  return `/${base.join('/')}`;
}

function imageType(b) {
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return 'png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 6 && b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x38) return 'gif';
  return null;
}

function looksBinary(bytes) {
  const n = Math.min(bytes.length, 8192);
  let odd = 0;
  for (let i = 0; i < n; i++) {
    const b = bytes[i];
    if (b === 0) return true;
    if (b < 7 || (b > 13 && b < 32 && b !== 27)) odd++;
  }
  return n > 0 && odd / n > 0.1;
}

function textView(bytes, path) {
  // SVG and HTML are shown as their source text: they are never rendered.
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  const lines = text.split('\n');
  // A final newline ends the last line; it does not start another.
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  const gutter = h('pre', { class: 'gutter mono', 'aria-hidden': 'true' }, lines.map((_, i) => `${i + 1}`).join('\n'));
  return h('div', { class: 'text-view', dataset: { path } }, gutter, h('pre', { class: 'mono text', tabindex: '0', 'aria-label': t('viewer.contents_of', { path }), translate: 'no' }, text));
}

/** `hexdump -C` style rows of `columns` (16 or 8) bytes. */
function hexDump(bytes, columns = 16) {
  const lines = [];
  for (let off = 0; off < bytes.length; off += columns) {
    const row = bytes.subarray(off, off + columns);
    let hex = '';
    let ascii = '';
    for (let i = 0; i < columns; i++) {
      const gap = i === 7 && columns === 16 ? '  ' : ' ';
      if (i < row.length) {
        hex += row[i].toString(16).padStart(2, '0') + gap;
        ascii += row[i] >= 32 && row[i] < 127 ? String.fromCharCode(row[i]) : '.';
      } else {
        hex += `  ${gap}`;
      }
    }
    lines.push(`${off.toString(16).padStart(8, '0')}  ${hex} |${ascii}|`);
  }
  return h('pre', { class: 'mono hex', tabindex: '0', 'aria-label': t('viewer.hex_dump'), translate: 'no', dataset: { columns: String(columns) } }, lines.join('\n'));
}

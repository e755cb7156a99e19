// Small DOM and formatting helpers. Every string that may come from an archive goes
// into the page through textContent (via `h`), never through innerHTML. Control, bidi and
// zero-width characters in that text are drawn as visible tokens (see `visible`), so a
// name like "evil\u202etxt.exe" cannot pass for "evilexe.txt".
import { t, tNode, tCode, tCodeNode, has, formatSize } from './i18n.js';

// Characters that hide, reorder or fake text: C0 controls and DEL, C1 controls, the soft
// hyphen, the Arabic letter mark, the Mongolian vowel separator, zero-width and directional
// marks (U+200B–U+200F), line/paragraph separators, bidi embeddings, overrides and isolates
// (U+202A–U+202E, U+2066–U+2069), invisible operators (U+2060–U+2064, U+206A–U+206F),
// the BOM / zero-width no-break space, and interlinear annotation marks.
const HIDDEN = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]/g;
// In multi-line text (a file's content, JSON, a Dockerfile) a newline, a tab and the CR of
// a CRLF are text.
const HIDDEN_MULTILINE = /\r(?!\n)|[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]/g;

/** The visible token for one hidden character: ⟨U+202E⟩. */
export function ctlToken(ch) {
  return `⟨U+${ch.codePointAt(0).toString(16).toUpperCase().padStart(4, '0')}⟩`;
}

/** Archive text as a string with every hidden character replaced by its token (for places
 * that hold only a string: title, aria-label, an <option>). */
export function visibleString(text, multiline = false) {
  const s = String(text);
  return s.replace(multiline ? HIDDEN_MULTILINE : HIDDEN, ctlToken);
}

/** Archive text for the DOM: the string itself when it holds nothing hidden (the common
 * case, no extra nodes), else a fragment of text nodes and <span class="ctl"> tokens. */
export function visible(text, multiline = false) {
  const s = String(text);
  const re = multiline ? HIDDEN_MULTILINE : HIDDEN;
  re.lastIndex = 0;
  if (!re.test(s)) return s;
  re.lastIndex = 0;
  const fragment = document.createDocumentFragment();
  let at = 0;
  for (const match of s.matchAll(re)) {
    if (match.index > at) fragment.append(document.createTextNode(s.slice(at, match.index)));
    const token = document.createElement('span');
    token.className = 'ctl';
    token.setAttribute('translate', 'no');
    token.textContent = ctlToken(match[0]);
    fragment.append(token);
    at = match.index + match[0].length;
  }
  if (at < s.length) fragment.append(document.createTextNode(s.slice(at)));
  return fragment;
}

// Elements whose text is a single string (no child elements): tokens go in as text.
const STRING_ONLY = new Set(['option', 'title', 'textarea']);
// Attributes a person reads (tooltips, names for screen readers): tokens as text too.
const READ_ATTRS = new Set(['title', 'aria-label', 'alt', 'placeholder']);

/** Create an element: h('div', {class: 'x', onclick: fn}, child, 'text', ...). */
export function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (key.startsWith('on') && typeof value === 'function') {
        node.addEventListener(key.slice(2), value);
      } else if (key === 'class') {
        node.className = value;
      } else if (key === 'dataset') {
        Object.assign(node.dataset, value);
      } else if (key === 'text') {
        node.textContent = '';
        append(node, [value]);
      } else if (READ_ATTRS.has(key)) {
        node.setAttribute(key, visibleString(value));
      } else {
        node.setAttribute(key, value === true ? '' : String(value));
      }
    }
  }
  append(node, children);
  return node;
}

function append(node, children) {
  const tag = node.localName;
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else if (child instanceof Node) node.appendChild(child);
    else if (STRING_ONLY.has(tag)) node.appendChild(document.createTextNode(visibleString(child)));
    else node.append(visible(child, tag === 'pre'));
  }
}

/** Archive data (a name, tag, digest, path, command): drawn as it is, never translated. */
export function data(text, attrs = {}, tag = 'span') {
  return h(tag, { translate: 'no', ...attrs }, text);
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

const FOCUSABLE = 'a[href], button, input, select, textarea, summary, [tabindex]';

/** Run `render`, which replaces what `box` holds, without losing what the person was doing
 * there: keyboard focus goes back to the same control (by id, else by its position among
 * the focusable elements of `box`, else to `fallback()`), and <details> with an id stay
 * open or closed. Without this, a redraw drops focus to <body> and closes what was opened. */
export function keepState(box, render, fallback) {
  const active = document.activeElement;
  const inside = active && active !== box && box.contains(active);
  const focusables = () => [...box.querySelectorAll(FOCUSABLE)];
  const at = inside ? focusables().indexOf(active) : -1;
  const open = new Map([...box.querySelectorAll('details[id]')].map((d) => [d.id, d.open]));
  render();
  for (const [id, isOpen] of open) {
    const details = document.getElementById(id);
    if (details && box.contains(details) && details.tagName === 'DETAILS') details.open = isOpen;
  }
  if (!inside || active.isConnected) return;
  let again = active.id ? document.getElementById(active.id) : null;
  if (!again || !box.contains(again)) {
    const candidate = focusables()[at];
    again = candidate && candidate.tagName === active.tagName ? candidate : null;
  }
  if (!again && fallback) again = fallback();
  again?.focus({ preventScroll: true });
}

// Sizes, times and counts: formatSize, formatAgo, formatDateTime and formatNumber in
// i18n.js (docker's SI units everywhere, the progress bar included).

/** `sha256:abcdef…` → `abcdef012345` (12 hex digits, as docker shows IDs). */
export function shortId(digest) {
  if (!digest) return '<missing>';
  const hex = String(digest).includes(':') ? String(digest).split(':')[1] : String(digest);
  return hex.slice(0, 12);
}

export function repoTag(tag) {
  // `registry:5000/repo:tag` — the tag is after the last colon that follows the last slash.
  const slash = tag.lastIndexOf('/');
  const colon = tag.lastIndexOf(':');
  if (colon > slash) return [tag.slice(0, colon), tag.slice(colon + 1)];
  return [tag, '<none>'];
}

export function platformOf(image) {
  const parts = [image.os, image.architecture, image.variant].filter(Boolean);
  return parts.length ? parts.join('/') : t('platform.unknown');
}

const VERDICT_CLASS = { ok: 'ok', pending: 'pending', not_checked: 'pending', not_checkable: 'neutral' };

/** A verdict pill for one check: ok / MISMATCH / pending ... */
export function verdictBadge(verdict, extraTitle) {
  const v = verdict || 'pending';
  const cls = VERDICT_CLASS[v] || 'bad';
  const key = `verdict.${v}`;
  return h('span', { class: `badge ${cls}`, title: extraTitle }, t(key) === key ? v : t(key));
}

/** The worst verdict among checks: one word for a row. */
export function worstVerdict(checks) {
  if (!checks || checks.length === 0) return 'pending';
  const order = ['mismatch', 'size_mismatch', 'missing', 'pending', 'not_checkable', 'ok'];
  let worst = 'ok';
  for (const c of checks) {
    if (order.indexOf(c.verdict) < order.indexOf(worst)) worst = c.verdict;
  }
  return worst;
}

/** What a check checked ("blob digest"), in the page's language: by the core's code when
 * it sends one, else by the English item the catalogs know, else as sent. */
export function checkItem(check) {
  const key = itemKey(check);
  return key ? t(key) : String(check.item || '');
}

// The core names a check's item by its code (`code.blob_digest` in core.json); the page's
// own item.* keys cover a report without codes (an older core).
function itemKey(check) {
  if (check.code && has(`code.${check.code}`)) return `code.${check.code}`;
  const slug = `item.${String(check.item || '').toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '')}`;
  return has(slug) ? slug : null;
}

/** checkItem as DOM nodes (its English file and field names marked lang="en"). */
export function checkItemNode(check) {
  const key = itemKey(check);
  return key ? tNode(key) : data(String(check.item || ''));
}

/** describeCheck as DOM nodes: digests and reasons from the archive drawn as data. */
export function describeCheckNode(check) {
  const item = checkItemNode(check);
  const reason = () => {
    const r = typeof check.reason === 'object' && check.reason ? check.reason
      : typeof check.why === 'object' && check.why ? check.why
        : check.why_code ? { code: check.why_code, params: check.why_params, message: check.why } : null;
    return r ? tCodeNode(r) : h('span', { lang: 'en' }, check.why ?? '');
  };
  switch (check.verdict) {
    case 'ok': return tNode('check.ok', { item });
    case 'mismatch': return tNode('check.mismatch', { item, expected: String(check.expected), actual: String(check.actual) });
    case 'size_mismatch': return tNode('check.size_mismatch', { item, expected: Number(check.expected), actual: Number(check.actual) });
    case 'missing': return tNode('check.missing', { item });
    case 'not_checkable': return tNode('check.not_checkable', { item, why: reason() });
    default: return tNode('check.pending', { item });
  }
}

/** An error's words as DOM nodes: a page-side catalog key (`error.key`), the core's code
 * (`error.code`, from the worker), or the English message, marked lang="en", when the
 * catalogs know neither. */
export function errorReason(error) {
  if (error && error.key && has(error.key)) return tNode(error.key, error.params || {});
  return tCodeNode({ code: error?.code, params: error?.params, message: error?.message ?? error?.error ?? String(error) });
}

/** Why a check could not be made, in the page's language (a code when the core sends one). */
export function checkReason(check) {
  if (check.reason && typeof check.reason === 'object') return tCode(check.reason);
  if (check.why && typeof check.why === 'object') return tCode(check.why);
  if (check.why_code) return tCode({ code: check.why_code, params: check.why_params, message: check.why });
  return check.why ?? '';
}

export function describeCheck(check) {
  const item = checkItem(check);
  switch (check.verdict) {
    case 'ok': return t('check.ok', { item });
    case 'mismatch': return t('check.mismatch', { item, expected: String(check.expected), actual: String(check.actual) });
    case 'size_mismatch': return t('check.size_mismatch', { item, expected: check.expected, actual: check.actual });
    case 'missing': return t('check.missing', { item });
    case 'not_checkable': return t('check.not_checkable', { item, why: checkReason(check) });
    default: return t('check.pending', { item });
  }
}

export function copyButton(text, labelKey = 'copy.copy') {
  const button = h('button', { class: 'copy', type: 'button', title: t('copy.title', { text }) }, tNode(labelKey));
  button.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = t('copy.copied');
    } catch {
      button.textContent = t('copy.failed');
    }
    setTimeout(() => { button.replaceChildren(tNode(labelKey)); }, 1200);
  });
  return button;
}

/** Offer bytes or a Blob as a download with a given file name. */
export function download(data, name, type = 'application/octet-stream') {
  // A Blob without a type (or a text one) makes the browser guess, and it adds ".txt" to
  // names like "busybox": the download is always typed (a Blob of a Blob copies nothing).
  const blob = data instanceof Blob && data.type === type ? data : new Blob([data], { type });
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: name, class: 'hidden' });
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** Keep file names from archive paths harmless for the save dialog. */
export function safeFileName(name) {
  const base = String(name).split('/').filter(Boolean).pop() || 'file';
  return base.replace(/[^\w.\-+@]+/g, '_').slice(0, 120) || 'file';
}

export function formatMode(kind, mode) {
  const letter = { file: '-', dir: 'd', symlink: 'l', hardlink: 'h', char: 'c', block: 'b', fifo: 'p' }[kind] || '?';
  const m = Number(mode || 0);
  const rwx = (bits, special, specialChar) => {
    const r = bits & 4 ? 'r' : '-';
    const w = bits & 2 ? 'w' : '-';
    let x = bits & 1 ? 'x' : '-';
    if (special) x = bits & 1 ? specialChar : specialChar.toUpperCase();
    return r + w + x;
  };
  return letter
    + rwx((m >> 6) & 7, m & 0o4000, 's')
    + rwx((m >> 3) & 7, m & 0o2000, 's')
    + rwx(m & 7, m & 0o1000, 't');
}

/** The failed checks of one image and its layers, in plain words. */
export function imageProblems(image) {
  const problems = [];
  for (const c of image.checks || []) if (c.verdict !== 'ok' && c.verdict !== 'pending') problems.push(describeCheck(c));
  for (const l of image.layers || []) {
    for (const c of l.checks || []) {
      if (c.verdict !== 'ok' && c.verdict !== 'pending') problems.push(t('check.in_layer', { layer: l.index, text: describeCheck(c) }));
    }
  }
  return problems;
}

/** Overall state of an image: ok / bad / pending. */
export function imageVerdict(image, verificationDone) {
  const all = [...(image.checks || []), ...(image.layers || []).flatMap((l) => l.checks || [])];
  if (all.some((c) => ['mismatch', 'size_mismatch', 'missing'].includes(c.verdict))) return 'bad';
  if (verificationDone) return image.verified ? 'ok' : 'bad';
  return 'pending';
}

/** Whether an image's size (the sum of its uncompressed layers) is known yet: a
 * compressed layer's uncompressed size is only known once it was read in full, and until
 * then the core's sum holds its compressed size instead. A size not known yet is shown as
 * such, never as a wrong number. */
export function imageSizeKnown(image) {
  return (image.layers || []).every((l) => l.foreign || (l.uncompressed_size !== null && l.uncompressed_size !== undefined));
}

/** An image's uncompressed size in words: docker's `154MB`, or "not known yet". */
export function imageSizeText(image) {
  return imageSizeKnown(image) ? formatSize(image.size) : t('size.not_known_yet');
}

/** The archive's format, worded from the core's one format code (the header and the
 * Overview both name it through this). Format names are docker's and skopeo's words. */
export function formatName(format) {
  const key = `format.${format}`;
  return tNode(has(key) ? key : 'format.unknown');
}

/** The failed checks of the whole archive, each counted once: a layer blob shared by two
 * images fails once. This is the one count of "checks failed" the header's badge and the
 * Overview use (the Overview for its image alone). */
export function failedChecks(report) {
  const seen = new Set();
  const failed = [];
  for (const image of report.images || []) {
    for (const c of image.checks || []) {
      if (c.verdict === 'ok' || c.verdict === 'pending') continue;
      const key = `image:${image.id}:${c.code || c.item}`;
      if (!seen.has(key)) { seen.add(key); failed.push(c); }
    }
    for (const l of image.layers || []) {
      for (const c of l.checks || []) {
        if (c.verdict === 'ok' || c.verdict === 'pending') continue;
        const key = `blob:${l.blob ?? l.digest ?? `${image.index}/${l.index}`}:${c.code || c.item}`;
        if (!seen.has(key)) { seen.add(key); failed.push(c); }
      }
    }
  }
  return failed;
}

/** The failed checks of one image and its layers (as imageProblems, uncounted twice). */
export function imageFailedChecks(image) {
  return failedChecks({ images: [image] });
}

/** Long lists draw their first rows only (a 30 000-entry history or a 5 000-layer stack drew
 * every row and froze the tab for seconds): `limit` rows of `total`, then a button that
 * draws `step` more. Returns null when everything is shown. */
export function showMore(shown, total, onMore, tCountFn) {
  if (shown >= total) return null;
  const step = Math.min(LIST_STEP, total - shown);
  return h('p', { class: 'show-more' },
    h('button', { type: 'button', class: 'secondary small', onclick: onMore }, tCountFn('list.more', step, { total: total - shown })));
}

/** How many rows a long list draws at first, and adds per "show more". */
export const LIST_STEP = 200;

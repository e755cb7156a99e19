// Small DOM and formatting helpers. Every string that may come from an archive goes
// into the page through textContent (via `h`), never through innerHTML.

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
        node.textContent = value;
      } else {
        node.setAttribute(key, value === true ? '' : String(value));
      }
    }
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else if (child instanceof Node) node.appendChild(child);
    else node.appendChild(document.createTextNode(String(child)));
  }
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

/** Sizes the way the docker CLI prints them (SI units: kB, MB, GB). */
export function humanSize(bytes) {
  if (bytes === null || bytes === undefined) return '—';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = Number(bytes);
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  if (unit === 0) return `${value}B`;
  const digits = value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${Number(value.toFixed(digits))}${units[unit]}`;
}

/** Binary units for memory and speeds. */
export function humanBytes(bytes) {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let value = Number(bytes);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** "3 weeks ago", as docker prints CREATED. */
export function timeAgo(iso) {
  if (!iso) return '—';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return String(iso);
  let s = (Date.now() - t) / 1000;
  if (s < 0) return 'in the future';
  const steps = [
    [60, 'second'], [60, 'minute'], [24, 'hour'], [7, 'day'], [4.35, 'week'], [12, 'month'], [Infinity, 'year'],
  ];
  for (const [size, name] of steps) {
    if (s < size) {
      const n = Math.max(1, Math.floor(s));
      if (name === 'second' && n < 2) return 'just now';
      return `${n} ${name}${n === 1 ? '' : 's'} ago`;
    }
    s /= size;
  }
  return String(iso);
}

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
  return parts.length ? parts.join('/') : 'unknown';
}

export function plural(n, word, many) {
  return `${n.toLocaleString('en-US')} ${n === 1 ? word : many || word + 's'}`;
}

/** A verdict pill for one check: ok / MISMATCH / pending ... */
export function verdictBadge(verdict, extraTitle) {
  const v = verdict || 'pending';
  const words = {
    ok: '✓ ok', mismatch: '✗ mismatch', size_mismatch: '✗ size mismatch', missing: '✗ missing',
    not_checkable: '– not checkable', pending: '… pending',
  };
  const cls = v === 'ok' ? 'ok' : v === 'pending' ? 'pending' : v === 'not_checkable' ? 'neutral' : 'bad';
  return h('span', { class: `badge ${cls}`, title: extraTitle }, words[v] || v);
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

export function describeCheck(check) {
  switch (check.verdict) {
    case 'ok': return `${check.item}: ok`;
    case 'mismatch': return `${check.item}: expected ${check.expected}, found ${check.actual}`;
    case 'size_mismatch': return `${check.item}: expected ${check.expected} bytes, found ${check.actual}`;
    case 'missing': return `${check.item}: missing from the archive`;
    case 'not_checkable': return `${check.item}: not checkable (${check.why})`;
    default: return `${check.item}: not checked yet`;
  }
}

export function copyButton(text, label = 'Copy') {
  const button = h('button', { class: 'copy', type: 'button', title: `Copy ${text}` }, label);
  button.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = 'Copied';
    } catch {
      button.textContent = 'Copy failed';
    }
    setTimeout(() => { button.textContent = label; }, 1200);
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

export function formatDate(unixOrIso) {
  if (unixOrIso === null || unixOrIso === undefined) return '—';
  const d = typeof unixOrIso === 'number' ? new Date(unixOrIso * 1000) : new Date(unixOrIso);
  if (Number.isNaN(d.getTime())) return String(unixOrIso);
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

/** The failed checks of one image and its layers, in plain words. */
export function imageProblems(image) {
  const problems = [];
  for (const c of image.checks || []) if (c.verdict !== 'ok' && c.verdict !== 'pending') problems.push(describeCheck(c));
  for (const l of image.layers || []) {
    for (const c of l.checks || []) {
      if (c.verdict !== 'ok' && c.verdict !== 'pending') problems.push(`layer ${l.index}: ${describeCheck(c)}`);
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

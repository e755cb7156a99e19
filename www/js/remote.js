// Opening an archive by its web address or an image in a registry, and links to what is
// on screen.
//
// `?url=<archive URL>` opens that archive as the page loads (a link was followed); the
// workers read it over HTTP Range requests (www/js/remote_source.js,
// src/wasm/http_reader.rs). `?ref=<image reference>` (and `&platform=os/arch[/variant]`)
// opens an image straight from its registry (www/js/registry.js, in the browsing worker).
// The landing page's box takes either: http(s):// is a URL, anything else a reference.
// While it is open the address keeps `?url=…` or `?ref=…`, and the hash the view
// (`#image=…&tab=…&path=…`), so "Copy link" hands a colleague the same view. A dropped file cannot be linked: its link names the
// file (`&file=…`), says the same file must be opened, and the page checks the image ID
// before it restores the view (app.js, restoreFromHash).
import { h, data } from './util.js';
import { t, tNode } from './i18n.js';

const $ = (id) => document.getElementById(id);

/** The archive's name in a URL: its last path segment, else the host. */
export function remoteName(url) {
  try {
    const u = new URL(url);
    const last = u.pathname.split('/').filter(Boolean).pop();
    return last ? decodeURIComponent(last) : u.host;
  } catch (error) {
    return url;
  }
}

/** "from example.com" (or "from registry.example.com"), next to the archive's name while
 * it is open; for an image of several platforms, the platform picker after it. `file` is
 * {url} or {ref}; `remote` the worker's answer about it (none yet while opening). */
export function remoteInfo(file, remote = null) {
  if (file.ref) {
    const registry = remote?.registry || file.registry || '';
    const from = h('span', { class: 'muted remote-from' }, tNode('remote.from_registry', { registry: data(registry, { title: remote?.ref || file.ref }) }));
    const platforms = remote?.platforms;
    // While another platform of the same image opens, its picker stays (and keeps focus).
    if (!remote && picker?.forRef === file.ref && picker.element.isConnected) return [from, picker.element];
    if (!platforms || platforms.length < 2) return from;
    return [from, platformPicker(remote, file.ref)];
  }
  let host = file.url;
  try {
    host = new URL(file.url).host;
  } catch (error) {
    // (shown as given)
  }
  return h('span', { class: 'muted remote-from' }, tNode('remote.from', { host: data(host, { title: file.url }) }));
}

const platformText = (p) => `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;

/** The platform picker on screen: one element for the open image, updated in place when
 * the header redraws (verdicts redraw it often), so keyboard focus and an open dropdown
 * stay on it. The header (app.js) leaves a node it gets back again where it is. */
let picker = null;

/** A native select of the index's platforms (values are archive data: translate="no");
 * choosing one reopens the image for it, `?ref=…&platform=…` in the address. */
function platformPicker(remote, forRef) {
  const values = remote.platforms.map(platformText);
  const chosen = remote.platform || values[0];
  if (!picker) {
    const select = h('select', { id: 'platform-select', translate: 'no' });
    select.addEventListener('change', () => {
      if (openFromPage) openFromPage(currentRef() || picker.remote.ref, 'push', select.value);
    });
    const label = h('label', { for: 'platform-select' });
    picker = { element: h('span', { class: 'platform-picker' }, label, ' ', select), select, label, values: null, remote };
  }
  picker.remote = remote;
  picker.forRef = forRef;
  picker.label.textContent = t('remote.platform');
  if (String(picker.values) !== String(values)) {
    picker.select.replaceChildren(...values.map((value) => h('option', { value }, value)));
    picker.values = values;
  }
  if (picker.select.value !== chosen) picker.select.value = chosen;
  return picker.element;
}

/** "Registry image · <registry>/<repository>" and the media type the reference named: the
 * header's format line for a registry image (the core sees the virtual OCI layout tar, an
 * "OCI archive"; that is strata's view, not what the image is). */
export function registryFormat(remote) {
  const where = data(`${remote.registry}/${remote.repository}`, { class: 'registry-where', title: remote.ref });
  const parts = [tNode('remote.registry_image', { where })];
  if (remote.mediaType) parts.push(' · ', h('code', { class: 'registry-media-type', translate: 'no', title: t('remote.media_type') }, remote.mediaType));
  return parts;
}

/** What an open names, to tell whether the address (Back/Forward) names something else:
 * `{url}` or `{ref, platform}` as given to the page; null for a local file. */
export function sourceKey(file) {
  if (file?.ref) return `ref ${String(file.ref).trim()} ${file.platform || ''}`;
  if (file?.url) return `url ${file.url}`;
  return null;
}

/** The source the address's query names (`?url=` or `?ref=` + `&platform=`), or null. */
function queryKey() {
  const params = new URLSearchParams(location.search);
  if (params.get('url')) return sourceKey({ url: parseUrl(params.get('url'))?.href || params.get('url') });
  if (params.get('ref')) return sourceKey({ ref: params.get('ref'), platform: params.get('platform') });
  return null;
}

/** Whether the address names a source other than `openKey` (what is open). */
export function addressNamesOther(openKey) {
  const wanted = queryKey();
  return wanted !== null && wanted !== openKey;
}

/** The reference in the address (`?ref=`), as the link gave it. */
function currentRef() {
  return new URLSearchParams(location.search).get('ref');
}

/** A local file is open now: `?url=` / `?ref=` no longer name what is on screen. */
export function forgetUrl() {
  const params = new URLSearchParams(location.search);
  if (!params.has('url') && !params.has('ref')) return;
  params.delete('url');
  params.delete('ref');
  params.delete('platform');
  const query = params.toString();
  history.replaceState(null, '', `${location.pathname}${query ? `?${query}` : ''}${location.hash}`);
}

/** The image's name as the page shows it: the reference without its registry
 * (`team/app:1.0`, `library/nginx:latest`, `app@sha256:0123456789ab…`). */
export function refName(parsed) {
  const digest = parsed.digest ? `@${parsed.digest.slice(0, 19)}…` : '';
  return `${parsed.repository}${parsed.tag ? `:${parsed.tag}` : ''}${digest}`;
}

// The reference parser lives with the registry client (www/js/registry.js, the browsing
// worker's); the page loads it when a reference is first opened.
let registryModule = null;
function loadRegistry() {
  if (!registryModule) registryModule = import('./registry.js');
  return registryModule;
}

/** A reference as docker reads it, or null. */
async function parseRef(raw) {
  const { parseReference } = await loadRegistry();
  try {
    return parseReference(raw);
  } catch (error) {
    return null;
  }
}

/** Set by initRemote: opens an image reference (the platform picker uses it). */
let openFromPage = null;

/** Parse what the person typed (or the link gave): an http(s) URL, else null. */
function parseUrl(raw) {
  try {
    const url = new URL(String(raw).trim(), location.href);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : null;
  } catch (error) {
    return null;
  }
}

/** What the box's text is: a web address when it starts with http(s)://, else an image
 * reference. */
const looksLikeUrl = (raw) => /^\s*https?:\/\//i.test(String(raw));

/**
 * `openArchive({url} | {ref, platform, name, registry})` opens a remote archive or a
 * registry image; `showError(render, kind)` / `hideError()`
 * the page's alert; `currentLink()` → {href, file, hasArchive}; `openKey()` → the
 * sourceKey of what is open (or opening); `ready` resolves when the catalogs are in.
 */
export function initRemote({ openArchive, showError, hideError, currentLink, openKey, ready }) {
  const openRef = async (raw, how, platform) => {
    const text = String(raw).trim();
    const parsed = await parseRef(text).catch(() => null);
    if (!parsed) {
      showError(() => tNode('remote.error.bad_input', { text: data(text) }));
      return;
    }
    hideError();
    const params = new URLSearchParams(location.search);
    params.delete('url');
    params.set('ref', text);
    if (platform) params.set('platform', platform);
    else params.delete('platform');
    // As for a URL: the box (and the platform picker) add an entry without the last view;
    // a followed link keeps its hash to be restored.
    if (how === 'push') history.pushState(null, '', `${location.pathname}?${params}`);
    else history.replaceState(null, '', `${location.pathname}?${params}${location.hash}`);
    openArchive({ ref: text, platform: platform || null, name: refName(parsed), registry: parsed.registry });
  };
  const openUrl = (raw, how) => {
    const url = parseUrl(raw);
    if (!url) {
      showError(() => t('remote.error.bad_url'));
      return;
    }
    hideError();
    const params = new URLSearchParams(location.search);
    params.delete('ref');
    params.delete('platform');
    params.set('url', url.href);
    // From the box: a new entry, without the last archive's view; from a followed link:
    // the same entry, its view kept in the hash to be restored.
    if (how === 'push') history.pushState(null, '', `${location.pathname}?${params}`);
    else history.replaceState(null, '', `${location.pathname}?${params}${location.hash}`);
    openArchive({ url: url.href });
  };
  // The box: http(s):// is a web address, anything else an image reference. (A `?url=`
  // link is always a URL, relative ones too.)
  const open = (raw, how) => (looksLikeUrl(raw) ? openUrl(raw, how) : openRef(raw, how, null));

  const form = $('url-form');
  if (form) {
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const value = $('url-input').value;
      if (value.trim()) open(value, 'push');
    });
  }

  const copy = $('copy-link-button');
  if (copy) copy.addEventListener('click', () => copyLink(currentLink, showError));

  openFromPage = openRef;
  // Back/Forward to an entry whose query names another archive or image (or platform) than
  // the one open: open it, the entry's hash restoring its view. (Entries that differ only
  // in the hash are app.js's hashchange.)
  window.addEventListener('popstate', () => {
    if (!addressNamesOther(openKey())) return;
    const params = new URLSearchParams(location.search);
    if (params.get('url')) openUrl(params.get('url'), 'replace');
    else openRef(params.get('ref'), 'replace', params.get('platform'));
  });
  ready.then(() => {
    const params = new URLSearchParams(location.search);
    const wanted = params.get('url');
    if (wanted) {
      openUrl(wanted, 'replace');
      return;
    }
    const ref = params.get('ref');
    if (ref) {
      openRef(ref, 'replace', params.get('platform'));
      return;
    }
    // A link made from a dropped file: it can only be followed with that file.
    const hash = new URLSearchParams(location.hash.slice(1));
    const name = hash.get('file');
    if (name && hash.get('image')) {
      showError(() => tNode('link.open_same_file', { name: data(name), image: data(hash.get('image')) }), 'notice');
    }
  });
}

/** Copy the link to what is on screen, and show it (selectable) in case the clipboard
 * refused. */
async function copyLink(currentLink, showError) {
  const { href, file } = currentLink();
  const query = new URLSearchParams(location.search);
  const local = !query.has('url') && !query.has('ref');
  let link = href;
  if (local && file?.name) {
    const u = new URL(href);
    // (The name is what the link can say of a local file; the image ID is checked.)
    u.hash = `${u.hash.slice(1)}&file=${encodeURIComponent(file.name)}`;
    link = u.href;
  }
  let copied = false;
  try {
    await navigator.clipboard.writeText(link);
    copied = true;
  } catch (error) {
    // (no clipboard here: the link is shown to be copied by hand)
  }
  if (window.strata) window.strata.lastLink = link;
  const key = copied ? (local ? 'link.copied_local' : 'link.copied') : 'link.copy_failed';
  showError(() => [tNode(key, { name: data(file?.name || '') }), ' ', h('code', { class: 'link-text', translate: 'no' }, link)], 'notice');
}

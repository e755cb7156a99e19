// Opening an archive by its web address, and links to what is on screen.
//
// `?url=<archive URL>` opens that archive as the page loads (a link was followed); the
// landing page's "Open URL" box does the same. The workers read it over HTTP Range
// requests (www/js/remote_source.js, src/wasm/http_reader.rs). While it is open the
// address keeps `?url=…`, and the hash the view (`#image=…&tab=…&path=…`), so "Copy link"
// hands a colleague the same view. A dropped file cannot be linked: its link names the
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

/** "from example.com", next to the archive's name while it is open. */
export function remoteInfo(url) {
  let host = url;
  try {
    host = new URL(url).host;
  } catch (error) {
    // (shown as given)
  }
  return h('span', { class: 'muted remote-from' }, tNode('remote.from', { host: data(host, { title: url }) }));
}

/** A local file is open now: `?url=` no longer names what is on screen. */
export function forgetUrl() {
  const params = new URLSearchParams(location.search);
  if (!params.has('url')) return;
  params.delete('url');
  const query = params.toString();
  history.replaceState(null, '', `${location.pathname}${query ? `?${query}` : ''}${location.hash}`);
}

/** Parse what the person typed (or the link gave): an http(s) URL, else null. */
function parseUrl(raw) {
  try {
    const url = new URL(String(raw).trim(), location.href);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : null;
  } catch (error) {
    return null;
  }
}

/**
 * `openArchive({url})` opens a remote archive; `showError(render, kind)` / `hideError()`
 * the page's alert; `currentLink()` → {href, file, hasArchive}; `ready` resolves when the
 * catalogs are in.
 */
export function initRemote({ openArchive, showError, hideError, currentLink, ready }) {
  const open = (raw, how) => {
    const url = parseUrl(raw);
    if (!url) {
      showError(() => t('remote.error.bad_url'));
      return;
    }
    hideError();
    const params = new URLSearchParams(location.search);
    params.set('url', url.href);
    // From the box: a new entry, without the last archive's view; from a followed link:
    // the same entry, its view kept in the hash to be restored.
    if (how === 'push') history.pushState(null, '', `${location.pathname}?${params}`);
    else history.replaceState(null, '', `${location.pathname}?${params}${location.hash}`);
    openArchive({ url: url.href });
  };

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

  ready.then(() => {
    const params = new URLSearchParams(location.search);
    const wanted = params.get('url');
    if (wanted) {
      open(wanted, 'replace');
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
  const local = !new URLSearchParams(location.search).has('url');
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

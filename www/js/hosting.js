// What the page does when a team hosts it (`./build.sh dist`, README "Host it for your
// team"): the service worker (offline app shell, streamed downloads), files the installed
// app is asked to open by the operating system (`launchQueue`, the manifest's
// `file_handlers`), and the optional `library.json` beside index.html listed on the landing
// page. Text from library.json is the host's, not the page's: it is drawn as text, marked
// translate="no", never as HTML.
import { h } from './util.js';
import { t, tNode, onLangChange } from './i18n.js';
import { registerServiceWorker, lastDownload } from './download.js';

/** Largest library.json read (it is a short list, not a catalog). */
const LIBRARY_MAX = 1 << 20;
/** Entries listed at most. */
const LIBRARY_ENTRIES = 200;

/** `openArchive(file)` opens a File as if picked; `ready` resolves when the catalogs are in. */
export function initHosting({ openArchive, ready }) {
  registerServiceWorker();
  if (window.strata) window.strata.lastDownload = lastDownload;
  // The installed app opening a .tar / .tar.gz from the operating system (Chromium).
  if ('launchQueue' in window) {
    window.launchQueue.setConsumer(async (params) => {
      const handle = params.files && params.files[0];
      if (!handle) return;
      await ready;
      openArchive(await handle.getFile());
    });
  }
  ready.then(() => showLibrary(openArchive));
}

/** The library is read only on a built site that has one: `./build.sh dist` names it in
 * `<meta name="strata-library">` (always written there, `[]` unless the host gave one), so
 * the source tree's page never asks for a file that is not there. */
async function showLibrary(openArchive) {
  const marker = document.querySelector('meta[name="strata-library"]');
  if (!marker) return;
  let entries;
  try {
    const response = await fetch(marker.content);
    if (!response.ok) return;
    const text = await response.text();
    if (text.length > LIBRARY_MAX) return;
    entries = JSON.parse(text);
  } catch {
    return; // no library, or not JSON: nothing is listed
  }
  if (!Array.isArray(entries)) entries = entries && Array.isArray(entries.images) ? entries.images : [];
  entries = entries.filter((e) => e && typeof e === 'object' && typeof e.name === 'string' && (typeof e.url === 'string' || typeof e.ref === 'string'))
    .slice(0, LIBRARY_ENTRIES);
  if (!entries.length) return;
  const box = h('div', { class: 'library lesson-links', id: 'library', role: 'group', 'aria-labelledby': 'library-title' });
  const draw = () => {
    box.replaceChildren(h('p', { id: 'library-title' }, t('library.title')),
      h('ul', { class: 'library-list' }, entries.map((entry) => libraryItem(entry, openArchive))));
  };
  draw();
  onLangChange(draw);
  const after = document.querySelector('#landing .lesson-links') || document.querySelector('#landing .landing-actions');
  if (after) after.after(box);
}

function libraryItem(entry, openArchive) {
  let resolved = null;
  try {
    resolved = entry.url !== undefined ? new URL(entry.url, document.baseURI) : null;
  } catch {
    resolved = null;
  }
  const description = typeof entry.description === 'string' ? entry.description : '';
  let opener;
  if (resolved && resolved.origin === location.origin) {
    // An archive on this site: fetched and opened here.
    opener = h('button', { type: 'button', class: 'secondary', translate: 'no', onclick: () => openFromSite(resolved, entry.name, openArchive) }, entry.name);
  } else {
    // Another host: the page's open-by-URL (`?url=`) takes it; a registry reference:
    // `?ref=` (www/js/remote.js).
    const query = entry.url !== undefined ? `?url=${encodeURIComponent(entry.url)}` : `?ref=${encodeURIComponent(entry.ref)}`;
    opener = h('a', { href: query, class: 'button secondary', translate: 'no' }, entry.name);
  }
  return h('li', null, opener, description ? h('span', { class: 'muted library-description', translate: 'no' }, description) : null);
}

async function openFromSite(url, name, openArchive) {
  const box = document.getElementById('error');
  try {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const blob = await response.blob();
    const fileName = url.pathname.split('/').pop() || 'strata-library.tar';
    await openArchive(new File([blob], fileName, { type: blob.type || 'application/x-tar' }));
  } catch (error) {
    box.className = 'error-box';
    box.replaceChildren(tNode('library.open_failed', { name, reason: error.message }));
    box.hidden = false;
  }
}

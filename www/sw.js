// strata's service worker. Two jobs:
//  1. Offline: on a built site (`./build.sh dist` writes BUILD and SHELL below) it keeps
//     the app shell — the page, every script and ES module, the wasm, the catalogs, the
//     sample — in a cache named after the build, and answers the page from it, so a hosted
//     page opens with no network after one visit. A new build is a new sw.js (BUILD
//     differs): it fills its own cache, takes over, and deletes the old build's cache. In
//     the source tree (BUILD 'dev') nothing is cached: every edit is seen at once.
//  2. Streamed downloads (www/js/download.js): the page registers a download and follows
//     a link to `download/<id>/<name>`; the answer is a stream whose pieces the page sends
//     through a MessagePort when the browser's download manager wants more.
// It never touches a request to another origin, a Range request, or anything not a GET:
// those go to the network as if it were not here.

const BUILD = 'dev';
const SHELL = [];

const CACHE = `strata-${BUILD}`;
const SCOPE = new URL(self.registration.scope);
const DOWNLOAD_PREFIX = new URL('download/', SCOPE).pathname;

/** Downloads the page has announced and not yet started: id → {name, type, size, port}. */
const downloads = new Map();

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    if (BUILD !== 'dev') {
      const cache = await caches.open(CACHE);
      // `cache: 'reload'`: the shell of this build from the server, never an older copy from
      // the HTTP cache.
      await cache.addAll(SHELL.map((url) => new Request(new URL(url, SCOPE), { cache: 'reload' })));
    }
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith('strata-') && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener('message', (event) => {
  const wanted = event.data && event.data.strataDownload;
  if (!wanted || !event.ports[0]) return;
  const port = event.ports[0];
  downloads.set(wanted.id, { ...wanted, port });
  port.postMessage({ ready: true });
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== SCOPE.origin || request.method !== 'GET' || request.headers.has('range')) return;
  if (url.pathname.startsWith(DOWNLOAD_PREFIX)) {
    const id = decodeURIComponent(url.pathname.slice(DOWNLOAD_PREFIX.length).split('/')[0]);
    const wanted = downloads.get(id);
    if (wanted) {
      downloads.delete(id);
      event.respondWith(streamedDownload(wanted));
    }
    return;
  }
  if (BUILD === 'dev') return;
  event.respondWith(fromShell(request, url));
});

/** The page from this build's cache: a navigation (any query or hash) is index.html; the
 * rest by URL, version query included. What the cache lacks comes from the network. */
async function fromShell(request, url) {
  const cache = await caches.open(CACHE);
  const navigation = request.mode === 'navigate' && url.pathname.startsWith(SCOPE.pathname)
    && (url.pathname === SCOPE.pathname || url.pathname.endsWith('/index.html'));
  const hit = navigation ? await cache.match(new URL('index.html', SCOPE)) : await cache.match(request);
  return hit || fetch(request);
}

function streamedDownload({ name, type, size, port }) {
  let waiting = null; // {controller, resolve} while a piece is on its way
  port.onmessage = ({ data }) => {
    if (!waiting) return;
    const { controller, resolve } = waiting;
    waiting = null;
    if (data.chunk) {
      controller.enqueue(data.chunk);
    } else if (data.done) {
      controller.close();
      port.close();
    } else {
      controller.error(new Error(data.error || 'the download failed'));
      port.close();
    }
    resolve();
  };
  // Four pieces (16 MiB) are asked for ahead of the download manager, no more.
  const body = new ReadableStream({
    pull(controller) {
      return new Promise((resolve) => {
        waiting = { controller, resolve };
        port.postMessage({ pull: true });
      });
    },
    cancel() {
      port.postMessage({ cancel: true });
      port.close();
    },
  }, new CountQueuingStrategy({ highWaterMark: 4 }));
  const headers = {
    'Content-Type': type || 'application/octet-stream',
    'Content-Disposition': `attachment; filename*=UTF-8''${encodeURIComponent(name)}`,
    'X-Content-Type-Options': 'nosniff',
  };
  if (size !== undefined && size !== null) headers['Content-Length'] = String(size);
  return new Response(body, { headers });
}

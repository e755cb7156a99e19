// Downloads that may be bigger than the browser's memory (a 10 GB file, a rootfs export).
// The bytes come from the browsing worker a piece at a time (a *source*: `next()` gives the
// next Uint8Array, or null at the end) and go to the best *sink* this browser has:
//   1. the File System Access API: `showSaveFilePicker()` and a writable stream to the
//      file the person picked (Chromium; the next piece is asked for only once the last
//      one is written, so memory holds one piece);
//   2. a streamed download through the service worker (www/sw.js): the page registers a
//      download with it, then follows a link to `download/<id>/<name>`; the service
//      worker answers with a ReadableStream that asks the page for each next piece as the
//      browser's download manager writes (Firefox, Safari);
//   3. a Blob in memory, the way every download worked before, up to IN_MEMORY_CAP; a
//      bigger download is refused in words (`download.too_big`).
// Small downloads (a size hint up to SMALL) always take the Blob path: no save dialog for a
// 3 KB file, and nothing to gain from streaming it.
import { download as blobDownload } from './util.js';
import { formatSize } from './i18n.js';

/** Downloads up to this size are made in memory, as before (no dialog, no service worker). */
export const SMALL = 32 << 20;
/** The most a download may grow to in memory where nothing can stream it. */
export const IN_MEMORY_CAP = 256 << 20;
/** Pieces a file download asks the worker for (a 4 MiB read, like the core's export chunks). */
const FILE_STEP = 4 << 20;

/** What the last download did, for the page tests and the benchmark: {sink, bytes, name}. */
export const lastDownload = { sink: null, bytes: 0, name: null };

/** A download that did not happen, worded by the page's catalogs (`key`, `params`). */
export class DownloadRefused extends Error {
  constructor(key, { size, cap }) {
    super(`${key}: ${size} bytes, at most ${cap}`);
    this.key = key;
    this.params = { size: formatSize(size), cap: formatSize(cap) };
  }
}

/** A file of the archive read a piece at a time with `readFile` requests: each piece is
 * read when the sink asks for it (back-pressure all the way to the archive). */
export function fileSource(core, { image, layer, path, size }) {
  let offset = 0;
  let done = false;
  return {
    async next() {
      if (done) return null;
      const want = size === undefined ? FILE_STEP : Math.min(FILE_STEP, size - offset);
      if (want <= 0) {
        done = true;
        return null;
      }
      const bytes = await core('readFile', { image, layer, path, offset, length: want });
      offset += bytes.length;
      if (bytes.length < want) done = true; // (the end, or a file shorter than its header said)
      if (bytes.length === 0) return null;
      return bytes;
    },
    cancel() { done = true; },
  };
}

/** An export the core writes in one go (`what`: 'rootfs' or 'layer'): the worker posts its
 * 4 MiB chunks through a MessagePort as the core makes them. The core's export cannot pause,
 * so a sink slower than the export makes the queue here grow; it never holds what was
 * already handed on. */
export function exportSource(core, { what, image, layer }) {
  const channel = new MessageChannel();
  const queue = [];
  let finished = false;
  let failure = null;
  let cancelled = false;
  let wake = null;
  const wakeUp = () => {
    if (wake) wake();
    wake = null;
  };
  channel.port1.onmessage = ({ data }) => {
    if (data.chunk) {
      if (!cancelled) queue.push(data.chunk);
    } else if (data.done) {
      finished = true;
      channel.port1.close();
    }
    wakeUp();
  };
  core('exportStream', { what, image, layer, port: channel.port2 }, [channel.port2]).catch((error) => {
    failure = error;
    wakeUp();
  });
  return {
    async next() {
      for (;;) {
        if (queue.length) return queue.shift();
        if (failure) throw failure;
        if (finished) return null;
        await new Promise((resolve) => { wake = resolve; });
      }
    },
    cancel() {
      cancelled = true;
      queue.length = 0;
    },
  };
}

/** Save what `source` gives as a file called `name`. `sizeHint` (bytes, may be a guess)
 * picks the path: up to SMALL in memory, above it a streaming sink. Must be called straight
 * from the click (the save dialog needs the click's user activation). Resolves with
 * {sink, bytes} when saved, or {sink: 'cancelled'} when the person closed the dialog. */
export async function saveStream({ name, type = 'application/octet-stream', sizeHint, size, source }) {
  const big = sizeHint === undefined || sizeHint > SMALL;
  let result;
  if (big && typeof window.showSaveFilePicker === 'function') {
    result = await toPickedFile(name, type, source);
  } else if (big && await serviceWorkerReady()) {
    result = await throughServiceWorker(name, type, size, source);
  } else {
    if (size !== undefined && size > IN_MEMORY_CAP) {
      source.cancel();
      throw new DownloadRefused('download.too_big', { size, cap: IN_MEMORY_CAP });
    }
    result = await inMemory(name, type, source);
  }
  Object.assign(lastDownload, { ...result, name });
  return result;
}

async function toPickedFile(name, type, source) {
  let handle;
  try {
    handle = await window.showSaveFilePicker({ suggestedName: name });
  } catch (error) {
    source.cancel();
    if (error && error.name === 'AbortError') return { sink: 'cancelled', bytes: 0 };
    throw error;
  }
  const writable = await handle.createWritable();
  let bytes = 0;
  try {
    for (let chunk = await source.next(); chunk; chunk = await source.next()) {
      await writable.write(chunk);
      bytes += chunk.byteLength;
    }
    await writable.close();
  } catch (error) {
    source.cancel();
    await writable.abort().catch(() => {});
    throw error;
  }
  return { sink: 'file-system-access', bytes };
}

async function inMemory(name, type, source) {
  const parts = [];
  let bytes = 0;
  for (let chunk = await source.next(); chunk; chunk = await source.next()) {
    bytes += chunk.byteLength;
    if (bytes > IN_MEMORY_CAP) {
      source.cancel();
      throw new DownloadRefused('download.too_big', { size: bytes, cap: IN_MEMORY_CAP });
    }
    parts.push(chunk);
  }
  blobDownload(new Blob(parts, { type }), name, type);
  return { sink: 'memory', bytes };
}

// ---------- the service worker ----------

let registration = null;

/** Register www/sw.js (the app-shell cache of a built site, and streamed downloads). A built
 * site (`./build.sh dist` marks it with <meta name="strata-build">) registers it when the page
 * starts, to be there offline next time; the source tree's page only at its first big
 * download, so page loads (and their tests and benchmarks) go without one. A browser without
 * service workers (or a page from file://) goes without. */
export function registerServiceWorker({ now = Boolean(document.querySelector('meta[name="strata-build"]')) } = {}) {
  if (registration || !now || !('serviceWorker' in navigator) || !window.isSecureContext) return;
  registration = navigator.serviceWorker.register(new URL('../sw.js', import.meta.url), { scope: './' })
    .catch(() => null);
}

/** Whether a service worker controls this page now (the first time: once it has claimed
 * the page, which it does as soon as it is active; waited for a little). */
async function serviceWorkerReady() {
  registerServiceWorker({ now: true });
  if (!registration || !navigator.serviceWorker) return false;
  if (navigator.serviceWorker.controller) return true;
  const reg = await registration;
  if (!reg) return false;
  if (!navigator.serviceWorker.controller) {
    await Promise.race([
      new Promise((resolve) => navigator.serviceWorker.addEventListener('controllerchange', resolve, { once: true })),
      new Promise((resolve) => setTimeout(resolve, 5000)),
    ]);
  }
  return Boolean(navigator.serviceWorker.controller);
}

/** Hand the download to the service worker: it answers `download/<id>/<name>` with a
 * stream and asks for each piece through a MessagePort when the browser wants more. */
function throughServiceWorker(name, type, size, source) {
  const channel = new MessageChannel();
  const id = crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(16).slice(2)}`;
  let bytes = 0;
  let finish = () => {};
  let pulled = false;
  return new Promise((resolve, reject) => {
    const port = channel.port1;
    port.onmessage = async ({ data }) => {
      try {
        if (data.ready) {
          // A navigation of a hidden frame: Chromium hands a link with `download` straight
          // to its download manager, past the service worker; a navigation goes through it
          // (and the attachment answer becomes a download). Were the service worker not to
          // answer after all, only the frame would show the server's "not found".
          const frame = document.createElement('iframe');
          frame.hidden = true;
          frame.src = `download/${id}/${encodeURIComponent(name)}`;
          document.body.append(frame);
          finish = () => frame.remove();
          // A download the service worker never asks for (it did not answer the frame)
          // fails in words instead of waiting for ever.
          setTimeout(() => {
            if (pulled) return;
            port.close();
            finish();
            reject(new Error('the service worker did not start the download'));
          }, 20_000);
        } else if (data.pull) {
          pulled = true;
          const chunk = await source.next();
          if (!chunk) {
            port.postMessage({ done: true });
            port.close();
            // (The frame goes a little later: the download manager has the stream by now.)
            setTimeout(finish, 1000);
            resolve({ sink: 'service-worker', bytes });
            return;
          }
          bytes += chunk.byteLength;
          const own = chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength ? chunk : chunk.slice();
          port.postMessage({ chunk: own }, [own.buffer]);
        } else if (data.cancel) {
          // The person cancelled the download in the browser.
          source.cancel();
          port.close();
          finish();
          resolve({ sink: 'cancelled', bytes });
        }
      } catch (error) {
        port.postMessage({ error: String(error && error.message) });
        port.close();
        finish();
        reject(error);
      }
    };
    navigator.serviceWorker.controller.postMessage({ strataDownload: { id, name, type, size } }, [channel.port2]);
  });
}

// An archive on a web server, for the workers: the probe that decides how to read it,
// the whole download for a server that ignores Range, and a File-like object over Range
// requests for the helpers' asynchronous reads. (The browsing worker's synchronous reads
// are the core's own: src/wasm/http_reader.rs.) No DOM and no wasm import here.
//
// Every request sends one plain `Range: bytes=a-b` header and nothing else: that header is
// CORS-safelisted, so the browser sends no preflight (If-Range or a custom header would
// force one, which many static servers refuse).

/** The probe's range: the first tar headers and the archive's kind in one request. */
const PROBE_BYTES = 64 << 10;
/** Attempts per request when the network fails or the server answers 5xx. */
const ATTEMPTS = 3;
/** A RemoteFile stream's first range request, and its largest (see `stream`). */
const STREAM_FIRST_PIECE = 256 << 10;
const STREAM_MAX_PIECE = 8 << 20;
/** A whole span read into one buffer (`readInto`: verification reads every byte, so
 * nothing is fetched for nothing): pieces this big, this many in flight at once. Measured
 * in Chromium over loopback, 432 MB: 8 MiB pieces moved ~1.5× the bytes per second of
 * 1 MiB pieces, and 3–4 in flight ~1.5× one at a time (a request's own cost overlaps). */
const WHOLE_PIECE = 8 << 20;
const WHOLE_IN_FLIGHT = 3;
/** A download (server without Range) moves its pieces into a Blob this often, so the
 * browser can keep them out of JS memory (on disk, for a big one). */
const BLOB_EVERY = 64 << 20;

/** An Error the page words with its catalogs (`key`, `params`). */
export function remoteError(key, params, message) {
  return Object.assign(new Error(message), { key, params });
}

/** Why a request that never got an answer failed: CORS, or the network. A `no-cors`
 * request (whose answer the page may not read, but which a reachable server answers) tells
 * them apart. */
export async function failedRequestError(url) {
  const origin = new URL(url).origin;
  try {
    await fetch(url, { method: 'HEAD', mode: 'no-cors', cache: 'no-store' });
    return remoteError('remote.error.cors', { origin }, `the server at ${origin} does not allow this page to read the file (CORS)`);
  } catch (error) {
    return remoteError('remote.error.network', { origin }, `the server at ${origin} could not be reached`);
  }
}

export function statusError(status, url) {
  const origin = new URL(url).origin;
  if (status === 404 || status === 410) return remoteError('remote.error.not_found', { status: String(status) }, `the server has no file there (${status})`);
  if (status === 401 || status === 403) return remoteError('remote.error.auth', { status: String(status) }, `the server refused access (${status})`);
  return remoteError('remote.error.status', { status: String(status), origin }, `the server answered ${status}`);
}

export function changedError(detail) {
  return remoteError('remote.error.changed', { detail }, `the file on the server changed while it was read: ${detail}`);
}

/** `bytes a-b/total` → {start, end, total} (total null when `*`), or null. */
export function parseContentRange(value) {
  const m = /^\s*bytes\s+(\d+)-(\d+)\/(\d+|\*)\s*$/.exec(value || '');
  if (!m) return null;
  return { start: Number(m[1]), end: Number(m[2]), total: m[3] === '*' ? null : Number(m[3]) };
}

/** One range request, retried when the network fails or the server answers 5xx.
 * `headers` (a registry's `Authorization`) go with the Range; none by default, so no
 * preflight. */
async function rangeFetch(url, start, end, signal, headers) {
  let lastError = null;
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    let response;
    try {
      response = await fetch(url, { headers: { ...headers, Range: `bytes=${start}-${end - 1}` }, signal, cache: 'no-store' });
    } catch (error) {
      if (signal?.aborted) throw error;
      lastError = null;
      continue;
    }
    if (response.status >= 500 && attempt < ATTEMPTS) {
      response.body?.cancel().catch(() => {});
      lastError = response.status;
      continue;
    }
    return response;
  }
  if (lastError) throw statusError(lastError, url);
  throw await failedRequestError(url);
}

/**
 * Decide how to read the archive at `url`: one range request for its first bytes.
 * Answers {mode: 'range', source: {url, size, etag}} when the server honours Range and
 * lets the page read Content-Range; otherwise {mode: 'whole', response}: the answer of a
 * plain GET (a server that ignores Range sends the whole file to the probe itself), to be
 * read in one streamed pass with `download`.
 */
export async function probe(url) {
  const response = await rangeFetch(url, 0, PROBE_BYTES);
  if (response.status === 206) {
    const range = parseContentRange(response.headers.get('Content-Range'));
    const etag = response.headers.get('ETag') || '';
    const head = await response.arrayBuffer().catch(() => null);
    if (range && range.total !== null && range.start === 0) {
      const source = { url, size: range.total, etag };
      // The probe's bytes are the archive's first ones: the core's reader starts with them
      // cached (src/wasm/http_reader.rs, `head`), one request less before the tags show.
      // Not enumerable, so they stay in this worker: `source` is posted to the page and
      // the helpers, which need only {url, size, etag}.
      if (head && head.byteLength === range.end + 1) Object.defineProperty(source, 'head', { value: new Uint8Array(head), enumerable: false });
      return { mode: 'range', source };
    }
    // Content-Range is hidden (not in Access-Control-Expose-Headers): the size is unknown,
    // so read it the way a server without Range is read.
    const whole = await fetch(url, { cache: 'no-store' }).catch(() => null);
    if (!whole) throw await failedRequestError(url);
    if (!whole.ok) throw statusError(whole.status, url);
    return { mode: 'whole', response: whole, why: 'content-range hidden' };
  }
  if (response.status === 200) return { mode: 'whole', response, why: 'no range' };
  response.body?.cancel().catch(() => {});
  throw statusError(response.status, url);
}

/** Read a whole answer into a Blob: the one streamed pass for a server without Range.
 * `progress(done, total)`; total is 0 when the server does not say. */
export async function download(response, url, progress) {
  const total = Number(response.headers.get('Content-Length')) || 0;
  const reader = response.body.getReader();
  let blob = new Blob([]);
  let parts = [];
  let inParts = 0;
  let done = 0;
  for (;;) {
    let step;
    try {
      step = await reader.read();
    } catch (error) {
      throw await failedRequestError(url);
    }
    if (step.done) break;
    parts.push(step.value);
    inParts += step.value.byteLength;
    done += step.value.byteLength;
    if (inParts >= BLOB_EVERY) {
      blob = new Blob([blob, ...parts]);
      parts = [];
      inParts = 0;
    }
    progress(done, total);
  }
  blob = new Blob([blob, ...parts]);
  if (total && blob.size !== total) throw changedError(`${blob.size} bytes came where the server announced ${total}`);
  return blob;
}

/** Bytes received by RemoteFile reads in this worker (for the benchmark). */
export const remoteFetched = { bytes: 0 };

/** The pieces this worker's RemoteFile streams fetched last, kept for a later read of the
 * same bytes: an index walk that jumps over a file cancels its stream, and the header it
 * jumps to is often inside the piece it was reading or the one fetched ahead (a jump over a
 * file of a few MiB). Without them those bytes came twice, or the walk waited for a new
 * request. At most KEPT_MAX bytes, the oldest dropped first. */
const KEPT_MAX = 32 << 20;
const kept = []; // {key, start, end, got: Promise<ArrayBuffer>}
let keptBytes = 0;
/** Reads answered from kept pieces (for the benchmark). */
export const keptHits = { reads: 0, bytes: 0 };

/** Whose bytes a kept piece holds: the URL and the file the probe saw there (its size and
 * ETag), so a file replaced under the same URL never answers from the old one's pieces. */
const keyOf = (file) => `${file.url}\n${file.size}\n${file.etag}`;

function keep(key, start, end, got) {
  const entry = { key, start, end, got };
  kept.push(entry);
  keptBytes += end - start;
  got.catch(() => forget(entry)); // (a failed piece answers nothing)
  while (keptBytes > KEPT_MAX && kept.length > 1) forget(kept[0]);
}

function forget(entry) {
  const at = kept.indexOf(entry);
  if (at < 0) return;
  kept.splice(at, 1);
  keptBytes -= entry.end - entry.start;
}

/** [from, to) of the file `key` names from a kept piece (a copy), or null. */
function fromKept(key, from, to) {
  for (let k = kept.length - 1; k >= 0; k--) {
    const e = kept[k];
    if (e.key === key && e.start <= from && to <= e.end) {
      keptHits.reads += 1;
      keptHits.bytes += to - from;
      return e.got.then((buffer) => buffer.slice(from - e.start, to - e.start));
    }
  }
  return null;
}

/**
 * A registry image's token, shared by the readers of its parts: `{endpoint: {url, realm,
 * service, scope}, authorization}` (`endpoint` as js/registry.js found it; anonymous).
 */
export function registryAuth(endpoint, authorization) {
  return { endpoint, authorization: authorization || null, renewing: null };
}

/** A new token from `auth.endpoint`, unless another reader got one since `sentWith` was
 * sent (then that one serves): one token request however many reads hit the expiry. */
async function renewToken(auth, sentWith, signal) {
  if (auth.authorization && auth.authorization !== sentWith) return;
  if (!auth.renewing) {
    auth.renewing = (async () => {
      const answer = await fetch(auth.endpoint.url, { cache: 'no-store', signal }).catch(() => null);
      const json = answer && answer.ok ? await answer.json().catch(() => null) : null;
      const token = json && (json.token || json.access_token);
      // No token: the read is sent again with the old one, and its 401 is the error.
      if (typeof token === 'string' && token) auth.authorization = `Bearer ${token}`;
    })().finally(() => {
      auth.renewing = null;
    });
  }
  await auth.renewing;
}

/**
 * A file on a web server as the helpers' readers use a Blob: `size`, and `slice(a, b)`
 * with `arrayBuffer()` and `stream()` — each one range request, its answer checked against
 * the size (and ETag) the probe saw.
 */
export class RemoteFile {
  /** `auth`: a registry's token, shared by every RemoteFile of one image (see
   * `registryAuth`): an expired one is renewed once for all of them. */
  constructor({ url, size, etag, headers, auth }) {
    this.url = url;
    this.size = size;
    this.etag = etag || '';
    this.headers = headers || undefined; // (a registry's token: see js/registry.js)
    this.auth = auth || null;
    this.remote = true; // (readahead.js: no BYOB readers over these streams)
  }

  /** The answer to a range request for [start, end), checked. A 401 with a token endpoint
   * known: a new token (one for all the files sharing `auth`), then the read once more. */
  async open(start, end, signal) {
    const withToken = () => (this.auth?.authorization ? { ...this.headers, Authorization: this.auth.authorization } : this.headers);
    let sent = withToken();
    let response = await rangeFetch(this.url, start, end, signal, sent);
    if (response.status === 401 && this.auth) {
      response.body?.cancel().catch(() => {});
      await renewToken(this.auth, sent?.Authorization, signal);
      sent = withToken();
      response = await rangeFetch(this.url, start, end, signal, sent);
    }
    if (response.status !== 206) {
      response.body?.cancel().catch(() => {});
      if (response.status === 200) throw changedError('the server stopped answering range requests');
      // "Range not satisfiable" inside the size the probe saw: the file is shorter now.
      if (response.status === 416) throw changedError(`it is ${(response.headers.get('Content-Range') || '').split('/')[1] || 'fewer'} bytes now, it was ${this.size} bytes`);
      throw statusError(response.status, this.url);
    }
    const range = parseContentRange(response.headers.get('Content-Range'));
    if (range && range.total !== this.size) throw changedError(`it is ${range.total} bytes now, it was ${this.size} bytes`);
    const etag = response.headers.get('ETag');
    if (this.etag && etag && etag !== this.etag) throw changedError(`its ETag is ${etag}, it was ${this.etag}`);
    return response;
  }

  /** Bytes [from, to) in one buffer: one range request, its answer checked. `signal`
   * aborts it (the server stops sending). */
  async bytes(from, to, signal) {
    if (to === from) return new ArrayBuffer(0);
    const known = fromKept(keyOf(this), from, to);
    if (known) return known;
    const response = await this.open(from, to, signal);
    const buffer = await response.arrayBuffer().catch(async (error) => {
      if (signal?.aborted) throw error;
      throw await failedRequestError(this.url);
    });
    if (buffer.byteLength !== to - from) throw changedError(`got ${buffer.byteLength} bytes at byte ${from} where ${to - from} were expected`);
    remoteFetched.bytes += buffer.byteLength;
    return buffer;
  }

  slice(start, end) {
    const file = this;
    const from = Math.max(0, Math.min(start, this.size));
    const to = Math.max(from, Math.min(end ?? this.size, this.size));
    return {
      size: to - from,
      arrayBuffer: () => file.bytes(from, to),
      // A stream of bounded range requests, not one open-ended request: a walk that jumps
      // over a big file cancels its stream, and everything the server had sent by then
      // (on loopback, most of a layer) was fetched for nothing. The pieces grow while the
      // reader keeps reading (256 KiB doubling to `maxPiece`, 8 MiB unless told), and one
      // is always in flight ahead, so streaming still overlaps the network with the work.
      // Every piece is kept a while (`kept`): what a walk leaves unread when it jumps is
      // there for its next reads.
      stream({ maxPiece = STREAM_MAX_PIECE } = {}) {
        let next = from;
        let piece = Math.min(STREAM_FIRST_PIECE, maxPiece);
        let ahead = null;
        const fetchNext = () => {
          if (next >= to) return null;
          const end = Math.min(to, next + piece);
          piece = Math.min(piece * 2, maxPiece);
          const got = file.bytes(next, end);
          got.catch(() => {}); // (a piece fetched ahead and never read fails quietly)
          keep(keyOf(file), next, end, got);
          next = end;
          return got;
        };
        return new ReadableStream({
          async pull(controller) {
            const current = ahead || fetchNext();
            if (!current) {
              controller.close();
              return;
            }
            ahead = fetchNext();
            controller.enqueue(new Uint8Array(await current));
          },
          cancel() {
            ahead = null; // (kept: see fetchNext)
            next = to;
          },
        }, { highWaterMark: 0 }); // (nothing fetched before the reader asks, but the piece ahead)
      },
      // The whole slice into `target` (a Uint8Array of its size): every byte is wanted, so
      // big pieces from the start, several in flight (no stream that starts small and
      // fetches one piece ahead). `onRead(bytesInPlace)` as pieces land; `mayGo()` is
      // awaited before each request (the page may hold the helper's reads). A failed piece
      // aborts the others.
      async readInto(target, onRead, mayGo) {
        const abort = new AbortController();
        let next = from;
        let filled = 0;
        const lane = async () => {
          while (next < to) {
            if (mayGo) await mayGo();
            if (next >= to) break;
            const a = next;
            const b = Math.min(to, a + WHOLE_PIECE);
            next = b;
            const buffer = await file.bytes(a, b, abort.signal);
            target.set(new Uint8Array(buffer), a - from);
            filled += buffer.byteLength;
            onRead?.(filled);
          }
        };
        try {
          await Promise.all(Array.from({ length: WHOLE_IN_FLIGHT }, lane));
        } catch (error) {
          abort.abort();
          throw error;
        }
        return target;
      },
    };
  }
}

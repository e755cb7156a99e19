// The module worker that runs the strata core (Rust → wasm). All reading, hashing and
// merging happens here, over the dropped File, so the page never freezes and nothing is
// uploaded. The page talks to it with {id, op, ...} requests; it answers {id, ok, value}
// or {id, ok: false, error}, and posts {type: 'progress' | 'indexed' | 'verified' | 'verdict'}
// events while long jobs run.
import init, {
  Session, LayerIndexer, quick_index_span as quickIndexSpan, analyze_span as analyzeSpan, analyze_bytes as analyzeBytes,
  analyze_bytes_digests_elsewhere as analyzeBytesDigestsElsewhere, http_stats as httpStats,
} from './pkg/strata.js';
import {
  readWhole, indexStreaming, SMALL_READ, streamsOpened, indexBytesRead, holdReads, readsMayGo, holdStats,
} from './js/readahead.js';
import {
  probe, download, RemoteFile, remoteFetched, failedRequestError, statusError, changedError,
} from './js/remote_source.js';
import { openRegistry } from './js/registry.js';
import { PartsFile } from './js/parts_source.js';

/** Largest blob read whole into (JS) memory to be hashed by WebCrypto. The bound keeps a
 * helper's memory independent of the archive: at most this much, twice while WebCrypto
 * holds its own copy of the input. */
const WHOLE_BLOB_MAX = 256 << 20;

/** Smallest blob a compressed archive's pass sends to a helper to be hashed (smaller ones
 * cost more to send than to hash in wasm). */
const HASH_ELSEWHERE_MIN = 1 << 20;

/** The buffer the last blob was read into, kept for the next (the page hands out blobs
 * largest first, so it usually fits). Fresh memory for every blob costs a page fault per
 * 4 KiB: on the bench archive, reusing it made verification ~40–150 ms sooner (medians of
 * three interleaved A/B sessions). Taken while a blob is in it, so two requests at once
 * never share it; it goes when the helper is dismissed after verification. */
let spareBuffer = null;

/** Largest decompressed layer stream kept in (JS) memory to be hashed by WebCrypto (its
 * diff_id). A bigger one is decompressed again and hashed by the core's SHA-256 (or at once,
 * when a gzip trailer says it is bigger). */
const UNCOMPRESSED_MAX = 256 << 20;

/** As `spareBuffer`, for decompressed layer streams. */
let spareUncompressed = null;

const hex = (buffer) => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');

// The page sends the compiled core as the first message (null if it could not compile it:
// then this worker fetches and compiles it itself).
let startCore;
const ready = new Promise((resolve) => { startCore = resolve; }).then((module) =>
  init({ module_or_path: module || new URL('./pkg/strata_bg.wasm', import.meta.url) }));
const sessions = new Map();
let nextHandle = 1;

// Progress goes out at most every ~50 ms; a change of phase or item always goes out.
function progressPoster(handle) {
  let last = 0;
  let lastPhase = '';
  let lastItem = -1;
  const started = performance.now();
  return (p) => {
    const now = performance.now();
    if (now - last < 50 && p.phase === lastPhase && p.item === lastItem && p.done !== p.total) return;
    last = now;
    lastPhase = p.phase;
    lastItem = p.item;
    postMessage({ type: 'progress', handle, ...p, elapsed: now - started });
  };
}

/** Build the merged tree of `image` if every layer is indexed now; whether it did. */
function buildWhenIndexed(s, image) {
  if (image === undefined || !s.all_layers_indexed()) return false;
  s.build_tree(image);
  return true;
}

function session(handle) {
  const s = sessions.get(handle);
  if (!s) throw new Error('that archive is no longer open');
  return s;
}

const ops = {
  // Open an archive and answer with the metadata report. For a compressed archive this
  // is the one streaming pass that also verifies everything. With `digestPort`, that pass
  // sends the bytes of blobs of HASH_ELSEWHERE_MIN..WHOLE_BLOB_MAX bytes through it to a
  // helper (`digestEntries`), which hashes them with WebCrypto on the other core: the
  // core's SHA-256 in wasm took about half of the pass (large.tar.gz: 2.55 s of the pass
  // with it, 1.30 s without). The port is told when the pass is over, whatever happened.
  //
  // `file` is a File, or {url}: an archive on a web server. That is probed first (one
  // range request); a server that honours Range is read by the core's HTTP reader
  // (src/wasm/http_reader.rs), and the answer's `source` ({url, size, etag}) is what the
  // helpers read too; a server that ignores Range (or hides Content-Range) is read in one
  // streamed pass into a Blob, which is then opened as a dropped file, and is `source`.
  //
  // Or `file` is {ref, platform?}: an image in an OCI registry. js/registry.js fetches its
  // manifests and config and probes its layers, and describes the image as a virtual OCI
  // layout tar of parts ({parts, size, ref}): that is `source`, read by the core
  // (src/wasm/parts_reader.rs) and the helpers (js/parts_source.js). `remote` then says
  // {mode: 'registry', ref, registry, repository, reference, digest, platform, platforms,
  // bytes, ...}. Cancel is the page terminating this worker, as for a URL.
  async open({ file, digestPort }) {
    const handle = nextHandle++;
    const started = performance.now();
    let s;
    let remote = null;
    try {
      if (!(file instanceof Blob) && typeof file.ref === 'string' && !file.parts) {
        const post = progressPoster(handle);
        const opened = await openRegistry(file, { progress: (done, total) => post({ phase: 'fetching', done, total, item: 0, items: 0 }) });
        remoteUrl = opened.baseUrl;
        remote = { ...opened.remote, probeMs: performance.now() - started };
        file = opened.source;
      } else if (!(file instanceof Blob) && !file.parts) {
        remote = { url: file.url };
        remoteUrl = file.url;
        const found = await probe(file.url);
        remote.mode = found.mode;
        remote.why = found.why;
        if (found.mode === 'range') {
          file = found.source;
        } else {
          const post = progressPoster(handle);
          file = await download(found.response, file.url, (done, total) => post({ phase: 'fetching', done, total, item: 0, items: 0 }));
        }
        remote.probeMs = performance.now() - started;
      }
      if (digestPort && self.crypto && crypto.subtle) {
        const send = (entry, size, offset, bytes) => digestPort.postMessage({ entry, size, offset, bytes }, [bytes.buffer]);
        s = Session.open_hashing_elsewhere(file, progressPoster(handle), HASH_ELSEWHERE_MIN, WHOLE_BLOB_MAX, send);
      } else {
        s = Session.open(file, progressPoster(handle));
      }
    } finally {
      if (digestPort) digestPort.postMessage({ done: true });
    }
    sessions.set(handle, s);
    return { handle, report: s.report(), work: s.work(), ms: performance.now() - started, source: file, remote };
  },
  // Bytes this worker fetched from a web server: by the core's synchronous reads and by
  // the helpers' asynchronous ones (for the benchmark and the tests).
  // `index`: the bytes this worker's index walks read (from a File too).
  fetched: () => ({ sync: httpStats().fetched, async: remoteFetched.bytes, index: indexBytesRead.bytes }),
  work: ({ handle }) => session(handle).work(),
  indexBlobs: ({ handle, blobs }) => session(handle).index_blobs(Uint32Array.from(blobs)),
  indexLayers: ({ handle }) => session(handle).index_layers(progressPoster(handle)),
  // Take one layer's index; once every layer is indexed, build the merged tree of `image`
  // right away (the page asks for it next: one round trip less before it is browsable).
  setQuickIndex: ({ handle, blob, data, image }) => {
    const s = session(handle);
    s.set_quick_index(blob, data);
    return buildWhenIndexed(s, image);
  },
  // The two parts of a layer walked by two helpers: {joined: -1} when the index is set
  // (and `built` as setQuickIndex answers), else where the first part must walk on from
  // (-2: walk the whole layer instead).
  setQuickIndexParts: ({ handle, blob, first, second, image }) => {
    const s = session(handle);
    const joined = s.set_quick_index_parts(blob, first, second ?? undefined);
    return { joined, built: joined === -1 && buildWhenIndexed(s, image) };
  },
  // Take one blob's facts: {report, built}. With `image` (the page has no merged tree yet:
  // compressed layers), build it once every layer is indexed, as setQuickIndex does.
  setBlobFacts: ({ handle, blob, data, image }) => {
    const s = session(handle);
    const report = s.set_blob_facts(blob, data);
    return { report, built: buildWhenIndexed(s, image) };
  },
  setEntryDigests: ({ handle, entries, digests }) => session(handle).set_entry_digests(Uint32Array.from(entries), digests),
  // Hash what a browsing worker's pass sends through `port` (see `open`): each entry's
  // pieces are put together in one buffer and hashed by WebCrypto as soon as it is whole.
  // Answers {entries, digests} once the pass is over; an entry that could not be hashed
  // (no memory for its buffer) is left out, and the core hashes it instead.
  digestEntries: ({ port }) => new Promise((resolve) => {
    const filling = new Map(); // entry → {bytes, filled}
    const hashing = [];
    port.onmessage = ({ data }) => {
      if (data.done) {
        port.close();
        Promise.all(hashing).then((pairs) => {
          const ok = pairs.filter((p) => p);
          resolve({ entries: ok.map((p) => p[0]), digests: ok.map((p) => p[1]) });
        });
        return;
      }
      const { entry, size, offset, bytes } = data;
      let target = filling.get(entry);
      if (!target) {
        try {
          target = { bytes: new Uint8Array(size), filled: 0 };
        } catch (error) {
          target = { bytes: null, filled: 0 };
        }
        filling.set(entry, target);
      }
      if (target.bytes) target.bytes.set(bytes, offset);
      target.filled += bytes.byteLength;
      if (target.filled < size) return;
      filling.delete(entry);
      if (!target.bytes) return;
      hashing.push(crypto.subtle.digest('SHA-256', target.bytes).then((d) => [entry, `sha256:${hex(d)}`], () => null));
    };
  }),
  buildTree: ({ handle, image }) => session(handle).build_tree(image),
  allIndexed: ({ handle }) => session(handle).all_layers_indexed(),
  // Whole-session verification in this worker (used when there is nothing to share out).
  verify: ({ handle }) => {
    session(handle).verify(progressPoster(handle), (report) => postMessage({ type: 'verdict', handle, report }));
    return session(handle).report();
  },
  // Helper-worker jobs over spans of the same File: no Session needed.
  // With `part`, one part of a layer walked by two helpers at once (null if this walk
  // cannot do it: the page then walks the whole layer).
  quickIndex: async ({ file: source, offset, size, part }) => {
    const file = readable(source);
    // A compressed layer (a registry's gzip or zstd blob) has no tar headers to walk: the
    // streaming walk learns that only after its read-ahead fetched megabytes (by ref, 65 MB
    // of the bench image's 207 MB, fetched for nothing). Its first 6 bytes say so: no parts,
    // and the core's own pass (quick_index_span decompresses it) at once.
    if (size >= 6 && looksCompressed(new Uint8Array(await file.slice(offset, offset + 6).arrayBuffer()))) {
      if (part) return null;
      const whole = quickIndexSpan(file, offset, size);
      return whole ? { value: whole, transfer: [whole.buffer] } : null;
    }
    const bytes = (await indexStreaming(LayerIndexer, file, offset, size, part)) || (part ? null : quickIndexSpan(file, offset, size));
    return bytes ? { value: bytes, transfer: [bytes.buffer] } : null;
  },
  // Hash and index one blob. A blob up to WHOLE_BLOB_MAX is read whole and hashed by
  // WebCrypto (native SHA-256, ~3x faster than SHA-256 in wasm), then indexed by the core
  // from that buffer; a bigger blob, or a page without WebCrypto (plain http on a
  // non-local host), streams through the core's own SHA-256 in 8 MiB reads.
  analyze: async ({ file: source, blob, offset, size }) => {
    const file = readable(source);
    let last = 0;
    let read = 0; // bytes read into memory so far, when the blob is read whole first
    const post = (done) => {
      const now = performance.now();
      if (now - last < 50) return;
      last = now;
      postMessage({ type: 'blob-progress', blob, done: Math.min(done, size), size });
    };
    // A blob read whole goes in two steps, reading then hashing and indexing it: each is
    // half of its progress, so the page's bar moves while it is read (it sat at 0 % until
    // a big blob was in memory). Streamed through the core, its progress is the core's.
    const progress = (done) => post(read ? read / 2 + done / 2 : done);
    const progressRead = (n) => { read = n; post(n / 2); };
    // (A span past the end of the file is a truncated archive: the streaming path says so.)
    if (size <= WHOLE_BLOB_MAX && offset + size <= file.size && self.crypto && crypto.subtle) {
      const t0 = performance.now();
      let bytes = null;
      let digesting = null;
      try {
        const into = size > SMALL_READ ? spareBuffer : null; // (a small blob is one read of its own)
        if (into) spareBuffer = null;
        bytes = await readWhole(file, offset, size, into, progressRead);
        // (Held by the page while the person waits for the browsing worker: the digest, a
        // core's worth of work, starts after.)
        await readsMayGo();
        // WebCrypto copies the bytes now and hashes them on a thread of its own.
        digesting = crypto.subtle.digest('SHA-256', bytes);
      } catch (error) {
        // Out of memory for the buffer (or WebCrypto's copy of it): the streaming path
        // below needs none. A failed read is read again there, and reported in its terms.
        bytes = null;
      }
      if (bytes) {
        const tRead = performance.now();
        const done = await (looksCompressed(bytes)
          ? analyzeCompressed(bytes, digesting, progress)
          : digesting.then((digest) => {
            const t1 = performance.now();
            const facts = analyzeBytes(bytes, `sha256:${hex(digest)}`, progress);
            return { facts, ms: [t1 - tRead, performance.now() - t1] };
          }, () => null));
        if (size > SMALL_READ) spareBuffer = bytes.buffer;
        if (done) {
          const ms = [tRead - t0, ...done.ms].map(Math.round); // read, digest, index
          return { value: { facts: done.facts, how: done.how || 'webcrypto', ms }, transfer: [done.facts.buffer] };
        }
      }
    }
    const facts = analyzeSpan(file, offset, size, progress);
    return { value: { facts, how: 'wasm' }, transfer: [facts.buffer] };
  },
  report: ({ handle }) => session(handle).report(),
  listDir: ({ handle, image, layer, path, whole }) => session(handle).list_dir(image, layer ?? undefined, path, whole ?? undefined),
  pathStory: ({ handle, image, path }) => session(handle).path_story(image, path),
  layerMarkers: ({ handle, image, layer, limit }) => session(handle).layer_markers(image, layer, limit),
  find: ({ handle, image, layer, pattern, limit, whole }) => session(handle).find(image, layer ?? undefined, pattern, limit, whole ?? undefined),
  readFile: ({ handle, image, layer, path, offset, length }) => {
    const bytes = session(handle).read_file(image, layer ?? undefined, path, offset, length);
    return { value: bytes, transfer: [bytes.buffer] };
  },
  layerChanges: ({ handle, image }) => session(handle).layer_changes(image),
  waste: ({ handle, image }) => session(handle).waste(image),
  // The image's packages as `strata packages --json` prints them, and its SBOM as text
  // (`format`: spdx-json | cyclonedx-json); one scan per image, kept by the session.
  packages: ({ handle, image }) => session(handle).packages(image),
  sbom: ({ handle, image, format }) => session(handle).sbom(image, format, Date.now()),
  dockerfile: ({ handle, image }) => session(handle).dockerfile(image),
  // One of the archive's own documents (index.json, a manifest, a config…) as text, for the Structure tab.
  archiveDocument: ({ handle, name }) => session(handle).archive_document(name),
  diff: ({ handle, image, otherHandle, otherImage }) => (otherHandle === undefined || otherHandle === handle
    ? session(handle).diff(image, otherImage)
    : session(handle).diff_with(image, session(otherHandle), otherImage)),
  exportFile: ({ handle, image, layer, path }) => collect((cb) => session(handle).export_file(image, layer ?? undefined, path, cb)),
  exportRootfs: ({ handle, image }) => collect((cb) => session(handle).export_rootfs(image, cb)),
  exportLayer: ({ handle, image, layer }) => collect((cb) => session(handle).export_layer(image, layer, cb)),
  // A rootfs or layer export for www/js/download.js: each 4 MiB chunk goes out through
  // `port` as the core makes it (nothing is gathered here), then {done, written}.
  exportStream: ({ handle, image, layer, what, port }) => {
    const s = session(handle);
    const send = (chunk) => port.postMessage({ chunk }, [chunk.buffer]);
    try {
      const written = what === 'layer' ? s.export_layer(image, layer, send) : s.export_rootfs(image, send);
      port.postMessage({ done: true, written });
      return written;
    } finally {
      port.close();
    }
  },
  reportJson: ({ handle }) => session(handle).report_json(),
  close: ({ handle }) => {
    const s = sessions.get(handle);
    if (s) s.free();
    sessions.delete(handle);
  },
  memory: () => strataMemory(),
  streams: () => streamsOpened,
  // How often the page held this helper's reads for the person's requests (readahead.js).
  holds: () => holdStats,
};

/** gzip, zstd or xz, by the first bytes (the core decides for itself; this only picks
 * the path that hands the decompressed stream out to be hashed here). */
function looksCompressed(bytes) {
  const b = bytes;
  return (b[0] === 0x1f && b[1] === 0x8b)
    || (b[0] === 0x28 && b[1] === 0xb5 && b[2] === 0x2f && b[3] === 0xfd)
    || (b[0] === 0xfd && b[1] === 0x37 && b[2] === 0x7a && b[3] === 0x58 && b[4] === 0x5a && b[5] === 0x00);
}

/** How big a compressed layer's stream will be, to size its buffer: {guess, atLeast}. A
 * gzip stream ends with its size mod 4 GiB (of its last member only: a buffer too small
 * grows), which the whole stream is at least; others are guessed at four times the
 * compressed size. */
function uncompressedGuess(bytes) {
  const n = bytes.byteLength;
  if (bytes[0] === 0x1f && n >= 18) {
    const size = new DataView(bytes.buffer, bytes.byteOffset + n - 4, 4).getUint32(0, true);
    return { guess: size, atLeast: size };
  }
  return { guess: 4 * n, atLeast: 0 };
}

/** A growing buffer for a decompressed stream, up to UNCOMPRESSED_MAX; past that it
 * keeps nothing more and says it overflowed. */
class StreamBuffer {
  constructor(guess) {
    const want = Math.min(Math.max(guess, 1 << 20), UNCOMPRESSED_MAX);
    const spare = spareUncompressed;
    spareUncompressed = null;
    this.buffer = spare && spare.byteLength >= want ? spare : new ArrayBuffer(want);
    this.filled = 0;
    this.overflowed = false;
  }

  add(piece) {
    if (this.overflowed) return;
    const need = this.filled + piece.byteLength;
    if (need > this.buffer.byteLength) {
      if (need > UNCOMPRESSED_MAX) {
        this.overflowed = true;
        return;
      }
      const bigger = new ArrayBuffer(Math.min(Math.max(need, 2 * this.buffer.byteLength), UNCOMPRESSED_MAX));
      new Uint8Array(bigger).set(new Uint8Array(this.buffer, 0, this.filled));
      this.buffer = bigger;
    }
    new Uint8Array(this.buffer, this.filled, piece.byteLength).set(piece);
    this.filled = need;
  }

  bytes() {
    return new Uint8Array(this.buffer, 0, this.filled);
  }

  release() {
    spareUncompressed = this.buffer;
    this.buffer = null;
  }
}

/** A compressed blob read whole, its digest under way (`digesting`): the core decompresses
 * and indexes it and hands the decompressed stream out, which WebCrypto hashes as well (the
 * SHA-256 in wasm was half of the core's work on a gzip layer). A stream too big for its
 * buffer, or no memory for it, and the core decompresses it again and hashes it itself. */
async function analyzeCompressed(bytes, digesting, progress) {
  const t0 = performance.now();
  const { guess, atLeast } = uncompressedGuess(bytes);
  let out = null;
  try {
    if (atLeast <= UNCOMPRESSED_MAX) out = new StreamBuffer(guess);
  } catch (error) {
    out = null;
  }
  if (out) {
    let pending = null;
    try {
      pending = analyzeBytesDigestsElsewhere(bytes, progress, (piece) => {
        try {
          out.add(piece);
        } catch (error) {
          out.overflowed = true; // no memory to grow it
        }
      });
      const t1 = performance.now();
      let diffId;
      if (pending.wants_diff_id() && !out.overflowed) {
        diffId = `sha256:${hex(await crypto.subtle.digest('SHA-256', out.bytes()))}`;
      }
      if (!pending.wants_diff_id() || diffId) {
        const digest = `sha256:${hex(await digesting)}`;
        const taken = pending;
        pending = null; // (finish takes it, even when it fails)
        const facts = taken.finish(digest, diffId);
        return { facts, how: diffId ? 'webcrypto, stream too' : 'webcrypto', ms: [performance.now() - t1, t1 - t0] };
      }
    } catch (error) {
      // WebCrypto failed (memory): the core hashes the stream below.
    } finally {
      if (pending) pending.free();
      out.release();
    }
  }
  const digest = await digesting.catch(() => null);
  if (!digest) return null;
  const t1 = performance.now();
  const facts = analyzeBytes(bytes, `sha256:${hex(digest)}`, progress);
  return { facts, ms: [t1 - t0, performance.now() - t1] };
}

// Exports arrive in chunks; a Blob made of them lives outside wasm memory (the browser
// may keep it on disk), so a multi-GB export never has to fit in the 4 GiB wasm heap.
function collect(run) {
  const parts = [];
  run((chunk) => parts.push(chunk));
  return new Blob(parts, { type: 'application/octet-stream' });
}

let wasmMemory = null;
function strataMemory() {
  return wasmMemory ? wasmMemory.buffer.byteLength : 0;
}
ready.then((exports) => { wasmMemory = exports.memory; });

/** Set once the core has trapped (a panic: a bug, never input — the panic hook logged it).
 * Its memory may be half-changed then, so this worker answers nothing more; the page
 * is told, and the next archive opens in a fresh worker. */
let broken = null;
/** How the page words `broken` in its own language: a catalog key and its parameters. */
let brokenWords = null;

self.onmessage = async (event) => {
  if ('coreModule' in event.data) {
    startCore(event.data.coreModule);
    return;
  }
  // The page holds or lets go of a helper's reads (www/js/client.js, `Priority`): taken at
  // once, between reads, whatever request is running.
  if ('holdReads' in event.data) {
    holdReads(event.data.holdReads);
    return;
  }
  const { id, op, ...args } = event.data;
  if (broken) {
    postMessage({ id, ok: false, error: broken, ...brokenWords });
    return;
  }
  try {
    await ready;
    const fn = ops[op];
    if (!fn) throw new Error(`unknown request ${op}`);
    const reply = (value, transfer) => postMessage({ id, ok: true, value }, transfer || []);
    const result = await fn(args);
    if (result && result.transfer) reply(result.value, result.transfer);
    else reply(result);
  } catch (error) {
    if (error instanceof WebAssembly.RuntimeError && !broken) {
      broken = `strata's core stopped on an internal error, a bug (the browser console has the details): ${error.message}. Open the archive again to start afresh.`;
      brokenWords = { key: 'error.core_trapped', params: { detail: error.message } };
      postMessage({ type: 'broken', error: broken, ...brokenWords });
    }
    // The core's code and parameters, when its error carries them, let the page word it.
    if (!broken) await wordHttpFailure(error, args);
    const words = broken ? brokenWords : { key: error?.key, code: error?.code, params: error?.params };
    postMessage({ id, ok: false, error: broken || messageOf(error), ...words });
  }
};

/** A File as it is, a file on a web server ({url, size, etag}) as a RemoteFile, a
 * registry image ({parts, size, ref}) as a PartsFile, for readahead.js (the core takes
 * each as it is). */
function readable(source) {
  if (source instanceof Blob) return source;
  return source.parts ? new PartsFile(source) : new RemoteFile(source);
}

/** Failed reads of the core's HTTP reader seen so far: one more after a request failed
 * means that request failed on the network or the server (src/wasm/http_reader.rs). */
let httpFailuresSeen = 0;
/** The URL the last remote archive came from (helpers: the span's source). */
let remoteUrl = null;

/** Give an error from reading a web server the page's words (a catalog key): the core
 * only knows its English text, the reader's failure says what happened. */
async function wordHttpFailure(error, args) {
  if (!error || typeof error !== 'object' || error.key) return;
  let stats;
  try {
    stats = httpStats();
  } catch (e) {
    return; // (the core did not start)
  }
  if (stats.failures === httpFailuresSeen || !stats.failure) return;
  httpFailuresSeen = stats.failures;
  const url = args?.file?.url || args?.file?.parts?.find((p) => p.url)?.url || remoteUrl;
  if (!url) return;
  const failure = stats.failure;
  let worded;
  if (failure.kind === 'network') worded = await failedRequestError(url);
  else if (failure.kind === 'status') worded = statusError(failure.status, url);
  else worded = changedError(failure.detail);
  error.key = worded.key;
  error.params = worded.params;
}

function messageOf(error) {
  if (error instanceof Error) return error.message;
  if (typeof error === 'string') return error;
  return String(error);
}

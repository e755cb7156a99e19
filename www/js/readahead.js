// Asynchronous reads for the helper workers, for the two jobs that read most of an archive:
// indexing layers and hashing blobs. A synchronous FileReaderSync read waits ~0.7 ms before
// its first byte and nothing overlaps that wait; a byte stream, which the browser keeps
// full on its own, does. Measured in headless Chromium on the
// 432 MB bench archive, one worker, first read in the page: the layers' headers-only index
// in ~0.55 s with byte streams (indexStreaming) against ~0.7 s with FileReaderSync.
//
// A stream is read into buffers we own (a BYOB reader) only while the worker's budget of
// such streams lasts, then with the default reader (fresh chunks, copied where needed).
// In Chromium 156 a read through a BYOB reader of a Blob's stream never answers once a
// worker has opened about 50–60 of them since its last garbage collection (a collection
// in between moved the hang to ~126–255), and BYOB reads make no garbage that would bring
// one: an image of 400 tiny layers hung the page in 3 tries of 3, one of 120 layers in 1
// of 2. Default readers did not hang in 1000 streams per worker. BYOB stays for the first
// streams because it is faster here: reading 216 MB into place per worker took ~380–510 ms
// with BYOB, ~460–510 ms with the default reader; on the bench archive, going without
// BYOB made the tree ~85 ms and verification ~120 ms later.
// Whole blobs no longer use BYOB: on the real Debian image (benches/gen_debian.sh: a 172 MB
// and a 57 MB layer), the second helper's BYOB stream of its blob, its 6th BYOB stream,
// never gave a byte, and verification never ended: 3 runs of 3 with the machine at load
// ~18, the Packages tab clicked or not (2026-12-03); with default readers, 3 of 3 verified.
// Used inside workers only; no wasm import here (the caller passes the LayerIndexer class).

/** BYOB streams a worker opens (a fresh worker for each archive) before it falls back to
 * default readers: 24 in all, half the fewest seen before a hang (49). Half of them are kept
 * for whole blobs, where BYOB saves most (a copy of every byte hashed); the index walks,
 * which may open a stream per run of small files, take the other half. Per helper, the
 * bench archive opens 9–11 index + 2–3 whole-blob streams; the 1.3 GB one 26–34 + 6–9. */
const byobLeft = { index: 12, whole: 0 };
/** Streams this worker opened, by use and reader (for the benchmark and the tests). */
export const streamsOpened = { index: { byob: 0, default: 0 }, whole: { byob: 0, default: 0 } };

/** Bytes the index walks of this worker were fed (what the index pass reads: the
 * benchmark sets it next to what a web server sent before the tree was browsable). */
export const indexBytesRead = { bytes: 0 };

/** A header further than this past what was read is jumped to; nearer, read through. */
const READ_GAP = 1 << 20;
/** Bytes the index walk takes from a byte stream at a time (one reused buffer). */
const STREAM_PIECE = 1 << 20;
/** Largest range request of an index walk's stream over a web server (remote_source.js).
 * A walk decides after every STREAM_PIECE whether to jump, and what it leaves unread when it
 * does (the rest of a piece and the piece ahead, kept a while for its next reads) was
 * fetched for nothing, so smaller pieces fetch less — and cost more requests. Measured on
 * the bench archive over loopback (the 2 cores at load 14–17): 8 MiB pieces 362–365 MB
 * sent before the tree was browsable (the walks read 260 MB), browsable in 3.5–6.3 s;
 * 2 MiB pieces 314 MB, 5.4–10.2 s; 1 MiB 282–285 MB, 10.3–20.1 s. Requests cost more
 * than bytes here, so 8 MiB (benches/RESULTS.md, "Open by URL"). */
const INDEX_REMOTE_PIECE = 8 << 20;
/** The one small read that probes the next header after a jump. */
const PROBE_READ = 128 << 10;
/** A blob or layer this small is read with one `arrayBuffer()` call, not a stream (which
 * costs a little to set up and, with BYOB, one of the worker's budget). */
export const SMALL_READ = 1 << 20;

/** While the page holds this worker's reads (a request the person waits for is pending in
 * the browsing worker: www/js/client.js, `Priority`), stream loops wait here between reads,
 * on a promise, and go on when the page lets them. `holds`: hold messages taken; `waits`:
 * reads (or digests) that waited (for the benchmark and the tests). */
const readHold = { waiting: null, letGo: null };
export const holdStats = { holds: 0, waits: 0, heldMs: 0 };

/** The page holds (`on`) or lets go of this worker's reads. */
export function holdReads(on) {
  if (on && !readHold.waiting) {
    holdStats.holds += 1;
    readHold.waiting = new Promise((resolve) => { readHold.letGo = resolve; });
  } else if (!on && readHold.waiting) {
    const letGo = readHold.letGo;
    readHold.waiting = null;
    readHold.letGo = null;
    letGo();
  }
}

/** Resolves once reads may go (at once unless held). */
export async function readsMayGo() {
  if (!readHold.waiting) return;
  holdStats.waits += 1;
  const t0 = performance.now();
  while (readHold.waiting) await readHold.waiting; // (held again before this woke: wait again)
  holdStats.heldMs += performance.now() - t0;
}

function readAt(file, start, end) {
  const promise = file.slice(start, end).arrayBuffer().catch((error) => {
    if (error.key) throw error; // (a RemoteFile's error, worded for the page already)
    throw new Error(`the browser could not read the file at byte ${start}: ${error.message}`);
  });
  promise.catch(() => {}); // a dropped read-ahead that fails is nobody's error
  return promise;
}

/** The bytes `offset..offset+size` of `file` in one buffer, from one stream read straight
 * into it (BYOB, while the budget lasts: no fresh memory and no copy per read, which on
 * this machine beat reads kept in flight with `arrayBuffer()` copied into place). The
 * buffer is `into` (an ArrayBuffer, which a BYOB read detaches) when it is big enough,
 * else a new one. */
export async function readWhole(file, offset, size, into, onRead) {
  let view;
  const slice = size > SMALL_READ ? file.slice(offset, offset + size) : null;
  if (size <= SMALL_READ) {
    view = new Uint8Array(await readAt(file, offset, offset + size));
  } else if (slice.readInto) {
    // A file on a web server (remote_source.js): big range requests, several at once, straight
    // into place; it waits between requests while the page holds this worker's reads.
    const target = into && into.byteLength >= size ? new Uint8Array(into, 0, size) : new Uint8Array(size);
    view = await slice.readInto(target, onRead, readsMayGo);
  } else {
    const stream = openStream(file, offset, offset + size, 'whole');
    try {
      const target = into && into.byteLength >= size ? new Uint8Array(into, 0, size) : new Uint8Array(size);
      ({ view } = await fill(stream, target, onRead));
    } finally {
      stream.cancel();
    }
  }
  if (view.byteLength !== size) throw new Error(`the file ended at byte ${offset + view.byteLength}; was it changed on disk?`);
  return view;
}

/** A stream over `file` from `start` to `end` for `use` ('index' or 'whole'): {reader,
 * byob, chunk (what is left of the default reader's last chunk, or null), at (the file
 * offset its reader has reached), cancel}. */
function openStream(file, start, end, use) {
  const stream = { file, end, use, reader: null, byob: false, chunk: null, at: start };
  startReader(stream);
  stream.cancel = () => stream.reader.cancel().catch(() => {});
  return stream;
}

/** (Re)start `stream`'s reader at `stream.at`. */
function startReader(stream) {
  const { file, use } = stream;
  // (A file on a web server, www/js/remote_source.js, streams with default readers.)
  stream.byob = !file.remote && byobLeft[use] > 0;
  if (stream.byob) byobLeft[use] -= 1;
  streamsOpened[use][stream.byob ? 'byob' : 'default'] += 1;
  // (A RemoteFile's index stream fetches small pieces: see INDEX_REMOTE_PIECE. A Blob's
  // stream takes no options.)
  const body = file.slice(stream.at, stream.end).stream(use === 'index' ? { maxPiece: INDEX_REMOTE_PIECE } : undefined);
  stream.reader = stream.byob ? body.getReader({ mode: 'byob' }) : body.getReader();
}

/** One read of `stream` (into `view` when BYOB), waiting first while the page holds this
 * worker's reads. A held stream is cancelled and opened again where it stopped: in
 * Chromium 156, a Blob stream left unread in one helper while the other helper opened a
 * stream of the same file left that other stream's first read unanswered for good (3 runs
 * of 6 on the real Debian image). */
async function readStream(stream, view) {
  if (readHold.waiting) {
    stream.reader.cancel().catch(() => {});
    await readsMayGo();
    startReader(stream);
  }
  const got = await (stream.byob ? stream.reader.read(view) : stream.reader.read());
  if (got.value) stream.at += got.value.byteLength;
  return got;
}

/** Fill `view` from `stream` (several reads: a stream hands out what it has). Returns the
 * filled view (its buffer may have moved: a BYOB read transfers it) and whether the stream
 * ended. */
async function fill(stream, view, onRead) {
  if (!stream.byob) return fillCopying(stream, view, onRead);
  let { buffer } = view;
  const base = view.byteOffset;
  const want = view.byteLength;
  let filled = 0;
  while (filled < want) {
    const { done, value } = await readStream(stream, new Uint8Array(buffer, base + filled, want - filled));
    if (value) {
      buffer = value.buffer;
      filled += value.byteLength;
      onRead?.(filled);
    }
    if (done) return { view: new Uint8Array(buffer, base, filled), done: true };
  }
  return { view: new Uint8Array(buffer, base, filled), done: false };
}

/** `fill` through a default reader: its chunks are copied in, and what does not fit waits
 * in `stream.chunk` for the next fill. */
async function fillCopying(stream, view, onRead) {
  let filled = 0;
  while (filled < view.byteLength) {
    if (!stream.chunk) {
      const { done, value } = await readStream(stream);
      if (done) return { view: view.subarray(0, filled), done: true };
      stream.chunk = value;
    }
    const take = Math.min(stream.chunk.byteLength, view.byteLength - filled);
    view.set(stream.chunk.subarray(0, take), filled);
    stream.chunk = take < stream.chunk.byteLength ? stream.chunk.subarray(take) : null;
    filled += take;
    onRead?.(filled);
  }
  return { view, done: false };
}

/** Headers-only index of the uncompressed layer at `offset..offset+size`: a LayerIndexer
 * fed by byte streams. A stream reads ahead on its own (the browser keeps its pipe full)
 * into one reused buffer, so a dense run of small files costs about one sequential read.
 * When the walk jumps over a big file, the stream is cancelled, and the bytes at the next
 * header are fetched with one small read first: in a sparse region (a few small files
 * between big ones) that is all the walk needs before it jumps again, and a new stream
 * is only opened when the walk reads through that small read.
 * Undefined when the layer needs the synchronous walk (compressed, not a tar, a GNU
 * sparse entry, a parse error): the caller then runs quick_index_span.
 * With `part` ({from, searchWithin, stopAt}), one part of a layer walked by two workers at
 * once (LayerIndexer.part): the answer is then for Session.set_quick_index_parts. */
export async function indexStreaming(LayerIndexer, file, offset, size, part) {
  if (offset + size > file.size) return undefined;
  const indexer = part ? LayerIndexer.part(size, part.from, part.searchWithin, part.stopAt) : new LayerIndexer(size);
  let owned = true; // finish() takes the indexer over; otherwise free it here
  let pos = indexer.need(); // where the next bytes come from
  if (pos < 0) {
    indexer.free();
    return undefined;
  }
  // the walk starts reading here: a small layer in one read
  let reader = size - pos > SMALL_READ ? openStream(file, offset + pos, offset + size, 'index') : null;
  let probe = reader ? PROBE_READ : SMALL_READ;
  const stopStream = () => {
    if (reader) reader.cancel();
    reader = null;
  };
  try {
    let buffer = new ArrayBuffer(STREAM_PIECE);
    for (;;) {
      let bytes;
      if (reader) {
        const got = await fill(reader, new Uint8Array(buffer, 0, Math.min(STREAM_PIECE, size - pos)));
        buffer = got.view.buffer;
        bytes = got.view;
        if (got.done) reader = null;
      } else {
        bytes = new Uint8Array(await readAt(file, offset + pos, offset + Math.min(size, pos + probe)));
        probe = PROBE_READ;
      }
      if (!bytes.byteLength) return undefined; // the file ended early: the sync walk says so
      indexBytesRead.bytes += bytes.byteLength;
      const end = pos + bytes.byteLength;
      const need = indexer.feed(pos, bytes);
      if (need === -1) {
        owned = false;
        return part ? indexer.finish_part() : indexer.finish();
      }
      if (need === -2) return undefined;
      if (reader && need < end + READ_GAP) {
        pos = end; // keep streaming (reading through a short gap)
        continue;
      }
      const wasStreaming = reader !== null;
      stopStream();
      if (!wasStreaming && need < end + READ_GAP) {
        // the walk got through the small read, or nearly: it is in a run of small and
        // medium files, so stream from here (probing file by file waits ~2 ms a file)
        reader = openStream(file, offset + need, offset + size, 'index');
      }
      pos = need;
    }
  } finally {
    stopStream();
    if (owned) indexer.free();
  }
}

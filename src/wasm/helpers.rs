//! Parallel work: helper workers index or verify single blobs of the same File and hand
//! the results (as bytes) to the browsing worker's Session.

use super::{js_err, Source, INDEX_MAX_CHUNK, MAX_CHUNK};
use crate::codec;
use crate::codes::Message;
use crate::Archive;
use js_sys::{Function, Uint8Array};
use std::io::{self, Read};
use wasm_bindgen::prelude::*;

pub(super) fn span_args(offset: f64, size: f64) -> Result<(u64, u64), JsValue> {
    let ok = |v: f64| v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v < 9.0e15;
    if !ok(offset) || !ok(size) {
        return Err(js_err(format!("bad span {offset}+{size}")));
    }
    Ok((offset as u64, size as u64))
}

/// Headers-only index of the uncompressed layer at `offset..offset+size` of `file`, as bytes
/// for `Session.set_quick_index` (undefined when the layer is compressed or not a tar).
/// `file` is a `Blob` or `{url, size, etag}` (as `Session.open` takes).
/// `max_chunk` caps single reads of a Blob (default [`INDEX_MAX_CHUNK`]).
#[wasm_bindgen]
pub fn quick_index_span(file: JsValue, offset: f64, size: f64, max_chunk: Option<u32>) -> Result<Option<Uint8Array>, JsValue> {
    let (offset, size) = span_args(offset, size)?;
    let mut src = Source::from_js(&file, max_chunk.map(|c| c as usize).unwrap_or(INDEX_MAX_CHUNK)).map_err(js_err)?;
    Ok(Archive::quick_index_span(&mut src, offset, size).map(|ix| Uint8Array::from(&codec::encode_index(&ix)[..])))
}

/// A headers-only layer index fed with chunks the worker reads ahead asynchronously (byte
/// streams), so the walk never waits on one synchronous read at a time: see
/// [`crate::chunk_index`].
#[wasm_bindgen]
pub struct LayerIndexer {
    inner: crate::chunk_index::ChunkIndexer,
}

#[wasm_bindgen]
impl LayerIndexer {
    /// An indexer for the uncompressed layer of `size` bytes.
    #[wasm_bindgen(constructor)]
    pub fn new(size: f64) -> Result<LayerIndexer, JsValue> {
        let (_, size) = span_args(0.0, size)?;
        Ok(LayerIndexer { inner: crate::chunk_index::ChunkIndexer::new(size) })
    }

    /// One part of a layer walked by two workers at once (see `Session.set_quick_index_parts`):
    /// from the entry boundary `from`, or (`search_within` bytes given) from the first header
    /// in that many bytes from `from`; with `stop_at`, up to the first entry boundary at or
    /// past that offset.
    pub fn part(size: f64, from: f64, search_within: Option<f64>, stop_at: Option<f64>) -> Result<LayerIndexer, JsValue> {
        let (from, size) = span_args(from, size)?;
        let offset = |v: Option<f64>| v.map(|v| span_args(v, 0.0).map(|(v, _)| v)).transpose();
        let (search_within, stop_at) = (offset(search_within)?, offset(stop_at)?);
        Ok(LayerIndexer { inner: crate::chunk_index::ChunkIndexer::part(size, from, search_within, stop_at) })
    }

    /// The layer's bytes at `offset` (relative to the layer). Returns the offset the walk
    /// needs next, -1 when the index is complete, -2 when this layer needs the synchronous
    /// walk (`quick_index_span`) instead. Only the bytes still needed are copied in.
    pub fn feed(&mut self, offset: f64, bytes: &Uint8Array) -> Result<f64, JsValue> {
        let (offset, _) = span_args(offset, 0.0)?;
        let need = self.inner.feed_with(offset, bytes.length() as usize, |dst, from| {
            bytes.subarray(from as u32, (from + dst.len()) as u32).copy_to(dst);
        });
        Ok(need_code(need))
    }

    /// What the walk needs now (as `feed` answers).
    pub fn need(&self) -> f64 {
        need_code(self.inner.need())
    }

    /// The index, as bytes for `Session.set_quick_index`, once complete.
    pub fn finish(self) -> Option<Uint8Array> {
        self.inner.finish().map(|ix| Uint8Array::from(&codec::encode_index(&ix)[..]))
    }

    /// What a part found (for `Session.set_quick_index_parts`), once `feed` answered -1.
    pub fn finish_part(self) -> Option<Uint8Array> {
        self.inner.finish_part().map(|p| Uint8Array::from(&codec::encode_part(&p)[..]))
    }
}

fn need_code(need: crate::chunk_index::Need) -> f64 {
    match need {
        crate::chunk_index::Need::At(at) => at as f64,
        crate::chunk_index::Need::Done => -1.0,
        crate::chunk_index::Need::GiveUp => -2.0,
    }
}

/// A `Read` over bytes that live in JS memory (a blob the page read whole to hash it with
/// WebCrypto): copied into wasm memory one bounded piece at a time, never all at once.
struct JsBytesReader {
    bytes: Uint8Array,
    len: u32,
    pos: u32,
    piece: Vec<u8>,
    piece_at: usize,
}

impl JsBytesReader {
    const PIECE: u32 = 1 << 20;

    fn new(bytes: Uint8Array) -> Self {
        let len = bytes.length();
        JsBytesReader { bytes, len, pos: 0, piece: Vec::new(), piece_at: 0 }
    }
}

impl Read for JsBytesReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.piece_at >= self.piece.len() {
            if self.pos >= self.len {
                return Ok(0);
            }
            let end = self.pos.saturating_add(Self::PIECE).min(self.len);
            self.piece.resize((end - self.pos) as usize, 0);
            self.bytes.subarray(self.pos, end).copy_to(&mut self.piece[..]);
            self.pos = end;
            self.piece_at = 0;
        }
        let n = buf.len().min(self.piece.len() - self.piece_at);
        buf[..n].copy_from_slice(&self.piece[self.piece_at..self.piece_at + n]);
        self.piece_at += n;
        Ok(n)
    }
}

/// `sha256:` and 64 lowercase hex digits.
pub(super) fn is_sha256_digest(d: &str) -> bool {
    d.strip_prefix("sha256:").is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
}

/// Index one blob whose stored bytes the page has read whole (`bytes`) and hashed with
/// WebCrypto (`digest`, `sha256:<hex>` of exactly those bytes), as bytes for
/// `Session.set_blob_facts`. The stored bytes are not hashed again here; a compressed
/// layer's decompressed stream still is (its diff_id). `progress(bytesDone)` every few MiB.
#[wasm_bindgen]
pub fn analyze_bytes(bytes: Uint8Array, digest: &str, progress: &Function) -> Result<Uint8Array, JsValue> {
    if !is_sha256_digest(digest) {
        return Err(js_err(format!("not a sha256 digest: {digest:?}")));
    }
    let mut report = |n: u64| {
        let _ = progress.call1(&JsValue::NULL, &JsValue::from_f64(n as f64));
    };
    let facts = {
        let mut reader = crate::io::ProgressReader::new(JsBytesReader::new(bytes), 4 << 20, &mut report);
        Archive::analyze_blob_with_digest(&mut reader, digest)
    };
    Ok(Uint8Array::from(&codec::encode_facts(&facts)[..]))
}

/// Index one blob whose stored bytes the page has read whole (`bytes`), while the page
/// hashes them with WebCrypto; a compressed layer's decompressed stream goes to
/// `uncompressed(piece)` (a view into wasm memory, valid only during the call: copy it) so
/// the page hashes that with WebCrypto too, instead of the SHA-256 in wasm (~3x slower).
/// `PendingFacts.finish` takes both digests. `progress(bytesDone)` every few MiB.
#[wasm_bindgen]
pub fn analyze_bytes_digests_elsewhere(bytes: Uint8Array, progress: &Function, uncompressed: &Function) -> PendingFacts {
    let mut report = |n: u64| {
        let _ = progress.call1(&JsValue::NULL, &JsValue::from_f64(n as f64));
    };
    let mut hand_out = |piece: &[u8]| {
        // SAFETY: the view is only used by `uncompressed` during this call, which copies it
        // out; nothing allocates in wasm memory (which could move it) until the call returns.
        let view = unsafe { Uint8Array::view(piece) };
        let _ = uncompressed.call1(&JsValue::NULL, &view);
    };
    let facts = {
        let mut reader = crate::io::ProgressReader::new(JsBytesReader::new(bytes), 4 << 20, &mut report);
        Archive::analyze_blob_digests_elsewhere(&mut reader, &mut hand_out)
    };
    PendingFacts { facts }
}

/// The facts of a blob indexed by `analyze_bytes_digests_elsewhere`, waiting for the
/// digests the page computes with WebCrypto.
#[wasm_bindgen]
pub struct PendingFacts {
    facts: crate::verify::BlobFacts,
}

#[wasm_bindgen]
impl PendingFacts {
    /// Whether the decompressed stream's digest is due: a compressed layer read to its
    /// end, so every byte of its stream went to `uncompressed`.
    pub fn wants_diff_id(&self) -> bool {
        crate::verify::wants_diff_id(&self.facts)
    }

    /// The facts as bytes for `Session.set_blob_facts`, given `digest` (`sha256:<hex>` of
    /// the stored bytes) and, when `wants_diff_id`, `diff_id` (of what went to
    /// `uncompressed`).
    pub fn finish(mut self, digest: &str, diff_id: Option<String>) -> Result<Uint8Array, JsValue> {
        if !is_sha256_digest(digest) {
            return Err(js_err(format!("not a sha256 digest: {digest:?}")));
        }
        crate::verify::set_digest(&mut self.facts, digest);
        if self.wants_diff_id() {
            match diff_id {
                Some(d) if is_sha256_digest(&d) => crate::verify::set_diff_id(&mut self.facts, &d),
                other => return Err(js_err(format!("the decompressed stream's digest is due, got {other:?}"))),
            }
        }
        Ok(Uint8Array::from(&codec::encode_facts(&self.facts)[..]))
    }
}

/// Hash and index one blob at `offset..offset+size` of `file` (a plain archive), as bytes
/// for `Session.set_blob_facts`. `progress(bytesDone)` every few MiB.
#[wasm_bindgen]
pub fn analyze_span(file: JsValue, offset: f64, size: f64, progress: &Function) -> Result<Uint8Array, JsValue> {
    let (offset, size) = span_args(offset, size)?;
    let mut src = Source::from_js(&file, MAX_CHUNK).map_err(js_err)?;
    let mut report = |n: u64| {
        let _ = progress.call1(&JsValue::NULL, &JsValue::from_f64(n as f64));
    };
    let facts = {
        let window = crate::io::Window::new(&mut src, offset, size);
        let mut reader = crate::io::ProgressReader::new(window, 4 << 20, &mut report);
        Archive::analyze_blob(&mut reader)
    };
    if let Some(p) = facts.problem.as_ref().map(Message::english) {
        if p.contains("source ended") {
            return Err(js_err(format!("the archive is truncated: {p}")));
        }
    }
    Ok(Uint8Array::from(&codec::encode_facts(&facts)[..]))
}


//! The browser shell: the core behind a small wasm-bindgen API, run in a module Web
//! Worker over the dropped `File`.
//!
//! [`BlobReader`] turns a `Blob` into a synchronous `Read + Seek` (`Blob.slice` +
//! `FileReaderSync`, which only exists in workers), so tar, flate2 and ruzstd run
//! unchanged and nothing is copied into wasm memory but the chunk being read.
//! [`Session`] is one opened archive: its report, merged trees built on demand, and
//! file reading, diff and export. Every error becomes a JS `Error` with a plain
//! message; nothing here panics on input.

use crate::layer::{display_path, normalize_path, parse_display_path, EntryKind, LayerIndex};
use crate::codec;
use crate::codes::{Code, Message};
use crate::io::SharedSource;
use crate::merge::source::{ArchiveSource, KeptDecoders};
use crate::merge::{self, read::ContentSource, view, ChangeKind, ListOptions, MergedTree};
use crate::archive::HashElsewhere;
use crate::{Archive, Error, Progress};
use js_sys::{Function, Uint8Array};
use serde::Serialize;
use std::collections::HashMap;
use std::io::{self, Read, Seek, SeekFrom, Write};
use wasm_bindgen::prelude::*;
use web_sys::{Blob, FileReaderSync};

/// Runs when the module is instantiated. Nothing here should panic on input; if something
/// does (a bug), the wasm instance traps, the request fails with "unreachable", and without
/// this the reason would be lost. The panic's message and place go to the console, where a
/// bug report (and the page tests, which fail on any console error) can see them.
#[wasm_bindgen(start)]
pub fn start() {
    std::panic::set_hook(Box::new(|info| web_sys::console::error_1(&JsValue::from_str(&format!("strata core panicked: {info}")))));
}

// ---------------------------------------------------------------------------------
// Blob reader
// ---------------------------------------------------------------------------------

/// Largest read handed to `FileReaderSync` at once. Measured: 64 KiB reads were ~3x
/// slower than 4–8 MiB ones for sequential hashing.
pub const MAX_CHUNK: usize = 8 << 20;
/// Chunk size after a long jump. Tar header walks (index_layers, metadata reads) hop from
/// header to header; a small first read keeps a jump over a big file cheap, and the chunk
/// doubles while reads stay (nearly) sequential.
pub const MIN_CHUNK: usize = 64 << 10;
/// A miss at most this far past the cached chunk counts as sequential. Measured in
/// Chromium: one `readAsArrayBuffer` call costs ~0.7 ms whatever its size up to 64 KiB,
/// plus ~2.6 ms per MiB, so skipping less than ~256 KiB is not worth a smaller read.
pub const NEAR_GAP: u64 = 256 << 10;
/// Largest read while walking tar headers (`quick_index_span`, the synchronous walk the
/// page falls back to). Measured in Chromium (one worker, reads spread over the file):
/// 64 KiB 0.8 ms, 1 MiB 2.9 ms, 4 MiB 8–9 ms, 8 MiB 16 ms a call. Real layers are mostly
/// dense runs of small files, which the walk reads through anyway, so fewer, bigger calls
/// win: the 157 MB layer of the bench archive indexes in ~230 ms with 8 MiB reads and
/// ~450 ms with 1 MiB reads.
pub const INDEX_MAX_CHUNK: usize = 8 << 20;

/// A synchronous `Read + Seek` over a `Blob`, for use in a worker.
///
/// One chunk is cached: many small reads near each other (tar headers, `BufReader`
/// refills) are served from it, and a read at the chunk's end fetches the next chunk,
/// twice as big as the last (up to [`MAX_CHUNK`]).
pub struct BlobReader {
    blob: Blob,
    reader: FileReaderSync,
    size: u64,
    pos: u64,
    cache: Vec<u8>,
    cache_start: u64,
    next_chunk: usize,
    max_chunk: usize,
    /// Calls into FileReaderSync so far (tests check the cache with it).
    pub fetches: u64,
}

impl BlobReader {
    pub fn new(blob: Blob) -> Result<BlobReader, Error> {
        Self::with_max_chunk(blob, MAX_CHUNK)
    }

    /// As [`BlobReader::new`] with a smaller largest read (tests exercise chunk edges).
    pub fn with_max_chunk(blob: Blob, max_chunk: usize) -> Result<BlobReader, Error> {
        let reader = FileReaderSync::new().map_err(|e| Error::Io {
            offset: None,
            source: io::Error::other(format!("FileReaderSync is not available here (not in a worker?): {}", js_message(&e))),
        })?;
        let size = blob.size();
        // Blob sizes are JS numbers; anything not a whole non-negative number is refused.
        if !(size >= 0.0 && size.fract() == 0.0 && size < 9.0e15) {
            return Err(Error::Io { offset: None, source: io::Error::other(format!("unusable file size {size}")) });
        }
        let max_chunk = max_chunk.max(1);
        Ok(BlobReader {
            blob,
            reader,
            size: size as u64,
            pos: 0,
            cache: Vec::new(),
            cache_start: 0,
            next_chunk: MIN_CHUNK.min(max_chunk),
            max_chunk,
            fetches: 0,
        })
    }

    pub fn len(&self) -> u64 {
        self.size
    }

    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// Read `[start, start + len)` of the blob into `out` (exactly `len` bytes, or fewer at the end).
    fn fetch(&mut self, start: u64, len: usize, out: &mut Vec<u8>) -> io::Result<()> {
        let end = start.saturating_add(len as u64).min(self.size);
        out.clear();
        if end <= start {
            return Ok(());
        }
        self.fetches += 1;
        let slice = self
            .blob
            .slice_with_f64_and_f64(start as f64, end as f64)
            .map_err(|e| read_error(start, &e))?;
        let buffer = self.reader.read_as_array_buffer(&slice).map_err(|e| read_error(start, &e))?;
        let array = Uint8Array::new(&buffer);
        let n = array.length() as usize;
        if n != (end - start) as usize {
            // The file changed under us (edited or truncated on disk after it was picked).
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("the file gave {n} bytes at byte {start} where {} were expected; was it changed on disk?", end - start),
            ));
        }
        out.resize(n, 0);
        array.copy_to(&mut out[..]);
        Ok(())
    }
}

fn read_error(offset: u64, e: &JsValue) -> io::Error {
    io::Error::other(format!("the browser could not read the file at byte {offset}: {}", js_message(e)))
}

fn js_message(e: &JsValue) -> String {
    if let Some(err) = e.dyn_ref::<js_sys::Error>() {
        return String::from(err.message());
    }
    e.as_string().unwrap_or_else(|| format!("{e:?}"))
}

impl Read for BlobReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() || self.pos >= self.size {
            return Ok(0);
        }
        let cache_end = self.cache_start + self.cache.len() as u64;
        if self.pos >= self.cache_start && self.pos < cache_end {
            let at = (self.pos - self.cache_start) as usize;
            let n = buf.len().min(self.cache.len() - at);
            buf[..n].copy_from_slice(&self.cache[at..at + n]);
            self.pos += n as u64;
            return Ok(n);
        }
        // A miss. (Nearly) sequential, just past the cached chunk: grow the chunk.
        // After a long jump or a seek backwards: start small again.
        if !self.cache.is_empty() && self.pos >= cache_end && self.pos - cache_end <= NEAR_GAP {
            self.next_chunk = (self.next_chunk.saturating_mul(2)).min(self.max_chunk);
        } else {
            self.next_chunk = MIN_CHUNK.min(self.max_chunk);
        }
        let remaining = (self.size - self.pos).min(usize::MAX as u64) as usize;
        if buf.len() >= self.next_chunk {
            // A big read goes straight into the caller's buffer (still one bounded slice).
            let want = buf.len().min(self.max_chunk).min(remaining);
            let mut tmp = std::mem::take(&mut self.cache);
            let start = self.pos;
            let result = self.fetch(start, want, &mut tmp);
            let n = tmp.len();
            buf[..n].copy_from_slice(&tmp);
            // Keep what was read as the cache: a seek back into it costs nothing.
            self.cache = tmp;
            self.cache_start = start;
            result?;
            self.pos += n as u64;
            return Ok(n);
        }
        let mut tmp = std::mem::take(&mut self.cache);
        let start = self.pos;
        if let Err(e) = self.fetch(start, self.next_chunk.min(remaining), &mut tmp) {
            self.cache = Vec::new();
            return Err(e);
        }
        self.cache = tmp;
        self.cache_start = start;
        let n = buf.len().min(self.cache.len());
        buf[..n].copy_from_slice(&self.cache[..n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for BlobReader {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.pos = crate::io::seek_target(pos, self.pos, self.size)?;
        Ok(self.pos)
    }
}

// ---------------------------------------------------------------------------------
// Session: one opened archive
// ---------------------------------------------------------------------------------

/// An error for JS: an `Error` whose `message` is the English text, with the core's code
/// and parameters as `error.code` and `error.params` (JSON-compatible), which the worker
/// passes to the page for its catalogs (`code.<code>` in `www/locales/<lang>/core.json`).
fn js_err(e: impl IntoMessage) -> JsValue {
    let message = e.into_message();
    let error = js_sys::Error::new(&message.english());
    let params = message.params.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).unwrap_or(JsValue::NULL);
    let _ = js_sys::Reflect::set(&error, &JsValue::from_str("code"), &JsValue::from_str(message.code.as_str()));
    let _ = js_sys::Reflect::set(&error, &JsValue::from_str("params"), &params);
    error.into()
}

/// What `js_err` takes: the core's errors as they are, and any other failure (a bad
/// argument, a JSON error) as `request_refused` with its text.
trait IntoMessage {
    fn into_message(self) -> Message;
}

impl IntoMessage for Error {
    fn into_message(self) -> Message {
        self.message()
    }
}

impl IntoMessage for io::Error {
    fn into_message(self) -> Message {
        Error::from(self).message()
    }
}

impl IntoMessage for String {
    fn into_message(self) -> Message {
        Message::new(Code::RequestRefused).with("detail", self)
    }
}

impl IntoMessage for &str {
    fn into_message(self) -> Message {
        Message::new(Code::RequestRefused).with("detail", self)
    }
}

impl IntoMessage for serde_json::Error {
    fn into_message(self) -> Message {
        Message::new(Code::RequestRefused).with("detail", self.to_string())
    }
}

/// Every code the core can produce, for the page's catalog test: `[{code, params,
/// english}]`, `params` the names the English template uses, `english` the template.
#[wasm_bindgen]
pub fn codes() -> Result<JsValue, JsValue> {
    #[derive(Serialize)]
    struct Listed {
        code: &'static str,
        params: Vec<&'static str>,
        english: &'static str,
    }
    let list: Vec<Listed> =
        Code::ALL.iter().map(|c| Listed { code: c.as_str(), params: c.param_names(), english: c.template() }).collect();
    to_js(&list)
}

fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsValue> {
    // json_compatible: maps become plain objects, u64 plain numbers.
    match value.serialize(&serde_wasm_bindgen::Serializer::json_compatible()) {
        Ok(v) => Ok(v),
        // A number past 2^53 (a hostile tar's mtime or uid) is refused there; through JSON
        // text it becomes the nearest double instead of failing the whole listing.
        Err(_) => {
            let text = serde_json::to_string(value).map_err(js_err)?;
            js_sys::JSON::parse(&text).map_err(|e| js_err(js_message(&e)))
        }
    }
}

fn progress_fn(callback: &Function) -> impl FnMut(&Progress) + '_ {
    move |p: &Progress| {
        if let Ok(value) = to_js(p) {
            // A throwing callback must not stop the work: its error is dropped.
            let _ = callback.call1(&JsValue::NULL, &value);
        }
    }
}

static EMPTY_LAYER: LayerIndex = LayerIndex { entries: Vec::new(), uncompressed_size: 0 };

/// The merged view of one layer alone: the tree of `layers[..=k]` plus the directories
/// that lead to something layer k changed.
struct LayerView {
    image: usize,
    layer: usize,
    tree: MergedTree,
    /// The directories of `tree` above a change of layer k, with the bytes layer k wrote
    /// below each: a layer view lists only what the layer changed, so a folder's size there
    /// is what the layer put in it, not the merged size up to it. (Keyed by node, not by
    /// path: a path per ancestor would cost the square of the depth.)
    written: HashMap<merge::tree::NodeId, u64>,
}

impl LayerView {
    fn node_of(&self, row: &view::DirEntryView) -> Option<merge::tree::NodeId> {
        self.tree.find(&parse_display_path(&row.path))
    }

    /// Is this directory row on the way to something layer k changed?
    fn leads_to_change(&self, row: &view::DirEntryView) -> bool {
        row.kind == EntryKind::Dir && self.node_of(row).is_some_and(|n| self.written.contains_key(&n))
    }

    /// Directory rows show what this layer wrote below them.
    fn own_sizes(&self, rows: &mut [view::DirEntryView]) {
        for r in rows.iter_mut().filter(|r| r.kind == EntryKind::Dir) {
            let written = self.node_of(r).and_then(|n| self.written.get(&n));
            r.cumulative_size = Some(written.copied().unwrap_or(0));
        }
    }
}

#[wasm_bindgen]
pub struct Session {
    /// The dropped File, shared with the decoders kept in `kept`.
    src: SharedSource<'static>,
    archive: Archive,
    /// Decoders of compressed layers kept between requests: the next file of a zstd layer
    /// (no access points) continues from the last one instead of the layer's start.
    /// Dropped whenever the archive learns more (`forget_trees`).
    kept: KeptDecoders<'static>,
    /// Full merged tree per image, built on first use.
    trees: HashMap<usize, MergedTree>,
    /// The last layer view asked for (one is enough: the page shows one at a time).
    layer_view: Option<LayerView>,
}

/// Layer indexes of an image, bottom first. Foreign layers (absent by design) count as
/// empty; a layer not indexed yet is an error that says so.
fn image_layers(archive: &Archive, image: usize) -> Result<Vec<&LayerIndex>, Error> {
    let img = archive.report().images.get(image).ok_or_else(|| Error::NotFound { what: format!("image {image}") })?;
    let mut out = Vec::with_capacity(img.layers.len());
    for l in &img.layers {
        match l.blob {
            Some(b) => match archive.layer_index(b) {
                Some(ix) => out.push(ix),
                None => {
                    // Read and found unreadable (the report's check says why), or not read yet.
                    let unreadable = l.checks.iter().find_map(|c| match &c.verdict {
                        crate::report::Verdict::NotCheckable { why, .. } if c.code == Code::LayerTarReadable => Some(why.clone()),
                        _ => None,
                    });
                    return Err(Error::NotFound {
                        what: match unreadable {
                            Some(why) => format!("a file list for layer {}: it could not be read as a tar ({why})", l.index),
                            None => format!("the file list of layer {} (it is compressed and has not been read yet)", l.index),
                        },
                    });
                }
            },
            None => out.push(&EMPTY_LAYER),
        }
    }
    Ok(out)
}

fn image_blobs(archive: &Archive, image: usize) -> Vec<Option<usize>> {
    archive.report().images.get(image).map(|i| i.layers.iter().map(|l| l.blob).collect()).unwrap_or_default()
}

/// A path from the page (`/usr/bin`, display form) as raw normalised bytes.
fn raw_path(path: &str) -> Box<[u8]> {
    normalize_path(&parse_display_path(path))
}

#[derive(Serialize)]
struct Listing {
    path: String,
    entries: Vec<view::DirEntryView>,
}

#[derive(Serialize)]
struct Found {
    entries: Vec<view::DirEntryView>,
    truncated: bool,
}

#[derive(Serialize)]
struct LayerChanges {
    layer: usize,
    #[serde(flatten)]
    counts: merge::ChangeCounts,
}

/// Collects an export stream into chunks handed to a JS callback (which keeps them as
/// Blob parts, outside wasm memory).
struct ChunkSink<'f> {
    callback: &'f Function,
    buf: Vec<u8>,
    written: u64,
}

const EXPORT_CHUNK: usize = 4 << 20;

impl ChunkSink<'_> {
    fn flush_chunk(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Uint8Array::from(&self.buf[..]);
        self.callback
            .call1(&JsValue::NULL, &chunk)
            .map_err(|e| io::Error::other(format!("could not hand over exported bytes: {}", js_message(&e))))?;
        self.buf.clear();
        Ok(())
    }
}

impl Write for ChunkSink<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        self.written += data.len() as u64;
        if self.buf.len() >= EXPORT_CHUNK {
            self.flush_chunk()?;
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.flush_chunk()
    }
}

#[wasm_bindgen]
impl Session {
    /// Open an archive: detect, index the outer tar, read the metadata. For a compressed
    /// archive this is one streaming pass that also verifies everything.
    /// `progress` gets `{phase, done, total, item, items}`.
    pub fn open(blob: Blob, progress: &Function) -> Result<Session, JsValue> {
        let mut src = BlobReader::new(blob).map_err(js_err)?;
        let archive = Archive::open(&mut src, &mut progress_fn(progress)).map_err(js_err)?;
        Ok(Session::over(src, archive))
    }

    /// A session over an archive opened from `src`.
    fn over(src: BlobReader, archive: Archive) -> Session {
        Session { src: SharedSource::owning(src), archive, kept: KeptDecoders::default(), trees: HashMap::new(), layer_view: None }
    }

    /// As `open`; a compressed archive's streaming pass sends the stored bytes of entries of
    /// `min..=max` bytes to `send(entry, size, offset, bytes)` (4 MiB pieces, in order)
    /// instead of hashing them: the page hashes them with WebCrypto in a helper worker, on
    /// the other core, and hands the digests back with `set_entry_digests`. Until then
    /// those blobs are pending; `verify` hashes any whose digest never came.
    pub fn open_hashing_elsewhere(blob: Blob, progress: &Function, min: f64, max: f64, send: &Function) -> Result<Session, JsValue> {
        let (min, max) = span_args(min, max)?;
        let mut src = BlobReader::new(blob).map_err(js_err)?;
        let mut failed = false;
        let mut send_piece = |entry: usize, size: u64, offset: u64, bytes: &[u8]| {
            if failed {
                return;
            }
            let args = js_sys::Array::new();
            args.push(&JsValue::from_f64(entry as f64));
            args.push(&JsValue::from_f64(size as f64));
            args.push(&JsValue::from_f64(offset as f64));
            args.push(&Uint8Array::from(bytes));
            failed = send.apply(&JsValue::NULL, &args).is_err();
        };
        let mut elsewhere = HashElsewhere { min, max, send: &mut send_piece };
        let archive = Archive::open_hashing_elsewhere(&mut src, &mut progress_fn(progress), Some(&mut elsewhere)).map_err(js_err)?;
        // A piece that could not be sent only means its digest never comes: `verify` then
        // hashes that blob here.
        Ok(Session::over(src, archive))
    }

    /// Outer entries whose digests `set_entry_digests` is waiting for.
    pub fn entries_hashed_elsewhere(&self) -> Vec<u32> {
        self.archive.entries_hashed_elsewhere().into_iter().map(|e| e as u32).collect()
    }

    /// The SHA-256 of each entry's stored bytes (`sha256:<hex>`), computed elsewhere;
    /// answers the report.
    pub fn set_entry_digests(&mut self, entries: Vec<u32>, digests: Vec<String>) -> Result<JsValue, JsValue> {
        if entries.len() != digests.len() {
            return Err(js_err("one digest per entry"));
        }
        for (entry, digest) in entries.into_iter().zip(digests) {
            if !is_sha256_digest(&digest) {
                return Err(js_err(format!("not a sha256 digest: {digest:?}")));
            }
            self.archive.set_entry_digest(entry as usize, &digest);
        }
        self.report()
    }

    /// The report as plain JSON-compatible data (see `src/report.rs`).
    pub fn report(&self) -> Result<JsValue, JsValue> {
        to_js(self.archive.report())
    }

    /// The report as pretty JSON text (for "Download report").
    pub fn report_json(&self) -> Result<String, JsValue> {
        serde_json::to_string_pretty(self.archive.report()).map_err(js_err)
    }

    pub fn verified(&self) -> bool {
        self.archive.report().verification_done
    }

    /// Index the uncompressed layers by their tar headers only, so the file tree can be
    /// shown before anything is hashed.
    pub fn index_layers(&mut self, progress: &Function) -> Result<(), JsValue> {
        self.archive.index_layers(&mut self.src, &mut progress_fn(progress)).map_err(js_err)?;
        self.forget_trees();
        Ok(())
    }

    /// True when every layer of every image has a file index (else the remaining ones are
    /// compressed and `verify` must read them first).
    pub fn all_layers_indexed(&self) -> bool {
        (0..self.archive.report().images.len()).all(|i| image_layers(&self.archive, i).is_ok())
    }

    /// Hash every blob not yet read. `progress` as in `open`; `on_blob(report)` after each
    /// blob, so verdicts appear as they are known.
    pub fn verify(&mut self, progress: &Function, on_blob: &Function) -> Result<(), JsValue> {
        let mut progress = progress_fn(progress);
        loop {
            let next = self.archive.verify_next(&mut self.src, &mut progress).map_err(js_err)?;
            if next.is_none() {
                break;
            }
            let report = to_js(self.archive.report())?;
            let _ = on_blob.call1(&JsValue::NULL, &report);
        }
        // Trees built from headers-only indexes lack content hashes: rebuild on next use.
        self.forget_trees();
        Ok(())
    }

    /// Build (or reuse) the merged tree of an image; returns its node count.
    pub fn build_tree(&mut self, image: usize) -> Result<usize, JsValue> {
        self.tree(image).map(|t| t.node_count()).map_err(js_err)
    }

    /// One directory, merged (`layer` undefined) or as one layer changed it:
    /// `{path, entries: [DirEntryView]}` (see `src/merge/view.rs`). With `whole`, a layer's
    /// listing is every path of the tree as of that layer, its changes marked (what
    /// `strata ls --layer K` lists), not only the paths it changed.
    pub fn list_dir(&mut self, image: usize, layer: Option<usize>, path: &str, whole: Option<bool>) -> Result<JsValue, JsValue> {
        let raw = raw_path(path);
        let entries = match layer {
            None => {
                self.tree(image).map_err(js_err)?;
                let tree = &self.trees[&image];
                let layers = image_layers(&self.archive, image).map_err(js_err)?;
                view::list_dir(tree, &layers, &raw, &ListOptions::default()).map_err(js_err)?
            }
            Some(k) => {
                self.layer_view(image, k).map_err(js_err)?;
                let full = &self.trees[&image];
                let lv = self.layer_view.as_ref().ok_or_else(|| js_err("layer view missing"))?;
                let layers = image_layers(&self.archive, image).map_err(js_err)?;
                let opts = ListOptions { changes_of_layer: Some(k as u32), full_tree: Some(full), ..Default::default() };
                let mut rows = view::list_dir(&lv.tree, &layers[..=k], &raw, &opts).map_err(js_err)?;
                if whole != Some(true) {
                    rows.retain(|r| r.change.is_some() || lv.leads_to_change(r));
                    lv.own_sizes(&mut rows);
                }
                rows
            }
        };
        to_js(&Listing { path: format!("/{}", display_path(&raw)), entries })
    }

    /// Every path under `/` matching `pattern` (substring, or a glob with `*`/`?`), at most `limit`.
    pub fn find(&mut self, image: usize, layer: Option<usize>, pattern: &str, limit: usize) -> Result<JsValue, JsValue> {
        let filter = merge::filter::PathFilter::parse(pattern);
        // Collect one row past the limit (to say "truncated"), and no more.
        let mut rows = Vec::new();
        let mut keep = |r| {
            rows.push(r);
            rows.len() <= limit
        };
        match layer {
            None => {
                self.tree(image).map_err(js_err)?;
                let layers = image_layers(&self.archive, image).map_err(js_err)?;
                let opts = ListOptions { filter: Some(filter), ..Default::default() };
                view::walk_rows(&self.trees[&image], &layers, b"", &opts, &mut keep).map_err(js_err)?;
            }
            Some(k) => {
                self.layer_view(image, k).map_err(js_err)?;
                let layers = image_layers(&self.archive, image).map_err(js_err)?;
                let lv = self.layer_view.as_ref().ok_or_else(|| js_err("layer view missing"))?;
                let opts = ListOptions {
                    changes_of_layer: Some(k as u32),
                    full_tree: self.trees.get(&image),
                    filter: Some(filter),
                    only_changes: true,
                    ..Default::default()
                };
                view::walk_rows(&lv.tree, &layers[..=k], b"", &opts, &mut keep).map_err(js_err)?;
                lv.own_sizes(&mut rows);
            }
        }
        let truncated = rows.len() > limit;
        rows.truncate(limit);
        to_js(&Found { entries: rows, truncated })
    }

    /// Bytes `[offset, offset + length)` of a file (symlinks followed). `length < 0`: to the end.
    /// With `layer`, the file as that layer wrote it.
    pub fn read_file(&mut self, image: usize, layer: Option<usize>, path: &str, offset: f64, length: f64) -> Result<Uint8Array, JsValue> {
        /// A single read is held in wasm memory; downloads of bigger files use `export_file`.
        const MAX_READ: u64 = 256 << 20;
        let offset = if offset.is_finite() && offset > 0.0 { offset as u64 } else { 0 };
        let length = if length.is_finite() && length >= 0.0 { (length as u64).min(MAX_READ) } else { MAX_READ };
        let mut out = Vec::new();
        self.with_file(image, layer, path, offset, &mut |size, reader| {
            if length == MAX_READ && size.saturating_sub(offset) > MAX_READ {
                return Err(Error::Limit { detail: Message::new(Code::FileTooBigToRead).with("size", size) });
            }
            reader.take(length).read_to_end(&mut out)?;
            Ok(())
        })
        .map_err(js_err)?;
        Ok(Uint8Array::from(&out[..]))
    }

    /// A whole file in chunks (for downloads of any size): `on_chunk(Uint8Array)` per 4 MiB.
    pub fn export_file(&mut self, image: usize, layer: Option<usize>, path: &str, on_chunk: &Function) -> Result<f64, JsValue> {
        let mut sink = ChunkSink { callback: on_chunk, buf: Vec::new(), written: 0 };
        self.with_file(image, layer, path, 0, &mut |_, reader| {
            io::copy(reader, &mut sink)?;
            Ok(())
        })
        .map_err(js_err)?;
        sink.flush().map_err(js_err)?;
        Ok(sink.written as f64)
    }

    /// Every layer that touched `path`, bottom first: `[PathEvent]` (see `view::path_story`).
    pub fn path_story(&mut self, image: usize, path: &str) -> Result<JsValue, JsValue> {
        let layers = image_layers(&self.archive, image).map_err(js_err)?;
        to_js(&view::path_story(&layers, &raw_path(path)))
    }

    /// Layer `layer`'s whiteout and opaque markers by their real names, with what each
    /// removed: `[MarkerView]`, at most `limit`.
    pub fn layer_markers(&mut self, image: usize, layer: usize, limit: usize) -> Result<JsValue, JsValue> {
        self.layer_view(image, layer).map_err(js_err)?;
        let layers = image_layers(&self.archive, image).map_err(js_err)?;
        let lv = self.layer_view.as_ref().ok_or_else(|| js_err("layer view missing"))?;
        to_js(&view::layer_markers(&lv.tree, &layers[..=layer], layer, limit))
    }

    /// Added / modified / deleted counts and bytes of each layer of an image.
    pub fn layer_changes(&mut self, image: usize) -> Result<JsValue, JsValue> {
        let tree = self.tree(image).map_err(js_err)?;
        let out: Vec<LayerChanges> =
            (0..tree.layer_count()).map(|k| LayerChanges { layer: k, counts: tree.change_counts(k) }).collect();
        to_js(&out)
    }

    /// Wasted space and efficiency (see `src/merge/waste.rs` for the definition).
    pub fn waste(&mut self, image: usize) -> Result<JsValue, JsValue> {
        self.tree(image).map_err(js_err)?;
        let layers = image_layers(&self.archive, image).map_err(js_err)?;
        to_js(&merge::waste::analyze(&self.trees[&image], &layers))
    }

    /// Problems the merge worked around (bare `.wh.`, `..`, broken hardlinks), as findings.
    pub fn merge_findings(&mut self, image: usize) -> Result<JsValue, JsValue> {
        let tree = self.tree(image).map_err(js_err)?;
        let findings: Vec<_> = tree.problems().iter().map(|p| p.to_finding()).collect();
        to_js(&findings)
    }

    /// The merged root filesystem as a tar, in chunks: `on_chunk(Uint8Array)`. Returns bytes written.
    pub fn export_rootfs(&mut self, image: usize, on_chunk: &Function) -> Result<f64, JsValue> {
        self.tree(image).map_err(js_err)?;
        let layers = image_layers(&self.archive, image).map_err(js_err)?;
        let mut source = kept_source(&self.archive, &self.src, &mut self.kept, image);
        let mut sink = ChunkSink { callback: on_chunk, buf: Vec::new(), written: 0 };
        merge::export::export_rootfs(&self.trees[&image], &layers, &mut source, &mut sink).map_err(js_err)?;
        self.kept = source.into_kept();
        sink.flush().map_err(js_err)?;
        Ok(sink.written as f64)
    }

    /// One layer's uncompressed tar, in chunks.
    pub fn export_layer(&mut self, image: usize, layer: usize, on_chunk: &Function) -> Result<f64, JsValue> {
        let blob = image_blobs(&self.archive, image)
            .get(layer)
            .copied()
            .flatten()
            .ok_or_else(|| js_err(format!("layer {layer} of image {image} is not in this archive")))?;
        let mut sink = ChunkSink { callback: on_chunk, buf: Vec::new(), written: 0 };
        let mut stream = self.archive.open_layer_stream(&mut self.src, blob).map_err(js_err)?;
        io::copy(&mut stream, &mut sink).map_err(js_err)?;
        drop(stream);
        sink.flush().map_err(js_err)?;
        Ok(sink.written as f64)
    }
}

/// At most this many changed paths go to the page per diff (the summary counts them all).
const MAX_DIFF_FILES: usize = 5000;

#[derive(Serialize)]
struct DiffOut {
    #[serde(flatten)]
    diff: merge::diff::ImageDiff,
    files_total: usize,
    files_truncated: bool,
}

fn diff_out(mut diff: merge::diff::ImageDiff) -> DiffOut {
    let files_total = diff.files.len();
    diff.files.truncate(MAX_DIFF_FILES);
    DiffOut { diff, files_total, files_truncated: files_total > MAX_DIFF_FILES }
}

#[wasm_bindgen]
impl Session {
    /// A Dockerfile reconstructed from an image's history.
    pub fn dockerfile(&self, image: usize) -> Result<String, JsValue> {
        let img = self.archive.report().images.get(image).ok_or_else(|| js_err(format!("no image {image}")))?;
        Ok(merge::dockerfile::to_text(&merge::dockerfile::reconstruct(&img.history)))
    }

    /// Compare two images of this archive: files, config, history, shared layers.
    pub fn diff(&mut self, a: usize, b: usize) -> Result<JsValue, JsValue> {
        self.tree(a).map_err(js_err)?;
        self.tree(b).map_err(js_err)?;
        let (la, lb) = (image_layers(&self.archive, a).map_err(js_err)?, image_layers(&self.archive, b).map_err(js_err)?);
        let images = &self.archive.report().images;
        let (ia, ib) = (&images[a], &images[b]);
        let side_a = merge::diff::TreeSide { tree: &self.trees[&a], layers: &la };
        let side_b = merge::diff::TreeSide { tree: &self.trees[&b], layers: &lb };
        to_js(&diff_out(merge::diff::diff_images(ia, side_a, ib, side_b)))
    }

    /// Compare image `a` of this archive with image `b` of another opened archive.
    pub fn diff_with(&mut self, a: usize, other: &mut Session, b: usize) -> Result<JsValue, JsValue> {
        self.tree(a).map_err(js_err)?;
        other.tree(b).map_err(js_err)?;
        let la = image_layers(&self.archive, a).map_err(js_err)?;
        let lb = image_layers(&other.archive, b).map_err(js_err)?;
        let ia = &self.archive.report().images[a];
        let ib = &other.archive.report().images[b];
        let side_a = merge::diff::TreeSide { tree: &self.trees[&a], layers: &la };
        let side_b = merge::diff::TreeSide { tree: &other.trees[&b], layers: &lb };
        to_js(&diff_out(merge::diff::diff_images(ia, side_a, ib, side_b)))
    }
}

impl Session {
    fn forget_trees(&mut self) {
        self.trees.clear();
        self.layer_view = None;
        self.kept = KeptDecoders::default();
    }

    fn tree(&mut self, image: usize) -> Result<&MergedTree, Error> {
        if !self.trees.contains_key(&image) {
            let layers = image_layers(&self.archive, image)?;
            let tree = MergedTree::build(&layers);
            self.trees.insert(image, tree);
        }
        self.trees.get(&image).ok_or_else(|| Error::NotFound { what: format!("image {image}") })
    }

    /// Make sure `layer_view` is the view of layer k of this image (and the full tree exists).
    fn layer_view(&mut self, image: usize, k: usize) -> Result<(), Error> {
        self.tree(image)?;
        if matches!(&self.layer_view, Some(v) if v.image == image && v.layer == k) {
            return Ok(());
        }
        let layers = image_layers(&self.archive, image)?;
        if k >= layers.len() {
            return Err(Error::NotFound { what: format!("layer {k} (the image has {})", layers.len()) });
        }
        let tree = MergedTree::build(&layers[..=k]);
        let mut written: HashMap<merge::tree::NodeId, u64> = HashMap::new();
        for change in tree.changes(k) {
            let bytes = if change.kind == ChangeKind::Deleted { 0 } else { change.bytes };
            // Every proper ancestor of a changed path leads to it (the root included).
            let mut n = change.node;
            while n != merge::tree::ROOT {
                n = tree.node(n).map(|node| node.parent).unwrap_or(merge::tree::ROOT);
                let seen = written.contains_key(&n);
                *written.entry(n).or_default() += bytes;
                if seen && bytes == 0 {
                    break; // the rest of the way up is there already
                }
            }
        }
        self.layer_view = Some(LayerView { image, layer: k, tree, written });
        Ok(())
    }

    /// Open a file of the merged tree (or of one layer) and hand `f` the whole file's size
    /// and a reader from byte `from` of it on.
    fn with_file(
        &mut self,
        image: usize,
        layer: Option<usize>,
        path: &str,
        from: u64,
        f: &mut dyn FnMut(u64, &mut dyn Read) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let raw = raw_path(path);
        match layer {
            None => {
                self.tree(image)?;
                let layers = image_layers(&self.archive, image)?;
                let mut source = kept_source(&self.archive, &self.src, &mut self.kept, image);
                {
                    let (size, mut reader) = merge::read::open_file_from(&self.trees[&image], &layers, &mut source, &raw, from)?;
                    f(size, &mut reader)?;
                }
                self.kept = source.into_kept();
                Ok(())
            }
            Some(k) => {
                self.layer_view(image, k)?;
                let layers = image_layers(&self.archive, image)?;
                let lv = self.layer_view.as_ref().ok_or_else(|| Error::NotFound { what: "layer view".into() })?;
                let (which, entry) = merge::read::layer_file(&lv.tree, &layers[..=k], k, &raw)?;
                let mut source = kept_source(&self.archive, &self.src, &mut self.kept, image);
                let size = entry.size;
                {
                    let mut reader = source.open_entry_from(which, entry, from)?;
                    f(size, &mut reader)?;
                }
                self.kept = source.into_kept();
                Ok(())
            }
        }
    }
}

/// The archive as a source of file bytes, continuing the decoders kept from the last
/// request (hand them back with `self.kept = source.into_kept()`; an error drops them).
fn kept_source<'a>(archive: &'a Archive, src: &SharedSource<'static>, kept: &mut KeptDecoders<'static>, image: usize) -> ArchiveSource<'a, 'static> {
    ArchiveSource::with_kept(archive, src.clone(), image_blobs(archive, image), std::mem::take(kept))
}

// ---------------------------------------------------------------------------------
// Parallel work: helper workers index or verify single blobs of the same File and hand
// the results (as bytes) to the browsing worker's Session.
// ---------------------------------------------------------------------------------

fn span_args(offset: f64, size: f64) -> Result<(u64, u64), JsValue> {
    let ok = |v: f64| v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v < 9.0e15;
    if !ok(offset) || !ok(size) {
        return Err(js_err(format!("bad span {offset}+{size}")));
    }
    Ok((offset as u64, size as u64))
}

/// Headers-only index of the uncompressed layer at `offset..offset+size` of `file`, as bytes
/// for `Session.set_quick_index` (undefined when the layer is compressed or not a tar).
/// `max_chunk` caps single reads (default [`INDEX_MAX_CHUNK`]).
#[wasm_bindgen]
pub fn quick_index_span(file: Blob, offset: f64, size: f64, max_chunk: Option<u32>) -> Result<Option<Uint8Array>, JsValue> {
    let (offset, size) = span_args(offset, size)?;
    let mut src = BlobReader::with_max_chunk(file, max_chunk.map(|c| c as usize).unwrap_or(INDEX_MAX_CHUNK)).map_err(js_err)?;
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
fn is_sha256_digest(d: &str) -> bool {
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
pub fn analyze_span(file: Blob, offset: f64, size: f64, progress: &Function) -> Result<Uint8Array, JsValue> {
    let (offset, size) = span_args(offset, size)?;
    let mut src = BlobReader::new(file).map_err(js_err)?;
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

#[derive(Serialize)]
struct Span {
    blob: usize,
    offset: u64,
    size: u64,
}

#[derive(Serialize)]
struct Work {
    /// Layer blobs with no index yet (for `quick_index_span`).
    unindexed: Vec<Span>,
    /// Blobs not verified yet (for `analyze_span`).
    pending: Vec<Span>,
    /// False for a compressed archive: its blobs cannot be read by offset.
    seekable: bool,
}

#[wasm_bindgen]
impl Session {
    /// What is left to do, with each blob's place in the file, so the page can share the
    /// work among workers.
    pub fn work(&self) -> Result<JsValue, JsValue> {
        let span = |blob: usize| self.archive.blob_span(blob).map(|(offset, size)| Span { blob, offset, size });
        to_js(&Work {
            unindexed: self.archive.unindexed_layer_blobs().into_iter().filter_map(span).collect(),
            pending: self.archive.pending_blobs().into_iter().filter_map(span).collect(),
            seekable: self.archive.compression() == crate::report::Compression::None,
        })
    }

    /// Index these layer blobs here (headers only), as `index_layers` does for all.
    pub fn index_blobs(&mut self, blobs: Vec<u32>) -> Result<(), JsValue> {
        for blob in blobs {
            let blob = blob as usize;
            let Some((offset, size)) = self.archive.blob_span(blob) else { continue };
            if let Some(ix) = Archive::quick_index_span(&mut self.src, offset, size) {
                self.archive.set_quick_index(blob, ix);
            }
        }
        self.forget_trees();
        Ok(())
    }

    /// Take a headers-only index made by `quick_index_span` in another worker.
    pub fn set_quick_index(&mut self, blob: usize, data: &[u8]) -> Result<(), JsValue> {
        let ix = codec::decode_index(data).map_err(js_err)?;
        self.archive.set_quick_index(blob, ix);
        self.forget_trees();
        Ok(())
    }

    /// Take the two parts of a layer walked by two workers at once (`LayerIndexer.part`).
    /// Returns -1 when the layer's index is set; else the offset from which the first
    /// part must walk on (the second never passed through where it stopped, or is missing):
    /// walk from there and call again with that part as `second`; -2 when only the
    /// synchronous walk can index this layer.
    pub fn set_quick_index_parts(&mut self, blob: usize, first: &[u8], second: Option<Vec<u8>>) -> Result<f64, JsValue> {
        let first = codec::decode_part(first).map_err(js_err)?;
        let joined = match (second, first.stopped_at) {
            (_, None) => Ok(first.index),
            (None, Some(stop)) => Err(Some(stop)),
            (Some(second), _) => crate::chunk_index::splice(first, codec::decode_part(&second).map_err(js_err)?),
        };
        match joined {
            Ok(ix) => {
                self.archive.set_quick_index(blob, ix);
                self.forget_trees();
                Ok(-1.0)
            }
            Err(Some(stop)) => Ok(stop as f64),
            Err(None) => Ok(-2.0),
        }
    }

    /// Take what `analyze_span` found in another worker; returns the updated report.
    pub fn set_blob_facts(&mut self, blob: usize, data: &[u8]) -> Result<JsValue, JsValue> {
        let facts = codec::decode_facts(data).map_err(js_err)?;
        self.archive.set_blob_facts(blob, facts);
        // Trees built over a headers-only index stay valid (same entries, same order), but
        // they lack content hashes: rebuild them once everything is verified.
        if self.archive.report().verification_done {
            self.forget_trees();
        }
        self.report()
    }
}

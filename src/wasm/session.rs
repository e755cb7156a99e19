//! One opened archive: its report, merged trees built on demand, file reading, diff and
//! export, and the work it hands to helper workers.

use super::helpers::{is_sha256_digest, span_args};
use super::{js_err, js_message, progress_fn, to_js, Source, MAX_CHUNK};
use crate::archive::HashElsewhere;
use crate::codec;
use crate::codes::{Code, Message};
use crate::io::SharedSource;
use crate::layer::{display_path, normalize_path, parse_display_path, EntryKind, LayerIndex};
use crate::merge::source::{ArchiveSource, KeptDecoders};
use crate::merge::{self, read::ContentSource, view, ChangeKind, ListOptions, MergedTree};
use crate::packages::{self, sbom, ImagePackages};
use crate::{Archive, Error};
use js_sys::{Function, Uint8Array};
use serde::Serialize;
use std::collections::HashMap;
use std::io::{self, Read, Write};
use wasm_bindgen::prelude::*;

/// Layer views (merged trees of `layers[..=k]`) a session keeps: the current one and the
/// ones before it (see `Session::recent_layer_views`).
const LAYER_VIEWS_KEPT: usize = 4;

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
    /// The last layer view asked for.
    layer_view: Option<LayerView>,
    /// The views asked for before it, newest last, at most `LAYER_VIEWS_KEPT - 1`: the
    /// lesson steps back and forth through layers (and asks for the next step's view while
    /// the teacher talks), and each view is a merge of `layers[..=k]` that took up to
    /// ~100 ms to build on a 27k-entry image. Each is at most the size of the image's full
    /// tree, so the session holds at most `LAYER_VIEWS_KEPT` + 1 trees per image.
    recent_layer_views: Vec<LayerView>,
    /// Installed packages per image, scanned on first use (the Packages tab, the Layers
    /// view's package changes and both SBOMs share one scan). Not dropped with the trees:
    /// the scan reads file bytes, which later indexing and hashing do not change.
    packages: HashMap<usize, ImagePackages>,
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
    /// Merged listings: the rows whose last writer modified them, and the copy below it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    covers: Vec<Cover>,
}

/// A row of a merged listing whose last writer covers a lower layer's copy of its path
/// ("overwrites layer 2's 47B copy", as dive's users expect to see).
#[derive(Serialize)]
struct Cover {
    /// The row's name.
    name: String,
    /// The layer of the copy below, its kind and content bytes.
    layer: u32,
    kind: EntryKind,
    size: u64,
}

/// The lower copies the non-directory `rows` of one merged directory cover: for each row
/// the layer that wrote it last modified (not added), the last entry at its path in a layer
/// below. One pass over the entries of the layers below the highest such writer, and only
/// when the directory has such a row (memory: the rows' paths).
fn lower_copies(tree: &MergedTree, layers: &[&LayerIndex], rows: &[view::DirEntryView]) -> Vec<Cover> {
    let mut wanted: HashMap<Box<[u8]>, (usize, u32)> = HashMap::new(); // path → (row, writer)
    for (i, row) in rows.iter().enumerate().filter(|(_, r)| r.kind != EntryKind::Dir) {
        let path = normalize_path(&parse_display_path(&row.path));
        if let Some(node) = tree.find(&path) {
            if let Some((writer, ChangeKind::Modified)) = tree.last_change(node) {
                wanted.insert(path, (i, writer));
            }
        }
    }
    let Some(top) = wanted.values().map(|&(_, w)| w).max() else { return Vec::new() };
    let mut found: HashMap<usize, Cover> = HashMap::new();
    for (l, layer) in layers.iter().enumerate().take(top as usize) {
        for e in &layer.entries {
            if let Some(&(row, writer)) = wanted.get(&e.path) {
                if (l as u32) < writer {
                    found.insert(row, Cover { name: rows[row].name.clone(), layer: l as u32, kind: e.kind, size: e.size });
                }
            }
        }
    }
    let mut covers: Vec<Cover> = found.into_values().collect();
    covers.sort_by(|a, b| a.name.cmp(&b.name));
    covers
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
    /// `source` is a `Blob` (a dropped File) or `{url, size, etag}`: a file on a web server
    /// read by HTTP Range requests (see `http_reader.rs`).
    /// `progress` gets `{phase, done, total, item, items}`.
    pub fn open(source: JsValue, progress: &Function) -> Result<Session, JsValue> {
        let mut src = Source::from_js(&source, MAX_CHUNK).map_err(js_err)?;
        let archive = Archive::open(&mut src, &mut progress_fn(progress)).map_err(js_err)?;
        Ok(Session::over(src, archive))
    }

    /// A session over an archive opened from `src`.
    fn over(src: Source, archive: Archive) -> Session {
        Session {
            src: SharedSource::owning(src),
            archive,
            kept: KeptDecoders::default(),
            trees: HashMap::new(),
            layer_view: None,
            recent_layer_views: Vec::new(),
            packages: HashMap::new(),
        }
    }

    /// As `open`; a compressed archive's streaming pass sends the stored bytes of entries of
    /// `min..=max` bytes to `send(entry, size, offset, bytes)` (4 MiB pieces, in order)
    /// instead of hashing them: the page hashes them with WebCrypto in a helper worker, on
    /// the other core, and hands the digests back with `set_entry_digests`. Until then
    /// those blobs are pending; `verify` hashes any whose digest never came.
    pub fn open_hashing_elsewhere(source: JsValue, progress: &Function, min: f64, max: f64, send: &Function) -> Result<Session, JsValue> {
        let (min, max) = span_args(min, max)?;
        let mut src = Source::from_js(&source, MAX_CHUNK).map_err(js_err)?;
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
        // The merged view says which of its files cover a lower layer's copy.
        let covers = match layer {
            None => lower_copies(&self.trees[&image], &image_layers(&self.archive, image).map_err(js_err)?, &entries),
            Some(_) => Vec::new(),
        };
        to_js(&Listing { path: format!("/{}", display_path(&raw)), entries, covers })
    }

    /// Every path under `/` matching `pattern` (substring, or a glob with `*`/`?`), at most `limit`.
    /// In a layer's view, only the paths that layer changed, unless `whole`: then every path
    /// of the tree as of that layer, as `list_dir` with `whole` shows them (what the page's
    /// filter searches is what its tree shows).
    pub fn find(&mut self, image: usize, layer: Option<usize>, pattern: &str, limit: usize, whole: Option<bool>) -> Result<JsValue, JsValue> {
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
                    only_changes: whole != Some(true),
                    ..Default::default()
                };
                view::walk_rows(&lv.tree, &layers[..=k], b"", &opts, &mut keep).map_err(js_err)?;
                if whole != Some(true) {
                    lv.own_sizes(&mut rows);
                }
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

    /// The installed packages of an image, as `strata packages --json` prints them:
    /// `{os, packages, layers, findings}`, each layer with its history line (`created_by`).
    pub fn packages(&mut self, image: usize) -> Result<JsValue, JsValue> {
        self.scan_packages(image).map_err(js_err)?;
        let found = &self.packages[&image];
        let img = &self.archive.report().images[image];
        to_js(&packages_json(img, found).map_err(js_err)?)
    }

    /// An SBOM of an image as JSON text: `format` is `spdx-json` (SPDX 2.3) or
    /// `cyclonedx-json` (CycloneDX 1.6), the documents `strata sbom` writes, made from the
    /// same scan as `packages`. `created_ms`: the document's time (JS `Date.now()`).
    pub fn sbom(&mut self, image: usize, format: &str, created_ms: f64) -> Result<String, JsValue> {
        let spdx = match format {
            "spdx-json" => true,
            "cyclonedx-json" => false,
            other => return Err(js_err(format!("unknown SBOM format {other:?} (use spdx-json or cyclonedx-json)"))),
        };
        self.scan_packages(image).map_err(js_err)?;
        let found = &self.packages[&image];
        let img = &self.archive.report().images[image];
        let created = if created_ms.is_finite() && created_ms > 0.0 { (created_ms / 1000.0) as u64 } else { 0 };
        let subject = sbom::Subject {
            name: img.repo_tags.first().cloned().unwrap_or_else(|| short_id(&img.id)),
            image_id: img.id.clone(),
            created: sbom::rfc3339_utc(created),
            layers: img
                .layers
                .iter()
                .enumerate()
                .map(|(k, l)| sbom::SubjectLayer { diff_id: l.diff_id.clone(), created_by: created_by(img, k) })
                .collect(),
        };
        let doc = if spdx { sbom::spdx_json(&subject, found) } else { sbom::cyclonedx_json(&subject, found) };
        let mut text = serde_json::to_string_pretty(&doc).map_err(js_err)?;
        text.push('\n');
        Ok(text)
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

    /// The bytes of one of the archive's own documents by its name in the archive
    /// (`index.json`, `manifest.json`, `oci-layout`, `blobs/sha256/<hex>`): the Structure
    /// tab draws them (and hashes them against their names). At most 4 MiB (a layer is no
    /// document; a bigger file is an error).
    pub fn archive_document(&mut self, name: &str) -> Result<Uint8Array, JsValue> {
        const MAX_DOCUMENT: u64 = 4 << 20;
        let bytes = self.archive.read_archive_file(&mut self.src, name, MAX_DOCUMENT).map_err(js_err)?;
        Ok(Uint8Array::from(&bytes[..]))
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
    /// Scan an image's package databases once (see `src/packages/`) and keep the result.
    fn scan_packages(&mut self, image: usize) -> Result<(), Error> {
        if !self.packages.contains_key(&image) {
            let layers = image_layers(&self.archive, image)?;
            let mut source = kept_source(&self.archive, &self.src, &mut self.kept, image);
            let found = packages::scan_image(&layers, &mut source, &packages::Limits::default());
            self.kept = source.into_kept();
            self.packages.insert(image, found);
        }
        Ok(())
    }

    fn forget_trees(&mut self) {
        self.trees.clear();
        self.layer_view = None;
        self.recent_layer_views.clear();
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
        if let Some(i) = self.recent_layer_views.iter().position(|v| v.image == image && v.layer == k) {
            let view = self.recent_layer_views.remove(i);
            self.keep_layer_view(view);
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
        self.keep_layer_view(LayerView { image, layer: k, tree, written });
        Ok(())
    }

    /// Make `view` the current layer view; the one it replaces joins the recent ones (the
    /// oldest of those goes when there are too many).
    fn keep_layer_view(&mut self, view: LayerView) {
        if let Some(previous) = self.layer_view.replace(view) {
            self.recent_layer_views.push(previous);
            while self.recent_layer_views.len() + 1 > LAYER_VIEWS_KEPT {
                self.recent_layer_views.remove(0);
            }
        }
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

/// The history line (`created_by`) of an image's layer `k`, if the history maps it.
fn created_by(img: &crate::report::Image, k: usize) -> Option<String> {
    let h = img.layers.get(k)?.history?;
    img.history.get(h)?.created_by.clone()
}

/// `sha256:abcdef…` → `abcdef012345`, as docker shows IDs (an image without a tag is named so).
fn short_id(digest: &str) -> String {
    digest.rsplit(':').next().unwrap_or(digest).chars().take(12).collect()
}

/// The JSON of `strata packages --json` (src/bin/strata/packages.rs): the scan, each layer
/// with its history line.
fn packages_json(img: &crate::report::Image, found: &ImagePackages) -> Result<serde_json::Value, serde_json::Error> {
    let mut value = serde_json::to_value(found)?;
    if let Some(layers) = value.get_mut("layers").and_then(|l| l.as_array_mut()) {
        for layer in layers {
            let k = layer.get("index").and_then(|i| i.as_u64()).unwrap_or(0) as usize;
            layer["created_by"] = serde_json::json!(created_by(img, k));
        }
    }
    Ok(value)
}

/// The archive as a source of file bytes, continuing the decoders kept from the last
/// request (hand them back with `self.kept = source.into_kept()`; an error drops them).
fn kept_source<'a>(archive: &'a Archive, src: &SharedSource<'static>, kept: &mut KeptDecoders<'static>, image: usize) -> ArchiveSource<'a, 'static> {
    ArchiveSource::with_kept(archive, src.clone(), image_blobs(archive, image), std::mem::take(kept))
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
    /// work among workers. A sparse blob (GNU tar `--sparse` left its holes out) has no
    /// span, so it is in neither list: `open` indexed it, `verify` hashes it here.
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


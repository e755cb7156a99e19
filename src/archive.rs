//! The pipeline in one place: detect → scan → resolve → verify → report.
//!
//! `Archive` keeps only indexes and small metadata: the outer tar's table of contents,
//! the plan the metadata describes, and per blob what one pass over it found (digests,
//! sizes, the layer's entry index). Blob bytes are never held; they are re-read by
//! offset from the caller's source when a file is shown or exported.

use crate::codes::{Code, Message};
use crate::decompress;
use crate::detect;
use crate::error::Error;
use crate::gzip::AccessIndex;
use crate::io::{read_capped, HashingReader, ProgressReader, ReadSeek, Window};
use crate::layer::{self, LayerEntry, LayerIndex};
use crate::report::{
    ArchiveInfo, Check, Compression, HistoryEntry, Image, ImageConfig, Layer, Report, Severity, Verdict,
};
use crate::resolve::{self, Files, ImagePlan, LayerPlan, Plan};
use crate::scan::{self, OuterEntry, OuterIndex, OuterKind};
use crate::sparse::{SparseReader, SparseWindow};
use crate::tar_guard::TarGuard;
use crate::verify::{self, BlobFacts, Treat};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::io::{self, Read, Seek, SeekFrom};

/// Non-layer files up to this size are kept in memory during a streaming scan
/// (that is how a compressed archive's metadata survives the single pass).
const KEEP_SMALL_FILES: u64 = resolve::MAX_JSON_BYTES;
/// ...but no more than this in total.
const MAX_KEPT_BYTES: u64 = 64 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Indexing,
    Verifying,
    Merging,
}

/// Progress of a long step. `done`/`total` are bytes; `item`/`items` count blobs.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Progress {
    pub phase: Phase,
    pub done: u64,
    pub total: u64,
    pub item: usize,
    pub items: usize,
}

/// Where a compressed archive's streaming pass may send the stored bytes of big entries,
/// to be hashed elsewhere instead of by the core's SHA-256: the browser hashes them with
/// WebCrypto in a helper worker, on the other core, while the pass goes on. The digests
/// come back through [`Archive::set_entry_digest`]; until then those blobs are pending.
pub struct HashElsewhere<'a> {
    /// Entries of `min..=max` bytes go elsewhere; the rest are hashed here.
    pub min: u64,
    pub max: u64,
    pub send: &'a mut SendPiece<'a>,
}

/// `send(entry, entry_size, offset_in_entry, bytes)`: an entry's bytes, in order, in pieces
/// of [`HashElsewhere::PIECE`] bytes (the last one shorter).
pub type SendPiece<'a> = dyn FnMut(usize, u64, u64, &[u8]) + 'a;

impl HashElsewhere<'_> {
    /// Bytes per `send` call (fewer, bigger calls across the wasm boundary).
    pub const PIECE: usize = 4 << 20;
}

/// One blob: an outer-tar file that is a layer or lives under `blobs/`.
#[derive(Debug)]
struct Blob {
    entry: usize,
    /// Filled by a full pass (verify, or the streaming scan).
    facts: Option<BlobFacts>,
    /// `facts` are complete but for the stored digest, which is being computed elsewhere
    /// ([`HashElsewhere`]): every check of the blob is pending.
    digest_pending: bool,
    /// Headers-only index of a plain layer (before verify has read it in full).
    quick_index: Option<LayerIndex>,
}

impl Blob {
    /// The facts the checks may use: none while the digest is still being computed.
    fn checked_facts(&self) -> Option<&BlobFacts> {
        self.facts.as_ref().filter(|_| !self.digest_pending)
    }
}

/// An opened image archive.
#[derive(Debug)]
pub struct Archive {
    compression: Compression,
    /// Where decompression can restart in a gzip'd whole archive (from the streaming scan).
    outer_access: Option<AccessIndex>,
    file_len: u64,
    outer: OuterIndex,
    plan: Plan,
    blobs: Vec<Blob>,
    blob_of_entry: HashMap<usize, usize>,
    report: Report,
}

/// Reads small files for the resolver: by offset (plain tar) or from what a
/// streaming scan kept.
struct OuterFiles<'a> {
    outer: &'a OuterIndex,
    src: Option<&'a mut dyn ReadSeek>,
    kept: &'a HashMap<usize, Vec<u8>>,
}

impl Files for OuterFiles<'_> {
    fn index(&self) -> &OuterIndex {
        self.outer
    }

    fn read(&mut self, entry: usize, cap: u64) -> Result<Vec<u8>, Message> {
        let e = &self.outer.entries[entry];
        if e.size > cap {
            return Err(Message::new(Code::MetadataTooBig).with("size", e.size).with("max", cap));
        }
        if let Some(bytes) = self.kept.get(&entry) {
            return Ok(bytes.clone());
        }
        match self.src.as_deref_mut() {
            Some(src) => read_capped(&mut entry_bytes(src, e, 0), cap)
                .map_err(|err| Message::new(Code::ReadFailed).with("detail", err.to_string())),
            None => Err(Message::new(Code::NotKept)),
        }
    }
}

impl Archive {
    /// Detect, scan and resolve. For a plain tar this reads only headers and metadata
    /// files; for a compressed archive it makes the single streaming pass, which also
    /// verifies every blob (so `verify` has nothing left to do).
    pub fn open(src: &mut dyn ReadSeek, progress: &mut dyn FnMut(&Progress)) -> Result<Archive, Error> {
        Archive::open_hashing_elsewhere(src, progress, None)
    }

    /// As [`Archive::open`]; a compressed archive's streaming pass sends the stored bytes of
    /// big entries to `elsewhere` instead of hashing them (a plain tar ignores it).
    pub fn open_hashing_elsewhere(
        src: &mut dyn ReadSeek,
        progress: &mut dyn FnMut(&Progress),
        elsewhere: Option<&mut HashElsewhere<'_>>,
    ) -> Result<Archive, Error> {
        let file_len = src.seek(SeekFrom::End(0))?;
        if file_len == 0 {
            return Err(Error::NotTar { detail: Code::FileEmpty.into() });
        }
        let mut head = Vec::with_capacity(512);
        src.seek(SeekFrom::Start(0))?;
        (&mut *src).take(512).read_to_end(&mut head)?;
        let compression = detect::compression(&head);

        let mut kept = HashMap::new();
        let mut facts_by_entry = HashMap::new();
        let mut outer_access = None;
        let mut hashed_elsewhere = HashSet::new();
        let outer = match compression {
            Compression::None => {
                if !detect::looks_like_tar(&head) {
                    return Err(Error::NotTar { detail: describe_non_tar(&head).into() });
                }
                scan::index_seekable(src, file_len, &mut |done| {
                    progress(&Progress { phase: Phase::Indexing, done, total: file_len, item: 0, items: 0 })
                })?
            }
            Compression::Bzip2 => {
                return Err(Error::Unsupported { detail: Code::Bzip2Archive.into() })
            }
            _ => {
                let mut found = StreamFound { kept: &mut kept, facts: &mut facts_by_entry, hashed_elsewhere: &mut hashed_elsewhere };
                let (index, access) = stream_scan(src, file_len, compression, &mut found, elsewhere, progress)?;
                outer_access = access;
                index
            }
        };

        let plan = {
            let seekable = compression == Compression::None;
            let mut files = OuterFiles { outer: &outer, src: if seekable { Some(src) } else { None }, kept: &kept };
            resolve::resolve(&mut files)
        };
        let mut plan = plan;
        if let Some(message) = &outer.missing_end_marker {
            plan.findings.insert(0, crate::report::Finding::new(Severity::Warning, message.clone(), None));
        }
        for e in outer.entries.iter().filter(|e| e.sparse.as_ref().is_some_and(|m| m.old_gnu)) {
            // Go's archive/tar keeps an old GNU sparse entry's type `S` (it expands only the
            // data), and neither way `docker load` reads the archive takes it: the classic
            // store unpacks the tar and fails ("unhandled tar header type 83"), the containerd
            // store skips the entry ("file type ignored"). strata reads the expanded file, as
            // GNU tar and Python do, and says docker will not load the archive.
            let refused = Message::new(Code::OuterOldGnuSparse).with("path", e.name.as_str());
            plan.findings.push(crate::report::Finding::new(Severity::Error, refused, Some(e.name.clone())));
        }
        for name in &outer.duplicates {
            let duplicate = Message::new(Code::DuplicateEntry).with("path", name);
            plan.findings.push(crate::report::Finding::new(Severity::Warning, duplicate, Some(name.clone())));
        }
        // Junk beside the image (a `.DS_Store`, `._*` files): a mild finding each, never a
        // digest failure (collect_blobs leaves them out unless the metadata names them).
        for e in &outer.entries {
            if e.kind == OuterKind::File && resolve::is_junk_name(&e.name) {
                let junk = Message::new(Code::JunkFile).with("path", e.name.as_str());
                plan.findings.push(crate::report::Finding::new(Severity::Info, junk, Some(e.name.clone())));
            }
        }
        if plan.format == crate::report::ArchiveFormat::Unknown {
            let first = outer.entries.first().map(|e| e.name.as_str()).unwrap_or("");
            let detail = Message::new(Code::NoImageMetadata).with("entries", outer.entries.len()).with("first", first);
            return Err(Error::NotImageArchive { detail });
        }

        let mut archive = Archive {
            compression,
            outer_access,
            file_len,
            outer,
            plan,
            blobs: Vec::new(),
            blob_of_entry: HashMap::new(),
            report: Report::default(),
        };
        archive.collect_blobs();
        for blob in &mut archive.blobs {
            blob.facts = facts_by_entry.remove(&blob.entry);
            blob.digest_pending = blob.facts.is_some() && hashed_elsewhere.contains(&blob.entry);
        }
        if compression == Compression::None {
            // A sparse layer has no span of the file for the page's helper workers to walk
            // (`blob_span`), so its headers are walked here, through its holes.
            for blob in archive.layer_blobs() {
                let entry = &archive.outer.entries[archive.blobs[blob].entry];
                if entry.sparse.is_some() {
                    archive.blobs[blob].quick_index = quick_index_entry(src, entry);
                }
            }
        }
        archive.rebuild_report();
        Ok(archive)
    }

    /// The report as of now: metadata after `open`, verdicts filled in by `verify`.
    pub fn report(&self) -> &Report {
        &self.report
    }

    /// Compression of the archive as a whole.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// Hash every blob not yet read, index every layer, and fill in the verdicts.
    pub fn verify(&mut self, src: &mut dyn ReadSeek, progress: &mut dyn FnMut(&Progress)) -> Result<(), Error> {
        while self.verify_one(src, progress)?.is_some() {}
        self.rebuild_report();
        Ok(())
    }

    /// Blobs still to be read in full (or whose digest is still to come), in archive order.
    pub fn pending_blobs(&self) -> Vec<usize> {
        (0..self.blobs.len()).filter(|&b| self.blobs[b].facts.is_none() || self.blobs[b].digest_pending).collect()
    }

    /// Outer entries whose digest is being computed elsewhere ([`HashElsewhere`]).
    pub fn entries_hashed_elsewhere(&self) -> Vec<usize> {
        self.blobs.iter().filter(|b| b.digest_pending).map(|b| b.entry).collect()
    }

    /// The SHA-256 (`sha256:<hex>`) of outer entry `entry`'s stored bytes, computed
    /// elsewhere. Whether the entry was waiting for it (a second digest is ignored).
    pub fn set_entry_digest(&mut self, entry: usize, digest: &str) -> bool {
        let Some(&blob) = self.blob_of_entry.get(&entry) else { return false };
        let b = &mut self.blobs[blob];
        match (&mut b.facts, b.digest_pending) {
            (Some(facts), true) => {
                verify::set_digest(facts, digest);
                b.digest_pending = false;
                self.rebuild_report();
                true
            }
            _ => false,
        }
    }

    /// Read one pending blob in full; returns its handle, or `None` when all are done.
    /// The report is refreshed after each blob, so a shell can show verdicts as they come.
    pub fn verify_next(&mut self, src: &mut dyn ReadSeek, progress: &mut dyn FnMut(&Progress)) -> Result<Option<usize>, Error> {
        let done = self.verify_one(src, progress)?;
        if done.is_some() || !self.report.verification_done {
            self.rebuild_report();
        }
        Ok(done)
    }

    /// Read the first pending blob in full (without refreshing the report).
    fn verify_one(&mut self, src: &mut dyn ReadSeek, progress: &mut dyn FnMut(&Progress)) -> Result<Option<usize>, Error> {
        let pending = self.pending_blobs();
        let Some(&blob) = pending.first() else { return Ok(None) };
        let total: u64 = self.blobs.iter().map(|b| self.outer.entries[b.entry].size).sum();
        let already: u64 = self
            .blobs
            .iter()
            .filter(|b| b.facts.is_some() && !b.digest_pending)
            .map(|b| self.outer.entries[b.entry].size)
            .sum();
        let items = self.blobs.len();
        let item = items - pending.len();
        let entry = &self.outer.entries[self.blobs[blob].entry];
        progress(&Progress { phase: Phase::Verifying, done: already, total, item, items });
        if self.blobs[blob].digest_pending {
            // Its digest never came back from elsewhere: hash its stored bytes here.
            let entry_index = self.blobs[blob].entry;
            let mut stored = HashingReader::new(self.stored_stream_at(&mut *src, entry_index, 0)?);
            io::copy(&mut stored, &mut io::sink())?;
            let (digest, size) = stored.finish();
            if size != entry.size {
                let detail = format!("{} of {} bytes could be read", size, entry.size);
                return Err(Error::Truncated { entry: Some(entry.name.clone()), offset: self.file_len, detail });
            }
            self.set_entry_digest(entry_index, &digest);
            return Ok(Some(blob));
        }
        let facts = {
            let window = entry_bytes(src, entry, 0);
            let mut report = |n: u64| {
                progress(&Progress { phase: Phase::Verifying, done: already + n, total, item, items })
            };
            let mut reader = ProgressReader::new(window, 4 << 20, &mut report);
            verify::analyze(&mut reader, Treat::Sniff, 0)
        };
        if let Some(p) = facts.problem.as_ref().map(Message::english) {
            if p.contains("source ended") {
                return Err(Error::Truncated { entry: Some(entry.name.clone()), offset: self.file_len, detail: p });
            }
        }
        self.blobs[blob].facts = Some(facts);
        self.blobs[blob].quick_index = None;
        Ok(Some(blob))
    }

    /// Index uncompressed layers by their headers only (seeking past file data), so a
    /// merged tree can be shown before the layers are hashed. Compressed layers must be
    /// decompressed to be indexed; `verify` does that.
    pub fn index_layers(&mut self, src: &mut dyn ReadSeek, progress: &mut dyn FnMut(&Progress)) -> Result<(), Error> {
        if self.compression != Compression::None {
            return Ok(());
        }
        let layer_blobs: Vec<usize> = self.layer_blobs();
        let items = layer_blobs.len();
        for (item, blob) in layer_blobs.into_iter().enumerate() {
            if self.blobs[blob].facts.is_some() || self.blobs[blob].quick_index.is_some() {
                continue;
            }
            let entry = &self.outer.entries[self.blobs[blob].entry];
            progress(&Progress { phase: Phase::Indexing, done: 0, total: 0, item, items });
            if let Some(index) = quick_index_entry(src, entry) {
                self.blobs[blob].quick_index = Some(index);
            }
        }
        self.rebuild_report();
        Ok(())
    }

    /// Headers-only index of one uncompressed layer at `offset..offset+size` of `src`
    /// (`blob_span`), for a parallel worker; `None` when the bytes are compressed or not a
    /// tar. Pair with [`Archive::set_quick_index`].
    pub fn quick_index_span(src: &mut dyn ReadSeek, offset: u64, size: u64) -> Option<LayerIndex> {
        let mut head = Vec::with_capacity(512);
        Window::new(&mut *src, offset, size).take(512).read_to_end(&mut head).ok()?;
        let empty_tar = head.is_empty();
        if detect::compression(&head) != Compression::None || !(empty_tar || detect::looks_like_tar(&head)) {
            return None;
        }
        quick_index(SeekWindow { src, start: offset, len: size, pos: 0 }, size)
    }

    /// Record a headers-only index computed elsewhere (ignored once the blob is verified).
    pub fn set_quick_index(&mut self, blob: usize, index: LayerIndex) {
        if let Some(b) = self.blobs.get_mut(blob).filter(|b| b.facts.is_none()) {
            b.quick_index = Some(index);
            self.rebuild_report();
        }
    }

    /// Layer blobs that have no index yet (neither verified nor quick-indexed).
    pub fn unindexed_layer_blobs(&self) -> Vec<usize> {
        self.layer_blobs().into_iter().filter(|&b| self.layer_index(b).is_none()).collect()
    }

    /// The entry index of a layer blob, once it is known (quick index or full pass).
    pub fn layer_index(&self, blob: usize) -> Option<&LayerIndex> {
        let b = self.blobs.get(blob)?;
        b.facts.as_ref().and_then(|f| f.layer.as_ref()).or(b.quick_index.as_ref())
    }

    /// Where decompression can restart in a gzip'd whole archive.
    pub fn outer_access(&self) -> Option<&AccessIndex> {
        self.outer_access.as_ref()
    }

    /// Where decompression can restart in a gzip layer (once verified).
    pub fn layer_access(&self, blob: usize) -> Option<&AccessIndex> {
        self.blobs.get(blob)?.facts.as_ref()?.access.as_ref()
    }

    /// Number of blobs (handles are `0..blob_count()`).
    pub fn blob_count(&self) -> usize {
        self.blobs.len()
    }

    /// Where a blob's stored bytes are: (offset, size) in the source (plain archives) or
    /// in the decompressed stream (compressed archives). `None` for a sparse blob: its
    /// bytes are not one run of the file (its holes are not stored), so a reader of spans
    /// (the page's helper workers, the CLI's threads) must leave it to this `Archive`,
    /// whose own reads expand it.
    pub fn blob_span(&self, blob: usize) -> Option<(u64, u64)> {
        let e = &self.outer.entries[self.blobs.get(blob)?.entry];
        if e.sparse.is_some() {
            return None;
        }
        Some((e.offset, e.size))
    }

    /// The stored bytes of one file of the archive by its name (`index.json`,
    /// `manifest.json`, `blobs/sha256/<hex>`; symlinks followed), at most `cap` bytes: the
    /// archive's own documents, as the page's Structure tab shows them. A bigger file is
    /// an error (`metadata_too_big`), never read.
    pub fn read_archive_file(&self, src: &mut dyn ReadSeek, name: &str, cap: u64) -> Result<Vec<u8>, Error> {
        let entry = self.outer.resolve_file(name).map_err(|_| Error::NotFound { what: format!("{name} in the archive") })?;
        let size = self.outer.entries[entry].size;
        if size > cap {
            return Err(Error::Limit { detail: Message::new(Code::MetadataTooBig).with("size", size).with("max", cap) });
        }
        let mut out = Vec::with_capacity(size as usize);
        self.stored_stream_at(src, entry, 0)?.read_to_end(&mut out)?;
        Ok(out)
    }

    /// Analyse one blob given a reader over exactly its stored bytes (`blob_span`), e.g.
    /// in a second worker over the same file. Pair with [`Archive::set_blob_facts`].
    pub fn analyze_blob(reader: &mut dyn Read) -> BlobFacts {
        verify::analyze(reader, Treat::Sniff, 0)
    }

    /// As [`Archive::analyze_blob`] when the SHA-256 of the stored bytes is already known
    /// (`sha256:<hex>`, computed over exactly these bytes elsewhere, e.g. by WebCrypto).
    pub fn analyze_blob_with_digest(reader: &mut dyn Read, digest: &str) -> BlobFacts {
        verify::analyze_with_digest(reader, Treat::Sniff, digest)
    }

    /// As [`Archive::analyze_blob`], with both SHA-256s computed elsewhere (by WebCrypto,
    /// while the core decompresses): the stored bytes' and, for a compressed layer, that of
    /// its decompressed stream, which goes to `uncompressed` as it is read. Complete the
    /// facts with [`verify::set_digest`] and [`verify::set_diff_id`].
    pub fn analyze_blob_digests_elsewhere(reader: &mut dyn Read, uncompressed: &mut dyn FnMut(&[u8])) -> BlobFacts {
        verify::analyze_digests_elsewhere(reader, uncompressed)
    }

    /// Record facts computed elsewhere (a parallel worker that read `blob_span`).
    pub fn set_blob_facts(&mut self, blob: usize, facts: BlobFacts) {
        if let Some(b) = self.blobs.get_mut(blob) {
            b.facts = Some(facts);
            b.quick_index = None;
            self.rebuild_report();
        }
    }

    /// A reader over a layer's whole uncompressed tar stream.
    pub fn open_layer_stream<'a>(&self, src: &'a mut dyn ReadSeek, blob: usize) -> Result<Box<dyn Read + 'a>, Error> {
        self.layer_stream_at(src, blob, 0)
    }

    /// A reader over a layer's uncompressed tar stream from offset `at` on. A gzip layer
    /// (or a gzip'd whole archive) read once in full starts decompressing at its last
    /// access point before `at`, not at its beginning. `src` may be borrowed or owned
    /// (e.g. an [`crate::io::SharedSource`], for a reader kept between calls).
    pub fn layer_stream_at<'a, S: ReadSeek + 'a>(&self, src: S, blob: usize, at: u64) -> Result<Box<dyn Read + 'a>, Error> {
        let b = self.blobs.get(blob).ok_or_else(|| Error::NotFound { what: format!("blob {blob}") })?;
        let (compression, access) = match &b.facts {
            Some(f) => (f.compression, f.access.as_ref()),
            None => (Compression::None, None),
        };
        if compression == Compression::None {
            return self.stored_stream_at(src, b.entry, at);
        }
        let entry = b.entry;
        decompress::decoder_at(compression, access, at, |stored_at| self.stored_stream_at(src, entry, stored_at))
    }

    /// A reader over one entry's content. Plain layers in plain archives are read by
    /// seeking straight to the bytes; otherwise decompression starts at the nearest access
    /// point (gzip) or at the layer's start.
    pub fn read_entry<'a>(&self, src: &'a mut dyn ReadSeek, blob: usize, entry: &LayerEntry) -> Result<Box<dyn Read + 'a>, Error> {
        self.read_entry_from(src, blob, entry, 0)
    }

    /// As [`Archive::read_entry`], from byte `from` of the file on (seeking to it in a
    /// plain layer; from the nearest access point before it in a compressed one).
    pub fn read_entry_from<'a>(&self, src: &'a mut dyn ReadSeek, blob: usize, entry: &LayerEntry, from: u64) -> Result<Box<dyn Read + 'a>, Error> {
        let b = self.blobs.get(blob).ok_or_else(|| Error::NotFound { what: format!("blob {blob}") })?;
        let outer = &self.outer.entries[b.entry];
        if self.compression == Compression::None && self.layer_is_plain(blob) && entry.data_offset.saturating_add(entry.size) > outer.size {
            return Err(Error::Truncated {
                entry: Some(outer.name.clone()),
                offset: outer.offset.saturating_add(entry.data_offset),
                detail: "the file's bytes run past the end of its layer".into(),
            });
        }
        let from = from.min(entry.size);
        Ok(Box::new(self.layer_stream_at(src, blob, entry.data_offset.saturating_add(from))?.take(entry.size - from)))
    }

    /// A file of this layer is read by seeking to it: neither the layer nor the archive
    /// is compressed.
    pub fn layer_seeks(&self, blob: usize) -> bool {
        self.compression == Compression::None && self.layer_is_plain(blob)
    }

    /// Where reading the layer's uncompressed offset `target` starts decompressing: the
    /// layer's access point before it, or (for a plain layer in a gzip'd archive) the
    /// archive's, counted in the layer. `None`: at the layer's start.
    pub fn restart_point(&self, blob: usize, target: u64) -> Option<u64> {
        let b = self.blobs.get(blob)?;
        if !self.layer_is_plain(blob) {
            return b.facts.as_ref()?.access.as_ref()?.point_before(target).map(|p| p.out);
        }
        let e = &self.outer.entries[b.entry];
        if e.sparse.is_some() {
            // A sparse layer's offsets are not the stream's (its holes are not stored).
            return None;
        }
        let start = e.offset;
        let p = self.outer_access.as_ref()?.point_before(start.checked_add(target)?)?;
        p.out.checked_sub(start)
    }

    /// The layer's stored bytes are its tar stream (not compressed, or not known to be).
    pub fn layer_is_plain(&self, blob: usize) -> bool {
        self.layer_compression(blob) == Compression::None
    }

    /// How the layer's bytes are stored (`None` also when not known yet).
    pub fn layer_compression(&self, blob: usize) -> Compression {
        self.blobs.get(blob).and_then(|b| b.facts.as_ref()).map_or(Compression::None, |f| f.compression)
    }

    /// The largest window the layer's decoder needed when it was read in full (zstd).
    pub fn layer_decoder_window(&self, blob: usize) -> Option<u64> {
        self.blobs.get(blob).and_then(|b| b.facts.as_ref()).and_then(|f| f.decoder_window)
    }

    /// The bytes of an outer entry, as `docker load` unpacks them (a sparse entry
    /// expanded), from offset `skip` within it on.
    fn stored_stream_at<'a, S: ReadSeek + 'a>(&self, src: S, entry: usize, skip: u64) -> Result<Box<dyn Read + 'a>, Error> {
        let e = &self.outer.entries[entry];
        let skip = skip.min(e.size);
        if self.compression == Compression::None {
            return Ok(entry_bytes(src, e, skip));
        }
        // A compressed archive: decompress from its nearest access point before the bytes
        // (gzip), or from its start. A sparse entry: from the stored byte `skip` falls on or
        // before, its holes filled in as zeros.
        let packed_skip = e.sparse.as_ref().map_or(skip, |map| map.stored_offset(skip));
        let file_len = self.file_len;
        let stream = decompress::decoder_at(self.compression, self.outer_access.as_ref(), e.offset + packed_skip, move |at| {
            Ok(Box::new(Window::new(src, at, file_len.saturating_sub(at))))
        })?;
        let packed = stream.take(e.stored_len() - packed_skip);
        Ok(match &e.sparse {
            Some(map) => Box::new(SparseReader::new(packed, map, e.size, skip)),
            None => Box::new(packed),
        })
    }

    fn layer_blobs(&self) -> Vec<usize> {
        let mut out: Vec<usize> = self
            .plan
            .images
            .iter()
            .flat_map(|i| &i.layers)
            .filter_map(|l| l.entry.and_then(|e| self.blob_of_entry.get(&e).copied()))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Every layer the metadata references, and every file under `blobs/`, is a blob.
    fn collect_blobs(&mut self) {
        let mut entries: Vec<usize> = self.plan.images.iter().flat_map(|i| &i.layers).filter_map(|l| l.entry).collect();
        for (i, e) in self.outer.entries.iter().enumerate() {
            if e.kind == OuterKind::File && e.name.starts_with("blobs/") && !resolve::is_junk_name(&e.name) {
                entries.push(i);
            }
        }
        entries.sort_unstable();
        entries.dedup();
        for entry in entries {
            self.blob_of_entry.insert(entry, self.blobs.len());
            self.blobs.push(Blob { entry, facts: None, digest_pending: false, quick_index: None });
        }
    }

    /// The report is a pure function of the plan and the blob facts known so far.
    fn rebuild_report(&mut self) {
        let mut report = Report {
            archive: ArchiveInfo {
                format: self.plan.format,
                compression: self.compression,
                size: self.file_len,
                entries: self.outer.entries.len(),
            },
            images: Vec::new(),
            findings: self.plan.findings.clone(),
            verification_done: self.blobs.iter().all(|b| b.facts.is_some() && !b.digest_pending),
        };
        for (index, plan) in self.plan.images.iter().enumerate() {
            let image = self.build_image(index, plan, &mut report);
            report.images.push(image);
        }
        // Blobs nobody references are still checked against their names.
        let layer_entries: std::collections::HashSet<usize> =
            self.plan.images.iter().flat_map(|i| &i.layers).filter_map(|l| l.entry).collect();
        for b in &self.blobs {
            let e = &self.outer.entries[b.entry];
            if let (Some(facts), Some(hex)) = (b.checked_facts(), e.name.strip_prefix("blobs/sha256/")) {
                let expected = format!("sha256:{hex}");
                if facts.digest != expected {
                    let mismatch = Message::new(Code::BlobNameMismatch).with("expected", expected).with("actual", &facts.digest);
                    report.finding(Severity::Error, mismatch, Some(e.name.clone()));
                }
            }
            if let Some(p) = b.facts.as_ref().and_then(|f| f.problem.as_ref()).filter(|_| layer_entries.contains(&b.entry)) {
                let unreadable = Message::new(Code::LayerUnreadable).with("problem", p.clone());
                report.finding(Severity::Error, unreadable, Some(e.name.clone()));
            }
        }
        self.report = report;
    }

    fn build_image(&self, index: usize, plan: &ImagePlan, report: &mut Report) -> Image {
        let config = &plan.config;
        let diff_ids = resolve::diff_ids(config);
        let mut image = Image {
            index,
            repo_tags: plan.repo_tags.clone(),
            id: plan.id.clone(),
            manifest_digest: plan.manifest.as_ref().map(|m| m.digest.clone()),
            created: config.get("created").and_then(Value::as_str).map(str::to_owned),
            os: plan.platform.os.clone(),
            architecture: plan.platform.architecture.clone(),
            variant: plan.platform.variant.clone(),
            source: plan.source.clone(),
            checks: plan.checks.clone(),
            config: image_config(config),
            ..Default::default()
        };
        if !plan.no_digests && diff_ids.len() != plan.layers.len() {
            image.checks.push(Check::new(
                Code::LayerCount,
                Verdict::Mismatch { expected: diff_ids.len().to_string(), actual: plan.layers.len().to_string() },
            ));
        }
        for (k, lp) in plan.layers.iter().enumerate() {
            let layer = self.build_layer(k, lp, diff_ids.get(k).map(String::as_str), plan.no_digests);
            image.size += layer.uncompressed_size.or(layer.stored_size).unwrap_or(0);
            image.stored_size += layer.stored_size.unwrap_or(0);
            image.layers.push(layer);
        }
        image.history = match &plan.history_override {
            Some(h) => h.clone(),
            None => map_history(config, &mut image.layers, report, &plan.source),
        };
        for (k, h) in image.history.iter().enumerate() {
            if let Some(l) = h.layer.and_then(|l| image.layers.get_mut(l)) {
                l.history = Some(k);
            }
        }
        image.verified = report.verification_done
            && image.checks.iter().all(|c| c.verdict.is_ok())
            && image.layers.iter().all(|l| l.checks.iter().all(|c| c.verdict.is_ok()));
        image
    }

    fn build_layer(&self, index: usize, lp: &LayerPlan, diff_id: Option<&str>, no_digests: bool) -> Layer {
        let blob = lp.entry.and_then(|e| self.blob_of_entry.get(&e).copied());
        let facts = blob.and_then(|b| self.blobs[b].facts.as_ref());
        // What the checks may use: nothing while the digest is still being computed.
        let checked = blob.and_then(|b| self.blobs[b].checked_facts());
        let stored_size = lp.entry.map(|e| self.outer.entries[e].size);
        let mut layer = Layer {
            index,
            digest: lp.digest.clone().or_else(|| lp.name_digest.clone().filter(|_| !lp.name_is_diff_id)),
            diff_id: diff_id.map(str::to_owned),
            media_type: lp.media_type.clone(),
            compression: facts.map(|f| f.compression),
            path: lp.entry.map(|e| self.outer.entries[e].name.clone()).or_else(|| lp.path.clone()),
            stored_size,
            uncompressed_size: facts.and_then(|f| f.uncompressed_size),
            entries: blob.and_then(|b| self.layer_index(b)).map(|i| i.entries.len()),
            foreign: lp.foreign,
            blob,
            ..Default::default()
        };
        if layer.digest.is_none() {
            layer.digest = checked.map(|f| f.digest.clone());
        }
        if layer.uncompressed_size.is_none() && facts.is_none() {
            layer.uncompressed_size = blob.and_then(|b| self.blobs[b].quick_index.as_ref()).map(|i| i.uncompressed_size);
        }
        let checks = &mut layer.checks;
        let Some(_entry) = lp.entry else {
            let why = lp.missing_why.clone().unwrap_or_else(|| Message::new(Code::ForeignLayerReason));
            let verdict = if lp.foreign { Verdict::not_checkable(why) } else { Verdict::Missing };
            checks.push(Check::new(Code::LayerBlob, verdict));
            return layer;
        };
        if let (Some(expected), Some(actual)) = (lp.size, stored_size) {
            checks.push(Check::new(
                Code::BlobSize,
                if expected == actual { Verdict::Ok } else { Verdict::SizeMismatch { expected, actual } },
            ));
        }
        let pending = || Verdict::Pending;
        if let Some(expected) = &lp.digest {
            let verdict = match checked {
                None => pending(),
                Some(f) if &f.digest == expected => Verdict::Ok,
                Some(f) => Verdict::Mismatch { expected: expected.clone(), actual: f.digest.clone() },
            };
            checks.push(Check::new(Code::BlobDigest, verdict));
        }
        if let Some(named) = lp.name_digest.as_ref().filter(|n| Some(*n) != lp.digest.as_ref()) {
            // A root `<hex>.tar` / `<hex>.tar.gz` is named by the stored digest (Jib) or by
            // the uncompressed content (skopeo, kaniko): either one keeps its promise. A
            // `blobs/sha256/<hex>` name is the digest of the bytes as stored, and only that.
            let by_content = |f: &BlobFacts| lp.name_is_diff_id && f.diff_id.as_ref() == Some(named);
            let verdict = match checked {
                None => pending(),
                Some(f) if &f.digest == named || by_content(f) => Verdict::Ok,
                Some(f) => Verdict::Mismatch { expected: named.clone(), actual: f.digest.clone() },
            };
            checks.push(Check::new(Code::FileNameDigest, verdict));
        }
        // Can the layer's tar be read? (Pre-1.10 layers have nothing else to check.)
        let readable = match checked {
            None => Verdict::Pending,
            Some(f) if !f.is_tar => Verdict::not_checkable(f.problem.clone().unwrap_or_else(|| Message::new(Code::BlobNotTar))),
            Some(f) => f.problem.as_ref().map_or(Verdict::Ok, |p| Verdict::not_checkable(p.clone())),
        };
        if no_digests || !readable.is_ok() && readable != Verdict::Pending {
            checks.push(Check::new(Code::LayerTarReadable, readable.clone()));
        }
        if no_digests {
            return layer;
        }
        let verdict = match (diff_id, checked) {
            (None, _) => Verdict::not_checkable(Message::new(Code::NoDiffId)),
            (Some(_), None) => pending(),
            (Some(expected), Some(f)) => match &f.diff_id {
                Some(actual) if actual == expected => Verdict::Ok,
                Some(actual) => Verdict::Mismatch { expected: expected.to_owned(), actual: actual.clone() },
                None => Verdict::not_checkable(f.problem.clone().unwrap_or_else(|| Message::new(Code::StreamIncomplete))),
            },
        };
        checks.push(Check::new(Code::DiffId, verdict));
        layer
    }
}

/// The k-th history entry without `empty_layer` made layer k. Counts often disagree in
/// real images; map what can be mapped and say so.
fn map_history(config: &Value, layers: &mut [Layer], report: &mut Report, source: &str) -> Vec<HistoryEntry> {
    let items = config.get("history").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut out = Vec::with_capacity(items.len());
    let mut next_layer = 0usize;
    for (i, h) in items.iter().enumerate() {
        let s = |k: &str| h.get(k).and_then(Value::as_str).map(str::to_owned);
        let empty = h.get("empty_layer").and_then(Value::as_bool).unwrap_or(false);
        let layer = if empty {
            None
        } else {
            let l = (next_layer < layers.len()).then_some(next_layer);
            next_layer += 1;
            l
        };
        out.push(HistoryEntry {
            index: i,
            created: s("created"),
            created_by: s("created_by"),
            comment: s("comment"),
            author: s("author"),
            empty_layer: empty,
            layer,
        });
    }
    if !items.is_empty() && next_layer != layers.len() {
        let mismatch = Message::new(Code::HistoryCountMismatch)
            .with("history", next_layer)
            .with("layers", layers.len())
            .with("mapped", next_layer.min(layers.len()));
        report.finding(Severity::Warning, mismatch, Some(source.to_owned()));
    }
    out
}

fn image_config(config: &Value) -> ImageConfig {
    let c = config.get("config").or_else(|| config.get("Config"));
    let get = |k: &str| c.and_then(|c| c.get(k)).filter(|v| !v.is_null());
    let strs = |v: Option<&Value>| -> Option<Vec<String>> {
        v.and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
    };
    let keys = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_object).map(|o| o.keys().cloned().collect()).unwrap_or_default()
    };
    let text = |v: Option<&Value>| v.and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned);
    ImageConfig {
        env: strs(get("Env")).unwrap_or_default(),
        cmd: strs(get("Cmd")),
        entrypoint: strs(get("Entrypoint")),
        working_dir: text(get("WorkingDir")),
        user: text(get("User")),
        exposed_ports: keys(get("ExposedPorts")),
        volumes: keys(get("Volumes")),
        labels: get("Labels")
            .and_then(Value::as_object)
            .map(|o| o.iter().map(|(k, v)| (k.clone(), v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string()))).collect())
            .unwrap_or_default(),
        stop_signal: text(get("StopSignal")),
        healthcheck: get("Healthcheck").cloned(),
        author: config.get("author").and_then(Value::as_str).map(str::to_owned),
        raw: config.clone(),
    }
}

/// Say what the first bytes look like, for the "not a tar" error.
fn describe_non_tar(head: &[u8]) -> Code {
    if head.starts_with(b"PK\x03\x04") {
        Code::HeadIsZip
    } else if head.starts_with(b"\x89PNG") {
        Code::HeadIsPng
    } else if head.starts_with(b"%PDF") {
        Code::HeadIsPdf
    } else if head.first().is_some_and(|b| *b == b'{' || *b == b'[') {
        Code::HeadIsJson
    } else if head.len() < 512 {
        Code::HeadTooShort
    } else {
        Code::HeadUnrecognised
    }
}

/// What a streaming pass found besides the outer index, by outer entry.
struct StreamFound<'a> {
    kept: &'a mut HashMap<usize, Vec<u8>>,
    facts: &'a mut HashMap<usize, BlobFacts>,
    /// Entries whose stored bytes went to [`HashElsewhere`] (their facts lack the digest).
    hashed_elsewhere: &'a mut HashSet<usize>,
}

/// Single streaming pass over a compressed archive: index entries, analyse every file
/// as it passes (hash, layer index; the stored bytes of entries `elsewhere` takes are
/// sent there instead of hashed), keep only small metadata files.
fn stream_scan(
    src: &mut dyn ReadSeek,
    file_len: u64,
    compression: Compression,
    found: &mut StreamFound<'_>,
    mut elsewhere: Option<&mut HashElsewhere<'_>>,
    progress: &mut dyn FnMut(&Progress),
) -> Result<(OuterIndex, Option<AccessIndex>), Error> {
    let compressed_pos = std::cell::Cell::new(0u64);
    let mut report = |n: u64| {
        compressed_pos.set(n);
        progress(&Progress { phase: Phase::Verifying, done: n, total: file_len, item: 0, items: 0 })
    };
    let window = ProgressReader::new(Window::new(src, 0, file_len), 4 << 20, &mut report);
    let decoded = decompress::recording_decoder(compression, Box::new(window))?;
    let mut index = OuterIndex::default();
    let mut kept_bytes = 0u64;
    let guard = TarGuard::new(decoded);
    let seen = guard.extensions();
    let mut archive = tar::Archive::new(guard);
    let entries = archive.entries().map_err(|e| Error::NotTar { detail: Message::new(Code::Text).with("detail", e.to_string()) })?;
    for entry in entries {
        let mut entry = entry.map_err(|e| stream_error(&index, compression, e))?;
        if index.entries.len() >= scan::MAX_OUTER_ENTRIES {
            return Err(Error::Limit { detail: Message::new(Code::TooManyEntries).with("max", scan::MAX_OUTER_ENTRIES) });
        }
        let outer = scan::outer_entry(&mut entry, &seen)?;
        let is_file = outer.kind == OuterKind::File;
        let name = outer.name.clone();
        let size = outer.size;
        // The entry's bytes as `docker load` unpacks them: tar-rs hands a sparse file out
        // as its stored bytes (map blocks, then the packed fragments), so skip the map and
        // expand the holes.
        let mut logical: Box<dyn Read + '_> = match &outer.sparse {
            Some(map) if is_file => {
                let map_bytes = outer.offset - entry.raw_file_position();
                io::copy(&mut (&mut entry).take(map_bytes), &mut io::sink())?;
                Box::new(SparseReader::new((&mut entry).take(map.stored_len()), map, size, 0))
            }
            _ => Box::new(&mut entry),
        };
        let i = index.push(outer);
        if !is_file {
            continue;
        }
        let mut f = match elsewhere.as_deref_mut().filter(|h| (h.min..=h.max).contains(&size)) {
            Some(h) => {
                found.hashed_elsewhere.insert(i);
                analyze_sending(&mut logical, i, size, h)
            }
            None => verify::analyze(&mut logical, Treat::Sniff, KEEP_SMALL_FILES),
        };
        drop(logical);
        if let Some(p) = f.problem.as_ref().map(Message::english) {
            if p.starts_with("read failed") {
                return Err(stream_error(&index, compression, io::Error::new(io::ErrorKind::UnexpectedEof, format!("in {name}: {p}"))));
            }
        }
        if let Some(bytes) = f.kept.take() {
            kept_bytes += bytes.len() as u64;
            if kept_bytes > MAX_KEPT_BYTES {
                return Err(Error::Limit { detail: Message::new(Code::TooMuchMetadata).with("max", MAX_KEPT_BYTES) });
            }
            found.kept.insert(i, bytes);
        }
        found.facts.insert(i, f);
    }
    if index.entries.is_empty() {
        return Err(Error::NotTar { detail: Message::new(Code::CompressedNoEntries).with("compression", compression.as_str()) });
    }
    let access = archive.into_inner().into_inner().take_access_index();
    Ok((index, access))
}

/// Analyse one entry of a streaming pass, its stored bytes sent to `h` in whole pieces.
fn analyze_sending(entry: &mut dyn Read, index: usize, size: u64, h: &mut HashElsewhere<'_>) -> BlobFacts {
    let mut sent = 0u64;
    verify::analyze_hashed_elsewhere(entry, Treat::Sniff, KEEP_SMALL_FILES, HashElsewhere::PIECE, &mut |piece: &[u8]| {
        (h.send)(index, size, sent, piece);
        sent += piece.len() as u64;
    })
}

fn stream_error(index: &OuterIndex, compression: Compression, e: io::Error) -> Error {
    let last = index.entries.last();
    let offset = last.map(OuterEntry::stored_end).unwrap_or(0);
    if index.entries.is_empty() && e.kind() != io::ErrorKind::UnexpectedEof {
        let detail = Message::new(Code::CompressedNotTarArchive).with("compression", compression.as_str()).with("detail", e.to_string());
        return Error::NotTar { detail };
    }
    Error::Truncated {
        entry: last.map(|a| a.name.clone()),
        offset,
        detail: format!("{e} (offset counted in the decompressed {} stream)", compression.as_str()),
    }
}

/// A seekable window over part of the source, for walking an uncompressed layer's
/// headers without reading its file data.
struct SeekWindow<'a> {
    src: &'a mut dyn ReadSeek,
    start: u64,
    len: u64,
    pos: u64,
}

impl Read for SeekWindow<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.len {
            return Ok(0);
        }
        self.src.seek(SeekFrom::Start(self.start + self.pos))?;
        let want = buf.len().min((self.len - self.pos).min(usize::MAX as u64) as usize);
        let n = self.src.read(&mut buf[..want])?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for SeekWindow<'_> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.pos = crate::io::seek_target(pos, self.pos, self.len)?;
        Ok(self.pos)
    }
}

/// Headers-only index of the layer in outer entry `entry` of a plain archive (a sparse
/// one walked through its holes); `None` when it is compressed or not a tar.
fn quick_index_entry(src: &mut dyn ReadSeek, entry: &OuterEntry) -> Option<LayerIndex> {
    let Some(map) = &entry.sparse else {
        return Archive::quick_index_span(src, entry.offset, entry.size);
    };
    let mut head = Vec::with_capacity(512);
    entry_bytes(&mut *src, entry, 0).take(512).read_to_end(&mut head).ok()?;
    if detect::compression(&head) != Compression::None || !(head.is_empty() || detect::looks_like_tar(&head)) {
        return None;
    }
    quick_index(SparseWindow::new(src, entry.offset, map, entry.size), entry.size)
}

/// The bytes of outer entry `e` of a plain archive from offset `skip` on, as `docker load`
/// unpacks them: its stored bytes, or a sparse file's fragments with the holes as zeros.
fn entry_bytes<'a, S: ReadSeek + 'a>(src: S, e: &OuterEntry, skip: u64) -> Box<dyn Read + 'a> {
    let skip = skip.min(e.size);
    match &e.sparse {
        None => Box::new(Window::new(src, e.offset + skip, e.size - skip)),
        Some(map) => {
            let mut logical = SparseWindow::new(src, e.offset, map, e.size);
            // (a seek within the window's own size cannot fail: it only moves its position)
            let _ = logical.seek(SeekFrom::Start(skip));
            Box::new(logical)
        }
    }
}

fn quick_index<W: Read + Seek>(window: W, len: u64) -> Option<LayerIndex> {
    let mut index = LayerIndex { entries: Vec::new(), uncompressed_size: len };
    let guard = TarGuard::new(window);
    let seen = guard.extensions();
    let mut archive = tar::Archive::new(guard);
    let mut budget = layer::LayerBudget::default();
    let entries = archive.entries_with_seek().ok()?;
    for entry in entries {
        let mut entry = entry.ok()?;
        if layer::is_global_header(entry.header().entry_type()) {
            // Skipped, but its data and padding must be in the layer as any entry's are.
            if entry.raw_file_position().saturating_add(entry.size()).saturating_add(511) & !511 > len {
                return None;
            }
            continue;
        }
        let record = layer::entry_record(&mut entry, &seen).ok()?;
        budget.admit(&record).ok()?;
        if layer::padded_end(&record) > len {
            return None;
        }
        index.entries.push(record);
    }
    // What follows the first zero block decides whether the runtimes read the layer to
    // its end (see `tar_guard::lone_zero_block`); the streaming walk words it.
    if let Some(z) = seen.end_marker() {
        let mut window = archive.into_inner().into_inner();
        let from = z.saturating_add(512).min(len);
        let mut after = Vec::with_capacity(512);
        window.seek(SeekFrom::Start(from)).ok()?;
        (&mut window).take(512).read_to_end(&mut after).ok()?;
        if crate::tar_guard::lone_zero_block(&after) {
            return None;
        }
    }
    Some(index)
}

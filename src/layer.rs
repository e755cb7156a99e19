//! Layer entry index: every entry of one layer tar, with where its bytes are.
//!
//! A layer is indexed once (while it is hashed) and then listed, merged and diffed
//! from this index alone; file contents are read later by offset.

use crate::codes::{Code, Message};
use serde::{Deserialize, Serialize};
use std::io::{self, Read};

/// What kind of filesystem object a tar entry makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    Hardlink,
    Char,
    Block,
    Fifo,
    /// Anything else a tar can hold (unknown types; a sparse file is a `File`).
    Other,
}

impl EntryKind {
    pub fn from_tar(t: tar::EntryType) -> EntryKind {
        use tar::EntryType as T;
        match t {
            T::Regular | T::Continuous => EntryKind::File,
            T::Directory => EntryKind::Dir,
            T::Symlink => EntryKind::Symlink,
            T::Link => EntryKind::Hardlink,
            T::Char => EntryKind::Char,
            T::Block => EntryKind::Block,
            T::Fifo => EntryKind::Fifo,
            _ => EntryKind::Other,
        }
    }

    /// One letter, as in `ls -l`.
    pub fn letter(self) -> char {
        match self {
            EntryKind::File => '-',
            EntryKind::Dir => 'd',
            EntryKind::Symlink => 'l',
            EntryKind::Hardlink => 'h',
            EntryKind::Char => 'c',
            EntryKind::Block => 'b',
            EntryKind::Fifo => 'p',
            EntryKind::Other => '?',
        }
    }
}

/// One entry of a layer tar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerEntry {
    /// Normalised path: no leading `./` or `/`, no trailing `/`, raw bytes (may be non-UTF-8).
    /// The root directory itself has an empty path.
    pub path: Box<[u8]>,
    pub kind: EntryKind,
    /// Bytes of content (0 for everything but regular files); a sparse file's logical size.
    pub size: u64,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub mtime: u64,
    /// Symlink target as written, or the normalised path a hardlink points at.
    pub link: Option<Box<[u8]>>,
    /// Offset of the content in the layer's uncompressed tar stream (of a sparse file: of
    /// its packed data fragments, after any map stored before them).
    pub data_offset: u64,
    /// xxh3-64 of the content, once the layer has been read in full (None after a
    /// headers-only index). Of a sparse file: of its map and stored bytes as the tar holds
    /// them, not of its logical bytes (a hole of a terabyte is not hashed).
    pub content_hash: Option<u64>,
    pub dev_major: u32,
    pub dev_minor: u32,
    /// A sparse file's map (GNU tar's sparse formats): `size` is then the logical size,
    /// and the stored bytes at `data_offset` are only its data fragments, packed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sparse: Option<Box<crate::sparse::SparseMap>>,
}

impl LayerEntry {
    /// Bytes of the entry's content stored in the tar at `data_offset`: `size`, or a sparse
    /// file's packed fragments.
    pub fn stored_size(&self) -> u64 {
        match &self.sparse {
            Some(map) => map.stored_len(),
            None => self.size,
        }
    }
}

/// All entries of one layer, in tar order (duplicates kept; the last one wins when merging).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LayerIndex {
    pub entries: Vec<LayerEntry>,
    /// Bytes of the uncompressed tar stream, to its very end.
    pub uncompressed_size: u64,
}

/// Hard caps that keep a hostile layer from eating memory.
pub const MAX_ENTRIES_PER_LAYER: usize = 4_000_000;
pub const MAX_PATH_BYTES: usize = 64 * 1024;
/// The bytes of all entry names (paths and link targets) one layer's index may hold. An
/// index holds every entry's whole path, so memory follows these bytes, not only the
/// entry count: 50 000 entries with 60 KB names (a 7.5 MB gzip'd archive) took 2.9 GB, and
/// a 32 000-deep tree holds a gigabyte of paths. Real layers hold a few MB (a 500 000-file
/// layer with 100-byte paths: 50 MB); at this cap `strata ls -R` peaks near 0.5 GB.
pub const MAX_NAME_BYTES_PER_LAYER: u64 = 128 << 20;

/// Where an entry's data ends with its padding to the next 512-byte block: a layer that
/// ends before that is cut short, even after its last entry (the streaming walk fails
/// skipping the padding, as Go's archive/tar does; a walk that seeks must not step past it).
pub fn padded_end(e: &LayerEntry) -> u64 {
    e.data_offset.saturating_add(e.stored_size()).saturating_add(511) & !511
}

/// The bytes of an entry's names: its path and its link target.
pub fn name_bytes(e: &LayerEntry) -> u64 {
    e.path.len() as u64 + e.link.as_ref().map_or(0, |l| l.len() as u64)
}

/// What one layer's index has taken in so far, against the caps above; every walk asks it
/// before it keeps an entry.
#[derive(Debug, Clone, Default)]
pub struct LayerBudget {
    entries: usize,
    name_bytes: u64,
    sparse_fragments: u64,
}

/// The sparse-map fragments one layer's index may hold in all (16 bytes each: 32 MiB). One
/// map is capped at [`crate::sparse::MAX_FRAGMENTS`]; this keeps a layer of many such
/// entries from holding memory in proportion to its bytes.
pub const MAX_SPARSE_FRAGMENTS_PER_LAYER: u64 = 1 << 21;

impl LayerBudget {
    /// Count `e` in, or say which cap it would pass (the walk stops there with that error).
    pub fn admit(&mut self, e: &LayerEntry) -> Result<(), Message> {
        if self.entries >= MAX_ENTRIES_PER_LAYER {
            return Err(Message::new(Code::LayerEntriesLimit).with("max", MAX_ENTRIES_PER_LAYER as u64));
        }
        let bytes = self.name_bytes.saturating_add(name_bytes(e));
        if bytes > MAX_NAME_BYTES_PER_LAYER {
            return Err(Message::new(Code::LayerNamesLimit).with("mib", MAX_NAME_BYTES_PER_LAYER >> 20));
        }
        let fragments = self.sparse_fragments.saturating_add(e.sparse.as_ref().map_or(0, |m| m.fragments.len() as u64));
        if fragments > MAX_SPARSE_FRAGMENTS_PER_LAYER {
            return Err(Message::new(Code::LayerSparseFragmentsLimit).with("max", MAX_SPARSE_FRAGMENTS_PER_LAYER));
        }
        self.entries += 1;
        self.name_bytes = bytes;
        self.sparse_fragments = fragments;
        Ok(())
    }
}

/// Normalise a tar path: strip leading `./` and `/`, trailing `/`, collapse `//` and `/./`.
/// `..` components are kept as written (they are reported by the merger, never followed).
pub fn normalize_path(raw: &[u8]) -> Box<[u8]> {
    let mut out: Vec<u8> = Vec::with_capacity(raw.len());
    for part in raw.split(|&b| b == b'/') {
        if part.is_empty() || part == b"." {
            continue;
        }
        if !out.is_empty() {
            out.push(b'/');
        }
        out.extend_from_slice(part);
    }
    out.into_boxed_slice()
}

/// Show a raw path losslessly as text: valid UTF-8 stays as is, every other byte
/// becomes `\xNN`, and a literal backslash becomes `\\` so the mapping is reversible.
pub fn display_path(raw: &[u8]) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                push_escaped(&mut out, s);
                break;
            }
            Err(e) => {
                let (good, bad) = rest.split_at(e.valid_up_to());
                // SAFETY-free: `good` is valid UTF-8 by construction of valid_up_to.
                push_escaped(&mut out, std::str::from_utf8(good).unwrap_or_default());
                let n = e.error_len().unwrap_or(bad.len()).max(1).min(bad.len());
                for b in &bad[..n] {
                    out.push_str(&format!("\\x{b:02x}"));
                }
                rest = &bad[n..];
            }
        }
    }
    out
}

fn push_escaped(out: &mut String, s: &str) {
    if s.contains('\\') {
        out.push_str(&s.replace('\\', "\\\\"));
    } else {
        out.push_str(s);
    }
}

/// The inverse of [`display_path`]: turn shown text back into raw path bytes.
pub fn parse_display_path(shown: &str) -> Vec<u8> {
    let b = shown.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            if b[i + 1] == b'\\' {
                out.push(b'\\');
                i += 2;
                continue;
            }
            if b[i + 1] == b'x' && i + 3 < b.len() {
                if let Ok(v) = u8::from_str_radix(&shown[i + 2..i + 4], 16) {
                    out.push(v);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// Why indexing a layer stopped early. The entries read so far are kept.
#[derive(Debug, Clone)]
pub struct IndexProblem {
    /// What happened, as a code; its parameters include `offset` (below).
    pub message: Message,
    /// Offset in the uncompressed stream where it happened.
    pub offset: u64,
    /// The stream itself failed (decompression error, truncation), so its digest is
    /// unknown. False when only the tar structure inside a fully read stream is bad.
    pub stream_failed: bool,
}

impl IndexProblem {
    /// `message`'s template names `{offset}`: it is added here.
    fn new(message: Message, offset: u64, stream_failed: bool) -> IndexProblem {
        IndexProblem { message: message.with("offset", offset), offset, stream_failed }
    }
}

/// Walk a layer's uncompressed tar stream to its end, recording every entry and hashing
/// each regular file's content with xxh3. `stream` must deliver the *uncompressed* bytes;
/// the caller hashes them for the diff_id (this function reads everything, including
/// what follows the end-of-archive marker, so the caller's hash covers the whole stream).
pub fn index_stream(stream: &mut dyn Read) -> (LayerIndex, Option<IndexProblem>) {
    let mut counted = CountingReader { inner: stream, count: 0, failed: false };
    let mut index = LayerIndex::default();
    let (mut problem, end_marker) = walk_entries(&mut counted, &mut index);
    // Go's archive/tar reads the block after the first zero block: unless it is zero too
    // (or the layer ends), the runtimes refuse the layer there (tar-rs just stops).
    let mut after_marker = Vec::new();
    if problem.is_none() && !counted.failed {
        if let Some(z) = end_marker.filter(|&z| counted.count == z + 512) {
            let _ = (&mut counted).take(512).read_to_end(&mut after_marker);
            if crate::tar_guard::lone_zero_block(&after_marker) {
                problem = Some(IndexProblem::new(Message::new(Code::LayerLoneZeroBlock), z, false));
            }
        }
    }
    // Drain what is left (padding, zero blocks, trailing garbage) so the digest covers it all.
    // After a read error the stream is not trusted to continue, so do not drain it.
    let stopped_at = counted.count;
    let drain_problem = if counted.failed {
        None
    } else {
        io::copy(&mut counted, &mut io::sink())
            .err()
            .map(|e| IndexProblem::new(Message::new(Code::LayerStreamError).with("detail", e.to_string()), counted.count, true))
    };
    // A bad header where the stream had nothing more to give is a layer cut short: say so.
    if let Some(p) = problem.as_mut().filter(|p| p.message.code == Code::LayerBadHeader) {
        if drain_problem.is_none() && counted.count == stopped_at && after_marker.is_empty() {
            let detail = p.message.params.get("detail").cloned();
            let mut cut = Message::new(Code::LayerTruncated);
            if let Some(d) = detail {
                cut = cut.with("detail", d);
            }
            *p = IndexProblem::new(cut, counted.count, false);
        }
    }
    index.uncompressed_size = counted.count;
    let failed = counted.failed;
    let problem = problem.map(|p| IndexProblem { stream_failed: failed, ..p });
    (index, problem.or(drain_problem))
}

/// The walk itself; also where the first all-zero block was, if it got there.
fn walk_entries(stream: &mut CountingReader<'_>, index: &mut LayerIndex) -> (Option<IndexProblem>, Option<u64>) {
    let mut seen = None;
    let problem = walk_entries_seen(stream, index, &mut seen);
    (problem, seen.and_then(|s| s.end_marker()))
}

fn walk_entries_seen(stream: &mut CountingReader<'_>, index: &mut LayerIndex, seen_out: &mut Option<crate::tar_guard::Extensions>) -> Option<IndexProblem> {
    // One read buffer for every file of the layer (zeroing 64 KiB per file adds up).
    let mut buf = vec![0u8; 64 * 1024];
    // The guard refuses a long name or PAX record of gigabytes (a few KB of gzip) before
    // tar-rs reads it into memory.
    let guard = crate::tar_guard::TarGuard::new(&mut *stream);
    let seen = guard.extensions();
    *seen_out = Some(seen.clone());
    let mut archive = tar::Archive::new(guard);
    let mut budget = LayerBudget::default();
    let entries = match archive.entries() {
        Ok(e) => e,
        Err(e) => return Some(IndexProblem::new(Message::new(Code::LayerNotTar).with("detail", e.to_string()), 0, false)),
    };
    for entry in entries {
        let mut entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let bad = Message::new(Code::LayerBadHeader).with("detail", e.to_string());
                return Some(IndexProblem::new(bad, stream.count, false));
            }
        };
        if is_global_header(entry.header().entry_type()) {
            continue;
        }
        let mut record = match entry_record(&mut entry, &seen).and_then(|r| budget.admit(&r).map(|()| r)) {
            Ok(r) => r,
            Err(refused) => return Some(IndexProblem::new(refused, entry.raw_header_position(), false)),
        };
        if record.kind == EntryKind::File && (record.size > 0 || record.sparse.is_some()) {
            let mut hasher = xxhash_rust::xxh3::Xxh3::new();
            loop {
                match entry.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => hasher.update(&buf[..n]),
                    Err(e) => {
                        let truncated = Message::new(Code::LayerTruncatedInside)
                            .with("path", display_path(&record.path))
                            .with("detail", e.to_string());
                        return Some(IndexProblem::new(truncated, record.data_offset, false));
                    }
                }
            }
            record.content_hash = Some(hasher.digest());
        } else if record.kind == EntryKind::File {
            record.content_hash = Some(xxhash_rust::xxh3::xxh3_64(&[]));
        }
        index.entries.push(record);
    }
    None
}

/// A PAX global header (`g`): settings for the archive, not a filesystem object. Docker,
/// containerd and podman skip it when they unpack a layer, so every walk skips it too.
pub(crate) fn is_global_header(entry_type: tar::EntryType) -> bool {
    entry_type == tar::EntryType::XGlobalHeader
}

/// Build the index record of one tar entry (shared by every walk). `seen` is the walk's
/// [`TarGuard`](crate::tar_guard::TarGuard) handle: names, links, sizes and owners are read
/// as the runtimes read them (see [`crate::tar_guard::entry_header`]).
pub(crate) fn entry_record<R: Read>(entry: &mut tar::Entry<'_, R>, seen: &crate::tar_guard::Extensions) -> Result<LayerEntry, Message> {
    // Each refusal has a code of its own (the page words it); the walk adds `offset`.
    let stated = crate::tar_guard::entry_header(entry, seen).map_err(|refusal| refusal.message.with("entry", display_path(&entry.path_bytes())))?;
    if stated.path.len() > MAX_PATH_BYTES {
        let shown = String::from_utf8_lossy(&stated.path[..200]);
        return Err(Message::new(Code::EntryNameTooLong).with("entry", format!("{shown}…")).with("max", MAX_PATH_BYTES as u64));
    }
    let header = entry.header();
    let kind = EntryKind::from_tar(header.entry_type());
    let link = match kind {
        EntryKind::Symlink => stated.link.map(Vec::into_boxed_slice),
        EntryKind::Hardlink => stated.link.map(|l| normalize_path(&l)),
        _ => None,
    };
    let size = if kind == EntryKind::File { stated.size } else { 0 };
    let (sparse, map_bytes) = match stated.sparse {
        Some((map, map_bytes)) if kind == EntryKind::File => (Some(Box::new(map)), map_bytes),
        _ => (None, 0),
    };
    Ok(LayerEntry {
        path: normalize_path(&stated.path),
        kind,
        size,
        mode: header.mode().unwrap_or(0),
        uid: stated.uid,
        gid: stated.gid,
        mtime: stated.mtime,
        link,
        data_offset: entry.raw_file_position().saturating_add(map_bytes),
        content_hash: None,
        dev_major: header.device_major().ok().flatten().unwrap_or(0),
        dev_minor: header.device_minor().ok().flatten().unwrap_or(0),
        sparse,
    })
}


/// Counts bytes and remembers whether the stream itself ever failed.
struct CountingReader<'a> {
    inner: &'a mut dyn Read,
    count: u64,
    failed: bool,
}

impl Read for CountingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.count += n as u64;
                Ok(n)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Err(e),
            Err(e) => {
                self.failed = true;
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_paths() {
        assert_eq!(&*normalize_path(b"./usr//bin/./sh/"), b"usr/bin/sh");
        assert_eq!(&*normalize_path(b"/"), b"");
        assert_eq!(&*normalize_path(b"./"), b"");
    }

    #[test]
    fn display_round_trips_non_utf8() {
        let raw = b"caf\xe9\\x41/\xff";
        let shown = display_path(raw);
        assert_eq!(shown, "caf\\xe9\\\\x41/\\xff");
        assert_eq!(parse_display_path(&shown), raw.to_vec());
    }
}

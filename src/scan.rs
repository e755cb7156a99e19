//! Scan: index the outer tar. Headers only for a seekable plain tar (data is skipped
//! by seeking); a compressed archive is scanned in one streaming pass by `archive.rs`,
//! which feeds each entry's bytes to the blob analysis as they pass.

use crate::codes::{Code, Message};
use crate::error::Error;
use crate::io::ReadSeek;
use crate::sparse::SparseMap;
use std::collections::HashMap;
use std::io::{Read, SeekFrom};

/// Outer tars with more entries than this are refused (each entry costs memory).
pub const MAX_OUTER_ENTRIES: usize = 2_000_000;
/// How many symlink/hardlink hops to follow when resolving a path in the outer tar.
const MAX_LINK_HOPS: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OuterKind {
    File,
    Dir,
    Symlink,
    Hardlink,
    Other,
}

/// One entry of the outer tar.
#[derive(Debug, Clone)]
pub struct OuterEntry {
    /// Normalised name (no `./`, no leading `/`, no trailing `/`).
    pub name: String,
    pub kind: OuterKind,
    /// Offset of the entry's stored data: in the file for a plain tar, in the decompressed
    /// stream for a compressed archive. For a sparse entry, where its packed fragments
    /// start (after a PAX 1.0 map or old GNU extension blocks).
    pub offset: u64,
    /// The file's size as the runtimes unpack it (a sparse file's logical size).
    pub size: u64,
    /// Offset of the entry's header (for error messages).
    pub header_offset: u64,
    /// Link target as written (symlink: relative to the entry's directory; hardlink: archive path).
    pub link: Option<String>,
    /// A sparse file (GNU tar `--sparse`): its map. Go's archive/tar, which `docker load`
    /// reads the outer tar with, expands it, so its bytes are the logical file: the stored
    /// fragments with the holes as zeros ([`crate::sparse::SparseReader`]). Boxed: most
    /// entries have none, and a map is capped at [`crate::sparse::MAX_FRAGMENTS`].
    pub sparse: Option<Box<SparseMap>>,
}

impl OuterEntry {
    /// Bytes of the entry's data that are stored at `offset` (the packed fragments of a
    /// sparse file, else the whole file).
    pub fn stored_len(&self) -> u64 {
        self.sparse.as_ref().map_or(self.size, |map| map.stored_len())
    }

    /// Where the entry's stored data ends (its padding to a 512-byte block follows).
    pub fn stored_end(&self) -> u64 {
        self.offset.saturating_add(self.stored_len())
    }
}

/// The outer tar's table of contents.
#[derive(Debug, Default)]
pub struct OuterIndex {
    pub entries: Vec<OuterEntry>,
    /// Set when the tar has no end-of-archive marker after its last entry: a file cut at
    /// an entry boundary reads as a shorter, valid-looking tar, so say it may be truncated.
    pub missing_end_marker: Option<Message>,
    /// Names that occur more than once (the last one is used, as `tar -x` would; readers
    /// that take the first would see other bytes, so this is worth saying).
    pub duplicates: Vec<String>,
    /// Name → index of the *last* entry with that name (tar semantics: last wins).
    by_name: HashMap<String, usize>,
}

impl OuterIndex {
    pub fn push(&mut self, entry: OuterEntry) -> usize {
        let i = self.entries.len();
        if self.by_name.insert(entry.name.clone(), i).is_some() && entry.kind != OuterKind::Dir {
            self.duplicates.push(entry.name.clone());
        }
        self.entries.push(entry);
        i
    }

    pub fn get(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    /// Find a file by name, following symlinks (relative to the link's directory) and
    /// hardlinks (archive paths). `Err` says why it could not be resolved.
    pub fn resolve_file(&self, name: &str) -> Result<usize, Message> {
        let mut current = normalize(name);
        for _ in 0..=MAX_LINK_HOPS {
            let Some(i) = self.get(&current) else {
                return Err(Message::new(Code::PathNotInArchive).with("path", current));
            };
            let e = &self.entries[i];
            match (e.kind, &e.link) {
                (OuterKind::File, _) => return Ok(i),
                (OuterKind::Symlink, Some(target)) => {
                    current = if target.starts_with('/') {
                        normalize(target)
                    } else {
                        let dir = current.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
                        join_relative(dir, target)
                    };
                }
                (OuterKind::Hardlink, Some(target)) => current = normalize(target),
                _ => return Err(Message::new(Code::PathNotAFile).with("path", current)),
            }
        }
        Err(Message::new(Code::LinkChainTooLong).with("path", normalize(name)).with("max", MAX_LINK_HOPS))
    }
}

/// Normalise an archive path: drop `./`, leading `/`, empty components and trailing `/`.
pub fn normalize(name: &str) -> String {
    name.split('/').filter(|p| !p.is_empty() && *p != ".").collect::<Vec<_>>().join("/")
}

/// Join a relative link target onto a directory, resolving `..` (never above the root).
pub fn join_relative(dir: &str, target: &str) -> String {
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for p in target.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.join("/")
}

/// One entry of the outer tar, its name and link read as the runtimes read them (see
/// [`crate::tar_guard::entry_header`]); `seen` is the walk's guard handle.
pub(crate) fn outer_entry<R: Read>(entry: &mut tar::Entry<'_, R>, seen: &crate::tar_guard::Extensions) -> Result<OuterEntry, Error> {
    let stated = crate::tar_guard::entry_header(entry, seen).map_err(|why| {
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let at = entry.raw_header_position();
        // A refusal is worded for a layer's walk, which adds the entry and its offset; here
        // the outer entry's are given, and a sparse map Go refuses (ErrHeader: docker load
        // stops there too) is said without "of the uncompressed layer".
        let detail = match why.message.code {
            Code::LayerSparseMapRefused => {
                let problem = why.message.params.get("detail").cloned().unwrap_or_else(|| "".into());
                Message::new(Code::OuterSparseMapRefused).with("detail", problem)
            }
            _ => why.message.with("entry", name.as_str()).with("offset", at),
        };
        Error::NotTar { detail: Message::new(Code::EntryHeaderRefused).with("entry", name).with("offset", at).with("detail", detail) }
    })?;
    let header = entry.header();
    let kind = match header.entry_type() {
        tar::EntryType::Regular | tar::EntryType::Continuous => OuterKind::File,
        tar::EntryType::Directory => OuterKind::Dir,
        tar::EntryType::Symlink => OuterKind::Symlink,
        tar::EntryType::Link => OuterKind::Hardlink,
        _ => OuterKind::Other,
    };
    let name = normalize(&String::from_utf8_lossy(&stated.path));
    let link = stated.link.map(|l| String::from_utf8_lossy(&l).into_owned());
    // tar-rs hands a sparse entry out as a plain file of its stored bytes: the map blocks
    // (PAX 1.0, old GNU extension blocks), then the packed fragments.
    let (sparse, map_bytes) = match stated.sparse.filter(|_| kind == OuterKind::File) {
        Some((map, map_bytes)) => (Some(Box::new(map)), map_bytes),
        None => (None, 0),
    };
    Ok(OuterEntry {
        name,
        kind,
        offset: entry.raw_file_position().saturating_add(map_bytes),
        size: if kind == OuterKind::File { stated.size } else { 0 },
        header_offset: entry.raw_header_position(),
        link,
        sparse,
    })
}

/// Index a plain (uncompressed) tar by walking its headers and seeking past the data.
pub fn index_seekable(src: &mut dyn ReadSeek, file_len: u64, progress: &mut dyn FnMut(u64)) -> Result<OuterIndex, Error> {
    src.seek(SeekFrom::Start(0))?;
    let mut index = OuterIndex::default();
    let guard = crate::tar_guard::TarGuard::new(&mut *src);
    let seen = guard.extensions();
    let mut archive = tar::Archive::new(guard);
    let entries = archive.entries_with_seek().map_err(|e| Error::NotTar { detail: Message::new(Code::Text).with("detail", e.to_string()) })?;
    let mut last_report = 0u64;
    for entry in entries {
        let mut entry = entry.map_err(|e| tar_error(&index, file_len, e))?;
        if index.entries.len() >= MAX_OUTER_ENTRIES {
            return Err(Error::Limit { detail: Message::new(Code::TooManyEntries).with("max", MAX_OUTER_ENTRIES) });
        }
        let outer = outer_entry(&mut entry, &seen)?;
        if outer.stored_end() > file_len {
            return Err(Error::Truncated {
                entry: Some(outer.name.clone()),
                offset: file_len,
                detail: format!(
                    "the entry needs {} bytes from byte {} but the file has {}",
                    outer.stored_len(), outer.offset, file_len
                ),
            });
        }
        if outer.offset > last_report + (8 << 20) {
            last_report = outer.offset;
            progress(outer.offset);
        }
        index.push(outer);
    }
    if index.entries.is_empty() {
        return Err(Error::NotTar { detail: Code::NoTarEntries.into() });
    }
    index.missing_end_marker = check_end_marker(src, &index, file_len)?;
    Ok(index)
}

/// Two zero blocks must follow the last entry's data.
fn check_end_marker(src: &mut dyn ReadSeek, index: &OuterIndex, file_len: u64) -> Result<Option<Message>, Error> {
    let Some(last) = index.entries.last() else { return Ok(None) };
    let end = last.stored_end().div_ceil(512) * 512;
    let mut marker = Vec::with_capacity(1024);
    src.seek(SeekFrom::Start(end.min(file_len)))?;
    (&mut *src).take(1024).read_to_end(&mut marker)?;
    if marker.len() == 1024 && marker.iter().all(|&b| b == 0) {
        return Ok(None);
    }
    Ok(Some(Message::new(Code::NoEndMarker).with("entry", &last.name).with("offset", end)))
}

/// Turn a tar crate error into ours, naming the last good entry.
pub(crate) fn tar_error(index: &OuterIndex, file_len: u64, e: std::io::Error) -> Error {
    let after = index.entries.last();
    let offset = after.map(|a| a.stored_end().div_ceil(512) * 512).unwrap_or(0);
    if index.entries.is_empty() {
        return Error::NotTar { detail: Message::new(Code::TarHeaderUnreadable).with("detail", e.to_string()) };
    }
    if e.kind() == std::io::ErrorKind::UnexpectedEof || offset >= file_len {
        return Error::Truncated { entry: after.map(|a| a.name.clone()), offset, detail: format!("{e}") };
    }
    let entry = after.map(|a| a.name.as_str()).unwrap_or_default();
    Error::NotTar { detail: Message::new(Code::BadTarHeader).with("offset", offset).with("entry", entry).with("detail", e.to_string()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_relative_links() {
        assert_eq!(join_relative("abc", "../def.tar"), "def.tar");
        assert_eq!(join_relative("", "../../x"), "x");
        assert_eq!(join_relative("a/b", "./c"), "a/b/c");
    }
}

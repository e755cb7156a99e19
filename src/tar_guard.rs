//! A reader under tar-rs that refuses oversized extension records.
//!
//! Why: tar-rs reads a GNU long name (`L`), long link (`K`) or PAX record (`x`) into memory
//! whole before handing out the entry it describes, however large its size field says it
//! is. Inside a gzip'd layer a few MB of input can claim a 1 GiB "name", and the walk would
//! hold it all (4 GiB ends the page: that is wasm's whole memory). Every real one is tiny
//! (a path, a link target, a few PAX keys), so this guard follows the tar's block structure
//! as tar-rs reads it and fails the read with a plain error once such a record is bigger
//! than [`MAX_EXTENSION_BYTES`].
//!
//! The walk it mirrors is tar-rs's own (`next_entry_raw`): a header block, then for a GNU
//! sparse header its extension blocks, then the data rounded up to a block; the size is the
//! header's, or the PAX `size` record's for the next entry that is not itself an extension.
//! When something does not parse the way tar-rs would go on (a bad checksum, an unreadable
//! size, a seek past a header), the guard stops following: tar-rs fails there or soon after
//! by itself, and a guard that lost its place must never fail a valid archive.
//!
//! Since it sees every extension record anyway, the guard is also where strata reads them
//! the way the runtimes do: tar-rs misreads a PAX record whose value holds a newline (see
//! [`crate::pax`]), so every walk takes an entry's name, link, size and owner from
//! [`entry_header`], which uses the guard's reading of the records before that entry.

use crate::codes::{Code, Message};
use crate::pax::{self, PaxError, PaxRecords};
use std::cell::RefCell;
use std::io::{self, Read, Seek, SeekFrom};
use std::rc::Rc;

/// The largest GNU long name / long link / PAX record a walk reads into memory.
pub const MAX_EXTENSION_BYTES: u64 = 8 << 20;

const BLOCK: u64 = 512;

pub struct TarGuard<R> {
    inner: R,
    /// Bytes of the tar passed through so far.
    pos: u64,
    /// Where the next block to look at starts (a header, or a sparse extension block).
    next: u64,
    block: [u8; 512],
    filled: usize,
    /// A header block read whole before any of it was handed to tar-rs (see `read`) — with
    /// a sparse file's map blocks after it, read ahead (see `read_sparse_map`) — and how
    /// much of it tar-rs has taken.
    held: Vec<u8>,
    held_len: usize,
    held_served: usize,
    /// `on_block` is looking at a held block (which it may still correct).
    holding: bool,
    /// The next block is a GNU sparse extension block of an entry of this data size.
    sparse_ext_of: Option<u64>,
    /// Collecting a PAX `x` record (to learn its `size`): its bytes so far, and its end.
    pax: Option<(Vec<u8>, u64)>,
    /// `size` from the last PAX record, for the next entry that is not an extension.
    pax_size: Option<u64>,
    /// The extension records read since the last entry, for the next one.
    pending: HeaderExtensions,
    /// What the last entry's header had before it, for the walk to ask ([`Extensions`]).
    seen: Extensions,
    /// No longer following (the end marker, or something tar-rs will fail on itself).
    lost: bool,
    /// The header just held is a sparse file's whose map blocks come next (read by `read`).
    sparse_ahead: Option<SparseAhead>,
}

/// A sparse file's map still to be read from the blocks after its header.
#[derive(Debug)]
struct SparseAhead {
    /// Old GNU (`S`): the pairs of the header, and whether extension blocks follow. PAX 1.0
    /// (None): the map is at the start of the entry's data.
    old_gnu: Option<(Vec<(i64, i64)>, bool)>,
    real_size: i64,
    /// Why the map is refused, when its header already says (an old GNU map's extension
    /// blocks are still read, to hand tar-rs a plain file it will not parse by its own rules).
    problem: Option<crate::sparse::MapProblem>,
    /// The entry's stored data: the packed fragments (and a PAX 1.0 map before them).
    data_size: u64,
    name: Option<Vec<u8>>,
}

/// A sparse file as the runtimes read it (Go's archive/tar reads GNU's four formats).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SparseHeader {
    pub map: crate::sparse::SparseMap,
    /// The file's logical size.
    pub real_size: u64,
    /// `GNU.sparse.name` (PAX formats): the file's name, over every other.
    pub name: Option<Vec<u8>>,
    /// Bytes at the start of the entry's data as tar-rs hands it out (an old GNU map's
    /// extension blocks, a PAX 1.0 map) before the packed fragments.
    pub map_bytes: u64,
}

/// The extension records that came before one entry's header.
#[derive(Debug, Clone, Default)]
pub struct HeaderExtensions {
    /// Where that entry's own header starts (tar-rs's `raw_header_position`).
    pub header_pos: u64,
    /// That header as stored (tar-rs changes its copy's uid and gid by its PAX reading).
    pub block: Option<[u8; 512]>,
    /// The PAX `x` record, as the runtimes read it.
    pub pax: Option<Result<PaxRecords, PaxError>>,
    /// A GNU long name (`L`) / long link (`K`) came too: it wins over PAX, as in Go.
    pub long_name: bool,
    pub long_link: bool,
    /// Why tar-rs cannot be made to read this entry as the runtimes do (the walk stops).
    pub refuse: Option<Message>,
    /// A sparse file's map (or why it is refused). tar-rs is handed such an entry as a
    /// plain file of its stored bytes (map blocks included), the guard having read the map.
    pub sparse: Option<Result<SparseHeader, crate::sparse::MapProblem>>,
}

/// A handle on what a [`TarGuard`] saw before the latest entry header; the walk keeps it
/// while tar-rs owns the guard.
#[derive(Debug, Clone, Default)]
pub struct Extensions(Rc<Seen>);

#[derive(Debug, Default)]
struct Seen {
    last: RefCell<Option<HeaderExtensions>>,
    end_marker: std::cell::Cell<Option<u64>>,
}

impl Extensions {
    /// The records before the header at `header_pos`; None when the guard did not see that
    /// header (it lost its place, or the walk has no guard).
    pub fn take_at(&self, header_pos: u64) -> Option<HeaderExtensions> {
        self.0.last.borrow_mut().take_if(|h| h.header_pos == header_pos)
    }

    /// Where the first all-zero block was, where tar-rs stops. Go's archive/tar (Docker,
    /// containerd, podman) reads the block after it too and refuses the tar unless it is
    /// zero as well or the tar ends there: the walks check it ([`lone_zero_block`]).
    pub fn end_marker(&self) -> Option<u64> {
        self.0.end_marker.get()
    }
}

/// Whether `after` — what follows the first zero block (at most 512 bytes of it) — makes
/// Go's archive/tar refuse the tar: anything but nothing or a second zero block.
pub fn lone_zero_block(after: &[u8]) -> bool {
    !after.is_empty() && (after.len() < 512 || after.iter().any(|&b| b != 0))
}

impl<R> TarGuard<R> {
    /// A guard over a tar that starts at the reader's current position.
    pub fn new(inner: R) -> TarGuard<R> {
        TarGuard {
            inner,
            pos: 0,
            next: 0,
            block: [0; 512],
            filled: 0,
            held: vec![0; 512],
            held_len: 0,
            held_served: 0,
            holding: false,
            sparse_ext_of: None,
            pax: None,
            pax_size: None,
            pending: HeaderExtensions::default(),
            seen: Extensions::default(),
            lost: false,
            sparse_ahead: None,
        }
    }

    /// The handle to ask for each entry's extension records (see [`entry_header`]).
    pub fn extensions(&self) -> Extensions {
        self.seen.clone()
    }

    pub fn into_inner(self) -> R {
        self.inner
    }

    /// Look at `bytes`, which start at `self.pos` of the tar.
    fn observe(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() && !self.lost {
            if let Some((record, end)) = &mut self.pax {
                if self.pos < *end {
                    let take = bytes.len().min(usize::try_from(*end - self.pos).unwrap_or(usize::MAX));
                    record.extend_from_slice(&bytes[..take]);
                    self.pos += take as u64;
                    bytes = &bytes[take..];
                    if self.pos == *end {
                        let parsed = pax::parse(record);
                        self.pax_size = parsed.as_ref().ok().and_then(|p| p.size);
                        self.pending.pax = Some(parsed);
                        self.pax = None;
                    }
                    continue;
                }
            }
            if self.pos < self.next {
                let skip = bytes.len().min(usize::try_from(self.next - self.pos).unwrap_or(usize::MAX));
                self.pos += skip as u64;
                bytes = &bytes[skip..];
                continue;
            }
            let take = bytes.len().min(512 - self.filled);
            self.block[self.filled..self.filled + take].copy_from_slice(&bytes[..take]);
            self.filled += take;
            self.pos += take as u64;
            bytes = &bytes[take..];
            if self.filled == 512 {
                self.filled = 0;
                self.on_block()?;
            }
        }
        Ok(())
    }

    /// A whole block at `self.pos - 512`, where a header (or sparse extension) belongs.
    fn on_block(&mut self) -> io::Result<()> {
        let after = self.pos;
        if let Some(data) = self.sparse_ext_of {
            // GNU sparse extension block: `isextended` is its byte 504.
            if self.block[504] == 0 {
                self.sparse_ext_of = None;
                self.next = self.data_end(after, data);
            } else {
                self.next = after;
            }
            return Ok(());
        }
        if self.block.iter().all(|&b| b == 0) {
            if self.seen.0.end_marker.get().is_none() {
                self.seen.0.end_marker.set(Some(after - BLOCK));
            }
            self.lost = true; // the end-of-archive marker: tar-rs stops here
            return Ok(());
        }
        let header = tar::Header::from_byte_slice(&self.block);
        if !crate::detect::looks_like_tar(&self.block) {
            self.lost = true; // tar-rs fails on the checksum
            return Ok(());
        }
        let Ok(stated) = header.entry_size() else {
            self.lost = true;
            return Ok(());
        };
        let kind = header.entry_type();
        let recognized = header.as_gnu().is_some() || header.as_ustar().is_some();
        let extension = recognized && (kind.is_gnu_longname() || kind.is_gnu_longlink() || kind.is_pax_local_extensions());
        let is_any_extension = kind.is_gnu_longname() || kind.is_gnu_longlink() || kind.is_pax_local_extensions() || kind.is_pax_global_extensions();
        if extension && stated > MAX_EXTENSION_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "a tar extension record (long name, long link or PAX) of {stated} bytes at byte {}: more than the {} MiB any real one needs",
                    after - BLOCK,
                    MAX_EXTENSION_BYTES >> 20
                ),
            ));
        }
        let mut stated = stated;
        let mut refuse = None;
        if is_header_only(kind) {
            // Go's archive/tar (Docker, containerd, podman) and Python's tarfile read no data
            // after a hardlink, symlink, device, directory or FIFO header, whatever its size
            // field says; tar-rs skips that many bytes, and whatever entries they hold would
            // be hidden from strata while the container gets them. Give tar-rs the size the
            // runtimes read. (Only a block read whole can be corrected before tar-rs sees it.)
            if stated != 0 {
                if self.holding {
                    zero_size(&mut self.block);
                    stated = 0;
                } else {
                    refuse = Some(data_not_read(kind, stated));
                }
            }
            if let Some(n) = self.pax_size.take().filter(|&n| n != 0) {
                refuse = Some(data_not_read(kind, n));
            }
        }
        let size = if is_any_extension { stated } else { self.pax_size.take().unwrap_or(stated) };
        let mut sparse = None;
        let mut old_gnu_map_read = false;
        if extension {
            self.pending.long_name |= kind.is_gnu_longname();
            self.pending.long_link |= kind.is_gnu_longlink();
        } else {
            if !kind.is_pax_global_extensions() {
                sparse = self.sparse_of(kind, size);
                if self.sparse_ahead.is_some() {
                    if self.holding {
                        old_gnu_map_read = kind.is_gnu_sparse();
                    } else {
                        self.sparse_ahead = None;
                        refuse = Some(Message::new(Code::EntryNotFollowed));
                    }
                }
            }
            // An entry tar-rs hands out (a PAX global header too, which takes the records).
            let pending = std::mem::take(&mut self.pending);
            *self.seen.0.last.borrow_mut() =
                Some(HeaderExtensions { header_pos: after - BLOCK, block: Some(self.block), refuse, sparse, ..pending });
        }
        if recognized && kind.is_pax_local_extensions() {
            // Small enough (checked above): keep it to learn the next entry's size.
            self.pax = Some((Vec::with_capacity(size as usize), after + size));
        }
        if old_gnu_map_read {
            // `read` reads the extension blocks ahead and sets where the next header is.
            self.next = after;
        } else if kind.is_gnu_sparse() && self.block[482] != 0 {
            self.sparse_ext_of = Some(size);
            self.next = after;
        } else {
            self.next = self.data_end(after, size);
        }
        Ok(())
    }

    /// Whether the entry whose header is `self.block` (of `kind`, `size` bytes of stored data)
    /// is a sparse file: its map when the header and its PAX records hold it all (PAX 0.0,
    /// 0.1), else what `read` must read ahead (`sparse_ahead`: old GNU, PAX 1.0).
    fn sparse_of(&mut self, kind: tar::EntryType, size: u64) -> Option<Result<SparseHeader, crate::sparse::MapProblem>> {
        use crate::sparse::{self, MapProblem};
        let header = tar::Header::from_byte_slice(&self.block);
        if kind.is_gnu_sparse() {
            // Go reads type S as old GNU only in a GNU-format header (else: a bad header).
            header.as_gnu()?;
            if matches!(&self.pending.pax, Some(Ok(r)) if r.size.is_some()) {
                // tar-rs would take the PAX size for the extension blocks and data together.
                return Some(Err(MapProblem("an old GNU sparse header with a PAX size record".to_string())));
            }
            let mut pairs = Vec::new();
            let problem = sparse::old_gnu_pairs(&self.block, sparse::OLD_GNU_HEADER_MAP, sparse::OLD_GNU_HEADER_ENTRIES, &mut pairs).err();
            let (real_size, problem) = match sparse::parse_numeric(&self.block[sparse::OLD_GNU_REAL_SIZE]) {
                Ok(n) => (n, problem),
                Err(e) => (0, problem.or(Some(e))),
            };
            let extended = self.block[sparse::OLD_GNU_HEADER_IS_EXTENDED] != 0;
            self.sparse_ahead = Some(SparseAhead { old_gnu: Some((pairs, extended)), real_size, problem, data_size: size, name: None });
            return None;
        }
        let Some(Ok(records)) = &self.pending.pax else { return None };
        let described = match sparse::from_pax(&records.sparse) {
            Ok(None) => return None,
            Ok(Some(d)) => d,
            Err(e) => return Some(Err(e)),
        };
        if is_header_only(kind) {
            return Some(Err(MapProblem(format!("a sparse map on a {} entry", kind_word(kind)))));
        }
        let real_size = described.real_size.unwrap_or(size as i64);
        if described.map_in_data {
            self.sparse_ahead = Some(SparseAhead { old_gnu: None, real_size, problem: None, data_size: size, name: described.name });
            return None;
        }
        Some(sparse::validate(&described.pairs, real_size, size).map(|map| SparseHeader {
            map,
            real_size: real_size as u64,
            name: described.name,
            map_bytes: 0,
        }))
    }

    /// Where the next header starts: after `size` bytes of data from `start`, rounded up.
    fn data_end(&mut self, start: u64, size: u64) -> u64 {
        match size.checked_add(BLOCK - 1).and_then(|s| start.checked_add(s & !(BLOCK - 1))) {
            Some(end) => end,
            None => {
                self.lost = true;
                u64::MAX
            }
        }
    }
}

impl<R: Read> TarGuard<R> {
    /// Read the map blocks of the sparse file whose header was just held (`sparse_ahead`)
    /// into the held bytes, so every walk — those that seek over data too — sees the map.
    /// An old GNU header is then handed to tar-rs as a plain file whose data is its
    /// extension blocks and fragments (tar-rs would otherwise expand it by rules of its own).
    fn read_sparse_map(&mut self, ahead: SparseAhead) -> io::Result<()> {
        use crate::sparse::{self, MapProblem};
        let header_pos = self.pos - BLOCK;
        let data_start = self.pos;
        let old_gnu = ahead.old_gnu.is_some();
        let result: Result<(Vec<(i64, i64)>, u64), MapProblem> = match ahead.old_gnu {
            Some((mut pairs, mut extended)) => {
                let mut problem = ahead.problem.clone();
                while extended {
                    let block = self.read_ahead_block()?;
                    if let Err(e) = sparse::old_gnu_pairs(&block, 0, sparse::OLD_GNU_EXT_ENTRIES, &mut pairs) {
                        if pairs.len() >= sparse::MAX_FRAGMENTS {
                            // Past the cap: stop the walk here, before any more of it is held.
                            let why = format!("the GNU sparse map of the entry at byte {header_pos}: {e}");
                            return Err(io::Error::new(io::ErrorKind::InvalidData, why));
                        }
                        problem.get_or_insert(e);
                    }
                    extended = block[sparse::OLD_GNU_EXT_IS_EXTENDED] != 0;
                }
                let map_bytes = self.pos - data_start;
                // From here tar-rs reads a plain file: the extension blocks, then the data.
                let mut header = tar::Header::from_byte_slice(&self.held[..512]).clone();
                header.set_entry_type(tar::EntryType::Regular);
                header.set_size(map_bytes.saturating_add(ahead.data_size));
                header.set_cksum();
                self.held[..512].copy_from_slice(header.as_bytes());
                self.next = self.data_end(data_start, map_bytes.saturating_add(ahead.data_size));
                match problem {
                    Some(p) => Err(p),
                    None => Ok((pairs, map_bytes)),
                }
            }
            None => {
                let mut map = sparse::Map1x0::default();
                loop {
                    if map.len() + BLOCK > ahead.data_size {
                        break Err(MapProblem("the PAX 1.0 sparse map runs past the entry's data".to_string()));
                    }
                    let block = self.read_ahead_block()?;
                    match map.feed(&block) {
                        Ok(Some(pairs)) => break Ok((pairs, map.len())),
                        Ok(None) => {}
                        Err(e) => break Err(e),
                    }
                }
            }
        };
        let sparse = result.and_then(|(pairs, map_bytes)| {
            let stored = if old_gnu { ahead.data_size } else { ahead.data_size - map_bytes };
            let mut map = sparse::validate(&pairs, ahead.real_size, stored)?;
            map.old_gnu = old_gnu;
            Ok(SparseHeader { map, real_size: ahead.real_size as u64, name: ahead.name, map_bytes })
        });
        if let Some(last) = self.seen.0.last.borrow_mut().as_mut().filter(|h| h.header_pos == header_pos) {
            last.sparse = Some(sparse);
            if old_gnu {
                last.block = Some(self.held[..512].try_into().unwrap_or([0; 512]));
            }
        }
        Ok(())
    }

    /// One more block after the held ones, from the tar (a sparse map's).
    fn read_ahead_block(&mut self) -> io::Result<[u8; 512]> {
        let mut block = [0u8; 512];
        let mut got = 0;
        while got < 512 {
            match self.inner.read(&mut block[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.lost = true;
                    return Err(e);
                }
            }
        }
        self.held.extend_from_slice(&block[..got]);
        self.held_len += got;
        self.pos += got as u64;
        if got < 512 {
            self.lost = true;
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the tar ends inside a sparse file's map"));
        }
        Ok(block)
    }
}

/// An entry's name, link, size and owner as the runtimes read them (Go's archive/tar,
/// which Docker, containerd and podman use): a PAX record wins over the ustar fields
/// whatever bytes it holds, a GNU long name or link wins over PAX, and a name ends at its
/// first NUL. An `Err` names what cannot be read; the runtimes refuse the layer there too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryHeader {
    pub path: Vec<u8>,
    pub link: Option<Vec<u8>>,
    pub size: u64,
    pub uid: u64,
    pub gid: u64,
    pub mtime: u64,
    /// A sparse file (`size` is then its logical size): its map, and the bytes of the
    /// entry's data as tar-rs hands it out that come before the packed fragments.
    pub sparse: Option<(crate::sparse::SparseMap, u64)>,
}

/// Why [`entry_header`] refuses an entry (the runtimes refuse the layer there too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// What is refused, as a code; the caller adds `entry` (the entry's name) and `offset`.
    pub message: Message,
}

impl From<Message> for Refusal {
    fn from(message: Message) -> Refusal {
        Refusal { message }
    }
}

impl From<Code> for Refusal {
    fn from(code: Code) -> Refusal {
        Refusal { message: Message::new(code) }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message.english())
    }
}

/// A header-only entry (hardlink, symlink, device, directory, FIFO) whose size field or PAX
/// size claims data the runtimes never read.
fn data_not_read(kind: tar::EntryType, bytes: u64) -> Message {
    Message::new(Code::EntryDataNotRead).with("typeflag", (kind.as_byte() as char).to_string())
        .with("bytes", bytes)
}

pub fn entry_header<R: Read>(entry: &mut tar::Entry<'_, R>, seen: &Extensions) -> Result<EntryHeader, Refusal> {
    let header = entry.header();
    let mut out = EntryHeader {
        path: Vec::new(),
        link: None,
        size: entry.size(),
        uid: header.uid().unwrap_or(0),
        gid: header.gid().unwrap_or(0),
        mtime: header.mtime().unwrap_or(0),
        sparse: None,
    };
    let Some(ext) = seen.take_at(entry.raw_header_position()) else {
        // The guard lost its place (or this walk has none): tar-rs's own reading is right
        // unless a PAX header is involved, which then cannot be vouched for.
        if entry.pax_extensions().ok().flatten().is_some() {
            return Err(Code::EntryNotFollowed.into());
        }
        if is_header_only(entry.header().entry_type()) && entry.size() != 0 {
            return Err(data_not_read(entry.header().entry_type(), entry.size()).into());
        }
        if entry.header().entry_type().is_gnu_sparse() {
            return Err(Code::EntryNotFollowed.into());
        }
        out.path = until_nul(&entry.path_bytes()).to_vec();
        out.link = entry.link_name_bytes().map(|l| until_nul(&l).to_vec());
        return Ok(out);
    };
    if let Some(message) = ext.refuse {
        return Err(message.into());
    }
    let records = match ext.pax {
        Some(Ok(records)) => records,
        Some(Err(e)) => return Err(e.message().into()),
        None => PaxRecords::default(),
    };
    let sparse = match ext.sparse {
        Some(Ok(sparse)) => Some(sparse),
        Some(Err(e)) => return Err(Message::new(Code::LayerSparseMapRefused).with("detail", e.to_string()).into()),
        None => None,
    };
    let Some(block) = ext.block else {
        return Err(Code::EntryNotFollowed.into());
    };
    // The fields as stored: from the long name/link entries (tar-rs strips only one
    // trailing NUL of those), else from the stored ustar header — never from tar-rs's PAX
    // reading, which can find a "record" inside another record's value.
    let stored = tar::Header::from_byte_slice(&block);
    out.path = match (ext.long_name, records.path) {
        (true, _) => until_nul(&entry.path_bytes()).to_vec(),
        (false, Some(path)) => path,
        (false, None) => until_nul(&stored.path_bytes()).to_vec(),
    };
    out.link = match (ext.long_link, records.linkpath) {
        (true, _) => entry.link_name_bytes().map(|l| until_nul(&l).to_vec()),
        (false, Some(link)) => Some(link),
        (false, None) => stored.link_name_bytes().map(|l| until_nul(&l).to_vec()),
    };
    let size = match records.size {
        Some(size) => size,
        None => stored.entry_size().map_err(|_| Refusal::from(Code::EntryNotFollowed))?,
    };
    if stored.entry_type().is_gnu_sparse() {
        // An old GNU sparse header the guard did not hand tar-rs as a plain file.
        return Err(Code::EntryNotFollowed.into());
    }
    if size != out.size {
        // tar-rs walked on with another size: its idea of where the next header is differs
        // from every runtime's, so nothing after this can be trusted.
        return Err(Message::new(Code::PaxSizeMisread).with("size", size).with("read", out.size).into());
    }
    if let Some(sparse) = sparse {
        // Go: GNU.sparse.name wins over the PAX path and a GNU long name; the size is the
        // file's logical size.
        if let Some(name) = sparse.name {
            out.path = name;
        }
        out.size = sparse.real_size;
        out.sparse = Some((sparse.map, sparse.map_bytes));
    }
    out.uid = records.uid.unwrap_or_else(|| stored.uid().unwrap_or(0));
    out.gid = records.gid.unwrap_or_else(|| stored.gid().unwrap_or(0));
    out.mtime = records.mtime.unwrap_or_else(|| stored.mtime().unwrap_or(0));
    Ok(out)
}
/// A tar name ends at its first NUL (Go's `parseString`); tar-rs keeps what follows one.
fn until_nul(name: &[u8]) -> &[u8] {
    name.iter().position(|&b| b == 0).map_or(name, |i| &name[..i])
}

impl<R: Read> Read for TarGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.held_served == self.held_len && !self.lost && self.pax.is_none() && self.filled == 0 && self.pos == self.next {
            // At a header (or a sparse extension block): read its whole block before any of
            // it goes to tar-rs, so `on_block` sees it complete and can correct it (tar-rs
            // reads a header with read_exact, in as many pieces as the reads give it).
            self.held.clear();
            self.held.resize(512, 0);
            let mut got = 0;
            while got < 512 {
                match self.inner.read(&mut self.held[got..]) {
                    Ok(0) => break,
                    Ok(n) => got += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        self.lost = true;
                        return Err(e);
                    }
                }
            }
            self.held_len = got;
            self.held_served = 0;
            if got == 512 {
                self.block.copy_from_slice(&self.held[..512]);
                self.pos += 512;
                self.holding = true;
                let looked = self.on_block();
                self.holding = false;
                looked?;
                self.held[..512].copy_from_slice(&self.block);
                if let Some(ahead) = self.sparse_ahead.take() {
                    self.read_sparse_map(ahead)?;
                }
            } else {
                // The stream ends inside a block: tar-rs ends or fails there by itself.
                self.pos += got as u64;
                self.lost = true;
            }
        }
        if self.held_served < self.held_len {
            let n = (self.held_len - self.held_served).min(buf.len());
            buf[..n].copy_from_slice(&self.held[self.held_served..self.held_served + n]);
            self.held_served += n;
            return Ok(n);
        }
        let n = self.inner.read(buf)?;
        self.observe(&buf[..n])?;
        Ok(n)
    }
}

/// Types that carry no data in Go's archive/tar (`isHeaderOnlyType`) and Python's tarfile.
fn is_header_only(kind: tar::EntryType) -> bool {
    use tar::EntryType as T;
    matches!(kind, T::Link | T::Symlink | T::Char | T::Block | T::Directory | T::Fifo)
}

fn kind_word(kind: tar::EntryType) -> &'static str {
    use tar::EntryType as T;
    match kind {
        T::Link => "hardlink",
        T::Symlink => "symlink",
        T::Char => "character device",
        T::Block => "block device",
        T::Directory => "directory",
        _ => "FIFO",
    }
}

/// Set a header's size field to 0 and its checksum to match.
fn zero_size(block: &mut [u8; 512]) {
    block[124..136].copy_from_slice(b"00000000000\0");
    block[148..156].copy_from_slice(b"        ");
    let sum: u32 = block.iter().map(|&b| u32::from(b)).sum();
    block[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
}

impl<R: Seek> Seek for TarGuard<R> {
    /// tar-rs seeks forward over file data to the next header. Anything else (or a seek
    /// into a record or past a header the guard has not seen) and the guard stops following.
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let start = self.inner.stream_position()?.saturating_sub(self.pos);
        // Held bytes not handed out yet (a sparse map read ahead) are behind the inner
        // reader: a seek relative to where tar-rs is starts that much earlier.
        let unserved = (self.held_len - self.held_served) as u64;
        let to = match to {
            SeekFrom::Current(by) if unserved > 0 => SeekFrom::Current(by.saturating_sub(unserved as i64)),
            other => other,
        };
        let relative = matches!(to, SeekFrom::Current(_));
        let at = self.inner.seek(to)?;
        let pos = at.saturating_sub(start);
        let fine = pos >= self.pos
            && pos <= self.next
            && self.pax.is_none()
            && self.filled == 0
            && (unserved == 0 || relative);
        // (Whatever of a held block was not handed out is behind the inner reader now.)
        self.held_served = self.held_len;
        if !fine {
            self.lost = true;
        }
        self.pos = pos;
        Ok(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(name: &str, kind: tar::EntryType, size: u64) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_path(name).expect("name");
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_cksum();
        h
    }

    fn walk(bytes: &[u8]) -> Result<Vec<String>, String> {
        let mut archive = tar::Archive::new(TarGuard::new(bytes));
        let mut names = Vec::new();
        for e in archive.entries().map_err(|e| e.to_string())? {
            let e = e.map_err(|e| e.to_string())?;
            names.push(String::from_utf8_lossy(&e.path_bytes()).into_owned());
        }
        Ok(names)
    }

    #[test]
    fn a_huge_long_name_is_refused_before_it_is_read() {
        let mut t = Vec::new();
        t.extend_from_slice(header("././@LongLink", tar::EntryType::GNULongName, 1 << 30).as_bytes());
        t.extend_from_slice(&[b'a'; 4096]); // the "name" goes on, as far as the header says
        let err = walk(&t).expect_err("refused");
        assert!(err.contains("1073741824 bytes at byte 0"), "{err}");
    }

    #[test]
    fn normal_archives_pass_untouched() {
        let mut b = tar::Builder::new(Vec::new());
        let long = "d/".repeat(80) + "file";
        let mut h = tar::Header::new_gnu();
        h.set_size(3);
        b.append_data(&mut h, &long, &b"abc"[..]).expect("long name");
        let mut h = header("big", tar::EntryType::Regular, 70_000);
        h.set_cksum();
        b.append(&h, &vec![7u8; 70_000][..]).expect("big");
        // A PAX record with a size that overrides the header's.
        let records = b"16 size=1000000\n";
        b.append(&header("PaxHeaders/x", tar::EntryType::XHeader, records.len() as u64), &records[..]).expect("pax");
        b.append(&header("via-pax", tar::EntryType::Regular, 0), &vec![1u8; 1_000_000][..]).expect("pax file");
        b.append(&header("last", tar::EntryType::Regular, 1), &b"z"[..]).expect("last");
        let bytes = b.into_inner().expect("tar");
        assert_eq!(walk(&bytes).expect("walk"), [long.as_str(), "big", "via-pax", "last"]);
        // Fed one byte at a time, too.
        struct OneByte<'a>(&'a [u8]);
        impl Read for OneByte<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = buf.len().min(1).min(self.0.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut archive = tar::Archive::new(TarGuard::new(OneByte(&bytes)));
        let n = archive.entries().expect("entries").map(|e| e.expect("entry")).count();
        assert_eq!(n, 4);
        // And with seeks over the data.
        let mut archive = tar::Archive::new(TarGuard::new(io::Cursor::new(&bytes)));
        let n = archive.entries_with_seek().expect("entries").map(|e| e.expect("entry")).count();
        assert_eq!(n, 4);
    }

}

//! A headers-only layer index built from chunks the caller reads, in any sizes, for a caller
//! that cannot read synchronously at full speed.
//!
//! Why: in a browser worker, one synchronous `FileReaderSync` read costs ~0.7 ms of latency
//! before any byte arrives, while `Blob.arrayBuffer()` reads can be kept in flight a few at a
//! time (measured on the 432 MB bench archive: 0.35 s to read it all with three async reads
//! in flight, 0.7 s with synchronous 8 MiB reads). The tar walk itself is synchronous, so it
//! is turned inside out here: the caller feeds bytes at an offset and is told which offset
//! the walk needs next; it keeps reading ahead sequentially while the walk stays close, and
//! jumps (dropping its read-ahead) when the walk skips a big file.
//!
//! The walk is tar-rs, exactly as [`crate::archive::Archive::quick_index_span`] runs it:
//! when the bytes run out in the middle of an entry, the walk stops and restarts later at
//! the boundary after the last complete entry. tar-rs keeps no state from one entry to the
//! next (extension headers belong to the entry they precede), so a walk restarted at an
//! entry boundary reads exactly what one uninterrupted walk would. The only entries whose
//! boundary cannot be computed from what tar-rs exposes are GNU sparse files (their extra
//! header blocks move it): the indexer gives up on them and the caller falls back to the
//! synchronous walk.
//!
//! One layer can also be walked in two parts at once, by two workers (see [`splice`]): the
//! first walks from the start and stops at the first entry boundary at or past a split
//! point; the second searches for the first header at or past that point, walks to the end
//! and records where each of its entries starts. Both are the same deterministic walk from
//! any entry boundary they share, so the first part's entries plus the second part's from
//! that boundary on are exactly the whole walk. When they share no boundary (the second
//! part started at something that only looked like a header: a tar file stored inside the
//! layer), the caller walks on from the first part's stop, which is exact too.

use crate::layer::{self, LayerIndex};
use std::io::{self, Read, Seek, SeekFrom};

/// Extension data (PAX records, GNU long names) larger than this is not buffered waiting
/// for more bytes: the indexer gives up and the caller falls back to the synchronous walk.
const MAX_PENDING: usize = 64 << 20;

/// What the walk needs next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Bytes from this offset of the layer on.
    At(u64),
    /// The index is complete: call [`ChunkIndexer::finish`].
    Done,
    /// Not indexable this way (not a tar, a parse error, a GNU sparse entry, too many
    /// entries): use the synchronous walk, which reports the same outcome in its own terms.
    GiveUp,
}

pub struct ChunkIndexer {
    size: u64,
    index: LayerIndex,
    /// Where the next entry's first header starts (the walk restarts here).
    boundary: u64,
    /// Bytes of the layer from `buf_start` on, kept only from `boundary` on.
    buf: Vec<u8>,
    buf_start: u64,
    state: Need,
    /// Still looking for the first header at or past this offset (a second part), and
    /// where to give up looking.
    search: Option<u64>,
    search_end: u64,
    /// Stop at the first entry boundary at or past this offset (a first part).
    stop_at: Option<u64>,
    stopped_at: Option<u64>,
    /// Where each entry starts (its first header), for [`splice`]; after the last entry,
    /// where the walk ended.
    starts: Vec<u64>,
    /// The caps every walk keeps (entries, name bytes), across restarts.
    budget: layer::LayerBudget,
}

/// What one part of a split walk found (see [`splice`]).
#[derive(Debug, Clone)]
pub struct IndexPart {
    pub index: LayerIndex,
    /// Where each entry of `index` starts, then where the walk ended.
    pub starts: Vec<u64>,
    /// The entry boundary where a first part stopped; `None` when the walk reached the end
    /// of the layer (the part is the whole index).
    pub stopped_at: Option<u64>,
}

/// Join the two parts of a split walk: `Ok` with the whole index, or `Err(Some(b))` when
/// `second` never passed through the boundary `b` where `first` stopped (walk on from `b`
/// with [`ChunkIndexer::part`] and splice again), or `Err(None)` when the joined index would
/// be too big (the synchronous walk reports that).
pub fn splice(first: IndexPart, second: IndexPart) -> Result<LayerIndex, Option<u64>> {
    let Some(stop) = first.stopped_at else {
        return Ok(first.index);
    };
    let Ok(from) = second.starts.binary_search(&stop) else {
        return Err(Some(stop));
    };
    if second.stopped_at.is_some() || first.index.uncompressed_size != second.index.uncompressed_size {
        return Err(Some(stop));
    }
    let mut index = first.index;
    let tail = second.index.entries.get(from..).unwrap_or_default();
    let mut budget = layer::LayerBudget::default();
    if index.entries.iter().chain(tail).any(|e| budget.admit(e).is_err()) {
        return Err(None);
    }
    index.entries.extend_from_slice(tail);
    Ok(index)
}

/// Whether the 512-byte block looks like a tar header written by any ustar, PAX or GNU
/// writer: the magic, and a checksum that adds up ([`crate::detect::looks_like_tar`]). (Only
/// used to pick where a second part starts; a wrong guess costs time, never correctness.)
fn looks_like_header(block: &[u8]) -> bool {
    block.len() >= 512
        && (block[257..263] == *b"ustar\0" || block[257..265] == *b"ustar  \0")
        && crate::detect::looks_like_tar(block)
}

impl ChunkIndexer {
    /// An indexer for an uncompressed layer of `size` bytes.
    pub fn new(size: u64) -> Self {
        ChunkIndexer {
            size,
            index: LayerIndex {
                entries: Vec::new(),
                uncompressed_size: size,
            },
            boundary: 0,
            buf: Vec::new(),
            buf_start: 0,
            state: Need::At(0),
            search: None,
            search_end: 0,
            stop_at: None,
            stopped_at: None,
            starts: Vec::new(),
            budget: layer::LayerBudget::default(),
        }
    }

    /// One part of a split walk of a layer of `size` bytes (see [`splice`]). It starts at
    /// `from`, which is an entry boundary, or with `search_within`, at the first block in
    /// that many bytes from `from` that looks like a header (else it gives up: the split
    /// point is inside a big file, and reading all of it to find the next header would cost
    /// more than the first part's walk on). With `stop_at`, it stops at the first entry
    /// boundary at or past that offset. `from` is rounded up to a block.
    pub fn part(size: u64, from: u64, search_within: Option<u64>, stop_at: Option<u64>) -> Self {
        let from = from.saturating_add(511) & !511;
        let mut indexer = ChunkIndexer::new(size);
        indexer.boundary = from;
        indexer.state = if from >= size { Need::GiveUp } else { Need::At(from) };
        indexer.search = search_within.map(|_| from);
        indexer.search_end = from.saturating_add(search_within.unwrap_or(0));
        indexer.stop_at = stop_at;
        indexer
    }

    /// What the walk needs now.
    pub fn need(&self) -> Need {
        self.state
    }

    /// The layer's bytes at `offset..offset + bytes.len()`. Chunks need not line up with
    /// anything; bytes before the current need are ignored, and a chunk that starts past it
    /// (a gap) is ignored too. Returns what the walk needs next.
    pub fn feed(&mut self, offset: u64, bytes: &[u8]) -> Need {
        self.feed_with(offset, bytes.len(), |dst, from| {
            dst.copy_from_slice(&bytes[from..from + dst.len()])
        })
    }

    /// As [`ChunkIndexer::feed`] for bytes that live elsewhere (JS memory): `copy(dst, from)`
    /// fills `dst` with the chunk's bytes starting at `from`. Only the bytes the walk can
    /// still need are copied.
    pub fn feed_with(
        &mut self,
        offset: u64,
        len: usize,
        copy: impl FnOnce(&mut [u8], usize),
    ) -> Need {
        let Need::At(need) = self.state else {
            return self.state;
        };
        let end = offset.saturating_add(len as u64);
        if end <= need || offset > need {
            return self.state;
        }
        // Keep `buf` from the boundary on, then append the chunk from `need` on.
        let keep_from = self.boundary.max(self.buf_start);
        let buf_end = self.buf_start + self.buf.len() as u64;
        if self.buf.is_empty() || buf_end != need || keep_from > buf_end {
            self.buf.clear();
            self.buf_start = need;
        } else if keep_from > self.buf_start {
            self.buf.drain(..(keep_from - self.buf_start) as usize);
            self.buf_start = keep_from;
        }
        let from = (need - offset) as usize;
        let old = self.buf.len();
        self.buf.resize(old + (len - from), 0);
        copy(&mut self.buf[old..], from);
        if let Some(found) = self.search {
            match self.find_header(found) {
                Ok(header) => {
                    self.search = None;
                    self.boundary = header;
                }
                Err(next) => return next,
            }
        }
        let need = self.walk();
        // Still waiting, with this much buffered from one boundary: only a huge extension
        // header (PAX records, a GNU long name) does that.
        let buf_end = self.buf_start + self.buf.len() as u64;
        if matches!(need, Need::At(_))
            && buf_end.saturating_sub(self.boundary.max(self.buf_start)) > MAX_PENDING as u64
        {
            return self.give_up();
        }
        need
    }

    /// The first block at or past `from` in the buffer that looks like a header; else
    /// what to read next (the search goes on from the first block not fully buffered).
    fn find_header(&mut self, from: u64) -> Result<u64, Need> {
        let buf_end = self.buf_start + self.buf.len() as u64;
        let mut at = from.max(self.buf_start.saturating_add(511) & !511);
        while at.saturating_add(512) <= buf_end.min(self.size) {
            let i = (at - self.buf_start) as usize;
            if looks_like_header(&self.buf[i..i + 512]) {
                return Ok(at);
            }
            at += 512;
        }
        if at.saturating_add(512) > self.size || at >= self.search_end {
            return Err(self.give_up());
        }
        self.search = Some(at);
        self.boundary = at; // keep only the block not fully read yet
        self.state = Need::At(buf_end);
        Err(self.state)
    }

    /// Walk every entry the buffered bytes allow, from the boundary on.
    fn walk(&mut self) -> Need {
        let base = self.boundary;
        let mut src = Avail {
            buf: &self.buf,
            buf_start: self.buf_start,
            size: self.size,
            base,
            pos: 0,
            starved: false,
        };
        let mut failed = false;
        let seen;
        {
            // The same guard as every other walk: it reads the PAX records (and refuses
            // oversized ones) the way the synchronous walk does.
            let guard = crate::tar_guard::TarGuard::new(&mut src);
            seen = guard.extensions();
            let mut archive = tar::Archive::new(guard);
            let Ok(entries) = archive.entries_with_seek() else {
                return self.give_up();
            };
            for entry in entries {
                let Ok(mut entry) = entry else {
                    failed = true;
                    break;
                };
                if entry.header().entry_type().is_gnu_sparse() {
                    return self.give_up();
                }
                // Where the next entry starts: what tar-rs itself seeks to next.
                let Some(next) = entry
                    .raw_file_position()
                    .checked_add(entry.size())
                    .and_then(|e| e.checked_add(511))
                else {
                    return self.give_up();
                };
                if layer::is_global_header(entry.header().entry_type()) {
                    // Not an entry of the index (and so not a start a split can join at);
                    // but its data and padding must be in the layer as any entry's are.
                    self.boundary = base.saturating_add(next & !511);
                    if self.boundary > self.size {
                        return self.give_up();
                    }
                    continue;
                }
                let Ok(mut record) = layer::entry_record(&mut entry, &seen) else {
                    return self.give_up();
                };
                if self.budget.admit(&record).is_err() {
                    return self.give_up();
                }
                record.data_offset = record.data_offset.saturating_add(base);
                if layer::padded_end(&record) > self.size {
                    return self.give_up();
                }
                self.index.entries.push(record);
                self.starts.push(self.boundary);
                self.boundary = base.saturating_add(next & !511);
                // (At the layer's end there is nothing left to split: finish instead.)
                if self.stop_at.is_some_and(|stop| self.boundary >= stop) && self.boundary < self.size {
                    self.stopped_at = Some(self.boundary);
                    self.buf = Vec::new();
                    self.state = Need::Done;
                    return self.state;
                }
            }
        }
        if !failed {
            // The walk reached the end of the archive. Unless what follows the first zero
            // block is here and is what the runtimes accept, the synchronous walk decides.
            if let Some(z) = seen.end_marker() {
                let from = base.saturating_add(z).saturating_add(512).min(self.size);
                let to = from.saturating_add(512).min(self.size);
                let buf_end = self.buf_start + self.buf.len() as u64;
                if from < self.size {
                    if from < self.buf_start {
                        return self.give_up();
                    }
                    if to > buf_end {
                        // Not read yet: ask for it, and walk again from the boundary.
                        self.state = Need::At(buf_end);
                        return self.state;
                    }
                    let after = &self.buf[(from - self.buf_start) as usize..(to - self.buf_start) as usize];
                    if crate::tar_guard::lone_zero_block(after) {
                        return self.give_up();
                    }
                }
            }
            self.starts.push(self.boundary);
            self.buf = Vec::new();
            self.state = Need::Done;
            return self.state;
        }
        if !src.starved {
            return self.give_up();
        }
        // Out of buffered bytes: wait for more from the boundary on (from the buffer's end
        // when the bytes at the boundary are partly here already).
        let buf_end = self.buf_start + self.buf.len() as u64;
        let need = if self.boundary >= self.buf_start && self.boundary < buf_end {
            buf_end
        } else {
            self.boundary
        };
        if need >= self.size {
            return self.give_up();
        }
        self.state = Need::At(need);
        self.state
    }

    fn give_up(&mut self) -> Need {
        self.buf = Vec::new();
        self.state = Need::GiveUp;
        self.state
    }

    /// The index, once [`Need::Done`] (for a part, use [`ChunkIndexer::finish_part`]).
    pub fn finish(self) -> Option<LayerIndex> {
        (self.state == Need::Done && self.stopped_at.is_none()).then_some(self.index)
    }

    /// What this part of a split walk found, once [`Need::Done`].
    pub fn finish_part(self) -> Option<IndexPart> {
        (self.state == Need::Done).then_some(IndexPart {
            index: self.index,
            starts: self.starts,
            stopped_at: self.stopped_at,
        })
    }
}

/// The walk's view of the layer from `base` on: reads are served from the buffer, a read
/// of bytes not buffered fails and marks the walk starved; seeks are free.
struct Avail<'a> {
    buf: &'a [u8],
    buf_start: u64,
    size: u64,
    base: u64,
    pos: u64,
    starved: bool,
}

impl Read for Avail<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let at = self.base.saturating_add(self.pos);
        if out.is_empty() || at >= self.size {
            return Ok(0);
        }
        let buf_end = self.buf_start + self.buf.len() as u64;
        if at < self.buf_start || at >= buf_end {
            self.starved = true;
            return Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                "bytes not read yet",
            ));
        }
        let from = (at - self.buf_start) as usize;
        let n = out
            .len()
            .min(self.buf.len() - from)
            .min((self.size - at).min(usize::MAX as u64) as usize);
        out[..n].copy_from_slice(&self.buf[from..from + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for Avail<'_> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.pos = crate::io::seek_target(pos, self.pos, self.size.saturating_sub(self.base))?;
        Ok(self.pos)
    }
}

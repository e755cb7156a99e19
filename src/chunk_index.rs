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
        }
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
        {
            let mut archive = tar::Archive::new(&mut src);
            let Ok(entries) = archive.entries_with_seek() else {
                return self.give_up();
            };
            for entry in entries {
                let Ok(entry) = entry else {
                    failed = true;
                    break;
                };
                if entry.header().entry_type().is_gnu_sparse()
                    || self.index.entries.len() >= layer::MAX_ENTRIES_PER_LAYER
                {
                    return self.give_up();
                }
                let Ok(mut record) = layer::entry_record(&entry) else {
                    return self.give_up();
                };
                record.data_offset = record.data_offset.saturating_add(base);
                if record.data_offset.saturating_add(record.size) > self.size {
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
                self.index.entries.push(record);
                self.boundary = base.saturating_add(next & !511);
            }
        }
        if !failed {
            // The walk reached the end of the archive.
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

    /// The index, once [`Need::Done`].
    pub fn finish(self) -> Option<LayerIndex> {
        (self.state == Need::Done).then_some(self.index)
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

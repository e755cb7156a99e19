//! The one chunk policy of the browser's synchronous readers: a `Read + Seek` over any
//! "fetch bytes [a, b)" — a `Blob` (`blob_reader.rs`: `FileReaderSync`) or a file on a web
//! server (`http_reader.rs`: a synchronous range request). Both pay a fixed cost per call
//! (~0.7 ms for `FileReaderSync`, ~1–2 ms for a request over loopback, tens of ms over the
//! internet) plus a cost per byte, and both are read in the same two ways: hopping from tar
//! header to tar header (small reads far apart) and streaming (reads one after the other).
//!
//! One chunk is cached: small reads near each other (tar headers, `BufReader` refills) are
//! served from it. On a miss the next chunk's size follows the reads:
//! - just past the cached chunk (at most `near_gap` beyond it: cheaper to read through than
//!   to pay another call): streaming, so the chunk doubles, up to `max_chunk`;
//! - a forward jump no longer than the chunk just read: the walk is still in a region of
//!   small files, so the chunk keeps its size (resetting it there made a walk through a run
//!   of medium files start again at 64 KiB at every file);
//! - anything else (a long jump over a big file, a seek back): `min_chunk` again, so a jump
//!   over a big file reads little.
//!
//! A read at least as big as the next chunk is fetched at its own size (bounded by
//! `max_chunk`), and what it read stays cached: a seek back into it costs nothing.
//!
//! Plain Rust with no browser types, so `tests/chunk_cache.rs` checks the policy natively
//! against a counting fake source.

use std::io::{self, Read, Seek, SeekFrom};

/// Where a [`ChunkCache`] gets its bytes.
pub trait FetchRange {
    /// Put bytes `[start, start + len)` into `out` (cleared first). The cache never asks
    /// past the size it was given, so fewer bytes than asked is an error for the source to
    /// report (a file that changed under the reads), not a short read.
    fn fetch(&mut self, start: u64, len: usize, out: &mut Vec<u8>) -> io::Result<()>;
}

/// How big the reads are (see the module's comment).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkPolicy {
    /// The first read, and the read after a long jump or a seek back.
    pub min_chunk: usize,
    /// The largest single read.
    pub max_chunk: usize,
    /// A miss at most this far past the cached chunk counts as sequential.
    pub near_gap: u64,
}

impl ChunkPolicy {
    /// The same policy with a smaller largest read (`min_chunk` shrinks with it).
    pub fn capped(self, max_chunk: usize) -> ChunkPolicy {
        let max_chunk = max_chunk.max(1);
        ChunkPolicy { min_chunk: self.min_chunk.min(max_chunk), max_chunk, near_gap: self.near_gap }
    }
}

/// A synchronous `Read + Seek` over `source`, a file of `size` bytes, with one cached chunk
/// sized by `policy`.
pub struct ChunkCache<S> {
    pub(crate) source: S,
    size: u64,
    pos: u64,
    cache: Vec<u8>,
    cache_start: u64,
    next_chunk: usize,
    policy: ChunkPolicy,
    /// Calls into the source so far (tests check the cache with it).
    pub fetches: u64,
}

impl<S: FetchRange> ChunkCache<S> {
    /// A reader of `size` bytes of `source`, at position 0, with nothing cached yet.
    pub fn over(source: S, size: u64, policy: ChunkPolicy) -> ChunkCache<S> {
        let policy = policy.capped(policy.max_chunk);
        ChunkCache { source, size, pos: 0, cache: Vec::new(), cache_start: 0, next_chunk: policy.min_chunk, policy, fetches: 0 }
    }

    /// Bytes the caller already has from `start` on (e.g. the page's probe of a web server
    /// fetched the first 64 KiB): cached as if this reader had read them, so the first read
    /// there costs no call. Bytes past the file's size are ignored.
    pub fn with_cached(mut self, start: u64, mut bytes: Vec<u8>) -> ChunkCache<S> {
        if start < self.size {
            bytes.truncate((self.size - start).min(usize::MAX as u64) as usize);
            self.cache = bytes;
            self.cache_start = start;
        }
        self
    }

    pub fn len(&self) -> u64 {
        self.size
    }

    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// The size of the next chunk for a miss at `pos` (see the module's comment).
    fn chunk_for_miss(&self, pos: u64) -> usize {
        let cache_end = self.cache_start + self.cache.len() as u64;
        if self.cache.is_empty() || pos < cache_end {
            // Nothing read yet, or a seek back (before the cached chunk).
            return self.policy.min_chunk;
        }
        let gap = pos - cache_end;
        if gap <= self.policy.near_gap {
            self.next_chunk.saturating_mul(2).min(self.policy.max_chunk)
        } else if gap <= self.cache.len() as u64 {
            self.next_chunk
        } else {
            self.policy.min_chunk
        }
    }
}

impl<S: FetchRange> Read for ChunkCache<S> {
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
        self.next_chunk = self.chunk_for_miss(self.pos);
        let remaining = (self.size - self.pos).min(usize::MAX as u64) as usize;
        // A read bigger than the next chunk is fetched at its own size (still bounded).
        let want = buf.len().max(self.next_chunk).min(self.policy.max_chunk).min(remaining);
        // The cache's buffer is reused for the new chunk (no fresh allocation per miss);
        // on an error it is gone, so nothing half-read stays cached.
        let mut chunk = std::mem::take(&mut self.cache);
        let start = self.pos;
        self.fetches += 1;
        self.source.fetch(start, want, &mut chunk)?;
        if chunk.len() != want {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("got {} bytes at byte {start} where {want} were expected; was the file changed?", chunk.len()),
            ));
        }
        self.cache = chunk;
        self.cache_start = start;
        let n = buf.len().min(self.cache.len());
        buf[..n].copy_from_slice(&self.cache[..n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl<S: FetchRange> Seek for ChunkCache<S> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let new = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.size.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = new.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        Ok(self.pos)
    }
}

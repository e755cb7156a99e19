//! A synchronous `Read + Seek` over a `Blob` (`Blob.slice` + `FileReaderSync`, which only
//! exists in workers).

use super::js_message;
use crate::Error;
use js_sys::Uint8Array;
use std::io::{self, Read, Seek, SeekFrom};
use wasm_bindgen::prelude::*;
use web_sys::{Blob, FileReaderSync};

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


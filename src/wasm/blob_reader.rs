//! A synchronous `Read + Seek` over a `Blob` (`Blob.slice` + `FileReaderSync`, which only
//! exists in workers).

use super::chunk_cache::{ChunkCache, ChunkPolicy, FetchRange};
use super::js_message;
use crate::Error;
use js_sys::Uint8Array;
use std::io;
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

/// A synchronous `Read + Seek` over a `Blob`, for use in a worker: the shared chunk cache
/// ([`ChunkCache`]: one cached chunk, 64 KiB after a jump, doubling to [`MAX_CHUNK`] while
/// reads stream) over `FileReaderSync` reads.
pub type BlobReader = ChunkCache<BlobFile>;

/// The chunk policy of a `Blob`.
pub const BLOB_POLICY: ChunkPolicy = ChunkPolicy { min_chunk: MIN_CHUNK, max_chunk: MAX_CHUNK, near_gap: NEAR_GAP };

/// A `Blob` as a source of byte ranges: one `Blob.slice` + `FileReaderSync` read each.
pub struct BlobFile {
    blob: Blob,
    reader: FileReaderSync,
    size: u64,
}

impl ChunkCache<BlobFile> {
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
        let size = size as u64;
        Ok(ChunkCache::over(BlobFile { blob, reader, size }, size, BLOB_POLICY.capped(max_chunk)))
    }
}

impl FetchRange for BlobFile {
    /// Read `[start, start + len)` of the blob into `out` (exactly `len` bytes, or fewer at the end).
    fn fetch(&mut self, start: u64, len: usize, out: &mut Vec<u8>) -> io::Result<()> {
        let end = start.saturating_add(len as u64).min(self.size);
        out.clear();
        if end <= start {
            return Ok(());
        }
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

//! Small reader adapters. The core does no I/O of its own: it reads from whatever
//! `Read + Seek` source the shell hands it (a file natively, a Blob in the browser).

use sha2::{Digest, Sha256};
use std::io::{self, Read, Seek, SeekFrom};

/// Any seekable byte source.
pub trait ReadSeek: Read + Seek {}
impl<T: Read + Seek + ?Sized> ReadSeek for T {}

/// Format a SHA-256 as `sha256:<hex>`.
pub fn sha256_digest(hasher: Sha256) -> String {
    let bytes = hasher.finalize();
    let mut s = String::with_capacity(71);
    s.push_str("sha256:");
    for b in bytes.iter() {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

pub fn sha256_of(bytes: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(bytes);
    sha256_digest(h)
}

/// Hashes and counts every byte read through it.
pub struct HashingReader<R> {
    pub inner: R,
    pub hasher: Sha256,
    pub count: u64,
}

impl<R: Read> HashingReader<R> {
    pub fn new(inner: R) -> Self {
        HashingReader { inner, hasher: Sha256::new(), count: 0 }
    }
    pub fn finish(self) -> (String, u64) {
        (sha256_digest(self.hasher), self.count)
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

/// Counts bytes and reports progress every `step` bytes through a callback.
pub struct ProgressReader<'p, R> {
    pub inner: R,
    pub count: u64,
    next_report: u64,
    step: u64,
    callback: &'p mut dyn FnMut(u64),
}

impl<'p, R: Read> ProgressReader<'p, R> {
    pub fn new(inner: R, step: u64, callback: &'p mut dyn FnMut(u64)) -> Self {
        ProgressReader { inner, count: 0, next_report: step, step, callback }
    }
}

impl<R: Read> Read for ProgressReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        if self.count >= self.next_report {
            self.next_report = self.count + self.step;
            (self.callback)(self.count);
        }
        Ok(n)
    }
}

/// A window `[start, start+len)` of a seekable source, read sequentially.
/// Fails with `UnexpectedEof` if the source ends before the window does.
pub struct Window<'a> {
    src: &'a mut dyn ReadSeek,
    remaining: u64,
    positioned: Option<u64>,
}

impl<'a> Window<'a> {
    pub fn new(src: &'a mut dyn ReadSeek, start: u64, len: u64) -> Self {
        Window { src, remaining: len, positioned: Some(start) }
    }
}

impl Read for Window<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(start) = self.positioned.take() {
            self.src.seek(SeekFrom::Start(start))?;
        }
        if self.remaining == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = buf.len().min(self.remaining.min(usize::MAX as u64) as usize);
        let n = self.src.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "source ended inside an entry"));
        }
        self.remaining -= n as u64;
        Ok(n)
    }
}

/// Read at most `cap` bytes; more is an error (protects against huge "small" files).
pub fn read_capped(r: &mut dyn Read, cap: u64) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let n = r.take(cap + 1).read_to_end(&mut out)?;
    if n as u64 > cap {
        return Err(io::Error::new(io::ErrorKind::InvalidData, format!("larger than the {cap}-byte limit")));
    }
    Ok(out)
}

/// A reader that hands out at most `max` bytes per call (for tests: tar and
/// decompressors must cope with short reads).
pub struct ShortReads<R> {
    pub inner: R,
    pub max: usize,
    pub calls: usize,
}

impl<R: Read> Read for ShortReads<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.calls += 1;
        // Vary 1..=max so every boundary gets exercised.
        let n = 1 + (self.calls * 7919) % self.max.max(1);
        let n = n.min(buf.len());
        self.inner.read(&mut buf[..n])
    }
}

impl<R: Seek> Seek for ShortReads<R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos)
    }
}

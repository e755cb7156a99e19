//! Small reader adapters. The core does no I/O of its own: it reads from whatever
//! `Read + Seek` source the shell hands it (a file natively, a Blob in the browser).

use sha2::{Digest, Sha256};
use std::io::{self, Read, Seek, SeekFrom};

/// Any seekable byte source.
pub trait ReadSeek: Read + Seek {}
impl<T: Read + Seek + ?Sized> ReadSeek for T {}

/// Where a seek lands, for readers that keep their own position over a source of known
/// length. Seeking past the end is allowed (reads there return 0), before the start is not.
pub fn seek_target(to: SeekFrom, current: u64, len: u64) -> io::Result<u64> {
    let new = match to {
        SeekFrom::Start(p) => Some(p),
        SeekFrom::End(d) => len.checked_add_signed(d),
        SeekFrom::Current(d) => current.checked_add_signed(d),
    };
    new.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))
}

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
    /// `None`: only count (the digest is computed elsewhere, e.g. by WebCrypto).
    pub hasher: Option<Sha256>,
    pub count: u64,
}

impl<R: Read> HashingReader<R> {
    pub fn new(inner: R) -> Self {
        HashingReader { inner, hasher: Some(Sha256::new()), count: 0 }
    }
    /// Counts the bytes but does not hash them.
    pub fn counting(inner: R) -> Self {
        HashingReader { inner, hasher: None, count: 0 }
    }
    /// `sha256:<hex>` (empty when only counting) and the byte count.
    pub fn finish(self) -> (String, u64) {
        (self.hasher.map(sha256_digest).unwrap_or_default(), self.count)
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(h) = &mut self.hasher {
            h.update(&buf[..n]);
        }
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

/// A window `[start, start+len)` of a seekable source (borrowed or owned), read
/// sequentially. Fails with `UnexpectedEof` if the source ends before the window does.
pub struct Window<S> {
    src: S,
    remaining: u64,
    positioned: Option<u64>,
}

impl<S: ReadSeek> Window<S> {
    pub fn new(src: S, start: u64, len: u64) -> Self {
        Window { src, remaining: len, positioned: Some(start) }
    }
}

impl<S: ReadSeek> Read for Window<S> {
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

/// One source shared by several readers, each with a position of its own: decoders kept
/// alive between reads (one per layer while exporting) take turns on the same file. Every
/// read seeks first, since another handle may have moved the source.
#[derive(Clone)]
pub struct SharedSource<'a> {
    inner: std::rc::Rc<std::cell::RefCell<dyn ReadSeek + 'a>>,
    pos: u64,
}

impl<'a> SharedSource<'a> {
    pub fn new(src: &'a mut dyn ReadSeek) -> Self {
        Self::owning(src)
    }

    /// A source that owns `src` (the browser's Session keeps one, so decoders kept between
    /// requests can hold clones of it).
    pub fn owning(src: impl ReadSeek + 'a) -> Self {
        SharedSource { inner: std::rc::Rc::new(std::cell::RefCell::new(src)), pos: 0 }
    }
}

impl Read for SharedSource<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut src = self.inner.borrow_mut();
        src.seek(SeekFrom::Start(self.pos))?;
        let n = src.read(buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for SharedSource<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let len = match to {
            SeekFrom::End(_) => self.inner.borrow_mut().seek(SeekFrom::End(0))?,
            _ => u64::MAX,
        };
        self.pos = seek_target(to, self.pos, len)?;
        Ok(self.pos)
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

/// A buffered reader for seek-heavy access (tar header walks). Unlike `std::io::BufReader`,
/// a seek does not throw the buffer away: a read that lands inside it is served from memory,
/// and the source is only sought when a read misses. Random misses fill a small buffer;
/// sequential reads double it up to `max`, so streaming stays cheap too.
pub struct SeekBufReader<R> {
    inner: R,
    buf: Vec<u8>,
    /// Absolute position of `buf[0]` and how many bytes of `buf` are valid.
    buf_start: u64,
    filled: usize,
    /// The logical position, and where the source really is (if known).
    pos: u64,
    inner_pos: Option<u64>,
    len: Option<u64>,
    min_fill: usize,
    next_fill: usize,
}

impl<R: Read + Seek> SeekBufReader<R> {
    pub fn new(inner: R) -> Self {
        Self::with_sizes(inner, 64 * 1024, 4 << 20)
    }

    /// `min_fill`: bytes fetched on a random miss; `max`: the largest fill when reading on.
    pub fn with_sizes(inner: R, min_fill: usize, max: usize) -> Self {
        let max = max.max(min_fill).max(512);
        SeekBufReader {
            inner,
            buf: vec![0; max],
            buf_start: 0,
            filled: 0,
            pos: 0,
            inner_pos: None,
            len: None,
            min_fill: min_fill.max(512),
            next_fill: min_fill.max(512),
        }
    }

    pub fn into_inner(self) -> R {
        self.inner
    }

    fn buffered(&self) -> Option<&[u8]> {
        let start = self.pos.checked_sub(self.buf_start)?;
        (start < self.filled as u64).then(|| &self.buf[start as usize..self.filled])
    }

    fn seek_inner_to_pos(&mut self) -> io::Result<()> {
        if self.inner_pos != Some(self.pos) {
            self.inner.seek(SeekFrom::Start(self.pos))?;
            self.inner_pos = Some(self.pos);
        }
        Ok(())
    }
}

impl<R: Read + Seek> Read for SeekBufReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if let Some(avail) = self.buffered() {
            let n = avail.len().min(out.len());
            out[..n].copy_from_slice(&avail[..n]);
            self.pos += n as u64;
            return Ok(n);
        }
        let sequential = self.pos == self.buf_start + self.filled as u64;
        self.next_fill = if sequential { (self.next_fill * 2).min(self.buf.len()) } else { self.min_fill };
        self.seek_inner_to_pos()?;
        if out.len() >= self.next_fill {
            // Big reads go straight to the caller's buffer.
            let n = self.inner.read(out)?;
            self.pos += n as u64;
            self.inner_pos = Some(self.pos);
            return Ok(n);
        }
        let fill = self.next_fill;
        let n = self.inner.read(&mut self.buf[..fill])?;
        self.buf_start = self.pos;
        self.filled = n;
        self.inner_pos = Some(self.pos + n as u64);
        let n = n.min(out.len());
        out[..n].copy_from_slice(&self.buf[..n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R: Read + Seek> Seek for SeekBufReader<R> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        // The length is only needed (and asked of the source, once) for seeks from the end.
        let len = match (to, self.len) {
            (SeekFrom::End(_), None) => {
                let l = self.inner.seek(SeekFrom::End(0))?;
                self.inner_pos = Some(l);
                self.len = Some(l);
                l
            }
            (_, len) => len.unwrap_or(u64::MAX),
        };
        self.pos = seek_target(to, self.pos, len)?;
        Ok(self.pos)
    }
}

#[cfg(test)]
mod seek_buf_tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn reads_the_same_bytes_as_the_source_under_any_seek_pattern() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 31 % 251) as u8).collect();
        let mut r = SeekBufReader::with_sizes(Cursor::new(data.clone()), 1000, 16_000);
        let mut pos = 0u64;
        let mut buf = vec![0u8; 7000];
        for step in 0..2000u64 {
            let target = (step * 7919 + pos * 13) % data.len() as u64;
            let how = step % 3;
            pos = match how {
                0 => r.seek(SeekFrom::Start(target)).unwrap(),
                1 => r.seek(SeekFrom::Current(((target as i64) - pos as i64) / 3)).unwrap(),
                _ => r.seek(SeekFrom::End(-((target % 5000) as i64))).unwrap(),
            };
            let want = 1 + (step as usize * 37) % buf.len();
            let n = r.read(&mut buf[..want]).unwrap();
            let p = pos as usize;
            assert_eq!(&buf[..n], &data[p..(p + n).min(data.len())], "step {step}");
            assert!(n > 0 || p == data.len());
            pos += n as u64;
        }
    }
}

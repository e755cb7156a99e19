//! Gzip with random access: a multi-member gzip reader that can note *access points* as it
//! decompresses, and start again at one later.
//!
//! An access point (the idea of zlib's `examples/zran.c`) is a deflate block boundary: its
//! bit position in the compressed stream, its offset in the uncompressed stream, and the up
//! to 32 KiB of output before it (all a back-reference can reach). Inflate restarts there in
//! raw mode: prime the bits left of a partly used byte, set the window as the dictionary,
//! feed the input from the next byte. One pass over a gzip layer (verify) or a gzip'd whole
//! archive (the streaming scan) records the points; afterwards one file costs inflating at
//! most one spacing of bytes, not the whole stream up to the file.
//!
//! flate2 does not expose block boundaries, `inflatePrime` or the window, so this speaks
//! zlib's own API through `libz-rs-sys`: the same pure-Rust zlib-rs that flate2 uses here,
//! so it runs in wasm as natively.

use libz_rs_sys as z;
use serde::{Deserialize, Serialize};
use std::ffi::CStr;
use std::io::{self, Read};

/// The first spacing between access points, in uncompressed bytes.
const FIRST_SPACING: u64 = 2 << 20;
/// At most this many points per stream. When a new point would pass it, the spacing doubles
/// and the points are thinned to it: the index stays under 2 MiB of windows for any size.
pub const MAX_POINTS: usize = 64;
/// Deflate's window: the farthest a back-reference reaches.
const WINDOW: usize = 32 * 1024;
const INPUT_BUFFER: usize = 128 * 1024;
/// zlib's `windowBits` for a raw deflate stream and for a gzip member.
const RAW: i32 = -15;
const GZIP: i32 = 15 + 16;

/// Where inflate can restart inside a gzip stream (or, with no window, where a zstd frame
/// starts: see [`crate::decompress`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessPoint {
    /// Offset in the uncompressed stream.
    pub out: u64,
    /// Bit offset in the compressed stream where the next deflate block begins.
    pub bit: u64,
    /// The uncompressed bytes before `out` in the same member (at most 32 KiB).
    pub window: Vec<u8>,
}

/// The access points of one gzip (or zstd) stream, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessIndex {
    /// Uncompressed bytes between neighbouring points (and from the start to the first).
    pub spacing: u64,
    pub points: Vec<AccessPoint>,
}

impl AccessIndex {
    pub(crate) fn new() -> Self {
        AccessIndex::with_spacing(FIRST_SPACING)
    }

    pub(crate) fn with_spacing(spacing: u64) -> Self {
        AccessIndex { spacing, points: Vec::new() }
    }

    /// The last point at or before uncompressed offset `target` (`None`: start from the top).
    pub fn point_before(&self, target: u64) -> Option<&AccessPoint> {
        let after = self.points.partition_point(|p| p.out <= target);
        after.checked_sub(1).map(|i| &self.points[i])
    }

    pub(crate) fn due(&self, out: u64) -> bool {
        out >= self.points.last().map_or(0, |p| p.out) + self.spacing
    }

    pub(crate) fn push(&mut self, point: AccessPoint) {
        self.push_up_to(point, MAX_POINTS);
    }

    /// Add a point; past `max` points, double the spacing and thin the points to it.
    pub(crate) fn push_up_to(&mut self, point: AccessPoint, max: usize) {
        self.points.push(point);
        if self.points.len() <= max {
            return;
        }
        self.spacing *= 2;
        let mut kept: Vec<AccessPoint> = Vec::with_capacity(max);
        for p in std::mem::take(&mut self.points) {
            if p.out >= kept.last().map_or(0, |k| k.out) + self.spacing {
                kept.push(p);
            }
        }
        self.points = kept;
    }
}

/// What the reader is doing between calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Inflating a member. `raw`: started at an access point, so zlib does not see the
    /// member's header and trailer (the trailer is skipped, its CRC cannot be checked).
    Inflating { raw: bool },
    /// Skipping what is left of a member's 8-byte trailer after a raw restart.
    Trailer { left: u8 },
    /// A member ended: another one follows, or the stream ends.
    BetweenMembers,
    Done,
}

/// A gzip decompressor over `R` (multi-member, like `flate2::read::MultiGzDecoder`: each
/// member's CRC-32 and length are checked when it was read from its start).
pub struct GzipReader<R> {
    source: R,
    /// zlib keeps pointers into its own state: boxed so it never moves.
    stream: Box<z::z_stream>,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    source_done: bool,
    /// Compressed offset of `buf[end]` (the next byte the source yields).
    source_pos: u64,
    /// Uncompressed bytes produced so far (an absolute offset after a restart).
    produced: u64,
    phase: Phase,
    recording: Option<AccessIndex>,
}

impl<R: Read> GzipReader<R> {
    /// Decompress from the first byte of a gzip stream.
    pub fn new(source: R) -> io::Result<Self> {
        let mut reader = GzipReader::with_window_bits(source, GZIP)?;
        reader.phase = Phase::Inflating { raw: false };
        Ok(reader)
    }

    /// As [`GzipReader::new`], noting access points as it goes ([`GzipReader::take_index`]).
    pub fn recording(source: R) -> io::Result<Self> {
        let mut reader = GzipReader::new(source)?;
        reader.recording = Some(AccessIndex::new());
        Ok(reader)
    }

    /// Restart at `point`. `source` must yield the compressed stream from byte
    /// `point.bit / 8` on; the reader's offsets count from the stream's start as before.
    pub fn resume(point: &AccessPoint, source: R) -> io::Result<Self> {
        let mut reader = GzipReader::with_window_bits(source, RAW)?;
        reader.source_pos = point.bit / 8;
        reader.produced = point.out;
        reader.phase = Phase::Inflating { raw: true };
        let used_bits = (point.bit % 8) as i32;
        if used_bits != 0 {
            if !reader.fill()? {
                return Err(reader.truncated());
            }
            let byte = i32::from(reader.buf[reader.start]);
            reader.start += 1;
            // SAFETY: `stream` was initialised by inflateInit2_ and is not moved.
            let ret = unsafe { z::inflatePrime(&mut *reader.stream, 8 - used_bits, byte >> used_bits) };
            reader.check_setup(ret, "inflatePrime")?;
        }
        if !point.window.is_empty() {
            let len = point.window.len().min(WINDOW) as u32;
            // SAFETY: as above; the dictionary pointer is valid for `len` bytes.
            let ret = unsafe { z::inflateSetDictionary(&mut *reader.stream, point.window.as_ptr(), len) };
            reader.check_setup(ret, "inflateSetDictionary")?;
        }
        Ok(reader)
    }

    fn with_window_bits(source: R, window_bits: i32) -> io::Result<Self> {
        let mut stream = Box::new(z::z_stream::default());
        let size = std::mem::size_of::<z::z_stream>() as i32;
        // SAFETY: `stream` is a default (allocator-configured) z_stream that stays boxed.
        let ret = unsafe { z::inflateInit2_(&mut *stream, window_bits, z::zlibVersion(), size) };
        if ret != z::Z_OK {
            return Err(io::Error::other(format!("gzip: inflateInit2 failed ({ret})")));
        }
        Ok(GzipReader {
            source,
            stream,
            buf: vec![0u8; INPUT_BUFFER].into_boxed_slice(),
            start: 0,
            end: 0,
            source_done: false,
            source_pos: 0,
            produced: 0,
            phase: Phase::Done,
            recording: None,
        })
    }

    /// The access points noted so far (for a recording reader, after reading to the end).
    pub fn take_index(&mut self) -> Option<AccessIndex> {
        self.recording.take()
    }

    /// Compressed offset of the first input byte zlib has not taken yet.
    fn consumed(&self) -> u64 {
        self.source_pos - (self.end - self.start) as u64
    }

    /// Move unread input to the front and read more. Returns false at the source's end.
    fn fill(&mut self) -> io::Result<bool> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.source_done || self.end == self.buf.len() {
            return Ok(self.end > self.start);
        }
        loop {
            match self.source.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.source_done = true;
                    return Ok(self.end > self.start);
                }
                Ok(n) => {
                    self.end += n;
                    self.source_pos += n as u64;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    fn truncated(&self) -> io::Error {
        io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("gzip stream ends early (after {} compressed bytes)", self.consumed()),
        )
    }

    fn check_setup(&self, ret: i32, what: &str) -> io::Result<()> {
        if ret == z::Z_OK {
            Ok(())
        } else {
            Err(io::Error::other(format!("gzip: {what} failed ({ret})")))
        }
    }

    fn zlib_message(&self) -> String {
        if self.stream.msg.is_null() {
            return "invalid deflate data".into();
        }
        // SAFETY: zlib-rs sets `msg` to a static NUL-terminated string.
        unsafe { CStr::from_ptr(self.stream.msg) }.to_string_lossy().into_owned()
    }

    /// One call to inflate. Returns the bytes written to `out`.
    fn inflate_once(&mut self, out: &mut [u8], raw: bool) -> io::Result<usize> {
        let in_len = self.end - self.start;
        let out_len = out.len().min(u32::MAX as usize);
        let s = &mut *self.stream;
        s.next_in = self.buf[self.start..self.end].as_ptr();
        s.avail_in = in_len as u32;
        s.next_out = out.as_mut_ptr();
        s.avail_out = out_len as u32;
        let flush = if self.recording.is_some() { z::Z_BLOCK } else { z::Z_NO_FLUSH };
        // SAFETY: the stream is initialised and boxed; next_in/next_out point into live
        // buffers of the given lengths, which zlib does not touch after the call returns.
        let ret = unsafe { z::inflate(s, flush) };
        let used = in_len - s.avail_in as usize;
        let wrote = out_len - s.avail_out as usize;
        let data_type = s.data_type;
        s.next_in = std::ptr::null();
        s.next_out = std::ptr::null_mut();
        self.start += used;
        self.produced += wrote as u64;
        match ret {
            z::Z_OK | z::Z_BUF_ERROR => {
                self.note_point(data_type);
                if used == 0 && wrote == 0 && (self.source_done || self.start < self.end) {
                    // Nothing moved: no more input is coming, or zlib refused what it has.
                    return Err(if self.source_done && self.start == self.end {
                        self.truncated()
                    } else {
                        io::Error::new(io::ErrorKind::InvalidData, "gzip: inflate made no progress")
                    });
                }
            }
            z::Z_STREAM_END => {
                self.phase = if raw {
                    // zlib stopped at the end of the deflate data; whole bytes it still
                    // holds are the trailer's first bytes.
                    let held = ((data_type & 63) / 8) as u8;
                    Phase::Trailer { left: 8u8.saturating_sub(held) }
                } else {
                    Phase::BetweenMembers
                };
            }
            z::Z_DATA_ERROR => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("gzip: {} (near compressed byte {})", self.zlib_message(), self.consumed()),
                ))
            }
            other => return Err(io::Error::other(format!("gzip: inflate failed ({other}): {}", self.zlib_message()))),
        }
        Ok(wrote)
    }

    /// After a `Z_BLOCK` return: at a block boundary that is not the stream's last, note a
    /// point if one is due. `data_type`: bits still held (0–63), +64 after the last block,
    /// +128 at a block boundary.
    fn note_point(&mut self, data_type: i32) {
        if data_type & 0xc0 != 0x80 {
            return;
        }
        let produced = self.produced;
        if !self.recording.as_ref().is_some_and(|r| r.due(produced)) {
            return;
        }
        let held_bits = (data_type & 63) as u64;
        let bit = self.consumed() * 8 - held_bits;
        let mut window = vec![0u8; WINDOW];
        let mut len: u32 = 0;
        // SAFETY: `window` has room for 32 KiB, the most zlib holds for windowBits 15.
        let ret = unsafe { z::inflateGetDictionary(&*self.stream, window.as_mut_ptr(), &mut len) };
        if ret != z::Z_OK {
            return;
        }
        window.truncate(len as usize);
        if let Some(index) = self.recording.as_mut() {
            index.push(AccessPoint { out: produced, bit, window });
        }
    }
}

impl<R: Read> Read for GzipReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            match self.phase {
                Phase::Done => return Ok(0),
                Phase::Inflating { raw } => {
                    if self.start == self.end && !self.source_done {
                        self.fill()?;
                    }
                    let n = self.inflate_once(out, raw)?;
                    if n > 0 {
                        return Ok(n);
                    }
                }
                Phase::Trailer { left } => {
                    if self.start == self.end && !self.fill()? {
                        return Err(self.truncated());
                    }
                    let skip = (left as usize).min(self.end - self.start);
                    self.start += skip;
                    let left = left - skip as u8;
                    self.phase = if left == 0 { Phase::BetweenMembers } else { Phase::Trailer { left } };
                }
                Phase::BetweenMembers => {
                    while self.end - self.start < 2 && !self.source_done {
                        self.fill()?;
                    }
                    match &self.buf[self.start..self.end] {
                        [] => {
                            self.phase = Phase::Done;
                            return Ok(0);
                        }
                        [0x1f, 0x8b, ..] => {
                            // SAFETY: the stream is initialised and boxed.
                            let ret = unsafe { z::inflateReset2(&mut *self.stream, GZIP) };
                            self.check_setup(ret, "inflateReset2")?;
                            self.phase = Phase::Inflating { raw: false };
                        }
                        _ => {
                            return Err(io::Error::new(
                                io::ErrorKind::InvalidData,
                                format!(
                                    "gzip: the bytes after the member ending at compressed byte {} are not another gzip member",
                                    self.consumed()
                                ),
                            ))
                        }
                    }
                }
            }
        }
    }
}

impl<R> Drop for GzipReader<R> {
    fn drop(&mut self) {
        // SAFETY: initialised by inflateInit2_ in `with_window_bits`, ended once here.
        unsafe {
            z::inflateEnd(&mut *self.stream);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Deterministic bytes that compress somewhat (text-like with noise).
    fn sample(len: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        let words: [&[u8]; 6] = [b"layer ", b"whiteout ", b"/usr/lib/", b"sha256:", b"\n", b"opaque "];
        let mut out = Vec::with_capacity(len);
        while out.len() < len {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if x % 3 != 0 {
                out.push((x >> 24) as u8);
            } else {
                out.extend_from_slice(words[(x % 6) as usize]);
            }
        }
        out.truncate(len);
        out
    }

    /// GNU gzip, as `docker save | gzip` writes it. (flate2's zlib-rs encoder writes
    /// blocks of megabytes, so few boundaries; gzip's are ~16k symbols.)
    fn gzip(data: &[u8], level: u32) -> Vec<u8> {
        use std::process::{Command, Stdio};
        let mut child = Command::new("gzip")
            .arg(format!("-{level}"))
            .args(["-c", "-n"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the gzip command (Debian package gzip)");
        let mut stdin = child.stdin.take().unwrap();
        let input = data.to_vec();
        let writer = std::thread::spawn(move || stdin.write_all(&input).unwrap());
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap();
        assert!(out.status.success());
        out.stdout
    }

    fn flate2_gzip(data: &[u8], level: u32) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn read_all(r: &mut dyn Read, chunk: usize) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; chunk];
        loop {
            let n = r.read(&mut buf)?;
            if n == 0 {
                return Ok(out);
            }
            out.extend_from_slice(&buf[..n]);
        }
    }

    /// A source that hands out at most `max` bytes per read.
    struct Trickle<'a>(&'a [u8], usize);
    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(self.1).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn record(gz: &[u8]) -> (Vec<u8>, AccessIndex) {
        let mut r = GzipReader::recording(gz).unwrap();
        let data = read_all(&mut r, 100_000).unwrap();
        (data, r.take_index().unwrap())
    }

    /// Every point, and a spread of targets, read back the same bytes as from the start.
    fn check_random_access(gz: &[u8], data: &[u8], index: &AccessIndex) {
        for (i, p) in index.points.iter().enumerate() {
            let mut r = GzipReader::resume(p, &gz[(p.bit / 8) as usize..]).unwrap();
            let want = &data[p.out as usize..];
            let got = read_all(&mut r, 7_777 + i).unwrap();
            assert_eq!(got.len(), want.len(), "point {i} at out {} bit {}", p.out, p.bit);
            assert!(got == want, "point {i}: bytes differ");
        }
        for k in 0..40u64 {
            let target = (k * 7_919_573) % data.len() as u64;
            let (mut r, at): (Box<dyn Read>, u64) = match index.point_before(target) {
                Some(p) => (Box::new(GzipReader::resume(p, &gz[(p.bit / 8) as usize..]).unwrap()), p.out),
                None => (Box::new(GzipReader::new(gz).unwrap()), 0),
            };
            io::copy(&mut (&mut r).take(target - at), &mut io::sink()).unwrap();
            let mut got = vec![0u8; 1000.min(data.len() - target as usize)];
            r.read_exact(&mut got).unwrap();
            assert_eq!(&got[..], &data[target as usize..target as usize + got.len()]);
        }
    }

    #[test]
    fn reads_what_flate2_reads_at_every_level() {
        let data = sample(3 << 20, 7);
        let flate2_made = [0, 6].map(|level| (format!("flate2 {level}"), flate2_gzip(&data, level)));
        let gzip_made = [1, 6, 9].map(|level| (format!("gzip -{level}"), gzip(&data, level)));
        for (level, gz) in flate2_made.into_iter().chain(gzip_made) {
            let mut r = GzipReader::new(Trickle(&gz, 4097)).unwrap();
            assert!(read_all(&mut r, 3000).unwrap() == data, "level {level}");
            let (again, index) = record(&gz);
            assert!(again == data, "recording reads the same (level {level})");
            assert!(!index.points.is_empty(), "level {level}: a 3 MiB stream has a point");
        }
    }

    #[test]
    fn restarts_at_any_access_point() {
        let data = sample(9 << 20, 11);
        for (level, gz) in [(0, flate2_gzip(&data, 0)), (1, gzip(&data, 1)), (6, gzip(&data, 6)), (9, gzip(&data, 9))] {
            let (got, index) = record(&gz);
            assert!(got == data);
            assert!(index.points.len() >= 3, "level {level}: {} points", index.points.len());
            if level > 0 {
                assert!(index.points.iter().any(|p| p.bit % 8 != 0), "some point lies mid-byte");
            }
            check_random_access(&gz, &data, &index);
        }
    }

    #[test]
    fn the_index_stays_bounded_and_evenly_spaced() {
        let data = sample(200 << 20, 3);
        let gz = gzip(&data, 1);
        let (_, index) = record(&gz);
        assert!(index.points.len() <= MAX_POINTS, "{} points", index.points.len());
        assert!(index.points.len() >= MAX_POINTS / 2, "{} points", index.points.len());
        assert!(index.spacing > FIRST_SPACING);
        let mut last = 0;
        for p in &index.points {
            assert!(p.out >= last + index.spacing, "spacing kept");
            last = p.out;
        }
        assert!(index.points.iter().all(|p| p.window.len() <= WINDOW));
    }

    #[test]
    fn multi_member_streams_restart_across_members() {
        // Several members of a few MiB (eStargz-like), so points fall in later members too.
        let data = sample(11 << 20, 5);
        let mut gz = Vec::new();
        for part in data.chunks(3 << 20) {
            gz.extend_from_slice(&gzip(part, 6));
        }
        let (got, index) = record(&gz);
        assert!(got == data);
        assert!(index.points.iter().any(|p| p.out > 3 << 20));
        check_random_access(&gz, &data, &index);
    }

    #[test]
    fn damage_is_an_error_not_a_panic() {
        let data = sample(1 << 20, 9);
        let gz = gzip(&data, 6);
        // Truncated anywhere.
        for cut in [1, 5, 10, 11, 100, gz.len() / 2, gz.len() - 9, gz.len() - 1] {
            let err = read_all(&mut GzipReader::new(&gz[..cut]).unwrap(), 65536).unwrap_err();
            assert!(
                err.kind() == io::ErrorKind::UnexpectedEof || err.kind() == io::ErrorKind::InvalidData,
                "cut {cut}: {err}"
            );
        }
        // A flipped CRC byte: zlib checks the trailer.
        let mut bad = gz.clone();
        let crc_at = bad.len() - 8;
        bad[crc_at] ^= 1;
        let err = read_all(&mut GzipReader::new(&bad[..]).unwrap(), 65536).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
        // Garbage after a member.
        let mut trailing = gz.clone();
        trailing.extend_from_slice(b"not gzip");
        let err = read_all(&mut GzipReader::new(&trailing[..]).unwrap(), 65536).unwrap_err();
        assert!(err.to_string().contains("not another gzip member"), "{err}");
        // Bit flips in the deflate data.
        for k in 0..50usize {
            let mut flipped = gz.clone();
            let at = 20 + (k * 104_729) % (gz.len() - 30);
            flipped[at] ^= 0x10;
            let _ = read_all(&mut GzipReader::new(&flipped[..]).unwrap(), 65536);
        }
        // A point restarted over the wrong bytes fails cleanly too.
        let (_, index) = record(&gz);
        if let Some(p) = index.points.first() {
            if let Ok(mut r) = GzipReader::resume(p, &gz[..10]) {
                assert!(read_all(&mut r, 65536).is_err());
            }
            if let Ok(mut r) = GzipReader::resume(p, &[][..]) {
                assert!(read_all(&mut r, 65536).is_err());
            }
        }
    }

    #[test]
    fn empty_input_is_truncated() {
        let err = read_all(&mut GzipReader::new(&[][..]).unwrap(), 100).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof, "{err}");
    }
}

//! Sparse files in a tar: the map of where a file's data is, and its bytes as the runtimes
//! unpack them (holes read as zeros).
//!
//! GNU tar stores a sparse file as its data fragments packed one after another, plus a map
//! of (logical offset, length) pairs and the file's logical "real size". The map comes in
//! four shapes, and Go's archive/tar (Docker, containerd, podman) reads all four:
//!
//! - old GNU (type `S`): four pairs in the header at byte 386, more in 512-byte extension
//!   blocks after it while `isextended` is set; the real size at byte 483;
//! - PAX 0.0: repeated `GNU.sparse.offset` / `GNU.sparse.numbytes` records (in that order);
//! - PAX 0.1: `GNU.sparse.map` = `offset,length,offset,length…` and `GNU.sparse.numblocks`;
//! - PAX 1.0 (`GNU.sparse.major=1`, `GNU.sparse.minor=0`): the map at the start of the
//!   entry's data, as newline-ended decimal numbers (count, then the pairs) padded to
//!   512-byte blocks; the file's name in `GNU.sparse.name`, its size in
//!   `GNU.sparse.realsize`.
//!
//! A map is checked as Go checks it (`validateSparseEntries`): no negative numbers, no
//! overflow, fragments in order without overlap, none past the real size; and the stored
//! data must be exactly the fragments' bytes (Go fails the unpack otherwise). A map is data
//! held per entry, so its size is capped ([`MAX_FRAGMENTS`]; Go caps the PAX 1.0 map at
//! 1 MiB of text, [`MAX_MAP_TEXT_BYTES`], and strata caps every shape).

use serde::{Deserialize, Serialize};
use std::io::{self, Read};

/// The most fragments one entry's map may hold. 1 MiB of PAX 1.0 map text (Go's limit) holds
/// at most this many pairs (`0\n0\n` is 4 bytes); an old GNU map of as many fragments takes
/// 12 000 extension blocks. A map is 16 bytes a fragment in memory (4 MiB at most).
pub const MAX_FRAGMENTS: usize = 1 << 18;

/// The most bytes of PAX 1.0 map text read (Go's `maxSpecialFileSize`).
pub const MAX_MAP_TEXT_BYTES: usize = 1 << 20;

/// One data fragment: `length` bytes of the file, from logical offset `offset`, stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fragment {
    pub offset: u64,
    pub length: u64,
}

impl Fragment {
    fn end(self) -> u64 {
        self.offset.saturating_add(self.length)
    }
}

/// A sparse file's map: its data fragments in order. Everything else up to the file's
/// logical size (the entry's `size`) is a hole and reads as zeros.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SparseMap {
    pub fragments: Box<[Fragment]>,
    /// Written as an old GNU sparse entry (type `S`). Go's archive/tar keeps that type, and
    /// the unpackers of Docker, containerd and podman refuse it ("unhandled tar header
    /// type"), while GNU tar and Python unpack the file: the merge says so.
    pub old_gnu: bool,
}

impl SparseMap {
    /// Bytes of the file that are stored: the fragments packed one after another.
    pub fn stored_len(&self) -> u64 {
        self.fragments.iter().fold(0u64, |sum, f| sum.saturating_add(f.length))
    }

    /// Where logical offset `at` falls in the packed data (the next stored byte at or after it).
    pub fn stored_offset(&self, at: u64) -> u64 {
        let mut stored = 0u64;
        for f in self.fragments.iter() {
            if at >= f.end() {
                stored = stored.saturating_add(f.length);
            } else {
                if at > f.offset {
                    stored = stored.saturating_add(at - f.offset);
                }
                break;
            }
        }
        stored
    }
}

/// Why a sparse map is refused (the runtimes refuse the layer at that entry too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapProblem(pub String);

impl std::fmt::Display for MapProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn problem(why: impl Into<String>) -> MapProblem {
    MapProblem(why.into())
}

/// Check `fragments` as Go's `validateSparseEntries` does against `real_size`, and that
/// `stored` bytes of data are exactly what they take. Signed numbers come in as i64.
pub fn validate(fragments: &[(i64, i64)], real_size: i64, stored: u64) -> Result<SparseMap, MapProblem> {
    if real_size < 0 {
        return Err(problem(format!("a negative real size ({real_size})")));
    }
    if fragments.len() > MAX_FRAGMENTS {
        return Err(problem(format!("more than {MAX_FRAGMENTS} fragments")));
    }
    let mut out = Vec::with_capacity(fragments.len());
    let mut previous_end = 0i64;
    for (k, &(offset, length)) in fragments.iter().enumerate() {
        if offset < 0 || length < 0 {
            return Err(problem(format!("fragment {k} has a negative offset or length ({offset}, {length})")));
        }
        let Some(end) = offset.checked_add(length) else {
            return Err(problem(format!("fragment {k} ends past 2^63 ({offset} + {length})")));
        };
        if end > real_size {
            return Err(problem(format!("fragment {k} ({offset} + {length}) ends past the file's size ({real_size})")));
        }
        if previous_end > offset {
            return Err(problem(format!("fragment {k} (at {offset}) overlaps or comes before the one before it")));
        }
        previous_end = end;
        out.push(Fragment { offset: offset as u64, length: length as u64 });
    }
    let map = SparseMap { fragments: out.into_boxed_slice(), old_gnu: false };
    if map.stored_len() != stored {
        return Err(problem(format!(
            "the fragments take {} bytes, the entry stores {stored}",
            map.stored_len()
        )));
    }
    Ok(map)
}

/// Go's `parseNumeric`: base-256 when the first byte's top bit is set, else octal with
/// spaces and NULs trimmed, up to a NUL.
pub fn parse_numeric(field: &[u8]) -> Result<i64, MapProblem> {
    if field.first().is_some_and(|&b| b & 0x80 != 0) {
        let negative = field[0] & 0x40 != 0;
        let invert = if negative { 0xff } else { 0 };
        let mut x: u64 = 0;
        for (i, &b) in field.iter().enumerate() {
            let mut c = b ^ invert;
            if i == 0 {
                c &= 0x7f;
            }
            if x >> 56 > 0 {
                return Err(problem("a base-256 number that overflows"));
            }
            x = x << 8 | u64::from(c);
        }
        if x >> 63 > 0 {
            return Err(problem("a base-256 number that overflows"));
        }
        return Ok(if negative { !(x as i64) } else { x as i64 });
    }
    let trimmed = trim(field);
    if trimmed.is_empty() {
        return Ok(0);
    }
    let text = trimmed.iter().position(|&b| b == 0).map_or(trimmed, |n| &trimmed[..n]);
    let text = std::str::from_utf8(text).map_err(|_| problem("a number that is not octal"))?;
    u64::from_str_radix(text, 8)
        .map(|n| n as i64)
        .map_err(|_| problem(format!("a number that is not octal ({text:?})")))
}

fn trim(mut b: &[u8]) -> &[u8] {
    while let [b' ' | 0, rest @ ..] = b {
        b = rest;
    }
    while let [rest @ .., b' ' | 0] = b {
        b = rest;
    }
    b
}

/// Old GNU (type `S`) header layout.
pub const OLD_GNU_HEADER_MAP: usize = 386;
pub const OLD_GNU_HEADER_ENTRIES: usize = 4;
pub const OLD_GNU_HEADER_IS_EXTENDED: usize = 482;
pub const OLD_GNU_REAL_SIZE: std::ops::Range<usize> = 483..495;
pub const OLD_GNU_EXT_ENTRIES: usize = 21;
pub const OLD_GNU_EXT_IS_EXTENDED: usize = 504;

/// The pairs of one old GNU map block (the header's four from byte 386, or an extension
/// block's 21 from byte 0), appended to `out`. As GNU tar, BSD tar and Go: a pair whose
/// offset field starts with a NUL ends the block's list.
pub fn old_gnu_pairs(block: &[u8; 512], at: usize, count: usize, out: &mut Vec<(i64, i64)>) -> Result<(), MapProblem> {
    for i in 0..count {
        let pair = &block[at + 24 * i..at + 24 * (i + 1)];
        if pair[0] == 0 {
            break;
        }
        if out.len() >= MAX_FRAGMENTS {
            return Err(problem(format!("more than {MAX_FRAGMENTS} fragments")));
        }
        out.push((parse_numeric(&pair[..12])?, parse_numeric(&pair[12..])?));
    }
    Ok(())
}

/// The GNU sparse records of a PAX header (all but 0.0's pairs: last value wins, empty is absent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PaxSparseRecords {
    pub major: Option<Vec<u8>>,
    pub minor: Option<Vec<u8>>,
    pub name: Option<Vec<u8>>,
    /// `GNU.sparse.map`, or 0.0's offset/numbytes records joined by commas as Go joins them.
    pub map: Option<Vec<u8>>,
    pub numblocks: Option<Vec<u8>>,
    pub size: Option<Vec<u8>>,
    pub realsize: Option<Vec<u8>>,
}

/// What a PAX header says of a sparse file: which shape, its name and real size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaxSparse {
    /// The map is at the start of the data (1.0), not in the records (0.0, 0.1).
    pub map_in_data: bool,
    /// 0.x: the pairs, parsed (checked later against the sizes).
    pub pairs: Vec<(i64, i64)>,
    pub name: Option<Vec<u8>>,
    /// `GNU.sparse.size`, else `GNU.sparse.realsize`.
    pub real_size: Option<i64>,
}

/// Go's `readGNUSparsePAXHeaders`: `Ok(None)` when the records make no sparse file Go knows
/// (an unknown version is a plain file, as in Go).
pub fn from_pax(r: &PaxSparseRecords) -> Result<Option<PaxSparse>, MapProblem> {
    let major = r.major.as_deref().unwrap_or_default();
    let minor = r.minor.as_deref().unwrap_or_default();
    let map_in_data = match (major, minor) {
        (b"0", b"0" | b"1") => false,
        (b"1", b"0") => true,
        _ if !major.is_empty() || !minor.is_empty() => return Ok(None),
        _ if r.map.is_some() => false,
        _ => return Ok(None),
    };
    let real_size = match r.size.as_deref().or(r.realsize.as_deref()) {
        Some(v) => Some(crate::pax::parse_int(v).ok_or_else(|| problem("GNU.sparse.size / realsize is not a number"))?),
        None => None,
    };
    let mut pairs = Vec::new();
    if !map_in_data {
        let count = r
            .numblocks
            .as_deref()
            .and_then(crate::pax::parse_int)
            .filter(|&n| n >= 0)
            .ok_or_else(|| problem("GNU.sparse.numblocks is missing or not a count"))?;
        let text = r.map.as_deref().unwrap_or_default();
        let numbers: Vec<&[u8]> = if text.is_empty() { Vec::new() } else { text.split(|&b| b == b',').collect() };
        if numbers.len() as i64 != count.saturating_mul(2) {
            return Err(problem(format!("GNU.sparse.numblocks is {count} but the map holds {} numbers", numbers.len())));
        }
        if count as u64 > MAX_FRAGMENTS as u64 {
            return Err(problem(format!("more than {MAX_FRAGMENTS} fragments")));
        }
        for pair in numbers.chunks(2) {
            let n = |v: &[u8]| crate::pax::parse_int(v).ok_or_else(|| problem("a map number that is not a number"));
            pairs.push((n(pair[0])?, n(pair[1])?));
        }
    }
    Ok(Some(PaxSparse { map_in_data, pairs, name: r.name.clone(), real_size }))
}

/// Reads a PAX 1.0 map from the blocks at the start of an entry's data, one 512-byte block
/// at a time, as Go's `readGNUSparseMap1x0` does: no more blocks than the numbers need.
#[derive(Debug, Default)]
pub struct Map1x0 {
    text: Vec<u8>,
    newlines: usize,
}

impl Map1x0 {
    /// Take one more block. `Ok(Some(pairs))` once the map is complete; `Ok(None)`: more.
    pub fn feed(&mut self, block: &[u8]) -> Result<Option<Vec<(i64, i64)>>, MapProblem> {
        if self.text.len() + block.len() > MAX_MAP_TEXT_BYTES {
            return Err(problem(format!("a PAX 1.0 sparse map longer than {} MiB", MAX_MAP_TEXT_BYTES >> 20)));
        }
        self.text.extend_from_slice(block);
        self.newlines += block.iter().filter(|&&b| b == b'\n').count();
        if self.newlines == 0 {
            return Ok(None);
        }
        let mut tokens = self.text.split(|&b| b == b'\n');
        let number = |t: Option<&[u8]>| t.and_then(crate::pax::parse_int).ok_or_else(|| problem("a PAX 1.0 sparse map number that is not a number"));
        let count = number(tokens.next())?;
        if count < 0 {
            return Err(problem("a negative PAX 1.0 sparse map count"));
        }
        if count as u64 > MAX_FRAGMENTS as u64 {
            return Err(problem(format!("more than {MAX_FRAGMENTS} fragments")));
        }
        let count = count as usize;
        if self.newlines < 1 + 2 * count {
            return Ok(None);
        }
        let mut pairs = Vec::with_capacity(count);
        for _ in 0..count {
            pairs.push((number(tokens.next())?, number(tokens.next())?));
        }
        Ok(Some(pairs))
    }

    /// Bytes of the data the map took (whole blocks).
    pub fn len(&self) -> u64 {
        self.text.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }
}

/// A sparse file's logical bytes from `from` on, given a reader of its packed data that
/// starts at [`SparseMap::stored_offset`]`(from)`: fragments from the data, holes as zeros,
/// up to the file's logical `size`. Nothing is held but the map.
pub struct SparseReader<R> {
    packed: R,
    fragments: Box<[Fragment]>,
    /// The first fragment that ends after `pos`.
    next: usize,
    pos: u64,
    size: u64,
}

impl<R: Read> SparseReader<R> {
    pub fn new(packed: R, map: &SparseMap, size: u64, from: u64) -> SparseReader<R> {
        let fragments = map.fragments.clone();
        let next = fragments.iter().position(|f| f.end() > from).unwrap_or(fragments.len());
        SparseReader { packed, fragments, next, pos: from.min(size), size }
    }
}

impl<R: Read> Read for SparseReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.next < self.fragments.len() && self.fragments[self.next].end() <= self.pos {
            self.next += 1;
        }
        if self.pos >= self.size || buf.is_empty() {
            return Ok(0);
        }
        let room = |to: u64, pos: u64| buf.len().min(usize::try_from(to - pos).unwrap_or(usize::MAX));
        match self.fragments.get(self.next) {
            Some(f) if f.offset <= self.pos => {
                let want = room(f.end(), self.pos);
                let n = self.packed.read(&mut buf[..want])?;
                if n == 0 {
                    return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the sparse file's stored data ends early"));
                }
                self.pos += n as u64;
                Ok(n)
            }
            next => {
                let hole_end = next.map_or(self.size, |f| f.offset).min(self.size);
                let want = room(hole_end, self.pos);
                buf[..want].fill(0);
                self.pos += want as u64;
                Ok(want)
            }
        }
    }
}

/// A sparse file's logical bytes as a seekable source: its packed fragments are
/// `stored_len` bytes at `start` of `src`, the holes read as zeros. A layer stored sparsely
/// in the outer archive is walked through this (the headers-only walk seeks over it as over
/// any layer); a read in a hole touches no source byte. Nothing is held but the map.
pub struct SparseWindow<S> {
    src: S,
    start: u64,
    fragments: Box<[Fragment]>,
    /// Where each fragment's bytes start in the packed data.
    packed_at: Box<[u64]>,
    size: u64,
    pos: u64,
    /// Where `src` is (if known), so reading on within a fragment does not seek.
    src_pos: Option<u64>,
}

impl<S: Read + io::Seek> SparseWindow<S> {
    pub fn new(src: S, start: u64, map: &SparseMap, size: u64) -> SparseWindow<S> {
        let mut packed = 0u64;
        let packed_at = map
            .fragments
            .iter()
            .map(|f| {
                let at = packed;
                packed = packed.saturating_add(f.length);
                at
            })
            .collect();
        SparseWindow { src, start, fragments: map.fragments.clone(), packed_at, size, pos: 0, src_pos: None }
    }
}

impl<S: Read + io::Seek> Read for SparseWindow<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.size || buf.is_empty() {
            return Ok(0);
        }
        let pos = self.pos;
        // The first fragment that ends after `pos` (fragments are in order, none overlap).
        let k = self.fragments.partition_point(|f| f.end() <= pos);
        let room = |to: u64| buf.len().min(usize::try_from(to - pos).unwrap_or(usize::MAX));
        let n = match self.fragments.get(k) {
            Some(f) if f.offset <= pos => {
                let want = room(f.end());
                let at = self.start.saturating_add(self.packed_at[k]).saturating_add(pos - f.offset);
                if self.src_pos != Some(at) {
                    self.src.seek(io::SeekFrom::Start(at))?;
                }
                let n = self.src.read(&mut buf[..want])?;
                if n == 0 {
                    return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the sparse file's stored data ends early"));
                }
                self.src_pos = Some(at + n as u64);
                n
            }
            next => {
                let want = room(next.map_or(self.size, |f| f.offset).min(self.size));
                buf[..want].fill(0);
                want
            }
        };
        self.pos += n as u64;
        Ok(n)
    }
}

impl<S: Read + io::Seek> io::Seek for SparseWindow<S> {
    fn seek(&mut self, to: io::SeekFrom) -> io::Result<u64> {
        self.pos = crate::io::seek_target(to, self.pos, self.size)?;
        Ok(self.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(i64, i64)], size: i64) -> SparseMap {
        let stored = pairs.iter().map(|p| p.1 as u64).sum();
        validate(pairs, size, stored).expect("valid")
    }

    #[test]
    fn reads_holes_as_zeros_from_any_offset() {
        let m = map(&[(2, 3), (8, 2)], 12);
        let packed = b"abcde";
        let all: Vec<u8> = {
            let mut out = Vec::new();
            SparseReader::new(&packed[..], &m, 12, 0).read_to_end(&mut out).expect("read");
            out
        };
        assert_eq!(all, b"\0\0abc\0\0\0de\0\0");
        for from in 0..=12u64 {
            let mut out = Vec::new();
            let start = m.stored_offset(from) as usize;
            SparseReader::new(&packed[start..], &m, 12, from).read_to_end(&mut out).expect("read");
            assert_eq!(out, &all[from as usize..], "from {from}");
        }
    }

    #[test]
    fn window_seeks_anywhere() {
        use std::io::{Cursor, Seek, SeekFrom};
        let m = map(&[(2, 3), (8, 2)], 12);
        let src = Cursor::new(b"##abcde##".to_vec());
        let mut w = SparseWindow::new(src, 2, &m, 12);
        let mut all = Vec::new();
        w.read_to_end(&mut all).expect("read");
        assert_eq!(all, b"\0\0abc\0\0\0de\0\0");
        for from in 0..=12u64 {
            let mut out = Vec::new();
            w.seek(SeekFrom::Start(from)).expect("seek");
            w.read_to_end(&mut out).expect("read");
            assert_eq!(out, &all[from as usize..], "from {from}");
        }
    }

    #[test]
    fn go_rules() {
        assert!(validate(&[(0, 5), (4, 1)], 10, 6).is_err()); // overlap
        assert!(validate(&[(5, 1), (0, 1)], 10, 2).is_err()); // out of order
        assert!(validate(&[(8, 5)], 10, 5).is_err()); // past the size
        assert!(validate(&[(-1, 1)], 10, 1).is_err());
        assert!(validate(&[(i64::MAX, 1)], i64::MAX, 1).is_err());
        assert!(validate(&[(0, 5)], 10, 4).is_err()); // stored bytes differ
        assert!(validate(&[(0, 5), (5, 0), (10, 0)], 10, 5).is_ok()); // touching, empty ones
        assert!(validate(&[], 0, 0).is_ok());
    }

    #[test]
    fn map_1x0_needs_whole_tokens() {
        let mut m = Map1x0::default();
        let mut block = vec![0u8; 512];
        block[..7].copy_from_slice(b"2\n0\n5\n9");
        assert_eq!(m.feed(&block).expect("fine"), None);
        let mut block = vec![0u8; 512];
        block[..4].copy_from_slice(b"\n1\n\n");
        // "9\0…\0" is the 4th token, then "1": 9 padded with NULs is not a number.
        assert!(m.feed(&block).is_err());
        let mut m = Map1x0::default();
        let mut block = vec![0u8; 512];
        block[..10].copy_from_slice(b"2\n0\n5\n9\n1\n");
        assert_eq!(m.feed(&block).expect("fine"), Some(vec![(0, 5), (9, 1)]));
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_numeric(b"00000001750\0").expect("octal"), 1000);
        assert_eq!(parse_numeric(b"  17 \0").expect("octal"), 15);
        assert_eq!(parse_numeric(&[0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]).expect("base 256"), 256);
        assert!(parse_numeric(b"9").is_err());
    }
}

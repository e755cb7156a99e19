//! The browser readers' one chunk policy (`src/wasm/chunk_cache.rs`), checked natively
//! against a fake source that records every fetch. The module is plain Rust with no browser
//! types, so it is compiled into this test as it is. (The Blob and HTTP readers over it are
//! checked in Chromium: `tests/wasm_browser.rs`, `tests/page/remote.test.js`.)

#[path = "../src/wasm/chunk_cache.rs"]
#[allow(dead_code)]
mod chunk_cache;

use chunk_cache::{ChunkCache, ChunkPolicy, FetchRange};
use std::io::{self, Read, Seek, SeekFrom};

const KIB: usize = 1 << 10;
const MIB: usize = 1 << 20;

/// The policy of both readers (64 KiB after a jump, doubling to 8 MiB, 256 KiB counts as
/// sequential).
const POLICY: ChunkPolicy = ChunkPolicy { min_chunk: 64 * KIB, max_chunk: 8 * MIB, near_gap: 256 * KIB as u64 };

/// A file in memory that records each fetch (start, len) and can be told to fail.
struct Fake {
    data: Vec<u8>,
    calls: Vec<(u64, usize)>,
    fail_next: bool,
}

impl FetchRange for Fake {
    fn fetch(&mut self, start: u64, len: usize, out: &mut Vec<u8>) -> io::Result<()> {
        self.calls.push((start, len));
        out.clear();
        if std::mem::take(&mut self.fail_next) {
            out.extend_from_slice(&[1, 2, 3]); // half an answer, then the failure
            return Err(io::Error::other("network lost"));
        }
        let end = (start as usize + len).min(self.data.len());
        out.extend_from_slice(&self.data[start as usize..end]);
        Ok(())
    }
}

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
}

fn reader(size: usize, policy: ChunkPolicy) -> ChunkCache<Fake> {
    let data = pattern(size);
    ChunkCache::over(Fake { data, calls: Vec::new(), fail_next: false }, size as u64, policy)
}

fn read_at(r: &mut ChunkCache<Fake>, at: u64, n: usize) -> Vec<u8> {
    r.seek(SeekFrom::Start(at)).unwrap();
    let mut buf = vec![0u8; n];
    r.read_exact(&mut buf).unwrap();
    buf
}

#[test]
fn short_sequential_reads_read_everything_in_doubling_chunks() {
    let mut r = reader(20 * MIB + 123, POLICY);
    let mut out = Vec::new();
    let mut buf = [0u8; 777];
    loop {
        let n = r.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    assert!(out == r.source.data, "bytes differ");
    let lens: Vec<usize> = r.source.calls.iter().map(|c| c.1).collect();
    // 64 KiB, 128 KiB, … 8 MiB, then 8 MiB pieces (the last one cut at the end).
    assert_eq!(&lens[..8], &[64 * KIB, 128 * KIB, 256 * KIB, 512 * KIB, MIB, 2 * MIB, 4 * MIB, 8 * MIB]);
    assert!(lens.len() <= 10, "{lens:?}");
}

#[test]
fn long_jumps_read_little() {
    // A tar header walk over big files: 512-byte reads 10 MiB apart.
    let mut r = reader(100 * MIB, POLICY);
    for k in 0..9u64 {
        let at = k * 10 * MIB as u64 + 4096;
        assert_eq!(read_at(&mut r, at, 512), r.source.data[at as usize..at as usize + 512]);
    }
    assert!(r.source.calls.iter().all(|c| c.1 == 64 * KIB), "{:?}", r.source.calls);
}

#[test]
fn a_jump_within_the_last_chunk_keeps_its_size() {
    // Stream up to 1 MiB chunks, then hop forward by less than a chunk (a run of medium files):
    // the chunk stays 1 MiB. (The readers' old policy went back to 64 KiB at every such hop.)
    let mut r = reader(64 * MIB, POLICY);
    let mut buf = vec![0u8; 64 * KIB];
    // 64 + 128 + 256 + 512 KiB + 1 MiB read one after the other.
    let streamed = (64 + 128 + 256 + 512) * KIB + MIB;
    for at in (0..streamed).step_by(64 * KIB) {
        r.seek(SeekFrom::Start(at as u64)).unwrap();
        r.read_exact(&mut buf).unwrap();
    }
    assert_eq!(r.source.calls.last().unwrap().1, MIB);
    // 600 KiB past the cached chunk's end: further than near_gap (256 KiB), within the chunk (1 MiB).
    let hop = streamed as u64 + 600 * KIB as u64;
    assert_eq!(read_at(&mut r, hop, 512), r.source.data[hop as usize..hop as usize + 512]);
    assert_eq!(*r.source.calls.last().unwrap(), (hop, MIB), "kept the chunk size");
    // A hop further than the chunk: back to 64 KiB.
    let far = hop + 3 * MIB as u64;
    read_at(&mut r, far, 512);
    assert_eq!(*r.source.calls.last().unwrap(), (far, 64 * KIB));
    // Just past that chunk: sequential again, so it doubles.
    let next = far + 64 * KIB as u64 + 1000;
    read_at(&mut r, next, 512);
    assert_eq!(*r.source.calls.last().unwrap(), (next, 128 * KIB));
}

#[test]
fn nearby_small_reads_come_from_one_chunk_and_a_seek_back_starts_small() {
    let mut r = reader(4 * MIB, POLICY);
    for k in 0..200u64 {
        let at = (k * 617) % (64 * KIB as u64 - 512);
        read_at(&mut r, at, 512);
    }
    assert_eq!(r.source.calls.len(), 1, "one chunk served every read");
    read_at(&mut r, 2 * MIB as u64, 512); // a long jump
    read_at(&mut r, 100, 512); // a seek back, before the cached chunk
    assert_eq!(r.source.calls, vec![(0, 64 * KIB), (2 * MIB as u64, 64 * KIB), (100, 64 * KIB)]);
}

#[test]
fn a_big_read_is_one_fetch_of_its_own_size_capped_and_stays_cached() {
    let mut r = reader(40 * MIB, POLICY);
    let mut big = vec![0u8; 3 * MIB];
    r.read_exact(&mut big).unwrap();
    assert_eq!(r.source.calls, vec![(0, 3 * MIB)]);
    // A seek back into what it read costs nothing.
    assert_eq!(read_at(&mut r, 1000, 512), r.source.data[1000..1512]);
    assert_eq!(r.source.calls.len(), 1);
    // Bigger than the largest read: one capped fetch, a short read.
    let mut huge = vec![0u8; 9 * MIB];
    r.seek(SeekFrom::Start(20 * MIB as u64)).unwrap();
    let n = r.read(&mut huge).unwrap();
    assert_eq!(n, 8 * MIB);
    assert_eq!(*r.source.calls.last().unwrap(), (20 * MIB as u64, 8 * MIB));
}

#[test]
fn bytes_given_up_front_cost_no_fetch() {
    // The page's probe fetched the first 64 KiB of a web server's file already.
    let data = pattern(MIB);
    let mut r = ChunkCache::over(Fake { data: data.clone(), calls: Vec::new(), fail_next: false }, MIB as u64, POLICY)
        .with_cached(0, data[..64 * KIB].to_vec());
    assert_eq!(read_at(&mut r, 512, 1024), data[512..1536]);
    assert!(r.source.calls.is_empty());
    // Reading on past them is sequential: the next chunk is twice as big.
    assert_eq!(read_at(&mut r, 64 * KIB as u64, 16), data[64 * KIB..64 * KIB + 16]);
    assert_eq!(r.source.calls, vec![(64 * KIB as u64, 128 * KIB)]);
    // More bytes than the file has are cut to its size.
    let mut r = ChunkCache::over(Fake { data: pattern(100), calls: Vec::new(), fail_next: false }, 100, POLICY).with_cached(0, pattern(200));
    let mut all = Vec::new();
    r.read_to_end(&mut all).unwrap();
    assert_eq!(all, pattern(100));
}

#[test]
fn a_failed_fetch_leaves_nothing_cached() {
    let mut r = reader(MIB, POLICY);
    read_at(&mut r, 0, 16);
    r.source.fail_next = true;
    r.seek(SeekFrom::Start(512 * KIB as u64)).unwrap();
    let mut buf = [0u8; 16];
    assert!(r.read(&mut buf).is_err());
    // What was cached before the failure is gone too: reading it again fetches.
    assert_eq!(read_at(&mut r, 0, 16), pattern(MIB)[..16]);
    assert_eq!(r.source.calls.len(), 3);
    // The failed range is asked again (nothing of the half answer was kept), and comes right.
    assert_eq!(read_at(&mut r, 512 * KIB as u64, 16), pattern(MIB)[512 * KIB..512 * KIB + 16]);
    assert_eq!(r.source.calls.len(), 4);
}

#[test]
fn a_short_answer_is_an_error_not_a_short_read() {
    struct Short;
    impl FetchRange for Short {
        fn fetch(&mut self, _start: u64, len: usize, out: &mut Vec<u8>) -> io::Result<()> {
            out.clear();
            out.resize(len / 2, 0);
            Ok(())
        }
    }
    let mut r = ChunkCache::over(Short, MIB as u64, POLICY);
    let mut buf = [0u8; 16];
    assert_eq!(r.read(&mut buf).unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
}

#[test]
fn a_smaller_cap_shrinks_the_first_read_too() {
    let policy = POLICY.capped(16 * KIB);
    assert_eq!(policy, ChunkPolicy { min_chunk: 16 * KIB, max_chunk: 16 * KIB, near_gap: 256 * KIB as u64 });
    let mut r = reader(MIB, policy);
    let mut out = Vec::new();
    r.read_to_end(&mut out).unwrap();
    assert!(out == pattern(MIB));
    assert!(r.source.calls.iter().all(|c| c.1 <= 16 * KIB));
    assert_eq!(POLICY.capped(0).max_chunk, 1);
}

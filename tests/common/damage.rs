//! Seeded damage to archives, shared by the fuzz test (`tests/fuzz.rs`) and the page
//! tests' damaged archives (`tests/page/main.rs`): flipped bits, overwritten runs, cut
//! tails, and rewritten tar header fields (in the outer tar and in the uncompressed layers
//! inside it) with their checksums fixed so the walks accept them.
#![allow(dead_code)]

use std::io::Read;
use strata::report::Compression;

/// A small deterministic generator (xorshift64*): no crate needed, same cases everywhere.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// Offsets of 512-byte blocks that look like tar headers (ustar magic), in the outer tar
/// and in the uncompressed layers stored in it (their blocks are 512-aligned there too).
pub fn header_blocks(bytes: &[u8]) -> Vec<usize> {
    (0..bytes.len() / 512)
        .map(|k| k * 512)
        .filter(|&o| matches!(&bytes[o + 257..o + 262], b"ustar"))
        .collect()
}

fn fix_checksum(block: &mut [u8]) {
    block[148..156].fill(b' ');
    let sum: u32 = block.iter().map(|&b| b as u32).sum();
    let text = format!("{sum:06o}\0 ");
    block[148..156].copy_from_slice(text.as_bytes());
}

fn put_octal(field: &mut [u8], value: u64) {
    let width = field.len() - 1;
    let text = format!("{value:0width$o}");
    let text = text.as_bytes();
    let start = text.len().saturating_sub(width);
    field[..width].copy_from_slice(&text[start..]);
    field[width] = 0;
}

fn put_text(field: &mut [u8], text: &[u8]) {
    field.fill(0);
    let n = text.len().min(field.len());
    field[..n].copy_from_slice(&text[..n]);
}

const ODD_NAMES: &[&[u8]] = &[
    b"..",
    b"../../etc/passwd",
    b"/",
    b"",
    b".",
    b"./",
    b".wh..wh..opq",
    b"etc/.wh..wh..opq",
    b".wh.etc",
    b"etc/.wh.",
    b".wh.",
    b"a/b/../../../c",
    b"//x//y/",
    b"usr/bin",
    b"etc/passwd",
    b"etc/passwd/inner",
    b"link/through",
    b"app",
    b"\xff\xfe/\x00x",
    b"very/deep/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s/t/u/v/w/x/y/z",
];

const TYPE_FLAGS: &[u8] = b"0123456789xgLKSDVMAZ\0 ";

/// Rewrite one field of one header block, then fix the checksum (most of the time).
fn damage_header(b: &mut [u8], at: usize, rng: &mut Rng) {
    let block = &mut b[at..at + 512];
    match rng.below(9) {
        0 => {
            let sizes = [0u64, 1, 511, 512, 513, 1 << 20, 0o77777777777, rng.next() % (1 << 34)];
            put_octal(&mut block[124..136], sizes[rng.below(sizes.len())]);
        }
        1 => {
            // base-256 size, sometimes absurd
            block[124] = 0x80;
            for byte in &mut block[125..136] {
                *byte = if rng.chance(50) { 0xff } else { rng.next() as u8 };
            }
        }
        2 => block[156] = TYPE_FLAGS[rng.below(TYPE_FLAGS.len())],
        3 => put_text(&mut block[0..100], ODD_NAMES[rng.below(ODD_NAMES.len())]),
        4 => put_text(&mut block[157..257], ODD_NAMES[rng.below(ODD_NAMES.len())]),
        5 => {
            // a prefix (ustar) that makes the path odd
            put_text(&mut block[345..500], ODD_NAMES[rng.below(ODD_NAMES.len())]);
        }
        6 => put_octal(&mut block[100..108], rng.next() % 0o10000000),
        7 => {
            // device numbers, uid/gid, mtime: random octal or garbage
            let field = [(108, 116), (116, 124), (136, 148), (329, 337), (337, 345)][rng.below(5)];
            if rng.chance(50) {
                put_octal(&mut block[field.0..field.1], rng.next());
            } else {
                for byte in &mut block[field.0..field.1] {
                    *byte = rng.next() as u8;
                }
            }
        }
        _ => {
            // garbage in a random spot of the header
            let k = rng.below(512);
            block[k] = rng.next() as u8;
        }
    }
    if rng.chance(90) {
        fix_checksum(block);
    }
}

/// One damaged copy of `bytes`.
pub fn damage(bytes: &[u8], headers: &[usize], rng: &mut Rng) -> Vec<u8> {
    let mut b = bytes.to_vec();
    let rounds = 1 + rng.below(3);
    for _ in 0..rounds {
        if b.is_empty() {
            break;
        }
        match rng.below(10) {
            0..=4 if !headers.is_empty() => {
                let at = headers[rng.below(headers.len())];
                if at + 512 <= b.len() {
                    damage_header(&mut b, at, rng);
                }
            }
            5 => {
                let at = rng.below(b.len());
                b[at] ^= 1 << rng.below(8);
            }
            6 => {
                let at = rng.below(b.len());
                let n = (1 + rng.below(64)).min(b.len() - at);
                let fill = [0u8, 0xff, rng.next() as u8][rng.below(3)];
                b[at..at + n].fill(fill);
            }
            7 if rng.chance(30) => {
                let cut = rng.below(b.len());
                b.truncate(cut);
            }
            8 if !headers.is_empty() => {
                // a header block copied over another (duplicate entries, wrong sizes)
                let (from, to) = (headers[rng.below(headers.len())], headers[rng.below(headers.len())]);
                if from + 512 <= b.len() && to + 512 <= b.len() {
                    let block = b[from..from + 512].to_vec();
                    b[to..to + 512].copy_from_slice(&block);
                }
            }
            _ => {
                let at = rng.below(b.len());
                b[at] = rng.next() as u8;
            }
        }
    }
    b
}

/// One archive to damage: its bytes as stored, and (for a whole-archive compressed one)
/// the tar inside, which is damaged and compressed again, so the damage reaches the
/// layers rather than only the decompressor.
pub struct Target {
    pub name: String,
    stored: Vec<u8>,
    tar: Vec<u8>,
    compression: Compression,
    /// Header blocks in `tar` of entries inside layers (damaged most), then of the outer tar.
    inner: Vec<usize>,
    outer: Vec<usize>,
}

pub fn target(name: &str, stored: Vec<u8>) -> Target {
    let compression = strata::detect::compression(&stored);
    let mut tar = Vec::new();
    if compression == Compression::None {
        tar = stored.clone();
    } else if let Ok(mut d) = strata::decompress::decoder(compression, Box::new(&stored[..])) {
        let _ = d.read_to_end(&mut tar);
    }
    let outer: Vec<usize> = tar::Archive::new(&tar[..])
        .entries()
        .map(|es| es.filter_map(|e| e.ok().map(|e| e.raw_header_position() as usize)).collect())
        .unwrap_or_default();
    let inner = header_blocks(&tar).into_iter().filter(|o| !outer.contains(o)).collect();
    Target { name: name.to_string(), stored, tar, compression, inner, outer }
}

pub fn damaged(t: &Target, rng: &mut Rng) -> Vec<u8> {
    // Raw damage to the stored bytes (the decompressors' turn), or damage to the tar.
    if t.compression != Compression::None && (rng.chance(25) || t.compression == Compression::Xz || t.tar.is_empty()) {
        return damage(&t.stored, &[], rng);
    }
    let headers = if !t.inner.is_empty() && (rng.chance(85) || t.outer.is_empty()) { &t.inner } else { &t.outer };
    let tar = damage(&t.tar, headers, rng);
    if t.compression == Compression::None {
        tar
    } else {
        strata::fixture::compress(&tar, t.compression)
    }
}


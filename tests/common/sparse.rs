//! An archive past 4 GiB, written with holes so it costs no disk: a `docker save` whose
//! first layer holds `/big.bin` (4 GiB + 12 345 bytes: a start marker, zeros, an end
//! marker) and then `/after.txt`; a second layer adds `/etc/note.txt`; the config and
//! `manifest.json` come last, as in a real save. Every offset after `big.bin`'s first
//! bytes is past 2^32, in the outer tar and in the layer: a reader that keeps an offset
//! in 32 bits reads the wrong bytes there (the markers tell). Real images of this size
//! are common (CUDA and ML base images).

use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::path::Path;

pub const BIG_SIZE: u64 = (4 << 30) + 12_345;
pub const BIG_START: &[u8] = b"START OF BIG.BIN\n";
pub const BIG_END: &[u8] = b"END OF BIG.BIN, PAST 4 GIB\n";
pub const AFTER: &[u8] = b"hello from past the 4 GiB mark\n";
pub const NOTE: &[u8] = b"top layer\n";
pub const TAG: &str = "big:1";

/// What was written, for the tests to compare with.
pub struct Written {
    pub size: u64,
    /// `sha256:<hex>` of the config: the image ID.
    pub image_id: String,
}

/// Part of a layer or of the outer tar: bytes, or a run of zeros written as a hole.
enum Part {
    Bytes(Vec<u8>),
    Zeros(u64),
}

fn header(name: &str, size: u64) -> Vec<u8> {
    let mut h = tar::Header::new_gnu();
    h.set_path(name).expect("a short name");
    h.set_size(size); // base-256 past 8 GiB: the outer entry of the big layer
    h.set_mode(0o644);
    h.set_mtime(1_700_000_000);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    h.as_bytes().to_vec()
}

fn pad(n: u64) -> u64 {
    (512 - n % 512) % 512
}

/// A tar of `files` (name, parts of its content), ending with two zero blocks.
fn tar_parts(files: Vec<(String, Vec<Part>)>) -> Vec<Part> {
    let mut out = Vec::new();
    for (name, content) in files {
        let size: u64 = content.iter().map(part_len).sum();
        out.push(Part::Bytes(header(&name, size)));
        out.extend(content);
        out.push(Part::Zeros(pad(size)));
    }
    out.push(Part::Zeros(1024));
    out
}

fn part_len(p: &Part) -> u64 {
    match p {
        Part::Bytes(b) => b.len() as u64,
        Part::Zeros(n) => *n,
    }
}

fn digest(parts: &[Part]) -> String {
    let zeros = vec![0u8; 1 << 20];
    let mut h = Sha256::new();
    for p in parts {
        match p {
            Part::Bytes(b) => h.update(b),
            Part::Zeros(n) => {
                let mut left = *n;
                while left > 0 {
                    let take = left.min(zeros.len() as u64) as usize;
                    h.update(&zeros[..take]);
                    left -= take as u64;
                }
            }
        }
    }
    strata::io::sha256_digest(h)
}

fn write_parts(f: &mut File, parts: &[Part]) -> io::Result<()> {
    for p in parts {
        match p {
            Part::Bytes(b) => f.write_all(b)?,
            Part::Zeros(n) => {
                f.seek(SeekFrom::Current(*n as i64))?;
            }
        }
    }
    Ok(())
}

/// Write the archive to `path` (~4.3 GB long, a few KiB on disk where holes are supported).
pub fn write_past_4gib(path: &Path) -> io::Result<Written> {
    let middle = BIG_SIZE - (BIG_START.len() + BIG_END.len()) as u64;
    let layer0 = tar_parts(vec![
        ("big.bin".into(), vec![Part::Bytes(BIG_START.to_vec()), Part::Zeros(middle), Part::Bytes(BIG_END.to_vec())]),
        ("after.txt".into(), vec![Part::Bytes(AFTER.to_vec())]),
    ]);
    let layer1 = tar_parts(vec![("etc/note.txt".into(), vec![Part::Bytes(NOTE.to_vec())])]);
    let (d0, d1) = (digest(&layer0), digest(&layer1));
    let config = serde_json::json!({
        "architecture": "amd64", "os": "linux", "created": "2026-01-01T00:00:00Z",
        "config": {"Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": [d0, d1]},
        "history": [
            {"created": "2026-01-01T00:00:00Z", "created_by": "ADD big.bin after.txt /"},
            {"created": "2026-01-01T00:00:00Z", "created_by": "ADD note.txt /etc/"},
        ],
    })
    .to_string()
    .into_bytes();
    let config_digest = digest(&[Part::Bytes(config.clone())]);
    let blob = |d: &str| format!("blobs/sha256/{}", &d["sha256:".len()..]);
    let manifest = serde_json::json!([{"Config": blob(&config_digest), "RepoTags": [TAG], "Layers": [blob(&d0), blob(&d1)]}])
        .to_string()
        .into_bytes();
    let outer = tar_parts(vec![
        (blob(&d0), layer0),
        (blob(&d1), layer1),
        (blob(&config_digest), vec![Part::Bytes(config)]),
        ("manifest.json".into(), vec![Part::Bytes(manifest)]),
    ]);
    let size: u64 = outer.iter().map(part_len).sum();
    let mut f = File::create(path)?;
    write_parts(&mut f, &outer)?;
    f.set_len(size)?; // (the archive ends in zeros: a hole up to here)
    Ok(Written { size, image_id: config_digest })
}

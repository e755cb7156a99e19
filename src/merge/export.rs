//! Export the merged root filesystem as one tar stream (like `docker export`).
//!
//! Headers are written by hand (GNU format, `././@LongLink` records for names and link
//! targets over 100 bytes) so raw non-UTF-8 names survive on every target, wasm32 included.

use super::read::ContentSource;
use super::tree::{EntryRef, MergedTree, ROOT};
use crate::layer::{display_path, EntryKind, LayerIndex};
use crate::Error;
use serde::Serialize;
use std::collections::HashMap;
use std::io::{self, Read, Write};

/// What an export wrote.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ExportStats {
    pub entries: u64,
    pub files: u64,
    pub content_bytes: u64,
    pub hardlinks: u64,
    /// Paths left out (broken hardlinks), as display paths.
    pub skipped: Vec<String>,
}

/// Write every live path of `tree` (sorted, parents first) as a tar stream to `out`.
/// File bytes come from `src`. Paths sharing one file content (hardlinks) are written as
/// one file and hardlinks to its first path.
pub fn export_rootfs(tree: &MergedTree, layers: &[&LayerIndex], src: &mut dyn ContentSource, out: &mut dyn Write) -> Result<ExportStats, Error> {
    let mut stats = ExportStats::default();
    let mut first_path: HashMap<EntryRef, Vec<u8>> = HashMap::new();
    for n in tree.walk(ROOT) {
        let path = tree.path(n);
        let kind = tree.kind(n);
        let entry = tree.entry_ref(n).and_then(|r| tree.entry(layers, r));
        let (mode, uid, gid, mtime) = match entry {
            Some(e) => (e.mode, e.uid, e.gid, e.mtime),
            None => (0o755, 0, 0, 0),
        };
        let meta = Meta { mode, uid, gid, mtime };
        match kind {
            EntryKind::Dir => {
                let mut p = path.clone();
                p.push(b'/');
                write_header(out, &p, b'5', 0, &meta, None, (0, 0))?;
            }
            EntryKind::Symlink => {
                let target = entry.and_then(|e| e.link.as_deref()).unwrap_or(&[]);
                write_header(out, &path, b'2', 0, &meta, Some(target), (0, 0))?;
            }
            EntryKind::Char | EntryKind::Block | EntryKind::Fifo => {
                let t = match kind {
                    EntryKind::Char => b'3',
                    EntryKind::Block => b'4',
                    _ => b'6',
                };
                let dev = entry.map(|e| (e.dev_major, e.dev_minor)).unwrap_or((0, 0));
                write_header(out, &path, t, 0, &meta, None, dev)?;
            }
            EntryKind::File | EntryKind::Hardlink => {
                let Some(cref) = tree.content_ref(n) else {
                    stats.skipped.push(display_path(&path));
                    continue;
                };
                let Some(content) = tree.entry(layers, cref) else {
                    stats.skipped.push(display_path(&path));
                    continue;
                };
                if let Some(first) = first_path.get(&cref) {
                    write_header(out, &path, b'1', 0, &meta, Some(first), (0, 0))?;
                    stats.hardlinks += 1;
                } else if content.kind == EntryKind::File {
                    // A hardlink's mode and owner are its target's (one inode).
                    let m = Meta { mode: content.mode, uid: content.uid, gid: content.gid, mtime: content.mtime };
                    let m = if kind == EntryKind::File { meta } else { m };
                    write_header(out, &path, b'0', content.size, &m, None, (0, 0))?;
                    let mut r = src.open_entry(cref.layer as usize, content)?;
                    copy_exact(&mut r, out, content.size, &path)?;
                    stats.files += 1;
                    stats.content_bytes += content.size;
                    first_path.insert(cref, path.clone());
                } else {
                    // Hardlink to a symlink or a device: write a copy of what it points at.
                    let (t, link) = match content.kind {
                        EntryKind::Symlink => (b'2', content.link.as_deref()),
                        EntryKind::Char => (b'3', None),
                        EntryKind::Block => (b'4', None),
                        EntryKind::Fifo => (b'6', None),
                        _ => {
                            stats.skipped.push(display_path(&path));
                            continue;
                        }
                    };
                    write_header(out, &path, t, 0, &meta, link, (content.dev_major, content.dev_minor))?;
                }
            }
            EntryKind::Other => {
                stats.skipped.push(display_path(&path));
                continue;
            }
        }
        stats.entries += 1;
    }
    out.write_all(&[0u8; 1024])?;
    out.flush()?;
    Ok(stats)
}

struct Meta {
    mode: u32,
    uid: u64,
    gid: u64,
    mtime: u64,
}

/// Copy exactly `size` bytes and pad to the 512-byte block.
fn copy_exact(r: &mut dyn Read, out: &mut dyn Write, size: u64, path: &[u8]) -> Result<(), Error> {
    let copied = io::copy(&mut r.take(size), out)?;
    if copied != size {
        return Err(Error::Truncated {
            entry: Some(display_path(path)),
            offset: copied,
            detail: format!("expected {size} bytes of content, got {copied}"),
        });
    }
    pad(out, size)?;
    Ok(())
}

fn pad(out: &mut dyn Write, size: u64) -> io::Result<()> {
    let rem = (size % 512) as usize;
    if rem != 0 {
        out.write_all(&[0u8; 512][..512 - rem])?;
    }
    Ok(())
}

/// Write one header block (plus GNU long-name records when needed).
fn write_header(out: &mut dyn Write, path: &[u8], typeflag: u8, size: u64, m: &Meta, link: Option<&[u8]>, dev: (u32, u32)) -> io::Result<()> {
    if path.len() > 100 {
        long_record(out, b'L', path)?;
    }
    if let Some(l) = link {
        if l.len() > 100 {
            long_record(out, b'K', l)?;
        }
    }
    let mut h = [0u8; 512];
    let name_len = path.len().min(100);
    h[..name_len].copy_from_slice(&path[..name_len]);
    octal(&mut h[100..108], u64::from(m.mode & 0o7777));
    octal(&mut h[108..116], m.uid);
    octal(&mut h[116..124], m.gid);
    octal(&mut h[124..136], size);
    octal(&mut h[136..148], m.mtime);
    h[156] = typeflag;
    if let Some(l) = link {
        let n = l.len().min(100);
        h[157..157 + n].copy_from_slice(&l[..n]);
    }
    h[257..265].copy_from_slice(b"ustar  \0"); // GNU magic + version
    if matches!(typeflag, b'3' | b'4') {
        octal(&mut h[329..337], u64::from(dev.0));
        octal(&mut h[337..345], u64::from(dev.1));
    }
    // Checksum: sum of all bytes with the checksum field read as spaces.
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    let cks = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(cks.as_bytes());
    out.write_all(&h)
}

fn long_record(out: &mut dyn Write, typeflag: u8, name: &[u8]) -> io::Result<()> {
    let m = Meta { mode: 0, uid: 0, gid: 0, mtime: 0 };
    let mut data = name.to_vec();
    data.push(0);
    write_header(out, b"././@LongLink", typeflag, data.len() as u64, &m, None, (0, 0))?;
    out.write_all(&data)?;
    pad(out, data.len() as u64)
}

/// Octal, zero padded, NUL terminated; base-256 (GNU) when it does not fit.
fn octal(field: &mut [u8], v: u64) {
    let digits = field.len() - 1;
    let s = format!("{v:0digits$o}");
    if s.len() <= digits {
        field[..digits].copy_from_slice(s.as_bytes());
        field[digits] = 0;
    } else {
        // Base-256: high bit of the first byte set, big-endian value in the rest.
        for b in field.iter_mut() {
            *b = 0;
        }
        let bytes = v.to_be_bytes();
        let n = field.len();
        let take = bytes.len().min(n - 1);
        field[n - take..].copy_from_slice(&bytes[bytes.len() - take..]);
        field[0] |= 0x80;
    }
}

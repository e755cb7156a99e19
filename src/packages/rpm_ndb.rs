//! A read-only reader of rpm's NDB package database (`Packages.db`, openSUSE and SLE 15+:
//! `/usr/lib/sysimage/rpm/Packages.db`), as rpm's `lib/backend/ndb/rpmpkg.c` lays it out.
//! Every number is little-endian.
//! - The file starts with a 32-byte header: magic `RpmP`, version 0, generation, the number
//!   of slot pages (4096 bytes each), the next package index.
//! - The slot pages follow the header: 16-byte slots, magic `Slot`, package index, block
//!   offset and block count (blocks of 16 bytes); a block offset of 0 is a free slot.
//! - Each slot points to a blob: a 16-byte head (`BlbS`, package index, generation, length),
//!   the rpm header blob, zero padding to a block, and a 12-byte tail (Adler-32 of head, blob
//!   and padding, length, `BlbE`).
//!
//! Memory is one slot page, the current blob, and the block range of each blob read (so
//! that two slots cannot hand out the same bytes twice: a file of N bytes yields at most N
//! bytes of headers), whatever the file's size.

use std::collections::BTreeMap;

use super::rpm_bdb::{Record, MAX_RECORD_BYTES};

const FILE_MAGIC: &[u8; 4] = b"RpmP";
const SLOT_MAGIC: &[u8; 4] = b"Slot";
const BLOB_HEAD_MAGIC: &[u8; 4] = b"BlbS";
const BLOB_TAIL_MAGIC: &[u8; 4] = b"BlbE";
const PAGE_SIZE: usize = 4096;
const HEADER_SIZE: usize = 32;
const SLOT_SIZE: usize = 16;
const BLOCK_SIZE: u64 = 16;
const BLOB_HEAD_SIZE: u64 = 16;
const BLOB_TAIL_SIZE: u64 = 12;

fn le(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Adler-32 (RFC 1950), continued from `adler`.
pub fn adler32(adler: u32, bytes: &[u8]) -> u32 {
    let (mut a, mut b) = (adler & 0xffff, adler >> 16);
    for chunk in bytes.chunks(5552) {
        for &byte in chunk {
            a += byte as u32;
            b += a;
        }
        a %= 65521;
        b %= 65521;
    }
    (b << 16) | a
}

/// Walk every package blob through `read_at(offset, buf)` (`file_size` bytes), in slot
/// order. Record keys are package indexes. `on_record` returns false to stop. `Err`: the
/// database cannot be walked (on); the records handed out before stay.
pub fn walk(mut read_at: impl FnMut(u64, &mut [u8]) -> Result<(), String>, file_size: u64, on_record: &mut dyn FnMut(Record) -> bool) -> Result<(), String> {
    if file_size < HEADER_SIZE as u64 {
        return Err(format!("shorter than an rpm NDB header ({HEADER_SIZE} bytes)"));
    }
    let mut header = [0u8; HEADER_SIZE];
    read_at(0, &mut header)?;
    if &header[..4] != FILE_MAGIC {
        return Err("not an rpm NDB package database (no \"RpmP\" magic)".into());
    }
    let version = le(&header, 4);
    if version != 0 {
        return Err(format!("NDB version {version}; rpm writes version 0"));
    }
    let slot_pages = le(&header, 12) as u64;
    if slot_pages == 0 || slot_pages * PAGE_SIZE as u64 > file_size {
        return Err(format!("{slot_pages} slot pages of {PAGE_SIZE} bytes do not fit in the file's {file_size} bytes: cut short?"));
    }
    let file_blocks = file_size / BLOCK_SIZE;
    // Blobs start after the slot pages.
    let first_blob_block = slot_pages * PAGE_SIZE as u64 / BLOCK_SIZE;
    let mut page = vec![0u8; PAGE_SIZE];
    // Blob block ranges handed out so far: start → end.
    let mut used: BTreeMap<u64, u64> = BTreeMap::new();
    // Slots whose blob lies past the file's end (a cut file): said once, at the end.
    let mut past_end: Option<(u64, u32, u64)> = None;
    let mut past_end_count = 0u64;
    for page_no in 0..slot_pages {
        read_at(page_no * PAGE_SIZE as u64, &mut page).map_err(|e| format!("slot page {page_no}: {e}"))?;
        let start = if page_no == 0 { HEADER_SIZE } else { 0 };
        for at in (start..PAGE_SIZE).step_by(SLOT_SIZE) {
            let slot_no = (page_no * PAGE_SIZE as u64 + at as u64) / SLOT_SIZE as u64;
            let slot = &page[at..at + SLOT_SIZE];
            if &slot[..4] != SLOT_MAGIC {
                return Err(format!("slot {slot_no} (slot page {page_no}) has no \"Slot\" magic"));
            }
            let (index, block, blocks) = (le(slot, 4), le(slot, 8) as u64, le(slot, 12) as u64);
            if block == 0 {
                continue; // a free slot
            }
            if index != 0 && blocks != 0 && block >= first_blob_block && block + blocks > file_blocks {
                past_end_count += 1;
                past_end.get_or_insert((slot_no, index, block + blocks));
                continue;
            }
            let data = if index == 0 || blocks == 0 || block < first_blob_block || block + blocks > file_blocks {
                Err(format!("slot {slot_no} points to blocks {block}–{} for package {index}, outside the file's blob area (blocks {first_blob_block}–{file_blocks})", block + blocks))
            } else if let Some((start, end)) = overlapping(&used, block, block + blocks) {
                Err(format!("slot {slot_no} points to blocks {block}–{} for package {index}, over blocks {start}–{end} of another slot", block + blocks))
            } else {
                used.insert(block, block + blocks);
                read_blob(&mut read_at, index, block, blocks)
            };
            if !on_record(Record { key: index, data }) {
                return Ok(());
            }
        }
    }
    if let Some((slot_no, index, end)) = past_end {
        return Err(format!(
            "{past_end_count} slot(s) point past the file's end (the first: slot {slot_no}, package {index}, blocks up to {end}; the file has {file_blocks}): cut short?"
        ));
    }
    Ok(())
}

/// A range in `used` that overlaps `start..end`.
fn overlapping(used: &BTreeMap<u64, u64>, start: u64, end: u64) -> Option<(u64, u64)> {
    // The last range starting before `end` is the only one that can reach into it.
    used.range(..end).next_back().filter(|(_, &e)| e > start).map(|(&s, &e)| (s, e))
}

/// The header blob of package `index` stored in `blocks` blocks from block `block`.
fn read_blob(read_at: &mut impl FnMut(u64, &mut [u8]) -> Result<(), String>, index: u32, block: u64, blocks: u64) -> Result<Vec<u8>, String> {
    let what = format!("package {index}'s blob at block {block}");
    let offset = block * BLOCK_SIZE;
    let mut head = [0u8; BLOB_HEAD_SIZE as usize];
    read_at(offset, &mut head).map_err(|e| format!("{what}: {e}"))?;
    if &head[..4] != BLOB_HEAD_MAGIC {
        return Err(format!("{what} has no \"BlbS\" magic"));
    }
    if le(&head, 4) != index {
        return Err(format!("{what} says it is package {}", le(&head, 4)));
    }
    let length = le(&head, 12);
    if length > MAX_RECORD_BYTES {
        return Err(format!("{what}: {length} bytes, more than the {MAX_RECORD_BYTES} strata reads of one header"));
    }
    let padded = (BLOB_HEAD_SIZE + length as u64 + BLOB_TAIL_SIZE).div_ceil(BLOCK_SIZE);
    if padded != blocks {
        return Err(format!("{what}: {length} bytes take {padded} blocks, but its slot says {blocks}"));
    }
    // Blob and padding, then the tail: the checksum covers head, blob and padding.
    let mut body = vec![0u8; (blocks * BLOCK_SIZE - BLOB_HEAD_SIZE) as usize];
    read_at(offset + BLOB_HEAD_SIZE, &mut body).map_err(|e| format!("{what}: {e}"))?;
    let tail_at = body.len() - BLOB_TAIL_SIZE as usize;
    let (checksum, tail_length, tail_magic) = (le(&body, tail_at), le(&body, tail_at + 4), &body[tail_at + 8..]);
    if tail_magic != BLOB_TAIL_MAGIC || tail_length != length {
        return Err(format!("{what} has no \"BlbE\" tail of its length"));
    }
    let computed = adler32(adler32(1, &head), &body[..tail_at]);
    if computed != checksum {
        return Err(format!("{what}: Adler-32 {computed:08x}, but the blob's tail says {checksum:08x}"));
    }
    body.truncate(length as usize);
    Ok(body)
}

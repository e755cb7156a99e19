//! Writers for rpm databases the test machine's rpm cannot write, from the format:
//! NDB's `Packages.db` (rpm's `lib/backend/ndb/rpmpkg.c`: header, slot pages, blobs with
//! head, padding and Adler-32 tail), and plain rpm header blobs (for fuzz seeds and for
//! images without rpmbuild). Included with `#[path]` where needed.
#![allow(dead_code)]

/// Adler-32 (RFC 1950), continued from `adler`: written here again rather than taken from
/// the reader, so that a mistake in one does not hide in both.
fn adler32(adler: u32, bytes: &[u8]) -> u32 {
    let (mut a, mut b) = (adler & 0xffff, adler >> 16);
    for &byte in bytes {
        a = (a + byte as u32) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

/// An NDB `Packages.db` holding `blobs` (package index, header blob), in `slot_pages` slot
/// pages (one holds 254 slots on the first page, 256 on the others); the slot after the
/// packages is left free, and blobs are laid out in index order after the slot pages.
pub fn ndb(blobs: &[(u32, Vec<u8>)], slot_pages: u32) -> Vec<u8> {
    const PAGE: usize = 4096;
    let slot_area = slot_pages as usize * PAGE;
    let mut out = vec![0u8; slot_area];
    out[..4].copy_from_slice(b"RpmP");
    out[4..8].copy_from_slice(&0u32.to_le_bytes());
    out[8..12].copy_from_slice(&7u32.to_le_bytes()); // generation
    out[12..16].copy_from_slice(&slot_pages.to_le_bytes());
    let next_index = blobs.iter().map(|(i, _)| *i).max().unwrap_or(0) + 1;
    out[16..20].copy_from_slice(&next_index.to_le_bytes());
    // Every slot carries its magic, free ones too (block offset 0).
    for at in (32..slot_area).step_by(16) {
        out[at..at + 4].copy_from_slice(b"Slot");
    }
    assert!(blobs.len() < slot_area / 16 - 2, "more packages than slots");
    for (n, (index, blob)) in blobs.iter().enumerate() {
        let block = out.len() / 16;
        let blocks = (16 + blob.len() + 12).div_ceil(16);
        let mut record = Vec::with_capacity(blocks * 16);
        record.extend_from_slice(b"BlbS");
        record.extend_from_slice(&index.to_le_bytes());
        record.extend_from_slice(&7u32.to_le_bytes());
        record.extend_from_slice(&(blob.len() as u32).to_le_bytes());
        record.extend_from_slice(blob);
        record.resize(blocks * 16 - 12, 0);
        let sum = adler32(1, &record);
        record.extend_from_slice(&sum.to_le_bytes());
        record.extend_from_slice(&(blob.len() as u32).to_le_bytes());
        record.extend_from_slice(b"BlbE");
        out.extend_from_slice(&record);
        let slot = 32 + 16 * n;
        out[slot + 4..slot + 8].copy_from_slice(&index.to_le_bytes());
        out[slot + 8..slot + 12].copy_from_slice(&(block as u32).to_le_bytes());
        out[slot + 12..slot + 16].copy_from_slice(&(blocks as u32).to_le_bytes());
    }
    out
}

/// An rpm header blob as rpm keeps it in its databases (no lead, no magic): name, version,
/// release, arch, license and source rpm as strings, the epoch as an INT32 when given, and
/// `filler` bytes of a BIN entry (tag 1099 unused by the readers) to make it big.
pub fn header(name: &str, epoch: Option<u32>, version: &str, release: &str, filler: usize) -> Vec<u8> {
    let mut entries: Vec<(u32, u32, u32, u32)> = Vec::new();
    let mut data: Vec<u8> = Vec::new();
    let strings = [(1000, name.to_string()), (1001, version.to_string()), (1002, release.to_string()), (1014, "MIT".to_string()), (1022, "x86_64".to_string()), (1044, format!("{name}-{version}-{release}.src.rpm"))];
    for (tag, value) in strings {
        entries.push((tag, 6, data.len() as u32, 1));
        data.extend_from_slice(value.as_bytes());
        data.push(0);
    }
    if let Some(e) = epoch {
        while data.len() % 4 != 0 {
            data.push(0);
        }
        entries.push((1003, 4, data.len() as u32, 1));
        data.extend_from_slice(&e.to_be_bytes());
    }
    if filler > 0 {
        entries.push((1099, 7, data.len() as u32, filler as u32));
        data.extend((0..filler).map(|i| (i * 7 % 251) as u8));
    }
    entries.sort();
    let mut out = Vec::new();
    out.extend_from_slice(&(entries.len() as u32).to_be_bytes());
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    for (tag, kind, offset, count) in entries {
        for v in [tag, kind, offset, count] {
            out.extend_from_slice(&v.to_be_bytes());
        }
    }
    out.extend_from_slice(&data);
    out
}

/// The input `db5.3_load` reads (`db_dump`'s format, bytevalue): a hash database of the
/// records, keys as 4-byte header numbers in the byte order given.
pub fn db_load_input(records: &[(u32, Vec<u8>)], page_size: usize, big_endian: bool) -> String {
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let mut s = format!("VERSION=3\nformat=bytevalue\ntype=hash\ndb_pagesize={page_size}\nHEADER=END\n");
    for (key, value) in records {
        let key = if big_endian { key.to_be_bytes() } else { key.to_le_bytes() };
        s.push_str(&format!(" {}\n {}\n", hex(&key), hex(value)));
    }
    s.push_str("DATA=END\n");
    s
}

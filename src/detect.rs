//! Detect: what kind of bytes these are, from their first bytes (never from names).

use crate::report::Compression;

/// Compression from magic bytes.
pub fn compression(head: &[u8]) -> Compression {
    if head.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) || is_zstd_skippable_frame(head) {
        Compression::Zstd
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        Compression::Xz
    } else if head.starts_with(b"BZh") && head.len() > 3 && head[3].is_ascii_digit() {
        Compression::Bzip2
    } else {
        Compression::None
    }
}

/// A zstd skippable frame (magic 0x184D2A50..=0x184D2A5F, RFC 8878 §3.1.2): a zstd
/// stream may begin with one.
fn is_zstd_skippable_frame(head: &[u8]) -> bool {
    head.len() >= 4 && head[0] & 0xf0 == 0x50 && head[1..4] == [0x2a, 0x4d, 0x18]
}

/// Does this 512-byte block look like a tar header (or the all-zero end marker)?
/// A valid header checksum is the test; the `ustar` magic is not required (v7 tars).
pub fn looks_like_tar(block: &[u8]) -> bool {
    if block.len() < 512 {
        return false;
    }
    let block = &block[..512];
    if block.iter().all(|&b| b == 0) {
        return true;
    }
    // The checksum field is octal digits, padded with spaces or NULs on either side: some
    // writers put a space first (" 012345\0"), and the tar crate reads that too.
    let field = &block[148..156];
    let digits: Vec<u8> = field
        .iter()
        .copied()
        .skip_while(|&b| b == b' ')
        .take_while(|&b| b != 0 && b != b' ')
        .collect();
    let Ok(text) = std::str::from_utf8(&digits) else { return false };
    let Ok(stored) = u32::from_str_radix(text, 8) else { return false };
    // Old writers summed the bytes as signed chars; accept either sum, as GNU tar does.
    let (mut unsigned, mut signed): (u32, i32) = (0, 0);
    for (i, &b) in block.iter().enumerate() {
        let b = if (148..156).contains(&i) { b' ' } else { b };
        unsigned += b as u32;
        signed += b as i8 as i32;
    }
    stored == unsigned || i64::from(stored) == i64::from(signed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_magic() {
        assert_eq!(compression(&[0x1f, 0x8b, 8]), Compression::Gzip);
        assert_eq!(compression(&[0x28, 0xb5, 0x2f, 0xfd, 0]), Compression::Zstd);
        // a zstd stream that begins with a skippable frame
        assert_eq!(compression(&[0x5e, 0x2a, 0x4d, 0x18, 0, 0, 0, 0]), Compression::Zstd);
        assert_eq!(compression(&[0x60, 0x2a, 0x4d, 0x18, 0, 0, 0, 0]), Compression::None);
        assert_eq!(compression(b"\xfd7zXZ\x00\x00"), Compression::Xz);
        assert_eq!(compression(b"BZh9"), Compression::Bzip2);
        assert_eq!(compression(b"{\"a\":1}"), Compression::None);
    }

    #[test]
    fn recognises_tar_headers() {
        let mut h = tar::Header::new_gnu();
        h.set_path("a.txt").unwrap();
        h.set_size(0);
        h.set_cksum();
        assert!(looks_like_tar(h.as_bytes()));
        assert!(looks_like_tar(&[0u8; 512]));
        let mut bad = *h.as_bytes();
        bad[0] ^= 1;
        assert!(!looks_like_tar(&bad));
        // the same checksum, written with a leading space (" 0NNNNN\0")
        let mut spaced = *h.as_bytes();
        let digits = format!(" {:06o}\0", h.cksum().unwrap());
        spaced[148..156].copy_from_slice(digits.as_bytes());
        assert!(looks_like_tar(&spaced));
    }
}

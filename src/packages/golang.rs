//! Go binaries: the build information the Go linker (1.18+) writes into the
//! `.go.buildinfo` section — the Go version, the main module and every dependency
//! (`go version -m` prints the same). Only ELF binaries are read, and only their ELF
//! header, section headers, section names and that section.

use super::{Limits, Package, PackageType, Parsed};

const MAGIC: &[u8; 14] = b"\xff Go buildinf:";
const MAX_SECTION: u64 = 4 << 20;

/// Build information, if `read_at` reads an ELF file with a `.go.buildinfo` section.
pub fn parse_binary(mut read_at: impl FnMut(u64, &mut [u8]) -> Result<(), String>, size: u64, location: &str, limits: &Limits) -> Result<Parsed, String> {
    let mut parsed = Parsed::default();
    let Some((offset, len)) = find_section(&mut read_at, size)? else { return Ok(parsed) };
    if !(32..=MAX_SECTION).contains(&len) || offset.saturating_add(len) > size {
        return Err(format!("a .go.buildinfo section of {len} bytes at {offset} does not fit"));
    }
    let mut sec = vec![0u8; len as usize];
    read_at(offset, &mut sec)?;
    if &sec[..14] != MAGIC {
        return Err(".go.buildinfo does not start with the build-info magic".into());
    }
    if sec[15] & 2 == 0 {
        // Before Go 1.18 the strings are behind pointers into the data segment.
        return Err("build info of a Go older than 1.18 (pointer format): not read".into());
    }
    let mut at = 32;
    let version = string(&sec, &mut at).ok_or("the Go version string is cut off")?;
    let modinfo = string(&sec, &mut at).ok_or("the module information is cut off")?;
    // Framed by 16-byte sentinels.
    let modinfo = if modinfo.len() >= 33 && modinfo[modinfo.len() - 17] == b'\n' { &modinfo[16..modinfo.len() - 16] } else { modinfo };
    let go_version = String::from_utf8_lossy(version).into_owned();
    let text = String::from_utf8_lossy(modinfo);
    for line in text.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        match fields.as_slice() {
            ["mod", path, version, ..] | ["dep", path, version, ..] => {
                if parsed.packages.len() >= limits.max_packages {
                    break;
                }
                let mut p = Package::new(PackageType::Golang, path.to_string(), version.to_string(), location);
                if fields[0] == "mod" {
                    p.source = Some(go_version.clone());
                }
                parsed.packages.push(p);
            }
            // A replaced dependency: the replacement's version is what was built.
            // (a directory replacement has no version: the required one stays)
            ["=>", _path, version, ..] if !version.is_empty() => {
                if let Some(last) = parsed.packages.last_mut() {
                    last.version = version.to_string();
                }
            }
            _ => {}
        }
    }
    Ok(parsed)
}

fn string<'s>(b: &'s [u8], at: &mut usize) -> Option<&'s [u8]> {
    let mut len: u64 = 0;
    let mut shift = 0;
    loop {
        let byte = *b.get(*at)?;
        *at += 1;
        len |= ((byte & 0x7f) as u64) << shift;
        if byte & 0x80 == 0 {
            break;
        }
        shift += 7;
        if shift > 35 {
            return None;
        }
    }
    let end = at.checked_add(usize::try_from(len).ok()?)?;
    let s = b.get(*at..end)?;
    *at = end;
    Some(s)
}

/// (offset, size) of the `.go.buildinfo` section of an ELF file; None for anything else.
fn find_section(read_at: &mut impl FnMut(u64, &mut [u8]) -> Result<(), String>, size: u64) -> Result<Option<(u64, u64)>, String> {
    if size < 64 {
        return Ok(None);
    }
    let mut h = [0u8; 64];
    read_at(0, &mut h)?;
    if &h[..4] != b"\x7fELF" {
        return Ok(None);
    }
    let wide = h[4] == 2;
    let little = h[5] == 1;
    let u16_at = |b: &[u8], at: usize| if little { u16::from_le_bytes([b[at], b[at + 1]]) } else { u16::from_be_bytes([b[at], b[at + 1]]) } as u64;
    let u32_at = |b: &[u8], at: usize| {
        let a = [b[at], b[at + 1], b[at + 2], b[at + 3]];
        (if little { u32::from_le_bytes(a) } else { u32::from_be_bytes(a) }) as u64
    };
    let u64_at = |b: &[u8], at: usize| {
        let mut a = [0u8; 8];
        a.copy_from_slice(&b[at..at + 8]);
        if little { u64::from_le_bytes(a) } else { u64::from_be_bytes(a) }
    };
    let (shoff, shentsize, shnum, shstrndx) = if wide { (u64_at(&h, 0x28), u16_at(&h, 0x3a), u16_at(&h, 0x3c), u16_at(&h, 0x3e)) } else { (u32_at(&h, 0x20), u16_at(&h, 0x2e), u16_at(&h, 0x30), u16_at(&h, 0x32)) };
    let min_entry = if wide { 64 } else { 40 };
    if shnum == 0 || shentsize < min_entry || shnum > 4096 || shoff.saturating_add(shentsize * shnum) > size || shstrndx >= shnum {
        return Ok(None);
    }
    let mut table = vec![0u8; (shentsize * shnum) as usize];
    read_at(shoff, &mut table)?;
    let section = |i: u64| {
        let e = (i * shentsize) as usize;
        if wide { (u32_at(&table, e), u64_at(&table, e + 24), u64_at(&table, e + 32)) } else { (u32_at(&table, e), u32_at(&table, e + 16), u32_at(&table, e + 20)) }
    };
    let (_, names_at, names_len) = section(shstrndx);
    if names_len > 1 << 20 || names_at.saturating_add(names_len) > size {
        return Ok(None);
    }
    let mut names = vec![0u8; names_len as usize];
    read_at(names_at, &mut names)?;
    for i in 0..shnum {
        let (name, offset, len) = section(i);
        if names.get(name as usize..).is_some_and(|n| n.starts_with(b".go.buildinfo\0")) {
            return Ok(Some((offset, len)));
        }
    }
    Ok(None)
}

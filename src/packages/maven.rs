//! Java: `META-INF/maven/<groupId>/<artifactId>/pom.properties` inside jars (and wars,
//! ears). A jar is a zip: the end-of-central-directory record at its end points at the
//! central directory, whose entries point at each file's local header; only the few
//! `pom.properties` members are read (stored or deflated), through `read_at`, so a 100 MB
//! jar costs its directory and a few hundred bytes.

use super::{Limits, Package, PackageType, Parsed};
use std::io::Read;

const EOCD: u32 = 0x0605_4b50;
const CENTRAL: u32 = 0x0201_4b50;
const LOCAL: u32 = 0x0403_4b50;
/// The end record is 22 bytes plus a comment of at most 65 535.
const MAX_TAIL: u64 = 22 + 65_535;
const MAX_DIRECTORY: u64 = 32 << 20;
const MAX_PROPERTIES: u64 = 64 << 10;

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}
fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

pub fn parse_jar(mut read_at: impl FnMut(u64, &mut [u8]) -> Result<(), String>, size: u64, location: &str, limits: &Limits) -> Result<Parsed, String> {
    if size < 22 {
        return Err("shorter than a zip's end record: not a jar".into());
    }
    let tail_len = size.min(MAX_TAIL);
    let mut tail = vec![0u8; tail_len as usize];
    read_at(size - tail_len, &mut tail)?;
    let eocd = (0..=tail.len() - 22).rev().find(|&i| u32_at(&tail, i) == Some(EOCD)).ok_or("no zip end-of-central-directory record: not a jar")?;
    let entries = u16_at(&tail, eocd + 10).unwrap_or(0);
    let dir_size = u32_at(&tail, eocd + 12).unwrap_or(0);
    let dir_offset = u32_at(&tail, eocd + 16).unwrap_or(0);
    if entries == 0xffff || dir_size == 0xffff_ffff || dir_offset == 0xffff_ffff {
        return Err("a ZIP64 jar (over 65 535 entries or 4 GiB): not read".into());
    }
    if dir_size as u64 > MAX_DIRECTORY || dir_offset as u64 + dir_size as u64 > size {
        return Err(format!("the central directory ({dir_size} bytes at {dir_offset}) does not fit in the file"));
    }
    let mut dir = vec![0u8; dir_size as usize];
    read_at(dir_offset as u64, &mut dir)?;
    let mut parsed = Parsed::default();
    let mut at = 0usize;
    for i in 0..entries {
        if u32_at(&dir, at) != Some(CENTRAL) {
            parsed.problems.push(format!("central directory entry {i} has no signature: the rest are not read"));
            break;
        }
        let (Some(method), Some(comp), Some(uncomp), Some(name_len), Some(extra_len), Some(comment_len), Some(local)) = (
            u16_at(&dir, at + 10),
            u32_at(&dir, at + 20),
            u32_at(&dir, at + 24),
            u16_at(&dir, at + 28),
            u16_at(&dir, at + 30),
            u16_at(&dir, at + 32),
            u32_at(&dir, at + 42),
        ) else {
            parsed.problems.push(format!("central directory entry {i} is cut off"));
            break;
        };
        let name = dir.get(at + 46..at + 46 + name_len as usize).unwrap_or_default().to_vec();
        at += 46 + name_len as usize + extra_len as usize + comment_len as usize;
        if !is_pom_properties(&name) {
            continue;
        }
        let shown = String::from_utf8_lossy(&name).into_owned();
        match member(&mut read_at, size, method, comp, uncomp, local) {
            Ok(bytes) => {
                if let Some(p) = package(&bytes, location) {
                    if parsed.packages.len() >= limits.max_packages {
                        break;
                    }
                    parsed.packages.push(p);
                }
            }
            Err(e) => parsed.problems.push(format!("{shown}: {e}")),
        }
    }
    Ok(parsed)
}

/// `META-INF/maven/<group>/<artifact>/pom.properties`.
fn is_pom_properties(name: &[u8]) -> bool {
    let parts: Vec<&[u8]> = name.split(|&b| b == b'/').collect();
    parts.len() == 5 && parts[0] == b"META-INF" && parts[1] == b"maven" && parts[4] == b"pom.properties"
}

/// The bytes of one member: its local header says where the data starts.
fn member(read_at: &mut impl FnMut(u64, &mut [u8]) -> Result<(), String>, size: u64, method: u16, comp: u32, uncomp: u32, local: u32) -> Result<Vec<u8>, String> {
    if comp as u64 > MAX_PROPERTIES || uncomp as u64 > MAX_PROPERTIES {
        return Err(format!("{uncomp} bytes, more than a pom.properties holds"));
    }
    let mut head = [0u8; 30];
    if local as u64 + 30 > size {
        return Err("its local header is past the end of the jar".into());
    }
    read_at(local as u64, &mut head)?;
    if u32_at(&head, 0) != Some(LOCAL) {
        return Err("no local header where the directory points".into());
    }
    let data_at = local as u64 + 30 + u16_at(&head, 26).unwrap_or(0) as u64 + u16_at(&head, 28).unwrap_or(0) as u64;
    if data_at + comp as u64 > size {
        return Err("its data runs past the end of the jar".into());
    }
    let mut data = vec![0u8; comp as usize];
    read_at(data_at, &mut data)?;
    match method {
        0 => Ok(data),
        8 => {
            let mut out = Vec::new();
            flate2::read::DeflateDecoder::new(&data[..]).take(MAX_PROPERTIES).read_to_end(&mut out).map_err(|e| format!("bad deflate data: {e}"))?;
            Ok(out)
        }
        m => Err(format!("compression method {m} (only stored and deflate are read)")),
    }
}

/// `groupId`, `artifactId`, `version` of a pom.properties (Java properties, `#` comments).
fn package(bytes: &[u8], location: &str) -> Option<Package> {
    let text = String::from_utf8_lossy(bytes);
    let (mut group, mut artifact, mut version) = (None, None, None);
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let Some((k, v)) = line.split_once(['=', ':']) else { continue };
        let v = v.trim().to_string();
        match k.trim() {
            "groupId" => group = Some(v),
            "artifactId" => artifact = Some(v),
            "version" => version = Some(v),
            _ => {}
        }
    }
    let (group, artifact, version) = (group?, artifact?, version?);
    Some(Package::new(PackageType::Maven, format!("{group}:{artifact}"), version, location))
}

//! rpm: the SQLite database (`/var/lib/rpm/rpmdb.sqlite`, or `/usr/lib/sysimage/rpm/`),
//! table `Packages (hnum INTEGER PRIMARY KEY, blob BLOB)`, each blob an rpm header as
//! rpm keeps it in its database: index count and data size (big-endian u32 each), the
//! index entries (tag, type, offset, count), then the data store.
//! (Berkeley DB `Packages` and NDB `Packages.db` are not read yet.)

use super::sqlite::{Db, Value};
use super::{Limits, Package, PackageType, Parsed};

const TAG_NAME: u32 = 1000;
const TAG_VERSION: u32 = 1001;
const TAG_RELEASE: u32 = 1002;
const TAG_EPOCH: u32 = 1003;
const TAG_LICENSE: u32 = 1014;
const TAG_ARCH: u32 = 1022;
const TAG_SOURCERPM: u32 = 1044;

const TYPE_INT32: u32 = 4;
const TYPE_STRING: u32 = 6;
const TYPE_I18NSTRING: u32 = 9;

/// An rpm header's entries of interest.
#[derive(Default)]
struct Header {
    name: Option<String>,
    version: Option<String>,
    release: Option<String>,
    epoch: Option<u32>,
    license: Option<String>,
    arch: Option<String>,
    source_rpm: Option<String>,
}

/// Parse one header blob (without the 8-byte magic of a header in a package file).
fn header(blob: &[u8]) -> Result<Header, String> {
    let be = |at: usize| blob.get(at..at + 4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
    let (il, dl) = (be(0).ok_or("header cut off")? as usize, be(4).ok_or("header cut off")? as usize);
    if il > 100_000 || dl > 256 << 20 {
        return Err(format!("header claims {il} entries and {dl} data bytes"));
    }
    let data_start = 8 + il * 16;
    if data_start + dl > blob.len() {
        return Err(format!("header of {il} entries and {dl} data bytes is longer than its {} bytes", blob.len()));
    }
    let data = &blob[data_start..data_start + dl];
    let mut h = Header::default();
    for i in 0..il {
        let e = 8 + i * 16;
        let (tag, kind, offset) = (be(e).unwrap_or(0), be(e + 4).unwrap_or(0), be(e + 8).unwrap_or(0) as usize);
        let string = || -> Option<String> {
            let rest = data.get(offset..)?;
            let end = rest.iter().position(|&b| b == 0)?;
            Some(String::from_utf8_lossy(&rest[..end]).into_owned())
        };
        let is_string = kind == TYPE_STRING || kind == TYPE_I18NSTRING;
        match tag {
            TAG_NAME if is_string => h.name = string(),
            TAG_VERSION if is_string => h.version = string(),
            TAG_RELEASE if is_string => h.release = string(),
            TAG_LICENSE if is_string => h.license = string(),
            TAG_ARCH if is_string => h.arch = string(),
            TAG_SOURCERPM if is_string => h.source_rpm = string(),
            TAG_EPOCH if kind == TYPE_INT32 => h.epoch = offset.checked_add(4).and_then(|end| data.get(offset..end)).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]])),
            _ => {}
        }
    }
    Ok(h)
}

/// Read the Packages table through `read_at` (the file, `size` bytes).
pub fn parse_sqlite(read_at: impl FnMut(u64, &mut [u8]) -> Result<(), String>, size: u64, location: &str, limits: &Limits) -> Result<Parsed, String> {
    let mut db = Db::open(read_at, size)?;
    let root = db.table_root("Packages")?.ok_or("no Packages table")?;
    let mut parsed = Parsed::default();
    let mut problems = Vec::new();
    let mut packages = Vec::new();
    let walked = db.walk_table(root, &mut |rowid, columns| {
        let Some(Value::Blob(blob)) = columns.get(1) else {
            problems.push(format!("row {rowid} of Packages has no header blob"));
            return Ok(true);
        };
        match header(blob) {
            Ok(h) => {
                let (Some(name), Some(version)) = (h.name, h.version) else {
                    problems.push(format!("row {rowid}: the header has no name or version"));
                    return Ok(true);
                };
                // The keys rpm imported (`rpm -qa` lists them) are not packages.
                if name == "gpg-pubkey" {
                    return Ok(true);
                }
                if packages.len() >= limits.max_packages {
                    problems.push(format!("more than {} packages: the rest are left out", limits.max_packages));
                    return Ok(false);
                }
                // As rpm shows it: [epoch:]version-release.
                let mut full = String::new();
                if let Some(e) = h.epoch {
                    full.push_str(&format!("{e}:"));
                }
                full.push_str(&version);
                if let Some(r) = &h.release {
                    full.push('-');
                    full.push_str(r);
                }
                let mut p = Package::new(PackageType::Rpm, name, full, location);
                p.arch = h.arch;
                p.licenses = h.license.into_iter().collect();
                p.source = h.source_rpm;
                packages.push(p);
            }
            Err(e) => problems.push(format!("row {rowid}: {e}")),
        }
        Ok(true)
    });
    // A damaged page stops the walk; what was read before it is kept.
    if let Err(e) = walked {
        problems.push(e);
    }
    parsed.packages = packages;
    parsed.problems = problems;
    Ok(parsed)
}

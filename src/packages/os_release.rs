//! The OS of an image: `/etc/os-release` (often a symlink to `../usr/lib/os-release`),
//! else `/usr/lib/os-release`, as os-release(5) says; Debian's point release from
//! `/etc/debian_version`, Alpine's from `/etc/alpine-release`.

use super::PackageFinding;
use crate::layer::LayerIndex;
use crate::merge::read::{file_content, ContentSource};
use crate::merge::MergedTree;
use serde::{Deserialize, Serialize};
use std::io::Read;

/// os-release files are a few hundred bytes; more than this is not one.
const MAX_OS_RELEASE_BYTES: u64 = 64 << 10;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OsInfo {
    /// `debian`, `alpine`, `ubuntu`, `fedora` (the purl namespace and distro qualifier).
    pub id: Option<String>,
    /// `12`, `3.19.1`.
    pub version_id: Option<String>,
    pub pretty_name: Option<String>,
    /// Debian's point release (`12.5`) from `/etc/debian_version`, Alpine's from `/etc/alpine-release`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub point_release: Option<String>,
}

impl OsInfo {
    /// The purl `distro` qualifier: `debian-12`, `alpine-3.19.1`.
    pub fn distro(&self) -> Option<String> {
        Some(format!("{}-{}", self.id.as_deref()?, self.version_id.as_deref()?))
    }
}

/// Parse os-release(5): `KEY=value` lines, values maybe quoted (`"…"` with backslash
/// escapes, or `'…'`); comments and blank lines skipped.
pub fn parse(text: &str) -> OsInfo {
    let mut os = OsInfo::default();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, raw)) = line.split_once('=') else { continue };
        let value = unquote(raw.trim());
        let value = Some(value).filter(|v| !v.is_empty());
        match key.trim() {
            "ID" => os.id = value,
            "VERSION_ID" => os.version_id = value,
            "PRETTY_NAME" => os.pretty_name = value,
            _ => {}
        }
    }
    os
}

fn unquote(raw: &str) -> String {
    let bytes = raw.as_bytes();
    if bytes.len() >= 2 && bytes[0] == b'\'' && bytes[bytes.len() - 1] == b'\'' {
        return raw[1..raw.len() - 1].to_string();
    }
    if bytes.len() >= 2 && bytes[0] == b'"' && bytes[bytes.len() - 1] == b'"' {
        let mut out = String::new();
        let mut chars = raw[1..raw.len() - 1].chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                if let Some(next) = chars.next() {
                    out.push(next);
                }
            } else {
                out.push(c);
            }
        }
        return out;
    }
    raw.to_string()
}

/// The OS of the image as of the last layer of `layers` (None: no os-release file).
pub fn read(tree: &MergedTree, layers: &[&LayerIndex], src: &mut dyn ContentSource, k: usize, findings: &mut Vec<PackageFinding>) -> Option<OsInfo> {
    let mut os = None;
    for path in ["etc/os-release", "usr/lib/os-release"] {
        match read_small(tree, layers, src, path) {
            Ok(Some(text)) => {
                os = Some(parse(&text));
                break;
            }
            Ok(None) => {}
            Err(message) => findings.push(PackageFinding::unreadable(k, format!("/{path}"), message)),
        }
    }
    let mut os = os?;
    let point_file = match os.id.as_deref() {
        Some("debian") => Some("etc/debian_version"),
        Some("alpine") => Some("etc/alpine-release"),
        _ => None,
    };
    if let Some(path) = point_file {
        match read_small(tree, layers, src, path) {
            Ok(Some(text)) => os.point_release = text.lines().next().map(|l| l.trim().to_string()).filter(|l| !l.is_empty()),
            Ok(None) => {}
            Err(message) => findings.push(PackageFinding::unreadable(k, format!("/{path}"), message)),
        }
    }
    Some(os)
}

/// A small text file, symlinks followed; Ok(None) when it is not there.
fn read_small(tree: &MergedTree, layers: &[&LayerIndex], src: &mut dyn ContentSource, path: &str) -> Result<Option<String>, String> {
    let Ok((layer, entry)) = file_content(tree, layers, path.as_bytes()) else { return Ok(None) };
    if entry.size > MAX_OS_RELEASE_BYTES {
        return Err(format!("{} bytes, more than the {MAX_OS_RELEASE_BYTES} an os-release file can be: not read", entry.size));
    }
    let mut bytes = Vec::new();
    src.open_entry(layer, entry)
        .and_then(|r| r.take(MAX_OS_RELEASE_BYTES).read_to_end(&mut bytes).map_err(crate::Error::from))
        .map_err(|e| format!("cannot be read: {e}"))?;
    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_quotes() {
        let os = parse("PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n# c\nX='a b'\n");
        assert_eq!(os.id.as_deref(), Some("debian"));
        assert_eq!(os.version_id.as_deref(), Some("12"));
        assert_eq!(os.pretty_name.as_deref(), Some("Debian GNU/Linux 12 (bookworm)"));
        assert_eq!(os.distro().as_deref(), Some("debian-12"));
    }
}

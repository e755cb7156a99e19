//! Python: the core metadata of an installed distribution — `*.dist-info/METADATA`
//! (wheels, pip), `*.egg-info/PKG-INFO` or an `.egg-info` file (setuptools, distutils).
//! Only the header block is read (the description follows the first blank line).

use super::{field, fields, Package, PackageType, Parsed};

pub fn parse(bytes: &[u8], location: &str) -> Result<Parsed, String> {
    let text = String::from_utf8_lossy(bytes);
    let header: Vec<String> = text.lines().take_while(|l| !l.trim().is_empty()).map(str::to_string).collect();
    let (fields, _) = fields(&header, 1);
    let name = field(&fields, "Name").filter(|n| !n.is_empty()).ok_or_else(|| "no Name field in the metadata header".to_string())?;
    let version = field(&fields, "Version").filter(|v| !v.is_empty()).ok_or_else(|| format!("distribution {name} has no Version field"))?;
    let mut p = Package::new(PackageType::Pypi, name.to_string(), version.to_string(), location);
    // Metadata 2.4's SPDX expression first; else the free-text License (its first line,
    // when it is a name and not a whole license text pasted in).
    let license = field(&fields, "License-Expression")
        .or_else(|| field(&fields, "License"))
        .filter(|l| !l.is_empty() && *l != "UNKNOWN" && l.len() <= 200);
    p.licenses = license.map(|l| l.to_string()).into_iter().collect();
    Ok(Parsed { packages: vec![p], ..Parsed::default() })
}

/// The directory (or `.egg-info` file) that names a distribution, from the path of its
/// metadata file: what a dpkg file list names when a deb owns it.
pub fn metadata_dir(location: &str) -> &str {
    location.strip_suffix("/METADATA").or_else(|| location.strip_suffix("/PKG-INFO")).unwrap_or(location)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_only() {
        let text = b"Metadata-Version: 2.1\nName: tiny_pkg\nVersion: 0.3.1\nLicense: MIT\n\nName: not-this\n";
        let p = parse(text, "/x/METADATA").unwrap();
        assert_eq!(p.packages[0].name, "tiny_pkg");
        assert_eq!(p.packages[0].version, "0.3.1");
        assert_eq!(p.packages[0].licenses, ["MIT"]);
        assert!(parse(b"Metadata-Version: 2.1\n", "/m").is_err());
    }
}

//! dpkg: `/var/lib/dpkg/status` (one paragraph per package, as `dpkg-query` reads it) and
//! distroless's `/var/lib/dpkg/status.d/<name>` (one paragraph per file, same fields).

use super::{field, fields, Limits, Package, PackageType, Parsed, RecordReader};
use std::io::{BufRead, Read};

/// Package states whose files are not on disk: dpkg keeps their paragraph to remember the
/// selection or the conffiles, but they are not installed (`dpkg-query -W` lists them with
/// an empty or old version; `dpkg -l` shows `un` / `rc`).
const NOT_INSTALLED: [&str; 2] = ["not-installed", "config-files"];

/// Parse a status file, one paragraph at a time. Paragraphs that are not packages (no
/// `Package:`, no `Version:`) are problems, not errors: the rest is still read.
pub fn parse(reader: &mut dyn BufRead, location: &str, limits: &Limits) -> Result<Parsed, String> {
    let mut records = RecordReader::new(reader, limits.max_record_bytes);
    let mut parsed = Parsed::default();
    loop {
        let record = match records.next_record() {
            Ok(Some(record)) => record,
            Ok(None) => break,
            Err(message) => {
                parsed.problems.push(message);
                break;
            }
        };
        let (start, lines) = record;
        let (fields, problems) = fields(&lines, start);
        parsed.problems.extend(problems);
        let Some(name) = field(&fields, "Package").filter(|n| !n.is_empty()) else {
            parsed.problems.push(format!("the paragraph on line {start} has no Package field"));
            continue;
        };
        // distroless writes `Status: install ok installed` too; a paragraph without one is
        // taken as installed (it was written to say so).
        if let Some(status) = field(&fields, "Status") {
            let state = status.split_whitespace().nth(2).unwrap_or("");
            if NOT_INSTALLED.contains(&state) {
                continue;
            }
        }
        let Some(version) = field(&fields, "Version").filter(|v| !v.is_empty()) else {
            parsed.problems.push(format!("package {name} (line {start}) has no Version field"));
            continue;
        };
        if parsed.packages.len() >= limits.max_packages {
            parsed.problems.push(format!("more than {} packages: the rest are left out", limits.max_packages));
            break;
        }
        let mut p = Package::new(PackageType::Deb, name.to_string(), version.to_string(), location);
        p.arch = field(&fields, "Architecture").filter(|a| !a.is_empty()).map(str::to_string);
        // `Source: name` or `Source: name (version)` when the source version differs.
        p.source = field(&fields, "Source").and_then(|s| s.split_whitespace().next()).map(str::to_string);
        parsed.packages.push(p);
    }
    Ok(parsed)
}

/// A package's file list (`info/<pkg>.list`, one absolute path a line): only the Python
/// metadata paths are kept (a handful), so a list of 50 000 files costs nothing to hold.
pub fn parse_file_list(reader: &mut dyn BufRead, limits: &Limits) -> Result<Parsed, String> {
    let mut parsed = Parsed::default();
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = (&mut *reader).take(limits.max_record_bytes as u64).read_until(b'\n', &mut line).map_err(|e| format!("cannot be read: {e}"))?;
        if n == 0 {
            break;
        }
        while matches!(line.last(), Some(b'\n' | b'\r')) {
            line.pop();
        }
        if line.ends_with(b".dist-info") || line.ends_with(b".egg-info") {
            if parsed.owned_python.len() >= limits.max_packages {
                break;
            }
            parsed.owned_python.push(String::from_utf8_lossy(&line).into_owned());
        }
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installed_packages_only_with_epochs() {
        let text = b"Package: a\nStatus: install ok installed\nVersion: 1:2.0-1\nArchitecture: amd64\nSource: asrc (1.9)\nDescription: x\n more\n\n\
Package: gone\nStatus: deinstall ok config-files\nVersion: 1\n\nPackage: b\nStatus: install ok installed\nVersion: 3\n";
        let p = parse(&mut &text[..], "/var/lib/dpkg/status", &Limits::default()).unwrap();
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        let names: Vec<_> = p.packages.iter().map(|p| (p.name.as_str(), p.version.as_str())).collect();
        assert_eq!(names, [("a", "1:2.0-1"), ("b", "3")]);
        assert_eq!(p.packages[0].source.as_deref(), Some("asrc"));
    }

    #[test]
    fn damage_is_named() {
        let text = b"Package: a\nVersion 1\n\nnot a field\n";
        let p = parse(&mut &text[..], "/s", &Limits::default()).unwrap();
        assert!(p.packages.is_empty());
        assert!(p.problems.iter().any(|m| m.contains("line 2 is not a field")), "{:?}", p.problems);
    }
}

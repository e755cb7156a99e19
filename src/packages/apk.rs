//! apk: `/lib/apk/db/installed`, one paragraph per package of one-letter fields
//! (`P:` name, `V:` version, `A:` arch, `L:` license, `o:` origin), as apk-tools writes it.

use super::{Limits, Package, PackageType, Parsed, RecordReader};
use std::io::BufRead;

pub fn parse(reader: &mut dyn BufRead, location: &str, limits: &Limits) -> Result<Parsed, String> {
    let mut records = RecordReader::new(reader, limits.max_record_bytes);
    let mut parsed = Parsed::default();
    loop {
        let (start, lines) = match records.next_record() {
            Ok(Some(record)) => record,
            Ok(None) => break,
            Err(message) => {
                parsed.problems.push(message);
                break;
            }
        };
        let (mut name, mut version, mut arch, mut license, mut origin) = (None, None, None, None, None);
        for (i, line) in lines.iter().enumerate() {
            let Some((key, value)) = line.split_once(':').filter(|(k, _)| k.len() == 1) else {
                parsed.problems.push(format!("line {} is not an apk field (`X:value`)", start + i));
                continue;
            };
            let value = Some(value.to_string()).filter(|v| !v.is_empty());
            match key {
                "P" => name = value,
                "V" => version = value,
                "A" => arch = value,
                "L" => license = value,
                "o" => origin = value,
                _ => {}
            }
        }
        let (Some(name), Some(version)) = (name, version) else {
            parsed.problems.push(format!("the record on line {start} has no P: (name) or no V: (version)"));
            continue;
        };
        if parsed.packages.len() >= limits.max_packages {
            parsed.problems.push(format!("more than {} packages: the rest are left out", limits.max_packages));
            break;
        }
        let mut p = Package::new(PackageType::Apk, name, version, location);
        p.arch = arch;
        p.licenses = license.into_iter().collect();
        p.source = origin;
        parsed.packages.push(p);
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_records() {
        let text = b"C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\nL:MIT\no:musl\nF:lib\nR:libc.musl-x86_64.so.1\n\nP:busybox\nV:1.36.1-r5\nA:x86_64\nL:GPL-2.0-only\n\n";
        let p = parse(&mut &text[..], "/lib/apk/db/installed", &Limits::default()).unwrap();
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        assert_eq!(p.packages.len(), 2);
        assert_eq!(p.packages[1].licenses, ["GPL-2.0-only"]);
    }
}

//! PAX extended headers (tar type `x`), read the way the container runtimes read them.
//!
//! Why a reader of our own: tar-rs splits PAX data at every newline before it parses the
//! records, so a record whose value holds a newline (`path=tmp/x\ny`) fails to parse and
//! tar-rs silently falls back to the ustar name. Docker, containerd and podman (Go's
//! archive/tar), umoci, GNU tar and Python's tarfile all read records by their length
//! prefix, so such a value is simply the path — and what strata showed was not what the
//! container gets. This module follows Go's `parsePAX` / `mergePAX` rule for rule:
//!
//! - a record is `"<len> <key>=<value>\n"`, `len` counting the whole record; whatever bytes
//!   the value holds (newlines included) are the value;
//! - a malformed record (bad length, no `=`, empty key, not ending in `\n`) makes the whole
//!   header unreadable (Go: `ErrHeader`), as does a NUL in `path`, `linkpath`, `uname` or
//!   `gname`, or a number that does not parse in `size`, `uid`, `gid`, `mtime`;
//! - a later record with the same key replaces an earlier one;
//! - a present `path` / `linkpath` wins over the ustar fields, whatever it holds (but a GNU
//!   long name or long link, when both are present, wins over PAX, as in Go and tar-rs).

use crate::codes::{Code, Message};

/// The PAX keys strata applies to the entry that follows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PaxRecords {
    pub path: Option<Vec<u8>>,
    pub linkpath: Option<Vec<u8>>,
    pub size: Option<u64>,
    pub uid: Option<u64>,
    pub gid: Option<u64>,
    /// Whole seconds since the epoch (a fraction is dropped, a negative time is 0).
    pub mtime: Option<u64>,
    /// The GNU sparse records (`GNU.sparse.*`), for [`crate::sparse::from_pax`].
    pub sparse: crate::sparse::PaxSparseRecords,
}

/// Why a PAX header cannot be read (the runtimes refuse the layer at this point too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaxError {
    /// The key of the record at fault, when the record got that far.
    pub key: Option<String>,
    pub why: &'static str,
}

impl PaxError {
    /// As a code: a malformed record list (no key yet), a NUL where Go refuses one, or a
    /// value its key cannot take. The caller adds `entry` and `offset`.
    pub fn message(&self) -> Message {
        match &self.key {
            None => Message::new(Code::PaxRecordMalformed).with("detail", self.why),
            Some(key) if self.why == NUL => Message::new(Code::PaxRecordNul).with("key", key.as_str()),
            Some(key) => Message::new(Code::PaxRecordBadValue).with("key", key.as_str()).with("detail", self.why),
        }
    }
}

/// The `why` of a NUL where Go refuses one.
const NUL: &str = "holds a NUL byte";

impl std::fmt::Display for PaxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.key {
            Some(key) => write!(f, "PAX record {key:?}: {}", self.why),
            None => write!(f, "PAX header: {}", self.why),
        }
    }
}

/// Parse the data of one PAX `x` entry. As in Go, every record is checked first and the
/// last value of each key wins; only then are the values interpreted, and an empty value
/// keeps the ustar field (`path=` names no path: the header's name stays).
pub fn parse(mut data: &[u8]) -> Result<PaxRecords, PaxError> {
    let mut last: [Option<&[u8]>; KEYS.len()] = [None; KEYS.len()];
    // GNU sparse 0.0: offset/numbytes records in turn, joined into one map as Go's parsePAX
    // joins them (any other order, or a comma in a value, makes the header unreadable).
    let mut sparse_pairs: Vec<u8> = Vec::new();
    let mut sparse_numbers = 0usize;
    while !data.is_empty() {
        let (key, value, rest) = parse_record(data)?;
        data = rest;
        if key == b"GNU.sparse.offset" || key == b"GNU.sparse.numbytes" {
            let expected: &[u8] = if sparse_numbers % 2 == 0 { b"GNU.sparse.offset" } else { b"GNU.sparse.numbytes" };
            if key != expected || value.contains(&b',') {
                return Err(PaxError { key: Some(String::from_utf8_lossy(key).into_owned()), why: "out of order in a GNU sparse 0.0 map" });
            }
            if sparse_numbers > 0 {
                sparse_pairs.push(b',');
            }
            sparse_pairs.extend_from_slice(value);
            sparse_numbers += 1;
            continue;
        }
        if let Some(slot) = KEYS.iter().position(|k| *k == key) {
            last[slot] = Some(value);
        }
    }
    let value = |key: &[u8]| last[KEYS.iter().position(|k| *k == key).unwrap_or(0)].filter(|v| !v.is_empty());
    let bad = |key: &str, why| PaxError { key: Some(key.to_string()), why };
    Ok(PaxRecords {
        path: value(b"path").map(<[u8]>::to_vec),
        linkpath: value(b"linkpath").map(<[u8]>::to_vec),
        size: value(b"size").map(|v| parse_size(v).ok_or_else(|| bad("size", "not a size"))).transpose()?,
        uid: value(b"uid").map(|v| parse_id(v).ok_or_else(|| bad("uid", "not a number"))).transpose()?,
        gid: value(b"gid").map(|v| parse_id(v).ok_or_else(|| bad("gid", "not a number"))).transpose()?,
        mtime: value(b"mtime").map(|v| parse_time(v).ok_or_else(|| bad("mtime", "not a time"))).transpose()?,
        sparse: crate::sparse::PaxSparseRecords {
            major: value(b"GNU.sparse.major").map(<[u8]>::to_vec),
            minor: value(b"GNU.sparse.minor").map(<[u8]>::to_vec),
            name: value(b"GNU.sparse.name").map(<[u8]>::to_vec),
            map: if sparse_numbers > 0 { Some(sparse_pairs) } else { value(b"GNU.sparse.map").map(<[u8]>::to_vec) },
            numblocks: value(b"GNU.sparse.numblocks").map(<[u8]>::to_vec),
            size: value(b"GNU.sparse.size").map(<[u8]>::to_vec),
            realsize: value(b"GNU.sparse.realsize").map(<[u8]>::to_vec),
        },
    })
}

/// The keys strata applies (the others are read past, as they change nothing it shows).
const KEYS: [&[u8]; 13] = [
    b"path",
    b"linkpath",
    b"size",
    b"uid",
    b"gid",
    b"mtime",
    b"GNU.sparse.major",
    b"GNU.sparse.minor",
    b"GNU.sparse.name",
    b"GNU.sparse.map",
    b"GNU.sparse.numblocks",
    b"GNU.sparse.size",
    b"GNU.sparse.realsize",
];

/// One record: `(key, value, what follows)`. Go's `parsePAXRecord` and `validPAXRecord`.
fn parse_record(data: &[u8]) -> Result<(&[u8], &[u8], &[u8]), PaxError> {
    let malformed = |why| PaxError { key: None, why };
    let space = data.iter().position(|&b| b == b' ').ok_or(malformed("a record without a length"))?;
    // Go's strconv.ParseInt: an optional sign, then decimal digits.
    let len = parse_int(&data[..space]).ok_or(malformed("a record length that is not a number"))?;
    if len < 5 || len > data.len() as i64 || len as usize <= space + 1 {
        return Err(malformed("a record length that does not fit"));
    }
    let len = len as usize;
    let record = &data[space + 1..len];
    let Some(record) = record.strip_suffix(b"\n") else {
        return Err(malformed("a record that does not end in a newline"));
    };
    let eq = record.iter().position(|&b| b == b'=').ok_or(malformed("a record without '='"))?;
    let (key, value) = (&record[..eq], &record[eq + 1..]);
    if key.is_empty() {
        return Err(malformed("a record with an empty key"));
    }
    let nul_refused = matches!(key, b"path" | b"linkpath" | b"uname" | b"gname");
    if (nul_refused && value.contains(&0)) || key.contains(&0) {
        return Err(PaxError { key: Some(String::from_utf8_lossy(key).into_owned()), why: NUL });
    }
    Ok((key, value, &data[len..]))
}

/// Go's `strconv.ParseInt(v, 10, 64)`: an optional `+` or `-`, then decimal digits.
pub(crate) fn parse_int(v: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(v).ok()?;
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<i64>().ok()
}

/// A size: any int64 that is not negative (`-0` is 0).
fn parse_size(v: &[u8]) -> Option<u64> {
    parse_int(v).filter(|&n| n >= 0).map(|n| n as u64)
}

/// A uid or gid: any int64 parses (Go accepts negatives); a negative one is shown as 0.
fn parse_id(v: &[u8]) -> Option<u64> {
    parse_int(v).map(|n| n.max(0) as u64)
}

/// Go's `parsePAXTime`: `[-]seconds[.digits]` (`1.` is 1).
fn parse_time(v: &[u8]) -> Option<u64> {
    let (whole, fraction) = match v.iter().position(|&b| b == b'.') {
        Some(dot) => (&v[..dot], &v[dot + 1..]),
        None => (v, &b""[..]),
    };
    if !fraction.iter().all(u8::is_ascii_digit) {
        return None;
    }
    parse_id(whole)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::fixture::pax_record as record;

    #[test]
    fn a_newline_inside_a_value_is_part_of_the_value() {
        let mut data = record("path", b"tmp/x\ny");
        data.extend(record("size", b"12"));
        let p = parse(&data).expect("parses");
        assert_eq!(p.path.as_deref(), Some(&b"tmp/x\ny"[..]));
        assert_eq!(p.size, Some(12));
    }

    #[test]
    fn later_records_replace_earlier_ones() {
        let mut data = record("path", b"a");
        data.extend(record("path", b"b"));
        assert_eq!(parse(&data).expect("parses").path.as_deref(), Some(&b"b"[..]));
    }

    #[test]
    fn a_nul_in_a_path_is_refused() {
        let err = parse(&record("path", b"etc/\0passwd")).expect_err("refused");
        assert_eq!(err.key.as_deref(), Some("path"));
        assert!(parse(&record("linkpath", b"x\0")).is_err());
        // Elsewhere a NUL in the value is allowed (Go checks only the key).
        assert!(parse(&record("comment", b"x\0y")).is_ok());
    }

    #[test]
    fn malformed_records_are_refused() {
        assert!(parse(b"garbage").is_err());
        assert!(parse(b"99 path=x\n").is_err()); // longer than the data
        assert!(parse(b"9 pathx\n\n").is_err()); // no '='
        assert!(parse(b"8 path=x").is_err()); // no newline at its end
        assert!(parse(b"7 =abc\n").is_err()); // empty key
        assert!(parse(&record("size", b"-1")).is_err());
        assert!(parse(&record("uid", b"x")).is_err());
        assert!(parse(&record("mtime", b".5")).is_err());
    }

    #[test]
    fn what_go_reads_is_read() {
        // An empty value keeps the ustar field; a '+' length; -0; "1."; an invalid number
        // that a later record of the same key replaces (Go interprets only the last).
        assert_eq!(parse(b"8 path=\n").expect("parses").path, None);
        assert_eq!(parse(b"10 path=a\n8 path=\n").expect("parses").path, None);
        assert_eq!(parse(b"+11 path=a\n").expect("parses").path.as_deref(), Some(&b"a"[..]));
        assert_eq!(parse(b"11 size=-0\n").expect("parses").size, Some(0));
        assert_eq!(parse(b"12 mtime=1.\n").expect("parses").mtime, Some(1));
        assert_eq!(parse(b"10 size=x\n11 size=12\n").expect("parses").size, Some(12));
    }

    #[test]
    fn numbers_and_times() {
        let mut data = record("uid", b"1000");
        data.extend(record("gid", b"-5"));
        data.extend(record("mtime", b"1350244992.023960108"));
        let p = parse(&data).expect("parses");
        assert_eq!((p.uid, p.gid, p.mtime), (Some(1000), Some(0), Some(1_350_244_992)));
    }
}

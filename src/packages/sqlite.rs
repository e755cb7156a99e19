//! A small read-only SQLite reader: enough of the file format (sqlite.org/fileformat.html)
//! to walk one table's b-tree and decode its records — for rpm's `rpmdb.sqlite`.
//!
//! Written here rather than taken from a crate: the pure-Rust SQLite crates either wrap the
//! C library (rusqlite, libsqlite3-sys: C, no wasm32-unknown-unknown) or are whole database
//! engines; reading one table needs the header, table b-tree pages, overflow chains and the
//! record format — a few hundred lines. Pages are read one at a time through a callback,
//! so memory is one page plus the rows kept, whatever the file's size.

/// A database, read through `read_at(offset, buf)`: fill `buf` from the file at `offset`.
pub struct Db<F> {
    read_at: F,
    page_size: usize,
    usable: usize,
    pages: u32,
}

/// One column value of a record.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(Vec<u8>),
    Blob(Vec<u8>),
}

/// B-tree depth past which a file is taken as damaged (a real one of a billion rows is < 10).
const MAX_DEPTH: usize = 40;

impl<F: FnMut(u64, &mut [u8]) -> Result<(), String>> Db<F> {
    /// Open a database of `file_size` bytes: check the header.
    pub fn open(mut read_at: F, file_size: u64) -> Result<Db<F>, String> {
        let mut head = [0u8; 100];
        if file_size < 100 {
            return Err("shorter than an SQLite header (100 bytes)".into());
        }
        read_at(0, &mut head)?;
        if &head[..16] != b"SQLite format 3\0" {
            return Err("not an SQLite 3 database (no \"SQLite format 3\" header)".into());
        }
        let raw = u16::from_be_bytes([head[16], head[17]]) as usize;
        let page_size = if raw == 1 { 65536 } else { raw };
        if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
            return Err(format!("page size {raw} in the header is not one SQLite uses"));
        }
        let reserved = head[20] as usize;
        if reserved >= page_size - 480 {
            return Err(format!("{reserved} reserved bytes per page leave no room for cells"));
        }
        if head[56..60] != [0, 0, 0, 1] && head[56..60] != [0, 0, 0, 0] {
            return Err("text encoding is UTF-16; rpm writes UTF-8".into());
        }
        let pages = (file_size / page_size as u64).min(u32::MAX as u64) as u32;
        Ok(Db { read_at, page_size, usable: page_size - reserved, pages })
    }

    fn page(&mut self, n: u32) -> Result<Vec<u8>, String> {
        if n == 0 || n > self.pages {
            return Err(format!("page {n} is outside the file ({} pages)", self.pages));
        }
        let mut buf = vec![0u8; self.page_size];
        (self.read_at)((n as u64 - 1) * self.page_size as u64, &mut buf).map_err(|e| format!("page {n}: {e}"))?;
        Ok(buf)
    }

    /// The root page of table `name`, from the schema table on page 1.
    pub fn table_root(&mut self, name: &str) -> Result<Option<u32>, String> {
        let mut root = None;
        self.walk_table(1, &mut |_, record| {
            if let [Value::Text(kind), Value::Text(tname), _, Value::Int(page), ..] = record.as_slice() {
                if kind == b"table" && tname.eq_ignore_ascii_case(name.as_bytes()) {
                    root = Some(*page as u32);
                }
            }
            Ok(true)
        })?;
        Ok(root)
    }

    /// Every row of the table b-tree at `root`, in rowid order: `visit(rowid, columns)`;
    /// `visit` returns false to stop.
    pub fn walk_table(&mut self, root: u32, visit: &mut dyn FnMut(i64, Vec<Value>) -> Result<bool, String>) -> Result<(), String> {
        let mut budget = self.pages as u64 + 1;
        self.walk(root, 0, &mut budget, visit).map(|_| ())
    }

    fn walk(&mut self, n: u32, depth: usize, budget: &mut u64, visit: &mut dyn FnMut(i64, Vec<Value>) -> Result<bool, String>) -> Result<bool, String> {
        if depth > MAX_DEPTH {
            return Err(format!("page {n}: the b-tree is deeper than {MAX_DEPTH} levels (a loop?)"));
        }
        if *budget == 0 {
            return Err("the b-tree visits more pages than the file has (a loop?)".into());
        }
        *budget -= 1;
        let page = self.page(n)?;
        let at = if n == 1 { 100 } else { 0 };
        let kind = page[at];
        let cells = u16::from_be_bytes([page[at + 3], page[at + 4]]) as usize;
        let header = match kind {
            0x0d => 8,
            0x05 => 12,
            other => return Err(format!("page {n} is not a table b-tree page (type byte {other:#04x})")),
        };
        if at + header + 2 * cells > self.usable {
            return Err(format!("page {n}: {cells} cells do not fit in the page"));
        }
        for i in 0..cells {
            let p = at + header + 2 * i;
            let off = u16::from_be_bytes([page[p], page[p + 1]]) as usize;
            if off >= self.usable {
                return Err(format!("page {n}: cell {i} starts past the page's end"));
            }
            if kind == 0x05 {
                let child = read_u32(&page, off).ok_or_else(|| format!("page {n}: cell {i} is cut off"))?;
                if !self.walk(child, depth + 1, budget, visit)? {
                    return Ok(false);
                }
            } else {
                let (rowid, record) = self.leaf_cell(&page, n, off).map_err(|e| format!("page {n}, cell {i}: {e}"))?;
                if !visit(rowid, record)? {
                    return Ok(false);
                }
            }
        }
        if kind == 0x05 {
            let right = read_u32(&page, at + 8).ok_or_else(|| format!("page {n}: header cut off"))?;
            return self.walk(right, depth + 1, budget, visit);
        }
        Ok(true)
    }

    fn leaf_cell(&mut self, page: &[u8], n: u32, off: usize) -> Result<(i64, Vec<Value>), String> {
        let usable = &page[..self.usable];
        let (size, a) = varint(usable, off).ok_or("payload size cut off")?;
        let (rowid, b) = varint(usable, off + a).ok_or("rowid cut off")?;
        let start = off + a + b;
        let size = usize::try_from(size).map_err(|_| "payload size too big")?;
        if size > 1 << 30 {
            return Err(format!("a payload of {size} bytes"));
        }
        let u = self.usable;
        let x = u - 35;
        let local = if size <= x {
            size
        } else {
            let m = ((u - 12) * 32 / 255) - 23;
            let k = m + ((size - m) % (u - 4));
            if k <= x { k } else { m }
        };
        let end = start.checked_add(local).filter(|&e| e <= usable.len()).ok_or("the payload runs past the page")?;
        let mut payload = Vec::with_capacity(size);
        payload.extend_from_slice(&usable[start..end]);
        if local < size {
            let mut next = read_u32(usable, end).ok_or("overflow page number cut off")?;
            let mut hops = 0u32;
            while payload.len() < size {
                hops += 1;
                if next == 0 || hops > self.pages {
                    return Err(format!("the overflow chain from page {n} ends early"));
                }
                let ov = self.page(next)?;
                let take = (size - payload.len()).min(u - 4);
                payload.extend_from_slice(&ov[4..4 + take]);
                next = read_u32(&ov, 0).unwrap_or(0);
            }
        }
        Ok((rowid as i64, record(&payload)?))
    }
}

fn read_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// SQLite's varint: 1–9 bytes, big-endian, 7 bits a byte (all 8 in the ninth).
fn varint(b: &[u8], at: usize) -> Option<(u64, usize)> {
    let mut v: u64 = 0;
    for i in 0..9 {
        let byte = *b.get(at + i)?;
        if i == 8 {
            return Some(((v << 8) | byte as u64, 9));
        }
        v = (v << 7) | (byte & 0x7f) as u64;
        if byte & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

/// Decode a record: a header of serial types, then the values.
fn record(p: &[u8]) -> Result<Vec<Value>, String> {
    let (header_len, mut h) = varint(p, 0).ok_or("record header cut off")?;
    let header_len = usize::try_from(header_len).map_err(|_| "record header too big")?;
    if header_len > p.len() {
        return Err("the record header runs past the record".into());
    }
    let mut body = header_len;
    let mut out = Vec::new();
    while h < header_len {
        let (t, n) = varint(p, h).ok_or("serial type cut off")?;
        h += n;
        let len = match t {
            0 | 8 | 9 => 0,
            1..=4 => t as usize,
            5 => 6,
            6 | 7 => 8,
            10 | 11 => return Err(format!("serial type {t} is reserved")),
            t => usize::try_from((t - 12) / 2).map_err(|_| "a value longer than memory")?,
        };
        let end = body.checked_add(len).ok_or("a value runs past the record")?;
        let bytes = p.get(body..end).ok_or("a value runs past the record")?;
        body = end;
        let int = || bytes.iter().fold(if bytes.first().is_some_and(|b| b & 0x80 != 0) { -1i64 } else { 0 }, |acc, &b| (acc << 8) | b as i64);
        out.push(match t {
            0 => Value::Null,
            8 => Value::Int(0),
            9 => Value::Int(1),
            1..=6 => Value::Int(int()),
            7 => Value::Real(f64::from_bits(u64::from_be_bytes(bytes.try_into().map_err(|_| "real cut off")?))),
            t if t % 2 == 0 => Value::Blob(bytes.to_vec()),
            _ => Value::Text(bytes.to_vec()),
        });
    }
    Ok(out)
}

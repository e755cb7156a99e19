//! A read-only reader of Berkeley DB hash databases, enough for rpm's `Packages`
//! (`/var/lib/rpm/Packages`: CentOS 7/8, RHEL 7/8, old Fedora): each record's key is a
//! 4-byte header number, its data an rpm header blob.
//!
//! The layout, as rpm's own read-only backend (`lib/backend/bdb_ro.cc`) reads it:
//! - page 0 is the hash meta page: magic 0x061561 at byte 12 (in the writer's byte order,
//!   which says the order of every number in the file), version (8–10), page size, last
//!   page number, then the hash's `max_bucket` (72), and at 96 the `spares` table that maps
//!   a bucket to its first page: `bucket + spares[bit length of bucket]`;
//! - every page starts with a 26-byte header: its own number (8), previous and next page
//!   (12, 16), item count (20), `hf_offset` (22), type (25); hash pages (type 13, or 2 for
//!   the old unsorted kind) then hold item offsets (u16 each), items packed from the page's
//!   end, key and data alternating; an item's first byte is its kind: 1 data on the page,
//!   3 "off page" (`pgno` at +4 and total length at +8) for data in a chain of overflow
//!   pages (type 7, `hf_offset` bytes used each, linked by the next-page field);
//! - a bucket's pages are chained by their next-page field.
//!
//! Pages are read one at a time through `read_at`: memory is two pages, the current
//! record, and one bit per page of the file (to see a page reached twice: a loop).

/// A record's data past this is not read (a finding): rpm's largest headers are a few MB.
pub const MAX_RECORD_BYTES: u32 = 64 << 20;

const META_MAGIC_HASH: u32 = 0x0006_1561;
const PAGE_HEADER: usize = 26;
const PAGE_HASH_UNSORTED: u8 = 2;
const PAGE_OVERFLOW: u8 = 7;
const PAGE_HASH: u8 = 13;
const ITEM_KEYDATA: u8 = 1;
const ITEM_DUPLICATE: u8 = 2;
const ITEM_OFFPAGE: u8 = 3;
const ITEM_OFFDUP: u8 = 4;

/// The numbers of a page and of the meta page, in the file's byte order.
#[derive(Clone, Copy)]
struct Order {
    big_endian: bool,
}

impl Order {
    fn u16(self, b: &[u8], at: usize) -> u16 {
        let v = [b[at], b[at + 1]];
        if self.big_endian {
            u16::from_be_bytes(v)
        } else {
            u16::from_le_bytes(v)
        }
    }
    fn u32(self, b: &[u8], at: usize) -> u32 {
        let v = [b[at], b[at + 1], b[at + 2], b[at + 3]];
        if self.big_endian {
            u32::from_be_bytes(v)
        } else {
            u32::from_le_bytes(v)
        }
    }
}

/// One record as the walk found it: its key (the header number), and its data or what is
/// wrong with it (the walk goes on to the next record).
pub struct Record {
    pub key: u32,
    pub data: Result<Vec<u8>, String>,
}

struct Walk<F> {
    read_at: F,
    order: Order,
    page_size: usize,
    last_page: u32,
    /// Pages the file holds (the meta page may claim more when the file was cut).
    pages_in_file: u64,
    /// One bit per page of the file: set once the walk has read it.
    seen: Vec<u64>,
}

impl<F: FnMut(u64, &mut [u8]) -> Result<(), String>> Walk<F> {
    /// Read page `n` into `buf`, checking that it says it is page `n` and was not read before.
    fn page(&mut self, n: u32, buf: &mut [u8], what: &str) -> Result<(), String> {
        if n == 0 || n > self.last_page {
            return Err(format!("{what} points to page {n}, outside the database's pages 1–{}", self.last_page));
        }
        if n as u64 >= self.pages_in_file {
            return Err(format!("{what} points to page {n}, past the end of the file ({} pages of {} bytes): cut short?", self.pages_in_file, self.page_size));
        }
        let (word, bit) = ((n / 64) as usize, n % 64);
        if self.seen[word] & (1 << bit) != 0 {
            return Err(format!("{what} leads back to page {n}, read before: the chain loops"));
        }
        self.seen[word] |= 1 << bit;
        (self.read_at)(n as u64 * self.page_size as u64, buf).map_err(|e| format!("page {n}: {e}"))?;
        let said = self.order.u32(buf, 8);
        if said != n {
            return Err(format!("page {n} says it is page {said}"));
        }
        Ok(())
    }

    /// The `total` bytes of an overflow chain starting at page `first`.
    fn overflow(&mut self, first: u32, total: u32, buf: &mut [u8]) -> Result<Vec<u8>, String> {
        if total == 0 {
            return Err("an overflow item of 0 bytes".into());
        }
        if total > MAX_RECORD_BYTES {
            return Err(format!("{total} bytes, more than the {MAX_RECORD_BYTES} strata reads of one record"));
        }
        // Each overflow page holds at most a page less its header: a chain longer than the
        // file cannot be, so this never reserves more than the file's size.
        let room = self.pages_in_file.min(self.last_page as u64 + 1) * (self.page_size - PAGE_HEADER) as u64;
        if total as u64 > room {
            return Err(format!("{total} bytes, more than the database's pages can hold"));
        }
        let mut out = Vec::with_capacity(total as usize);
        let mut next = first;
        while out.len() < total as usize {
            if next == 0 {
                return Err(format!("the overflow chain ends after {} of its {total} bytes", out.len()));
            }
            self.page(next, buf, "an overflow chain")?;
            if buf[25] != PAGE_OVERFLOW {
                return Err(format!("page {next} in an overflow chain is not an overflow page (type {})", buf[25]));
            }
            let used = self.order.u16(buf, 22) as usize;
            let left = total as usize - out.len();
            if used == 0 || PAGE_HEADER + used > self.page_size || used > left {
                return Err(format!("overflow page {next} says it holds {used} bytes (page size {}, {left} bytes left to read)", self.page_size));
            }
            out.extend_from_slice(&buf[PAGE_HEADER..PAGE_HEADER + used]);
            next = self.order.u32(buf, 16);
        }
        Ok(out)
    }
}

/// Walk every record of the hash database (`file_size` bytes) through `read_at(offset,
/// buf)`, bucket by bucket as rpm does. `on_record` returns false to stop. `Err`: the
/// database cannot be walked (on), with what is wrong; records handed out before stay.
pub fn walk(read_at: impl FnMut(u64, &mut [u8]) -> Result<(), String>, file_size: u64, on_record: &mut dyn FnMut(Record) -> bool) -> Result<(), String> {
    let mut read_at = read_at;
    if file_size < 512 {
        return Err("shorter than a Berkeley DB meta page (512 bytes)".into());
    }
    let mut meta = [0u8; 512];
    read_at(0, &mut meta)?;
    let order = if u32::from_le_bytes([meta[12], meta[13], meta[14], meta[15]]) == META_MAGIC_HASH {
        Order { big_endian: false }
    } else if u32::from_be_bytes([meta[12], meta[13], meta[14], meta[15]]) == META_MAGIC_HASH {
        Order { big_endian: true }
    } else {
        return Err("not a Berkeley DB hash database (no hash magic 0x061561 in its meta page)".into());
    };
    let version = order.u32(&meta, 16);
    if !(8..=10).contains(&version) {
        return Err(format!("Berkeley DB hash version {version}; rpm reads 8 to 10"));
    }
    let page_size = order.u32(&meta, 20) as usize;
    if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
        return Err(format!("page size {page_size} in the meta page is not one Berkeley DB uses"));
    }
    if meta[24] != 0 {
        return Err("the database is encrypted".into());
    }
    let last_page = order.u32(&meta, 32);
    // A cut file is read up to its end: the pages there are walked, the first page past
    // it stops the walk.
    let pages_in_file = file_size / page_size as u64;
    let max_bucket = order.u32(&meta, 72);
    if max_bucket > last_page {
        return Err(format!("{} hash buckets but only {last_page} pages", max_bucket as u64 + 1));
    }
    let spares: Vec<u32> = (0..32).map(|i| order.u32(&meta, 96 + 4 * i)).collect();
    let seen = vec![0u64; (pages_in_file.min(last_page as u64 + 1) / 64 + 1) as usize];
    let mut walk = Walk { read_at, order, page_size, last_page, pages_in_file, seen };
    let mut page = vec![0u8; page_size];
    let mut overflow_page = vec![0u8; page_size];
    for bucket in 0..=max_bucket {
        let bits = (32 - bucket.leading_zeros()) as usize;
        let Some(mut next) = spares.get(bits).and_then(|s| s.checked_add(bucket)) else {
            return Err(format!("hash bucket {bucket} has no page in the spares table"));
        };
        while next != 0 {
            let here = next;
            walk.page(here, &mut page, &format!("hash bucket {bucket}"))?;
            let kind = page[25];
            if kind != PAGE_HASH && kind != PAGE_HASH_UNSORTED {
                return Err(format!("page {here} (hash bucket {bucket}) is not a hash page (type {kind})"));
            }
            let items = order.u16(&page, 20) as usize;
            let table_end = PAGE_HEADER + 2 * items;
            if table_end > page_size || items % 2 != 0 {
                return Err(format!("hash page {here} says it holds {items} items, which is not key/data pairs on a {page_size}-byte page"));
            }
            let offset = |i: usize| order.u16(&page, PAGE_HEADER + 2 * i) as usize;
            for pair in 0..items / 2 {
                let (k, d) = (2 * pair, 2 * pair + 1);
                let key_end = if k == 0 { page_size } else { offset(k - 1) };
                let (key_at, data_at) = (offset(k), offset(d));
                // Items are packed from the page's end down: each one ends where the one
                // before it starts.
                if key_at < table_end || key_at >= key_end || data_at < table_end || data_at >= key_at {
                    return Err(format!("hash page {here}: item {k} or {d} lies outside the page's items ({key_at}, {data_at})"));
                }
                let key_item = &page[key_at..key_end];
                if key_item[0] != ITEM_KEYDATA || key_item.len() != 5 {
                    let data = Err(format!("item {k} on page {here}: the key is not a 4-byte header number"));
                    if !on_record(Record { key: 0, data }) {
                        return Ok(());
                    }
                    continue;
                }
                let key = order.u32(key_item, 1);
                let data_item = &page[data_at..key_at];
                let data = match data_item[0] {
                    ITEM_KEYDATA => Ok(data_item[1..].to_vec()),
                    ITEM_OFFPAGE if data_item.len() == 12 => {
                        let (pgno, total) = (order.u32(data_item, 4), order.u32(data_item, 8));
                        walk.overflow(pgno, total, &mut overflow_page).map_err(|e| format!("header {key}: {e}"))
                    }
                    ITEM_DUPLICATE | ITEM_OFFDUP => Err(format!("header {key} has duplicate data items, which rpm's Packages never has")),
                    other => Err(format!("header {key}: item {d} on page {here} is of unknown kind {other}")),
                };
                if !on_record(Record { key, data }) {
                    return Ok(());
                }
            }
            next = order.u32(&page, 16);
        }
    }
    Ok(())
}

//! A compact binary form of what one pass over a blob found (a layer index, one part of
//! one, or a blob's facts), to move it between workers: the browser's helper workers index
//! and hash blobs and hand the results to the worker that browses. Plain Rust, so the
//! round trip is tested natively; decoding untrusted or cut bytes is an error, never a panic.

use crate::chunk_index::IndexPart;
use crate::layer::{EntryKind, LayerEntry, LayerIndex};
use crate::sparse::{Fragment, SparseMap};
use crate::report::Compression;
use crate::gzip::{AccessIndex, AccessPoint};
use crate::verify::BlobFacts;

/// Written now: version 2, whose entries carry a sparse file's map.
const MAGIC: &[u8; 4] = b"stb2";
/// Version 1 (no sparse maps) is still read: data kept from an older build stays decodable.
const MAGIC_V1: &[u8; 4] = b"stb1";

struct Out(Vec<u8>);

impl Out {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn bytes(&mut self, b: &[u8]) {
        self.u64(b.len() as u64);
        self.0.extend_from_slice(b);
    }
    fn opt_bytes(&mut self, b: Option<&[u8]>) {
        match b {
            Some(b) => {
                self.u8(1);
                self.bytes(b);
            }
            None => self.u8(0),
        }
    }
    fn opt_u64(&mut self, v: Option<u64>) {
        match v {
            Some(v) => {
                self.u8(1);
                self.u64(v);
            }
            None => self.u8(0),
        }
    }
}

/// Reads what `Out` wrote; any inconsistency is an error, never a panic.
struct In<'a> {
    data: &'a [u8],
    pos: usize,
    /// The format's version, from its magic (1 or 2).
    version: u8,
}

type R<T> = Result<T, String>;

impl<'a> In<'a> {
    /// Check the magic and the kind byte that follows it; learn the version.
    fn start(data: &'a [u8], kind: u8) -> R<In<'a>> {
        let mut i = In { data, pos: 0, version: 2 };
        i.version = match i.take(4)? {
            m if m == MAGIC => 2,
            m if m == MAGIC_V1 => 1,
            _ => return Err("not strata index data".into()),
        };
        if i.u8()? != kind {
            return Err("not this kind of strata index data".into());
        }
        Ok(i)
    }

    fn take(&mut self, n: usize) -> R<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len()).ok_or("truncated index data")?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self) -> R<u8> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> R<u32> {
        let mut a = [0u8; 4];
        a.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(a))
    }
    fn u64(&mut self) -> R<u64> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(a))
    }
    fn bytes(&mut self) -> R<&'a [u8]> {
        let n = usize::try_from(self.u64()?).map_err(|_| "bad length")?;
        self.take(n)
    }
    fn string(&mut self) -> R<String> {
        String::from_utf8(self.bytes()?.to_vec()).map_err(|_| "bad text".to_string())
    }
    fn opt_bytes(&mut self) -> R<Option<&'a [u8]>> {
        Ok(if self.u8()? == 1 { Some(self.bytes()?) } else { None })
    }
    fn opt_string(&mut self) -> R<Option<String>> {
        Ok(if self.u8()? == 1 { Some(self.string()?) } else { None })
    }
    fn opt_u64(&mut self) -> R<Option<u64>> {
        Ok(if self.u8()? == 1 { Some(self.u64()?) } else { None })
    }
}

const KINDS: [EntryKind; 8] = [
    EntryKind::File,
    EntryKind::Dir,
    EntryKind::Symlink,
    EntryKind::Hardlink,
    EntryKind::Char,
    EntryKind::Block,
    EntryKind::Fifo,
    EntryKind::Other,
];
const COMPRESSIONS: [Compression; 5] =
    [Compression::None, Compression::Gzip, Compression::Zstd, Compression::Xz, Compression::Bzip2];

fn put_index(o: &mut Out, ix: &LayerIndex) {
    o.u64(ix.uncompressed_size);
    o.u64(ix.entries.len() as u64);
    for e in &ix.entries {
        o.bytes(&e.path);
        o.u8(KINDS.iter().position(|k| *k == e.kind).unwrap_or(7) as u8);
        o.u64(e.size);
        o.u32(e.mode);
        o.u64(e.uid);
        o.u64(e.gid);
        o.u64(e.mtime);
        o.opt_bytes(e.link.as_deref());
        o.u64(e.data_offset);
        o.opt_u64(e.content_hash);
        o.u32(e.dev_major);
        o.u32(e.dev_minor);
        match &e.sparse {
            Some(map) => {
                // 1: a sparse map; 2: one written as an old GNU sparse entry.
                o.u8(if map.old_gnu { 2 } else { 1 });
                o.u64(map.fragments.len() as u64);
                for f in map.fragments.iter() {
                    o.u64(f.offset);
                    o.u64(f.length);
                }
            }
            None => o.u8(0),
        }
    }
}

/// A sparse map as `put_index` wrote it (version 2), bounded as the walks bound it.
fn get_sparse(i: &mut In<'_>) -> R<Option<Box<SparseMap>>> {
    let flag = if i.version < 2 { 0 } else { i.u8()? };
    if flag == 0 {
        return Ok(None);
    }
    let n = i.u64()?;
    if n > crate::sparse::MAX_FRAGMENTS as u64 || n > (i.data.len() / 16) as u64 {
        return Err("bad sparse map size".into());
    }
    let fragments = (0..n).map(|_| Ok(Fragment { offset: i.u64()?, length: i.u64()? })).collect::<R<Vec<_>>>()?;
    Ok(Some(Box::new(SparseMap { fragments: fragments.into_boxed_slice(), old_gnu: flag == 2 })))
}

fn get_index(i: &mut In<'_>) -> R<LayerIndex> {
    let uncompressed_size = i.u64()?;
    let n = i.u64()?;
    // Each entry takes at least 60 bytes: a count beyond that is corrupt, not a reason to allocate.
    if n > (i.data.len() / 60) as u64 + 1 {
        return Err("bad entry count".into());
    }
    let mut entries = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let path = i.bytes()?.into();
        let kind = *KINDS.get(i.u8()? as usize).ok_or("bad entry kind")?;
        entries.push(LayerEntry {
            path,
            kind,
            size: i.u64()?,
            mode: i.u32()?,
            uid: i.u64()?,
            gid: i.u64()?,
            mtime: i.u64()?,
            link: i.opt_bytes()?.map(Into::into),
            data_offset: i.u64()?,
            content_hash: i.opt_u64()?,
            dev_major: i.u32()?,
            dev_minor: i.u32()?,
            sparse: get_sparse(i)?,
        });
    }
    Ok(LayerIndex { entries, uncompressed_size })
}

pub fn encode_index(ix: &LayerIndex) -> Vec<u8> {
    let mut o = Out(MAGIC.to_vec());
    o.u8(b'I');
    put_index(&mut o, ix);
    o.0
}

pub fn encode_part(p: &IndexPart) -> Vec<u8> {
    let mut o = Out(MAGIC.to_vec());
    o.u8(b'P');
    put_index(&mut o, &p.index);
    o.u64(p.starts.len() as u64);
    for s in &p.starts {
        o.u64(*s);
    }
    o.opt_u64(p.stopped_at);
    o.0
}

pub fn decode_part(data: &[u8]) -> R<IndexPart> {
    let mut i = In::start(data, b'P').map_err(|_| "not part of a layer index".to_string())?;
    let index = get_index(&mut i)?;
    let n = i.u64()?;
    if n > (i.data.len() / 8) as u64 + 1 {
        return Err("bad start count".into());
    }
    let starts = (0..n).map(|_| i.u64()).collect::<R<Vec<u64>>>()?;
    Ok(IndexPart { index, starts, stopped_at: i.opt_u64()? })
}

pub fn decode_index(data: &[u8]) -> R<LayerIndex> {
    let mut i = In::start(data, b'I').map_err(|_| "not a layer index".to_string())?;
    get_index(&mut i)
}

pub fn encode_facts(f: &BlobFacts) -> Vec<u8> {
    let mut o = Out(MAGIC.to_vec());
    o.u8(b'F');
    o.bytes(f.digest.as_bytes());
    o.u64(f.stored_size);
    o.u8(COMPRESSIONS.iter().position(|c| *c == f.compression).unwrap_or(0) as u8);
    o.u8(f.is_tar as u8);
    o.opt_bytes(f.diff_id.as_deref().map(str::as_bytes));
    o.opt_u64(f.uncompressed_size);
    // The problem is a coded message: it crosses as its JSON (`{code, params, message}`).
    let problem = f.problem.as_ref().map(|m| serde_json::to_vec(m).unwrap_or_default());
    o.opt_bytes(problem.as_deref());
    o.u8(f.stream_complete as u8);
    match &f.layer {
        Some(ix) => {
            o.u8(1);
            put_index(&mut o, ix);
        }
        None => o.u8(0),
    }
    match &f.access {
        Some(a) => {
            o.u8(1);
            put_access(&mut o, a);
        }
        None => o.u8(0),
    }
    o.opt_u64(f.decoder_window);
    o.0
}

fn put_access(o: &mut Out, a: &AccessIndex) {
    o.u64(a.spacing);
    o.u64(a.points.len() as u64);
    for p in &a.points {
        o.u64(p.out);
        o.u64(p.bit);
        o.bytes(&p.window);
    }
}

fn get_access(i: &mut In) -> R<AccessIndex> {
    let spacing = i.u64()?;
    let n = i.u64()?;
    if n > crate::gzip::MAX_POINTS.max(crate::decompress::ZSTD_MAX_POINTS) as u64 {
        return Err("too many access points".into());
    }
    let mut points = Vec::with_capacity(n as usize);
    for _ in 0..n {
        points.push(AccessPoint { out: i.u64()?, bit: i.u64()?, window: i.bytes()?.to_vec() });
    }
    Ok(AccessIndex { spacing, points })
}

pub fn decode_facts(data: &[u8]) -> R<BlobFacts> {
    let mut i = In::start(data, b'F').map_err(|_| "not blob facts".to_string())?;
    Ok(BlobFacts {
        digest: i.string()?,
        stored_size: i.u64()?,
        compression: *COMPRESSIONS.get(i.u8()? as usize).ok_or("bad compression")?,
        is_tar: i.u8()? == 1,
        diff_id: i.opt_string()?,
        uncompressed_size: i.opt_u64()?,
        problem: match i.opt_string()? {
            Some(json) => Some(serde_json::from_str(&json).map_err(|_| "bad problem".to_string())?),
            None => None,
        },
        stream_complete: i.u8()? == 1,
        layer: if i.u8()? == 1 { Some(get_index(&mut i)?) } else { None },
        access: if i.u8()? == 1 { Some(get_access(&mut i)?) } else { None },
        decoder_window: i.opt_u64()?,
        // Fields added to BlobFacts later start at their defaults here.
        ..BlobFacts::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One entry of every kind, with every optional field both set and unset somewhere.
    fn index() -> LayerIndex {
        let entries = KINDS
            .iter()
            .enumerate()
            .map(|(k, &kind)| LayerEntry {
                path: format!("dir/entry-{k}-\u{e9}").into_bytes().into(),
                kind,
                size: 1000 + k as u64,
                mode: 0o755 - k as u32,
                uid: u64::MAX - k as u64,
                gid: 7 + k as u64,
                mtime: 1_700_000_000 + k as u64,
                link: (k % 2 == 0).then(|| vec![b'/', b't', 0xff, k as u8].into()),
                data_offset: 512 * (k as u64 + 1),
                content_hash: (k % 3 != 0).then_some(0x1234_5678_9abc_def0 ^ k as u64),
                dev_major: k as u32,
                dev_minor: 2 * k as u32,
                sparse: (kind == EntryKind::File).then(|| {
                    let fragments = vec![Fragment { offset: 0, length: 3 }, Fragment { offset: 900, length: 100 + k as u64 }];
                    Box::new(SparseMap { fragments: fragments.into_boxed_slice(), old_gnu: false })
                }),
            })
            .collect();
        LayerIndex { entries, uncompressed_size: 123_456_789 }
    }

    #[test]
    fn version_1_data_still_decodes() {
        // Version 1 wrote no sparse flag: an index of one entry as it wrote it.
        let mut o = Out(MAGIC_V1.to_vec());
        o.u8(b'I');
        o.u64(42);
        o.u64(1);
        o.bytes(b"etc/hostname");
        o.u8(0);
        for v in [5u64] {
            o.u64(v);
        }
        o.u32(0o644);
        o.u64(0);
        o.u64(0);
        o.u64(1_700_000_000);
        o.opt_bytes(None);
        o.u64(512);
        o.opt_u64(Some(9));
        o.u32(0);
        o.u32(0);
        let ix = decode_index(&o.0).expect("a version 1 index decodes");
        assert_eq!((ix.uncompressed_size, ix.entries.len()), (42, 1));
        assert_eq!((&*ix.entries[0].path, ix.entries[0].size, ix.entries[0].sparse.is_none()), (&b"etc/hostname"[..], 5, true));
        // And a version 2 reader never reads version 1 bytes as a sparse flag.
        assert_eq!(encode_index(&ix)[..4], *MAGIC);
    }

    /// Every field set to something other than its default, written out field by field: a
    /// field added to `BlobFacts` later does not compile here until this test (and the
    /// codec) carry it.
    fn facts() -> BlobFacts {
        BlobFacts {
            digest: format!("sha256:{}", "ab".repeat(32)),
            stored_size: 98_765,
            compression: Compression::Zstd,
            is_tar: true,
            diff_id: Some(format!("sha256:{}", "cd".repeat(32))),
            uncompressed_size: Some(123_456_789),
            layer: Some(index()),
            problem: Some(
                crate::codes::Message::new(crate::codes::Code::LayerBadHeader).with("detail", "bad").with("offset", 7u64),
            ),
            stream_complete: true,
            // Never crosses workers: helpers hash layers, and layers are never kept.
            kept: None,
            access: Some(AccessIndex {
                spacing: 64 << 10,
                points: vec![
                    AccessPoint { out: 65_536, bit: 8 * 40_000, window: Vec::new() },
                    AccessPoint { out: 2 << 20, bit: 8 * 900_000 + 3, window: vec![1, 2, 3, 0xff] },
                ],
            }),
            decoder_window: Some(32 << 20),
        }
    }

    fn json<T: serde::Serialize>(v: &T) -> serde_json::Value {
        serde_json::to_value(v).expect("serialisable")
    }

    #[test]
    fn facts_round_trip_with_every_field() {
        let f = facts();
        let back = decode_facts(&encode_facts(&f)).expect("decodes");
        assert_eq!(json(&back), json(&f));
        assert_eq!(back.decoder_window, Some(32 << 20), "the kept decoder's budget crosses workers");
        // ... and with every optional field empty.
        let empty = BlobFacts { digest: "sha256:00".into(), ..BlobFacts::default() };
        assert_eq!(json(&decode_facts(&encode_facts(&empty)).expect("decodes")), json(&empty));
    }

    #[test]
    fn index_and_part_round_trip() {
        let ix = index();
        assert_eq!(json(&decode_index(&encode_index(&ix)).expect("decodes")), json(&ix));
        let part = IndexPart { index: ix.clone(), starts: vec![0, 1024, 4096, 9000], stopped_at: Some(9000) };
        let back = decode_part(&encode_part(&part)).expect("decodes");
        assert_eq!((json(&back.index), &back.starts, back.stopped_at), (json(&part.index), &part.starts, part.stopped_at));
        let open_ended = IndexPart { index: LayerIndex::default(), starts: Vec::new(), stopped_at: None };
        assert_eq!(decode_part(&encode_part(&open_ended)).expect("decodes").stopped_at, None);
    }

    #[test]
    fn cut_or_mislabelled_bytes_are_errors_not_panics() {
        type Decodes = fn(&[u8]) -> bool;
        let kinds: [(Vec<u8>, Decodes); 3] = [
            (encode_facts(&facts()), |d| decode_facts(d).is_ok()),
            (encode_index(&index()), |d| decode_index(d).is_ok()),
            (encode_part(&IndexPart { index: index(), starts: vec![0, 512], stopped_at: Some(512) }), |d| decode_part(d).is_ok()),
        ];
        for (data, decodes) in &kinds {
            assert!(decodes(data));
            for cut in 0..data.len() {
                assert!(!decodes(&data[..cut]), "a cut at byte {cut} of {} is an error", data.len());
            }
        }
        // Each kind refuses the others' bytes.
        assert!(decode_facts(&kinds[1].0).is_err());
        assert!(decode_index(&kinds[0].0).is_err());
        assert!(decode_part(&kinds[1].0).is_err());
        // Absurd counts and tags are refused before anything is allocated for them.
        let mut huge = encode_index(&LayerIndex::default());
        huge.truncate(5 + 8);
        huge.extend_from_slice(&u64::MAX.to_le_bytes());
        assert_eq!(decode_index(&huge).err().as_deref(), Some("bad entry count"));
        let mut bad_kind = encode_index(&index());
        let kind_at = 5 + 8 + 8 + 8 + index().entries[0].path.len();
        bad_kind[kind_at] = 200;
        assert_eq!(decode_index(&bad_kind).err().as_deref(), Some("bad entry kind"));
    }
}

//! Random access into compressed archives: a gzip'd whole archive (`docker save | gzip`)
//! and an OCI archive with gzip layers give the same file bytes and the same export as the
//! plain archive, read one file at a time from access points, or all of them in one go by
//! decoders kept between reads. The gzip is GNU gzip's (the `gzip` command), as people
//! write it.

use std::io::{Cursor, Read};
use strata::fixture::{self, ImageSpec, LayerSpec, Options};
use strata::layer::EntryKind;
use strata::merge::export::export_rootfs;
use strata::merge::read::ContentSource;
use strata::merge::source::{image_layers, ArchiveSource};
use strata::merge::tree::ROOT;
use strata::merge::MergedTree;
use strata::report::Compression;
use strata::Archive;

/// Text-like bytes that compress ~3:1, different per seed.
fn content(seed: u64, len: usize) -> Vec<u8> {
    let words: [&[u8]; 8] = [b"usr ", b"lib ", b"layer ", b"0x1f8b ", b"\n", b"sha256 ", b"opaque ", b"whiteout "];
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if x % 4 == 0 {
            out.push((x >> 32) as u8);
        } else {
            out.extend_from_slice(words[(x % 8) as usize]);
        }
    }
    out.truncate(len);
    out
}

/// Three layers of ~1500 files (~8 MiB each): the second rewrites and deletes some of the
/// first's, so reads go back and forth between layers.
fn image(compression: Option<(Compression, &[&str])>) -> ImageSpec {
    let mut img = ImageSpec::new(&["example.com/random-access:1"]);
    for layer in 0..3u64 {
        let mut spec = match compression {
            Some((c, cmd)) => LayerSpec::new().compressed_by(c, cmd),
            None => LayerSpec::new(),
        };
        for d in 0..10u64 {
            spec = spec.dir(format!("srv/d{d}"));
            for f in 0..150u64 {
                if layer == 1 && f % 7 != 0 {
                    continue;
                }
                let size = 200 + ((f * 7919 + d * 104_729 + layer * 31) % 11_000) as usize;
                spec = spec.file(format!("srv/d{d}/f{f}.txt"), content(layer * 1_000_000 + d * 1000 + f, size));
            }
        }
        if layer == 2 {
            spec = spec.whiteout("srv/d3/f14.txt").file("srv/top.txt", b"top layer\n");
        }
        img = img.layer(spec, &format!("RUN make layer {layer}"));
    }
    img
}

const GNU_GZIP: &[&str] = &["gzip", "-6", "-c", "-n"];

fn gnu_gzip(bytes: &[u8]) -> Vec<u8> {
    fixture::pipe_through(GNU_GZIP, bytes)
}

fn open(bytes: &[u8]) -> (Archive, Cursor<Vec<u8>>) {
    let mut src = Cursor::new(bytes.to_vec());
    let mut ar = Archive::open(&mut src, &mut |_| {}).expect("open");
    ar.verify(&mut src, &mut |_| {}).expect("verify");
    let bad: Vec<_> = ar.report().images.iter().flat_map(|i| &i.checks).filter(|c| !c.verdict.is_ok()).collect();
    assert!(bad.is_empty(), "{bad:?}");
    (ar, src)
}

fn export(ar: &Archive, src: &mut Cursor<Vec<u8>>) -> Vec<u8> {
    export_counting(ar, src).0
}

/// The export, and how many decoders it started (not continued).
fn export_counting(ar: &Archive, src: &mut Cursor<Vec<u8>>) -> (Vec<u8>, usize) {
    let img = &ar.report().images[0];
    let layers = image_layers(ar, img);
    let tree = MergedTree::build(&layers.indexes);
    let mut out = Vec::new();
    let mut source = ArchiveSource::new(ar, src, layers.blobs.clone());
    export_rootfs(&tree, &layers.indexes, &mut source, &mut out).expect("export");
    let started = source.decoders_started();
    (out, started)
}

/// Every regular file of every layer: (layer, path, bytes), read through `read`.
fn every_file(ar: &Archive, read: &mut dyn FnMut(usize, &strata::layer::LayerEntry) -> Vec<u8>) -> Vec<(usize, Box<[u8]>, Vec<u8>)> {
    let img = &ar.report().images[0];
    let layers = image_layers(ar, img);
    let mut wanted = Vec::new();
    for (k, idx) in layers.indexes.iter().enumerate() {
        for e in idx.entries.iter().filter(|e| e.kind == EntryKind::File && e.size > 0) {
            wanted.push((k, e.clone()));
        }
    }
    // Back and forth: alternate from both ends, every 3rd from the middle too.
    let mut order = Vec::new();
    let (mut lo, mut hi) = (0usize, wanted.len());
    while lo < hi {
        order.push(lo);
        lo += 1;
        if lo < hi {
            hi -= 1;
            order.push(hi);
        }
    }
    order.iter().map(|&i| (wanted[i].0, wanted[i].1.path.clone(), read(wanted[i].0, &wanted[i].1))).collect()
}

fn read_all(mut r: Box<dyn Read + '_>) -> Vec<u8> {
    let mut v = Vec::new();
    r.read_to_end(&mut v).expect("read a file");
    v
}

fn check_same_reads(plain: &[u8], other: &[u8]) {
    let (pa, mut ps) = open(plain);
    let (oa, mut os) = open(other);
    let pimg = pa.report().images[0].clone();
    let oimg = oa.report().images[0].clone();
    let pblobs = image_layers(&pa, &pimg).blobs;
    let oblobs = image_layers(&oa, &oimg).blobs;

    let want = every_file(&pa, &mut |k, e| read_all(pa.read_entry(&mut ps, pblobs[k].unwrap(), e).unwrap()));
    assert!(want.len() > 3000, "{} files", want.len());
    // One file at a time, each from its nearest access point.
    let got = every_file(&oa, &mut |k, e| read_all(oa.read_entry(&mut os, oblobs[k].unwrap(), e).unwrap()));
    assert!(got == want, "files read one at a time differ");
    // All through one source that keeps its decoders.
    let mut source = ArchiveSource::new(&oa, &mut os, oblobs.clone());
    let got = every_file(&oa, &mut |k, e| read_all(source.open_entry(k, e).unwrap()));
    assert!(got == want, "files read through kept decoders differ");
    drop(source);
    assert!(export(&oa, &mut os) == export(&pa, &mut ps), "exports differ");
}

#[test]
fn a_gzipped_whole_archive_reads_like_the_plain_one() {
    let plain = fixture::docker_archive(&[image(None)], &Options::default()).bytes;
    let gz = gnu_gzip(&plain);
    let (ar, _) = open(&gz);
    let points = ar.outer_access().map_or(0, |a| a.points.len());
    assert!(points >= 8, "{points} access points in {} MiB", plain.len() >> 20);
    check_same_reads(&plain, &gz);
}

/// `docker save | pzstd`-like: a whole archive in many zstd frames (with skippable frames
/// between them) is read from frame starts too.
#[test]
fn a_zstd_whole_archive_of_many_frames_reads_like_the_plain_one() {
    let plain = fixture::docker_archive(&[image(None)], &Options::default()).bytes;
    let zst = fixture::pipe_through(fixture::ZSTD_CHUNKED_SHAPE, &plain);
    let (ar, _) = open(&zst);
    assert_eq!(ar.compression(), Compression::Zstd);
    let points = ar.outer_access().map_or(0, |a| a.points.len());
    assert!(points >= 100, "{points} access points in {} MiB", plain.len() >> 20);
    check_same_reads(&plain, &zst);
}

#[test]
fn gzip_layers_read_like_plain_ones() {
    let plain = fixture::oci_archive(&[image(None)], &Options::default(), false).bytes;
    let gz_layers = fixture::oci_archive(&[image(Some((Compression::Gzip, GNU_GZIP)))], &Options::default(), false).bytes;
    let (ar, _) = open(&gz_layers);
    let img = ar.report().images[0].clone();
    let blobs = image_layers(&ar, &img).blobs;
    // Layers 0 and 2 hold ~8 MiB each (layer 1 only ~1 MiB: under one spacing, no points).
    for k in [0, 2] {
        let b = blobs[k].unwrap();
        let points = ar.layer_access(b).map_or(0, |a| a.points.len());
        assert!(points >= 2, "layer {k}: {points} access points");
    }
    check_same_reads(&plain, &gz_layers);
}

/// Reads through it are counted (how much of the archive a read took).
struct CountingSource {
    inner: Cursor<Vec<u8>>,
    read: u64,
}

impl Read for CountingSource {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

impl std::io::Seek for CountingSource {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }
}

/// Every frame of a zstd layer is a place to start: the verification pass notes frame
/// starts as access points, so one file deep in a layer is read without decompressing the
/// layer up to it. Skippable frames are passed over, as RFC 8878 asks of every decoder.
#[test]
fn chunked_zstd_layers_read_like_plain_ones_from_frame_starts() {
    let plain = fixture::oci_archive(&[image(None)], &Options::default(), false).bytes;
    let chunked = fixture::oci_archive(&[image(Some((Compression::Zstd, fixture::ZSTD_CHUNKED_SHAPE)))], &Options::default(), false).bytes;
    let (ar, _) = open(&chunked);
    let img = ar.report().images[0].clone();
    let layers = image_layers(&ar, &img);
    for k in [0, 2] {
        let b = layers.blobs[k].unwrap();
        assert_eq!(ar.layer_compression(b), Compression::Zstd);
        let points = ar.layer_access(b).map_or(0, |a| a.points.len());
        assert!(points >= 2, "layer {k}: {points} access points");
    }
    // The last file of layer 0 (~8 MiB in): read from the frame point before it.
    let blob = layers.blobs[0].unwrap();
    let last = layers.indexes[0].entries.iter().filter(|e| e.kind == EntryKind::File).max_by_key(|e| e.data_offset).unwrap().clone();
    let (_, stored) = ar.blob_span(blob).unwrap();
    let mut src = CountingSource { inner: Cursor::new(chunked.clone()), read: 0 };
    let got = read_all(ar.read_entry(&mut src, blob, &last).unwrap());
    let (pa, mut ps) = open(&plain);
    let pblob = image_layers(&pa, &pa.report().images[0]).blobs[0].unwrap();
    assert!(got == read_all(pa.read_entry(&mut ps, pblob, &last).unwrap()), "{}", String::from_utf8_lossy(&last.path));
    assert!(src.read < stored / 4, "read {} of the layer's {stored} stored bytes for one file", src.read);
    check_same_reads(&plain, &chunked);
}

/// zstd and xz layers keep one decoder at a time (their windows are large): exports still
/// match the plain archive's.
#[test]
fn zstd_and_xz_layers_export_like_plain_ones() {
    let small = |c: Compression| {
        let mut img = ImageSpec::new(&["example.com/small:1"]);
        for layer in 0..3u64 {
            let mut spec = LayerSpec::new().compressed(c);
            for f in 0..40u64 {
                if layer == 1 && f % 3 != 0 {
                    continue;
                }
                spec = spec.file(format!("srv/f{f}.txt"), content(layer * 1000 + f, 300 + (f as usize * 977) % 9000));
            }
            img = img.layer(spec, &format!("RUN layer {layer}"));
        }
        fixture::oci_archive(&[img], &Options::default(), false).bytes
    };
    let plain = small(Compression::None);
    let (pa, mut ps) = open(&plain);
    let want = export(&pa, &mut ps);
    for c in [Compression::Zstd, Compression::Xz, Compression::Gzip] {
        let bytes = small(c);
        let (ar, mut src) = open(&bytes);
        assert!(export(&ar, &mut src) == want, "{c:?}");
    }
}

/// An image whose merged tree takes its files from every layer in turn (`f0` from layer 0,
/// `f1` from layer 1, ...), its layers compressed by `cmd`. Returns the number of layers.
fn interleaved(c: Compression, cmd: &[&str]) -> (Vec<u8>, usize) {
    const LAYERS: u64 = 4;
    let mut img = ImageSpec::new(&["example.com/interleaved:1"]);
    for layer in 0..LAYERS {
        let mut spec = LayerSpec::new().compressed_by(c, cmd);
        for f in (layer..120).step_by(LAYERS as usize) {
            spec = spec.file(format!("srv/f{f:03}.txt"), content(layer * 1000 + f, 2000 + (f as usize * 977) % 9000));
        }
        img = img.layer(spec, &format!("RUN layer {layer}"));
    }
    (fixture::oci_archive(&[img], &Options::default(), false).bytes, LAYERS as usize)
}

/// An export reads the merged tree's files in order, so it goes from layer to layer with
/// every file. zstd and xz decoders are kept per layer (as their windows fit the budget),
/// so each layer is decompressed once, not once per file; a window over the budget (here
/// `xz -9`'s 64 MiB) still works, one decoder at a time.
#[test]
fn zstd_and_xz_exports_decompress_each_layer_once() {
    // The reference: the same image with gzip layers (which read like plain ones, above).
    let gzip_export = {
        let (bytes, _) = interleaved(Compression::Gzip, GNU_GZIP);
        let (ar, mut src) = open(&bytes);
        export(&ar, &mut src)
    };
    let cases: [(Compression, &[&str], bool); 5] = [
        (Compression::Zstd, &["zstd", "-q", "-c", "-3"], true),
        (Compression::Zstd, fixture::ZSTD_CHUNKED_SHAPE, true),
        (Compression::Zstd, &["zstd", "-q", "-c", "--no-content-size", "--long=24"], true),
        (Compression::Xz, &["xz", "-q", "-c", "-6"], true),
        (Compression::Xz, &["xz", "-q", "-c", "-9"], false),
    ];
    for (c, cmd, once) in cases {
        let (bytes, layers) = interleaved(c, cmd);
        let (ar, mut src) = open(&bytes);
        let (out, started) = export_counting(&ar, &mut src);
        assert!(out == gzip_export, "{cmd:?}: the export differs");
        if once {
            assert_eq!(started, layers, "{cmd:?}: decoders started");
        } else {
            assert!(started > 100, "{cmd:?}: {started} decoders started (one at a time expected)");
        }
    }
}

/// The browser's Session reads one file per request and hands the kept decoders from one
/// request's source to the next: files read one by one, in the tree's order, still
/// decompress each zstd layer once, and give the same bytes as the gzip archive.
#[test]
fn kept_decoders_carry_over_between_sources() {
    // The reference: the same image with gzip layers (which read like plain ones, above).
    let (gzip, _) = interleaved(Compression::Gzip, GNU_GZIP);
    let (pa, mut ps) = open(&gzip);
    let (bytes, layers) = interleaved(Compression::Zstd, &["zstd", "-q", "-c", "-3"]);
    let (ar, mut src) = open(&bytes);
    let img = ar.report().images[0].clone();
    let idx = image_layers(&ar, &img);
    let pidx = image_layers(&pa, &pa.report().images[0]);
    let tree = MergedTree::build(&idx.indexes);
    let files: Vec<Vec<u8>> = tree.walk(ROOT).into_iter().filter(|&n| tree.kind(n) == EntryKind::File).map(|n| tree.path(n)).collect();
    assert!(files.len() >= 100, "{} files", files.len());
    let shared = strata::io::SharedSource::new(&mut src);
    let mut kept = strata::merge::source::KeptDecoders::default();
    let mut started = 0;
    for path in &files {
        let mut source = ArchiveSource::with_kept(&ar, shared.clone(), idx.blobs.clone(), kept);
        let (_, reader) = strata::merge::read::open_file(&tree, &idx.indexes, &mut source, path).expect("open");
        let got = read_all(Box::new(reader));
        started = source.decoders_started();
        kept = source.into_kept();
        let mut psource = ArchiveSource::new(&pa, &mut ps, pidx.blobs.clone());
        let (_, preader) = strata::merge::read::open_file(&tree, &pidx.indexes, &mut psource, path).expect("open plain");
        assert!(got == read_all(Box::new(preader)), "{}", String::from_utf8_lossy(path));
    }
    assert_eq!(started, layers, "decoders started over {} requests", files.len());
}

/// A range of a file (the page's `read_file` with an offset: "show more", a hex view deep
/// in a big file) starts at its offset: by seeking in a plain layer, from the access point
/// before it in a gzip layer, by decompressing up to it in a zstd one. The bytes equal the
/// whole file's from that offset on, for offsets at, inside and past the end of each file.
#[test]
fn a_range_from_an_offset_equals_the_whole_file_from_there() {
    let cases = [
        ("plain", fixture::docker_legacy(&[plain_interleaved()], &Options::default()).bytes),
        ("gzip", interleaved(Compression::Gzip, GNU_GZIP).0),
        ("zstd", interleaved(Compression::Zstd, &["zstd", "-q", "-c", "-3"]).0),
    ];
    for (name, bytes) in cases {
        let (ar, mut src) = open(&bytes);
        let img = ar.report().images[0].clone();
        let idx = image_layers(&ar, &img);
        let tree = MergedTree::build(&idx.indexes);
        let files: Vec<Vec<u8>> = tree.walk(ROOT).into_iter().filter(|&n| tree.kind(n) == EntryKind::File).map(|n| tree.path(n)).collect();
        assert!(files.len() >= 100, "{name}: {} files", files.len());
        let mut source = ArchiveSource::new(&ar, &mut src, idx.blobs.clone());
        for path in &files {
            let whole = read_all(strata::merge::read::open_file(&tree, &idx.indexes, &mut source, path).expect("open").1);
            let n = whole.len() as u64;
            for from in [0, 1, n / 3, n - 1, n, n + 10] {
                let (size, reader) = strata::merge::read::open_file_from(&tree, &idx.indexes, &mut source, path, from).expect("open from");
                assert_eq!(size, n, "{name}: the whole file's size");
                let want = &whole[from.min(n) as usize..];
                assert!(read_all(reader) == want, "{name}: {} from {from}", String::from_utf8_lossy(path));
            }
        }
    }
}

/// `interleaved`'s image with uncompressed layers.
fn plain_interleaved() -> ImageSpec {
    let mut img = ImageSpec::new(&["example.com/interleaved:1"]);
    for layer in 0..4u64 {
        let mut spec = LayerSpec::new();
        for f in (layer..120).step_by(4) {
            spec = spec.file(format!("srv/f{f:03}.txt"), content(layer * 1000 + f, 2000 + (f as usize * 977) % 9000));
        }
        img = img.layer(spec, &format!("RUN layer {layer}"));
    }
    img
}

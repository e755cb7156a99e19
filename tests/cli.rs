//! The `strata` binary: exit codes, tables, image selection, JSON — over fixture archives.

#[path = "common/sparse.rs"]
mod sparse;

use std::path::PathBuf;
use std::process::Command;
use strata::fixture::{self, LayerSpec, Options, Tamper};

fn write(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn strata(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_strata")).args(args).output().expect("run strata");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn short(id: &str) -> &str {
    &id["sha256:".len().."sha256:".len() + 12]
}

#[test]
fn inspect_lists_images_like_docker_and_exits_0() {
    let fx = fixture::docker_legacy(&[fixture::web_v1(), fixture::web_v2()], &Options::default());
    let path = write("legacy.tar", &fx.bytes);
    let (code, out, err) = strata(&["inspect", path.to_str().unwrap()]);
    assert_eq!(code, 0, "stderr: {err}\nstdout: {out}");
    let header = out.lines().next().unwrap();
    for col in ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"] {
        assert!(header.contains(col), "{header}");
    }
    for img in &fx.images {
        let row = out.lines().find(|l| l.contains(short(&img.id))).unwrap_or_else(|| panic!("no row for {}\n{out}", img.id));
        let (repo, tag) = img.tags[0].split_once(':').unwrap();
        assert!(row.starts_with(repo) && row.contains(tag), "{row}");
        assert!(out.contains(&img.id), "full id of {} missing", img.tags[0]);
    }
    assert!(out.contains("2 of 2 images verified"), "{out}");
}

#[test]
fn untagged_image_shows_none() {
    let mut spec = fixture::web_v1();
    spec.tags.clear();
    let fx = fixture::docker_legacy(&[spec], &Options { null_repo_tags: true, ..Options::default() });
    let path = write("untagged.tar", &fx.bytes);
    let (code, out, _) = strata(&["inspect", path.to_str().unwrap()]);
    assert_eq!(code, 0);
    let row = out.lines().nth(1).unwrap();
    assert!(row.starts_with("<none>") && row.matches("<none>").count() == 2, "{row}");
    let (_, load, _) = strata(&["load-preview", path.to_str().unwrap()]);
    assert!(load.contains(&format!("Loaded image ID: {}", fx.images[0].id)), "{load}");
}

#[test]
fn tampered_layer_exits_1_with_expected_and_actual() {
    let fx = fixture::docker_archive(
        &[fixture::web_v1()],
        &Options::tamper(Tamper::FlipLayerByte { image: 0, layer: 1, offset: 700 }),
    );
    let path = write("tampered.tar", &fx.bytes);
    let (code, out, _) = strata(&["inspect", path.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("NOT VERIFIED"), "{out}");
    assert!(out.contains(&format!("expected {}", fx.images[0].layers[1].diff_id)), "{out}");

    let (code, json, _) = strata(&["inspect", "--json", path.to_str().unwrap()]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let checks = &v["images"][0]["layers"][1]["checks"];
    let diff = checks.as_array().unwrap().iter().find(|c| c["item"] == "diff_id").unwrap();
    assert_eq!(diff["verdict"], "mismatch");
    assert_eq!(diff["expected"], fx.images[0].layers[1].diff_id.as_str());
    assert_eq!(v["images"][0]["verified"], false);
    // The untouched layer is still ok: a mismatch never stops the report.
    let l0 = v["images"][0]["layers"][0]["checks"].as_array().unwrap();
    assert!(l0.iter().all(|c| c["verdict"] == "ok"), "{l0:?}");
}

#[test]
fn unreadable_input_exits_2_with_one_sentence() {
    let path = write("not-an-archive.txt", b"hello, I am not a tar archive at all\n");
    let (code, out, err) = strata(&["inspect", path.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(err.contains("not a tar archive"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    let fx = fixture::docker_legacy(&[fixture::web_v1()], &Options::default());
    let cut = &fx.bytes[..fx.bytes.len() / 2];
    let path = write("truncated.tar", cut);
    let (code, _, err) = strata(&["inspect", path.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("truncated") && err.contains("byte"), "{err}");

    let plain = fixture::TarWriter::new();
    let mut plain = plain;
    plain.file("hello.txt", "just a tar\n");
    let path = write("plain.tar", &plain.finish());
    let (code, _, err) = strata(&["inspect", path.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("not an image archive"), "{err}");
}

#[test]
fn history_is_newest_first_with_missing_ids() {
    let fx = fixture::docker_oci(&[fixture::web_v1(), fixture::web_v2()], &Options::default());
    let path = write("oci-history.tar", &fx.bytes);
    let (code, out, err) = strata(&["history", path.to_str().unwrap(), "--image", "web:v2"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("IMAGE") && lines[0].contains("CREATED BY") && lines[0].contains("COMMENT"));
    assert!(lines[1].starts_with(short(&fx.images[1].id)), "{out}");
    assert!(lines[1].contains("echo v2"), "newest entry first: {out}");
    assert!(lines[2..].iter().all(|l| l.starts_with("<missing>")), "{out}");
    assert!(lines.last().unwrap().contains("ADD file:fixture"), "{out}");

    // --no-trunc shows the full ID; --human=false shows bytes.
    let (_, full, _) = strata(&["history", path.to_str().unwrap(), "--image", "web:v2", "--no-trunc", "--human=false"]);
    assert!(full.lines().nth(1).unwrap().starts_with(&fx.images[1].id), "{full}");
    let tar_len = fx.images[1].layers.last().unwrap().tar.len();
    assert!(full.lines().nth(1).unwrap().contains(&tar_len.to_string()), "{full}");
}

#[test]
fn image_ref_by_tag_id_prefix_and_index() {
    let fx = fixture::docker_oci(&[fixture::web_v1(), fixture::web_v2()], &Options::default());
    let path = write("refs.tar", &fx.bytes);
    let p = path.to_str().unwrap();
    let top = |args: &[&str]| strata(args).1.lines().nth(1).unwrap_or_default().to_owned();
    let v2 = short(&fx.images[1].id).to_owned();
    assert!(top(&["history", p, "--image", "web:v2"]).starts_with(&v2));
    assert!(top(&["history", p, "--image", &v2[..8]]).starts_with(&v2));
    assert!(top(&["history", p, "--image", &fx.images[1].id]).starts_with(&v2));
    assert!(top(&["history", p, "--image", "1"]).starts_with(&v2));
    let (code, _, err) = strata(&["history", p, "--image", "nope:1"]);
    assert_eq!(code, 2);
    assert!(err.contains("no image \"nope:1\"") && err.contains("web:v1"), "{err}");
}

#[test]
fn one_tag_two_platforms_platform_column_and_image_at_platform() {
    // A multi-platform index (skopeo copy --all): one tag, linux/amd64 and linux/arm64/v8,
    // each with its own /etc/arch.
    let fx = fixture::oci_archive_platforms(&[fixture::web_v1_for("amd64", None), fixture::web_v1_for("arm64", Some("v8"))], &Options::default());
    let path = write("platforms.tar", &fx.bytes);
    let p = path.to_str().unwrap();
    let (code, out, err) = strata(&["inspect", p]);
    assert_eq!(code, 0, "{err}");
    assert!(out.lines().next().unwrap().ends_with("PLATFORM"), "{out}");
    let amd = out.lines().find(|l| l.contains(short(&fx.images[0].id))).unwrap();
    let arm = out.lines().find(|l| l.contains(short(&fx.images[1].id))).unwrap();
    assert!(amd.starts_with("web") && amd.ends_with("linux/amd64"), "{amd}");
    assert!(arm.starts_with("web") && arm.ends_with("linux/arm64/v8"), "{arm}");
    let cat = |image: &str| strata(&["cat", p, "/etc/arch", "--image", image]);
    assert_eq!(cat("web:v1").1, "built for amd64\n", "the tag alone: the first platform");
    for image in ["web:v1@linux/arm64/v8", "web:v1@linux/arm64", "linux/arm64", "1"] {
        assert_eq!(cat(image).1, "built for arm64\n", "--image {image}");
    }
    let (code, _, err) = cat("web:v1@linux/s390x");
    assert_eq!(code, 2);
    assert!(err.contains("linux/s390x") && err.contains("linux/arm64/v8"), "{err}");
    // A diff of the two platforms names them apart.
    let (_, diff, _) = strata(&["diff", &format!("{p}@web:v1@linux/amd64"), &format!("{p}@linux/arm64")]);
    assert!(diff.starts_with("--- web:v1@linux/amd64\n+++ web:v1@linux/arm64/v8\n"), "{diff}");
    assert!(diff.contains("M /etc/arch"), "{diff}");
    // The same tag and platform in two archives: named apart by their IDs.
    let other = write("other.tar", &fixture::docker_oci(&[fixture::web_v1_for("amd64", None).layer(LayerSpec::new().file("etc/more", "more\n"), "/bin/sh -c echo more > /etc/more")], &Options::default()).bytes);
    let (_, diff, _) = strata(&["diff", &format!("{p}@web:v1"), &format!("{}@web:v1", other.to_str().unwrap())]);
    let first = diff.lines().next().unwrap_or_default();
    assert_eq!(first, format!("--- web:v1@{}", short(&fx.images[0].id)), "{diff}");
    assert!(diff.contains("+ /etc/more"), "{diff}");
    // One platform only: no PLATFORM column.
    let single = write("single.tar", &fixture::docker_oci(&[fixture::web_v1()], &Options::default()).bytes);
    assert!(!strata(&["inspect", single.to_str().unwrap()]).1.lines().next().unwrap().contains("PLATFORM"));
}

#[test]
fn load_preview_prints_each_layer_once_then_tags() {
    let fx = fixture::docker_archive(&[fixture::web_v1(), fixture::web_v2()], &Options::default());
    let path = write("load.tar", &fx.bytes);
    let (code, out, _) = strata(&["load-preview", path.to_str().unwrap()]);
    assert_eq!(code, 0);
    let layer_lines = out.lines().filter(|l| l.contains("Loading layer")).count();
    assert_eq!(layer_lines, 3, "base + v1 layer + v2 layer, shared ones once:\n{out}");
    let first = &fx.images[0].layers[0].diff_id["sha256:".len().."sha256:".len() + 12];
    assert!(out.starts_with(first), "{out}");
    assert!(out.contains("Loaded image: web:v1\n") && out.contains("Loaded image: web:v2\n"), "{out}");
}

#[test]
fn gzip_whole_archive_is_read_in_one_pass() {
    let fx = fixture::docker_oci(&[fixture::web_v1()], &Options::default());
    let gz = fixture::compress(&fx.bytes, strata::report::Compression::Gzip);
    let path = write("whole.tar.gz", &gz);
    let (code, json, err) = strata(&["inspect", "--json", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["archive"]["compression"], "gzip");
    assert_eq!(v["images"][0]["id"], fx.images[0].id.as_str());
}

#[test]
fn dockerfile_rebuilds_instructions_from_history() {
    let path = write("sample.tar", &fixture::sample_archive());
    let (code, out, err) = strata(&["dockerfile", "--image", "strata-demo:2.0", path.to_str().unwrap()]);
    assert_eq!(code, 0, "stderr: {err}\nstdout: {out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.first(), Some(&"ADD file:4f1b2e0c9a /"), "{out}");
    assert!(lines.contains(&"RUN apk add --no-cache libdemo && rm /etc/hostname"), "{out}");
    assert!(lines.contains(&"COPY multi:77aa01 /app/"), "{out}");
    // Docker records HEALTHCHECK as a Go struct (`&{["CMD-SHELL" …] "30s" "3s" "0s" "0s" '\x03'}`).
    assert_eq!(lines.last(), Some(&"HEALTHCHECK --interval=30s --timeout=3s --retries=3 CMD /usr/bin/app --check"), "{out}");
}

/// A save past 4 GiB (holes on disk, see `common/sparse.rs`): verified, listed, and its
/// files read at their offsets past 2^32, in the archive and in the layer.
#[test]
fn an_archive_past_4_gib_verifies_and_reads_at_the_right_offsets() {
    use std::io::Read;
    use strata::merge::{read, source, MergedTree};
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("past-4gib.tar");
    let written = sparse::write_past_4gib(&path).expect("write the archive");
    assert!(written.size > 1 << 32, "{} bytes", written.size);
    let arg = path.to_str().unwrap();
    let (code, out, err) = strata(&["inspect", arg]);
    assert_eq!(code, 0, "stderr: {err}\nstdout: {out}");
    assert!(out.contains("1 of 1 images verified") && out.contains(&written.image_id), "{out}");
    assert_eq!(strata(&["cat", arg, "/after.txt"]).1.as_bytes(), sparse::AFTER);
    assert_eq!(strata(&["cat", arg, "/etc/note.txt"]).1.as_bytes(), sparse::NOTE);
    let (_, listing, _) = strata(&["ls", "--json", arg, "/"]);
    let listing: serde_json::Value = serde_json::from_str(&listing).expect("json");
    let big = listing.as_array().unwrap().iter().find(|e| e["name"] == "big.bin").expect("big.bin listed");
    assert_eq!(big["size"].as_u64(), Some(sparse::BIG_SIZE));
    // Both ends of big.bin, the end read from its offset (a seek, not 4 GiB of reading).
    let mut file = std::fs::File::open(&path).unwrap();
    let mut ar = strata::Archive::open(&mut file, &mut |_| {}).expect("open");
    ar.index_layers(&mut file, &mut |_| {}).expect("index");
    let image = ar.report().images[0].clone();
    let layers = source::image_layers(&ar, &image);
    let tree = MergedTree::build(&layers.indexes);
    let mut src = source::ArchiveSource::new(&ar, &mut file, layers.blobs.clone());
    let mut head = vec![0; sparse::BIG_START.len()];
    read::open_file(&tree, &layers.indexes, &mut src, b"big.bin").expect("open").1.read_exact(&mut head).expect("read");
    assert_eq!(head, sparse::BIG_START);
    let from = sparse::BIG_SIZE - sparse::BIG_END.len() as u64;
    let (size, mut tail) = read::open_file_from(&tree, &layers.indexes, &mut src, b"big.bin", from).expect("open from");
    assert_eq!(size, sparse::BIG_SIZE);
    let mut end = Vec::new();
    tail.read_to_end(&mut end).expect("read");
    assert_eq!(end, sparse::BIG_END);
}

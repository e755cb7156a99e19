//! rpm's older package databases (issue 25): Berkeley DB hash `Packages` written for real by
//! `db5.3_load` from the header blobs Debian's `rpm` stored in its SQLite database, read back
//! by rpm itself (`_db_backend bdb_ro`) and compared with strata's reading, in both byte
//! orders; NDB `Packages.db` written from the format (`common/rpm_db_writer.rs`; Debian's rpm
//! has no NDB backend) and compared with rpm's reading of the same headers; which database
//! counts when an image has several; and damaged databases: findings naming the file, never
//! a panic.
//!
//! A missing tool skips its test with a message, unless `STRATA_REQUIRE_TOOLS` is set.

#[path = "common/rpm_db_writer.rs"]
mod rpm_db_writer;
#[path = "common/packages.rs"]
mod packages_common;

use packages_common::{make_rpm, rpm_qa, run, scratch, tool_present, tools};
use std::path::{Path, PathBuf};
use std::process::Command;
use strata::fixture::{docker_archive, ImageSpec, LayerSpec, Options};
use strata::packages::sqlite::{Db, Value};
use strata::packages::{ImagePackages, Limits, PackageType};

/// As `packages_common::scan_archive`, with the default limits.
fn scan_archive(bytes: &[u8], upto: Option<usize>) -> ImagePackages {
    packages_common::scan_archive(bytes, upto, &Limits::default())
}

/// The rpm packages found, as (name, version), sorted.
fn names_versions(found: &ImagePackages) -> Vec<(String, String)> {
    packages_common::names_versions(found, PackageType::Rpm)
}

/// The (header number, header blob) rows of an `rpmdb.sqlite`.
fn sqlite_headers(bytes: &[u8]) -> Vec<(u32, Vec<u8>)> {
    let read_at = |offset: u64, buf: &mut [u8]| -> Result<(), String> {
        buf.copy_from_slice(&bytes[offset as usize..offset as usize + buf.len()]);
        Ok(())
    };
    let mut db = Db::open(read_at, bytes.len() as u64).unwrap();
    let root = db.table_root("Packages").unwrap().unwrap();
    let mut rows = Vec::new();
    db.walk_table(root, &mut |rowid, columns| {
        if let Some(Value::Blob(blob)) = columns.get(1) {
            rows.push((rowid as u32, blob.clone()));
        }
        Ok(true)
    })
    .unwrap();
    rows
}

/// Two states of an rpm database, made by Debian's rpm from rpmbuild packages: 24 tiny
/// packages and `big-header` (epoch 3, 400 files), then `tiny05` upgraded and `late` added.
struct RpmStates {
    headers: [Vec<(u32, Vec<u8>)>; 2],
    expected: [Vec<(String, String)>; 2],
}

fn rpm_states(dir: &Path) -> RpmStates {
    let top = dir.join("top");
    let db = dir.join("sqlite");
    std::fs::create_dir_all(&db).unwrap();
    run(Command::new("rpm").arg("--dbpath").arg(&db).arg("--initdb"));
    let install = |rpms: &[PathBuf], upgrade: bool| {
        let mut cmd = Command::new("rpm");
        cmd.arg("--dbpath").arg(&db).args([if upgrade { "-U" } else { "-i" }, "--nodeps", "--justdb", "--noscripts"]).args(rpms);
        run(&mut cmd);
    };
    let mut first: Vec<PathBuf> = (0..24).map(|i| make_rpm(&top, &format!("tiny{i:02}"), None, "1.0", 2)).collect();
    first.push(make_rpm(&top, "big-header", Some(3), "4.5", 400));
    install(&first, false);
    let headers0 = sqlite_headers(&std::fs::read(db.join("rpmdb.sqlite")).unwrap());
    let expected0 = rpm_qa(&db, Some("sqlite"));
    install(&[make_rpm(&top, "tiny05", None, "1.1", 2), make_rpm(&top, "late", Some(1), "0.1", 2)], true);
    let headers1 = sqlite_headers(&std::fs::read(db.join("rpmdb.sqlite")).unwrap());
    let expected1 = rpm_qa(&db, Some("sqlite"));
    assert_eq!(expected0.len(), 25);
    assert!(headers0.iter().any(|(_, b)| b.len() > 16 * 1024), "big-header's header should span several pages");
    RpmStates { headers: [headers0, headers1], expected: [expected0, expected1] }
}

/// A Berkeley DB hash `Packages` written by `db5.3_load` in `dir`: the headers under their
/// numbers, and header number 0 holding the next free number, as old rpm kept it.
fn write_bdb(dir: &Path, headers: &[(u32, Vec<u8>)], page_size: usize, big_endian: bool) -> Vec<u8> {
    std::fs::create_dir_all(dir).unwrap();
    let next = headers.iter().map(|(n, _)| n + 1).max().unwrap_or(1);
    let mut records = vec![(0u32, if big_endian { next.to_be_bytes() } else { next.to_le_bytes() }.to_vec())];
    records.extend(headers.iter().cloned());
    let input = dir.join("dump.txt");
    std::fs::write(&input, rpm_db_writer::db_load_input(&records, page_size, big_endian)).unwrap();
    let out = dir.join("Packages");
    let _ = std::fs::remove_file(&out);
    let lorder = if big_endian { "db_lorder=4321" } else { "db_lorder=1234" };
    run(Command::new("db5.3_load").args(["-c", lorder, "-f"]).arg(&input).arg(&out));
    std::fs::read(&out).unwrap()
}

const CENTOS: &str = "NAME=\"CentOS Linux\"\nVERSION=\"7 (Core)\"\nID=\"centos\"\nVERSION_ID=\"7\"\nPRETTY_NAME=\"CentOS Linux 7 (Core)\"\n";

#[test]
fn rpm_bdb_written_by_db_load_matches_rpm_qa() {
    if !tools(&["rpm", "rpmbuild", "db5.3_load"], "rpm Berkeley DB test") {
        return;
    }
    let dir = scratch("bdb");
    let states = rpm_states(&dir);
    // Both byte orders, and pages small enough for many buckets and long overflow chains.
    for (page_size, big_endian) in [(4096, false), (1024, true), (512, false)] {
        let mut bdb = Vec::new();
        for (k, headers) in states.headers.iter().enumerate() {
            let at = dir.join(format!("bdb-{page_size}-{big_endian}-{k}"));
            bdb.push(write_bdb(&at, headers, page_size, big_endian));
            // rpm itself reads what db5.3_load wrote: the same packages as from SQLite.
            assert_eq!(rpm_qa(&at, Some("bdb_ro")), states.expected[k], "rpm -qa of the Berkeley DB (page size {page_size}, big-endian {big_endian})");
        }
        let spec = ImageSpec::new(&["centos:7"])
            .layer(LayerSpec::new().file("etc/os-release", CENTOS).dir("var/lib/rpm").file("var/lib/rpm/Packages", &bdb[0]), "ADD centos-7.tar.xz /")
            .layer(LayerSpec::new().file("var/lib/rpm/Packages", &bdb[1]).file("var/lib/rpm/__db.001", b"environment"), "RUN yum install -y late && yum upgrade -y tiny05");
        let archive = docker_archive(&[spec], &Options::default()).bytes;
        let found0 = scan_archive(&archive, Some(0));
        assert!(found0.findings.is_empty(), "{:?}", found0.findings);
        assert_eq!(names_versions(&found0), states.expected[0], "page size {page_size}, big-endian {big_endian}");
        let found = scan_archive(&archive, None);
        assert!(found.findings.is_empty(), "{:?}", found.findings);
        assert_eq!(names_versions(&found), states.expected[1]);
        let big = found.packages.iter().find(|p| p.name == "big-header").unwrap();
        assert_eq!((big.layer, big.version.as_str(), big.arch.as_deref()), (0, "3:4.5-1", Some("noarch")));
        let late = found.packages.iter().find(|p| p.name == "late").unwrap();
        assert_eq!((late.layer, late.purl.as_str()), (1, "pkg:rpm/centos/late@1:0.1-1?arch=noarch&distro=centos-7"));
        assert_eq!(late.licenses, ["MIT"]);
        assert_eq!(found.layers[1].upgraded.len(), 1);
        assert_eq!(found.layers[1].added.len(), 1);
    }
}

#[test]
fn rpm_ndb_from_the_format_matches_rpm_qa_of_the_same_headers() {
    if !tools(&["rpm", "rpmbuild"], "rpm NDB test") {
        return;
    }
    let dir = scratch("ndb");
    let states = rpm_states(&dir);
    let ndb0 = rpm_db_writer::ndb(&states.headers[0], 1);
    // Two slot pages: the slots of the second one are read too.
    let ndb1 = rpm_db_writer::ndb(&states.headers[1], 2);
    let suse = "NAME=\"openSUSE Leap\"\nVERSION=\"15.5\"\nID=\"opensuse-leap\"\nVERSION_ID=\"15.5\"\nPRETTY_NAME=\"openSUSE Leap 15.5\"\n";
    let spec = ImageSpec::new(&["leap:15.5"])
        .layer(
            LayerSpec::new()
                .file("usr/lib/os-release", suse)
                .symlink("etc/os-release", "../usr/lib/os-release")
                .dir("usr/lib/sysimage/rpm")
                .file("usr/lib/sysimage/rpm/Packages.db", &ndb0)
                .symlink("var/lib/rpm", "../../usr/lib/sysimage/rpm"),
            "ADD leap.tar.xz /",
        )
        .layer(LayerSpec::new().file("usr/lib/sysimage/rpm/Packages.db", &ndb1), "RUN zypper install -y late && zypper update -y tiny05");
    let archive = docker_archive(&[spec], &Options::default()).bytes;
    let found0 = scan_archive(&archive, Some(0));
    assert!(found0.findings.is_empty(), "{:?}", found0.findings);
    assert_eq!(names_versions(&found0), states.expected[0]);
    let found = scan_archive(&archive, None);
    assert!(found.findings.is_empty(), "{:?}", found.findings);
    assert_eq!(names_versions(&found), states.expected[1]);
    let late = found.packages.iter().find(|p| p.name == "late").unwrap();
    assert_eq!((late.layer, late.purl.as_str()), (1, "pkg:rpm/opensuse-leap/late@1:0.1-1?arch=noarch&distro=opensuse-leap-15.5"));
}

/// When an image holds several rpm databases (a conversion leaves the old one), the one
/// rpm would use counts: SQLite, else NDB, else Berkeley DB.
#[test]
fn rpm_database_preference_sqlite_then_ndb_then_bdb() {
    let old = vec![(1, rpm_db_writer::header("from-ndb", None, "1", "1", 0))];
    let new = vec![(1, rpm_db_writer::header("from-sqlite", None, "1", "1", 0))];
    let ndb = rpm_db_writer::ndb(&old, 1);
    let mut layers = vec![(LayerSpec::new().file("var/lib/rpm/Packages.db", &ndb), "ndb")];
    if tool_present("db5.3_load") {
        let dir = scratch("preference");
        let bdb = write_bdb(&dir, &[(1, rpm_db_writer::header("from-bdb", None, "1", "1", 0))], 4096, false);
        layers.insert(0, (LayerSpec::new().file("var/lib/rpm/Packages", &bdb), "bdb"));
    }
    let sqlite = if tool_present("sqlite3") {
        let dir = scratch("preference-sqlite");
        let db = dir.join("rpmdb.sqlite");
        let hex: String = new[0].1.iter().map(|b| format!("{b:02x}")).collect();
        let sql = format!("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL); INSERT INTO Packages VALUES (1, x'{hex}');");
        run(Command::new("sqlite3").arg(&db).arg(sql));
        Some(std::fs::read(&db).unwrap())
    } else {
        None
    };
    if let Some(sqlite) = &sqlite {
        layers.push((LayerSpec::new().file("var/lib/rpm/rpmdb.sqlite", sqlite), "sqlite"));
    }
    let mut spec = ImageSpec::new(&["several:1"]);
    for (layer, what) in layers.clone() {
        spec = spec.layer(layer, what);
    }
    let archive = docker_archive(&[spec], &Options::default()).bytes;
    let names = |upto: usize| scan_archive(&archive, Some(upto)).packages.iter().map(|p| p.name.clone()).collect::<Vec<_>>();
    for (k, (_, what)) in layers.iter().enumerate() {
        assert_eq!(names(k), [format!("from-{what}")], "as of layer {k}");
    }
}

/// Damaged Berkeley DB and NDB databases: findings naming the file, never a panic; what was
/// read before the damage is kept.
#[test]
fn damaged_bdb_and_ndb_are_findings_naming_the_file() {
    let headers: Vec<(u32, Vec<u8>)> = (1..=40).map(|i| (i, rpm_db_writer::header(&format!("p{i:02}"), None, "1.0", "1", if i == 7 { 20_000 } else { 0 }))).collect();
    let mut cases: Vec<(String, &str, Vec<u8>)> = Vec::new();

    // NDB: cut, bad magic, a bad slot, a blob whose checksum does not match.
    let ndb = rpm_db_writer::ndb(&headers, 1);
    let path = "var/lib/rpm/Packages.db";
    cases.push(("ndb cut".into(), path, ndb[..ndb.len() / 2].to_vec()));
    cases.push(("ndb cut in the slots".into(), path, ndb[..1000].to_vec()));
    let mut bad = ndb.clone();
    bad[0] = b'X';
    cases.push(("ndb bad magic".into(), path, bad));
    let mut bad = ndb.clone();
    bad[32 + 16 * 5] = b'X';
    cases.push(("ndb bad slot magic".into(), path, bad));
    let mut bad = ndb.clone();
    bad[32 + 16 * 3 + 8..32 + 16 * 3 + 12].copy_from_slice(&u32::MAX.to_le_bytes());
    cases.push(("ndb slot out of the file".into(), path, bad));
    let mut bad = ndb.clone();
    let last = bad.len() - 40;
    bad[last] ^= 0xff;
    cases.push(("ndb checksum".into(), path, bad));

    if tool_present("db5.3_load") {
        let dir = scratch("damaged-bdb");
        let path = "var/lib/rpm/Packages";
        let bdb = write_bdb(&dir, &headers, 1024, false);
        let page = 1024;
        cases.push(("bdb cut".into(), path, bdb[..bdb.len() / 2].to_vec()));
        cases.push(("bdb shorter than a page".into(), path, bdb[..300].to_vec()));
        let mut bad = bdb.clone();
        bad[12] = 0x99;
        cases.push(("bdb bad magic".into(), path, bad));
        // An overflow chain that leads back to its own page.
        let mut looped = bdb.clone();
        let overflow = (1..bdb.len() / page).find(|&p| bdb[p * page + 25] == 7 && bdb[p * page + 16..p * page + 20] != [0, 0, 0, 0]).expect("an overflow chain of several pages");
        looped[overflow * page + 16..overflow * page + 20].copy_from_slice(&(overflow as u32).to_le_bytes());
        cases.push(("bdb looping overflow chain".into(), path, looped));
        // A bucket page that is not a hash page.
        let mut bad = bdb.clone();
        let bucket = (1..bdb.len() / page).find(|&p| bdb[p * page + 25] == 13).unwrap();
        bad[bucket * page + 25] = 5;
        cases.push(("bdb bucket page of the wrong type".into(), path, bad));
        // Item offsets pointing outside the page.
        let mut bad = bdb.clone();
        bad[bucket * page + 26..bucket * page + 28].copy_from_slice(&0xfff0u16.to_le_bytes());
        cases.push(("bdb item outside its page".into(), path, bad));
    } else {
        assert!(std::env::var_os("STRATA_REQUIRE_TOOLS").is_none(), "STRATA_REQUIRE_TOOLS is set but db5.3_load is not installed");
        eprintln!("SKIPPED damaged Berkeley DB cases: db5.3_load not installed");
    }

    for (what, path, bytes) in cases {
        let spec = ImageSpec::new(&["rpm:damaged"]).layer(LayerSpec::new().file(path, &bytes), &what);
        let found = scan_archive(&docker_archive(&[spec], &Options::default()).bytes, None);
        assert!(!found.findings.is_empty(), "{what}: no finding");
        assert!(found.findings.iter().all(|f| f.path == format!("/{path}")), "{what}: {:?}", found.findings);
        eprintln!("{what}: {} package(s) kept; {}", found.packages.len(), found.findings.iter().map(|f| f.message.as_str()).collect::<Vec<_>>().join(" | "));
        if what.contains("checksum") || what.contains("slot out") || what.contains("looping") {
            // One record is lost, the others are read.
            assert_eq!(found.packages.len(), 39, "{what}");
        }
        if what.ends_with(" cut") {
            // The packages before the cut are kept, and the cut is said once.
            assert!(!found.packages.is_empty() && found.packages.len() < 40, "{what}: {}", found.packages.len());
            assert_eq!(found.findings.len(), 1, "{what}: {:?}", found.findings);
            assert!(found.findings[0].message.contains("cut short"), "{what}: {:?}", found.findings);
        }
    }
}

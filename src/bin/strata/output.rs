//! Text output for the CLI: `docker images` / `docker history` / `docker load` styles.

use crate::escape::{escape, escape_truncated};
use std::io::{ErrorKind, Write};
use std::time::{SystemTime, UNIX_EPOCH};
pub use strata::report::short_id;
use strata::report::{Image, Report, Severity, Verdict};

/// What a failed write to standard output means: a closed pipe (`strata … | head -1`) is
/// the reader having had enough, so the command stops quietly as `ls` does (`Ok`); any
/// other failure is an error that says it was a write.
pub fn stdout_write_result(result: std::io::Result<()>) -> Result<(), String> {
    match result {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(format!("cannot write to standard output: {e}")),
    }
}

/// Print `text` on standard output (see [`stdout_write_result`] for a closed pipe).
pub fn print_text(text: &str) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    stdout_write_result(out.write_all(text.as_bytes()).and_then(|()| out.flush()))
}

/// One line on standard error, `strata: ` first, archive text made visible. Never fails:
/// a closed stderr has no one to tell.
pub fn warn(message: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "strata: {}", escape(message));
}

pub fn print_json<T: serde::Serialize + ?Sized>(value: &T) -> Result<(), String> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let written = serde_json::to_writer_pretty(&mut out, value).map_err(std::io::Error::from);
    stdout_write_result(written.and_then(|()| writeln!(out)).and_then(|()| out.flush()))
}

/// Sizes as docker prints them: decimal units, three significant digits.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < UNITS.len() {
        v /= 1000.0;
        u += 1;
    }
    format!("{}{}", three_significant(v), UNITS[u])
}

fn three_significant(v: f64) -> String {
    let decimals = if v >= 100.0 { 0 } else if v >= 10.0 { 1 } else { 2 };
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

/// Seconds since the epoch from an RFC 3339 timestamp (`2024-01-02T03:04:05.123Z`).
pub fn parse_rfc3339(ts: &str) -> Option<i64> {
    let b = ts.as_bytes();
    if b.len() < 19 {
        return None;
    }
    let num = |r: std::ops::Range<usize>| ts.get(r).and_then(|s| s.parse::<i64>().ok());
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    // Days from civil date (Howard Hinnant's algorithm).
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    let mut secs = days * 86400 + h * 3600 + mi * 60 + s;
    // Timezone offset after optional fraction.
    let rest = &ts[19..];
    let rest = rest.trim_start_matches(|c: char| c == '.' || c.is_ascii_digit());
    if let Some(off) = rest.strip_prefix('+').or_else(|| rest.strip_prefix('-')) {
        let sign = if rest.starts_with('-') { -1 } else { 1 };
        let oh: i64 = off.get(0..2)?.parse().ok()?;
        let om: i64 = off.get(3..5)?.parse().ok()?;
        secs -= sign * (oh * 3600 + om * 60);
    }
    Some(secs)
}

/// "3 days ago", as docker prints creation times.
pub fn relative_time(ts: Option<&str>) -> String {
    let Some(then) = ts.and_then(parse_rfc3339) else { return "N/A".into() };
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let ago = now - then;
    if ago < 0 {
        return "in the future".into();
    }
    let (n, unit) = match ago {
        s if s < 60 => (s, "second"),
        s if s < 3600 => (s / 60, "minute"),
        s if s < 86400 => (s / 3600, "hour"),
        s if s < 86400 * 14 => (s / 86400, "day"),
        s if s < 86400 * 60 => (s / (86400 * 7), "week"),
        s if s < 86400 * 365 * 2 => (s / (86400 * 30), "month"),
        s => (s / (86400 * 365), "year"),
    };
    if n == 1 {
        format!("{} {unit} ago", if unit == "hour" { "An" } else { "1" })
    } else {
        format!("{n} {unit}s ago")
    }
}

/// `repo:tag` → (repo, tag); `<none>` for what is absent.
pub fn split_tag(name: &str) -> (String, String) {
    let slash = name.rfind('/').map(|i| i + 1).unwrap_or(0);
    match name[slash..].rfind(':') {
        Some(i) => (name[..slash + i].to_owned(), name[slash + i + 1..].to_owned()),
        None => (name.to_owned(), "<none>".to_owned()),
    }
}

/// Rows as aligned columns. Cells are escaped here (again: escaping is idempotent), so the
/// widths count what the terminal shows and no cell can break a row.
fn table(rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(|c| escape(c).into_owned()).collect()).collect();
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0; cols];
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in &rows {
        let mut line = String::new();
        for (i, c) in r.iter().enumerate() {
            if i + 1 == r.len() {
                line.push_str(c);
            } else {
                line.push_str(c);
                line.push_str(&" ".repeat(widths[i] - c.chars().count() + 3));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Whether the archive holds images of more than one platform (a multi-platform index).
fn several_platforms(report: &Report) -> bool {
    report.images.iter().any(|i| Some(i.platform()) != report.images.first().map(Image::platform))
}

/// Pick an image by tag (`repo:tag`, or `repo` meaning `repo:latest`), ID prefix, or index,
/// optionally followed by `@os/arch[/variant]` for one platform of a multi-platform index
/// (`web:v1@linux/arm64`); a platform alone (`linux/arm64`) picks the first image of it.
/// `linux/arm64` also matches `linux/arm64/v8`, as `docker --platform` does.
pub fn pick_image<'r>(report: &'r Report, wanted: Option<&str>) -> Result<&'r Image, String> {
    let all: Vec<&Image> = report.images.iter().collect();
    let Some(w) = wanted else {
        return all.first().copied().ok_or_else(|| "the archive holds no images".to_owned());
    };
    let of_platform = |p: &str| -> Vec<&'r Image> { report.images.iter().filter(|i| platform_matches(i, p)).collect() };
    if w.contains('/') {
        if let Some(first) = of_platform(w).first() {
            return Ok(first);
        }
    }
    if let Some((name, platform)) = w.rsplit_once('@').filter(|(_, p)| p.contains('/')) {
        let candidates = of_platform(platform);
        if candidates.is_empty() {
            let known: Vec<String> = report.images.iter().map(Image::platform).collect();
            return Err(format!("no image for platform {platform:?} in the archive (it has: {})", known.join(", ")));
        }
        return pick_among(&candidates, name);
    }
    pick_among(&all, w)
}

/// [`pick_image`] among `images` by tag, ID prefix or index (`Image::index`).
fn pick_among<'r>(images: &[&'r Image], w: &str) -> Result<&'r Image, String> {
    // Tags are kept short (`app:v1`, as `docker images` shows them): a full reference
    // (`docker.io/library/app:v1`) names the same image.
    let short = strata::resolve::short_reference(w);
    let by_tag = images.iter().find(|i| i.repo_tags.iter().any(|t| *t == short || *t == format!("{short}:latest")));
    if let Some(i) = by_tag {
        return Ok(i);
    }
    let hex = w.strip_prefix("sha256:").unwrap_or(w);
    if hex.len() >= 4 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        let matches: Vec<&Image> = images.iter().copied().filter(|i| short_id(&i.id).starts_with(hex) || i.id.trim_start_matches("sha256:").starts_with(hex)).collect();
        match matches.len() {
            1 => return Ok(matches[0]),
            n if n > 1 => return Err(format!("{w:?} matches {n} images; give more of the ID")),
            _ => {}
        }
    }
    if let Ok(n) = w.parse::<usize>() {
        if let Some(i) = images.iter().find(|i| i.index == n) {
            return Ok(i);
        }
    }
    let known: Vec<String> = images.iter().map(|i| i.repo_tags.first().cloned().unwrap_or_else(|| short_id(&i.id))).collect();
    Err(format!("no image {w:?} in the archive (it has: {})", known.join(", ")))
}

/// `wanted` is `os/arch` or `os/arch/variant`; a missing variant matches any.
fn platform_matches(img: &Image, wanted: &str) -> bool {
    let mine = img.platform();
    mine == wanted || (wanted.matches('/').count() == 1 && mine.starts_with(&format!("{wanted}/")))
}

fn verdict_text(v: &Verdict) -> String {
    match v {
        Verdict::Ok => "ok".into(),
        Verdict::Mismatch { expected, actual } => format!("MISMATCH expected {expected}, got {actual}"),
        Verdict::SizeMismatch { expected, actual } => format!("SIZE MISMATCH expected {expected} bytes, got {actual}"),
        Verdict::Missing => "MISSING".into(),
        Verdict::NotCheckable { why, .. } => format!("not checkable: {why}"),
        Verdict::Pending => "pending".into(),
    }
}

pub fn print_inspect(report: &Report) -> Result<(), String> {
    let mut out = String::new();
    // One tag over several platforms (a multi-platform index): a PLATFORM column, as the page has.
    let platforms = several_platforms(report);
    let mut header: Vec<String> = vec!["REPOSITORY".into(), "TAG".into(), "IMAGE ID".into(), "CREATED".into(), "SIZE".into()];
    if platforms {
        header.push("PLATFORM".into());
    }
    let mut rows = vec![header];
    for img in &report.images {
        let names: Vec<(String, String)> = if img.repo_tags.is_empty() {
            vec![("<none>".into(), "<none>".into())]
        } else {
            img.repo_tags.iter().map(|t| split_tag(t)).collect()
        };
        for (repo, tag) in names {
            let mut row = vec![repo, tag, short_id(&img.id), relative_time(img.created.as_deref()), human_size(img.size)];
            if platforms {
                row.push(img.platform());
            }
            rows.push(row);
        }
    }
    out.push_str(&table(&rows));
    out.push_str(&format!(
        "\narchive: {} ({} compression), {} entries, {}\n",
        serde_json::to_value(report.archive.format).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
        report.archive.compression.as_str(),
        report.archive.entries,
        human_size(report.archive.size)
    ));
    for img in &report.images {
        let name = img.repo_tags.first().cloned().unwrap_or_else(|| "<none>:<none>".into());
        let platform = img.platform();
        out.push('\n');
        push_line(&mut out, &format!("{name}  {}  {platform}  {}", img.id, if img.verified { "VERIFIED" } else { "NOT VERIFIED" }));
        if let Some(m) = &img.manifest_digest {
            push_line(&mut out, &format!("  manifest: {m}"));
        }
        for c in &img.checks {
            push_line(&mut out, &format!("  {}: {}", c.item, verdict_text(&c.verdict)));
        }
        let mut rows = vec![vec!["  #".into(), "DIFF ID".into(), "COMPRESSION".into(), "STORED".into(), "SIZE".into(), "FILES".into(), "VERDICT".into(), "CREATED BY".into()]];
        for l in &img.layers {
            let bad: Vec<String> = l.checks.iter().filter(|c| !c.verdict.is_ok()).map(|c| format!("{}: {}", c.item, verdict_text(&c.verdict))).collect();
            let verdict = if bad.is_empty() { "ok".to_owned() } else { bad.join("; ") };
            let created_by = l
                .history
                .and_then(|h| img.history.get(h))
                .and_then(|h| h.created_by.as_deref())
                .map(|c| escape_truncated(&one_line(&clean_command(c)), 50))
                .unwrap_or_default();
            rows.push(vec![
                format!("  {}", l.index),
                l.diff_id.as_deref().map(short_id).unwrap_or_else(|| "-".into()),
                l.compression.map(|c| c.as_str().to_owned()).unwrap_or_else(|| "-".into()),
                l.stored_size.map(human_size).unwrap_or_else(|| "-".into()),
                l.uncompressed_size.map(human_size).unwrap_or_else(|| "-".into()),
                l.entries.map(|n| n.to_string()).unwrap_or_else(|| "-".into()),
                verdict,
                created_by,
            ]);
        }
        out.push_str(&table(&rows));
        let c = &img.config;
        let mut cfg = Vec::new();
        if let Some(e) = &c.entrypoint {
            cfg.push(format!("  Entrypoint: {}", serde_json::to_string(e).unwrap_or_default()));
        }
        if let Some(cmd) = &c.cmd {
            cfg.push(format!("  Cmd:        {}", serde_json::to_string(cmd).unwrap_or_default()));
        }
        if let Some(w) = &c.working_dir {
            cfg.push(format!("  WorkingDir: {w}"));
        }
        if let Some(u) = &c.user {
            cfg.push(format!("  User:       {u}"));
        }
        if !c.exposed_ports.is_empty() {
            cfg.push(format!("  Ports:      {}", c.exposed_ports.join(" ")));
        }
        if !c.volumes.is_empty() {
            cfg.push(format!("  Volumes:    {}", c.volumes.join(" ")));
        }
        for e in &c.env {
            cfg.push(format!("  Env:        {e}"));
        }
        for (k, v) in &c.labels {
            cfg.push(format!("  Label:      {k}={v}"));
        }
        if let Some(s) = &c.stop_signal {
            cfg.push(format!("  StopSignal: {s}"));
        }
        if let Some(h) = &c.healthcheck {
            cfg.push(format!("  Healthcheck: {h}"));
        }
        if !cfg.is_empty() {
            out.push_str("  config:\n");
            for line in cfg {
                push_line(&mut out, &line);
            }
        }
    }
    if !report.findings.is_empty() {
        out.push_str("\nfindings:\n");
        for f in &report.findings {
            let sev = match f.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info => "info",
            };
            let loc = f.location.as_deref().map(|l| format!(" ({l})")).unwrap_or_default();
            push_line(&mut out, &format!("  {sev}: {}{loc}", f.message));
        }
    }
    let verified = report.images.iter().filter(|i| i.verified).count();
    out.push_str(&format!("\n{verified} of {} images verified\n", report.images.len()));
    print_text(&out)
}

/// Append one line of output holding archive text: the text escaped, then a line feed.
fn push_line(out: &mut String, text: &str) {
    out.push_str(&escape(text));
    out.push('\n');
}

/// `docker history` shows the command without the `/bin/sh -c #(nop) ` noise.
fn clean_command(c: &str) -> String {
    c.strip_prefix("/bin/sh -c #(nop) ").map(|s| s.trim().to_owned()).unwrap_or_else(|| c.to_owned())
}

/// A command as one line, as `docker history` shows it: tabs and line breaks become spaces
/// (other control characters are escaped when printed).
fn one_line(s: &str) -> String {
    s.replace(['\n', '\t'], " ")
}

pub fn print_history(img: &Image, no_trunc: bool, human: bool) -> Result<(), String> {
    let mut rows = vec![vec!["IMAGE".into(), "CREATED".into(), "CREATED BY".into(), "SIZE".into(), "COMMENT".into()]];
    let newest = img.history.len().saturating_sub(1);
    for (i, h) in img.history.iter().enumerate().rev() {
        let id = if i == newest {
            if no_trunc { img.id.clone() } else { short_id(&img.id) }
        } else {
            "<missing>".into()
        };
        let created = if human {
            relative_time(h.created.as_deref())
        } else {
            h.created.clone().unwrap_or_else(|| "N/A".into())
        };
        let cmd = h.created_by.clone().unwrap_or_default();
        // Cut in its escaped form, so the cut never splits an escape.
        let cmd = if no_trunc { cmd } else { escape_truncated(&one_line(&cmd), 45) };
        let size = h.layer.and_then(|l| img.layers.get(l)).and_then(|l| l.uncompressed_size.or(l.stored_size)).unwrap_or(0);
        let size = if human { human_size(size) } else { size.to_string() };
        rows.push(vec![id, created, cmd, size, h.comment.clone().unwrap_or_default()]);
    }
    if img.history.is_empty() {
        // No history in the config: one row per layer, like docker does for imported images.
        for l in img.layers.iter().rev() {
            let size = l.uncompressed_size.or(l.stored_size).unwrap_or(0);
            rows.push(vec!["<missing>".into(), "N/A".into(), String::new(), if human { human_size(size) } else { size.to_string() }, String::new()]);
        }
    }
    print_text(&table(&rows))
}

pub fn print_load_preview(report: &Report) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    let mut out = String::new();
    for img in &report.images {
        for l in &img.layers {
            let key = l.diff_id.clone().or_else(|| l.digest.clone()).unwrap_or_default();
            if !seen.insert(key.clone()) {
                continue;
            }
            let size = human_size(l.uncompressed_size.or(l.stored_size).unwrap_or(0));
            push_line(&mut out, &format!("{}: Loading layer  {size}/{size}", short_id(&key)));
        }
        if img.repo_tags.is_empty() {
            push_line(&mut out, &format!("Loaded image ID: {}", img.id));
        }
        for t in &img.repo_tags {
            // `docker load` parses each tag and stops with an error at one it refuses.
            match crate::reference::tag_problem(t) {
                None => push_line(&mut out, &format!("Loaded image: {t}")),
                Some(why) => push_line(&mut out, &format!("warning: docker load would stop here with an error, refusing the tag {t:?}: {why}")),
            }
        }
    }
    print_text(&out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_like_docker() {
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size(999), "999B");
        assert_eq!(human_size(1234), "1.23kB");
        assert_eq!(human_size(77_800_000), "77.8MB");
        assert_eq!(human_size(5_000_000), "5MB");
    }

    #[test]
    fn parses_timestamps() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2024-01-01T00:00:00.123456Z"), Some(1_704_067_200));
        assert_eq!(parse_rfc3339("2024-01-01T01:00:00+01:00"), Some(1_704_067_200));
        assert_eq!(parse_rfc3339("garbage"), None);
    }

    #[test]
    fn splits_tags() {
        assert_eq!(split_tag("localhost:5000/web:v1"), ("localhost:5000/web".into(), "v1".into()));
        assert_eq!(split_tag("web"), ("web".into(), "<none>".into()));
    }
}

//! `strata check`: every digest plus policy rules, for a CI step — dive's `--ci` rules by
//! dive's names (from flags or dive's own `.dive-ci` file), strata's own verification, and
//! results as a table, JSON or JUnit XML.
//!
//! Waste is strata's (see `src/merge/waste.rs`): each hidden copy counted once, never the
//! copy the container sees, so the same image wastes less here than in dive (dive #684).
//! "User" wasted percent: the bytes wasted in the layers above the first (the copies those
//! layers stored that the image does not show), over the file bytes of those layers.

use crate::output::{human_size, pick_image, print_json, print_text};
use clap::Args;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use strata::merge::waste;
use strata::report::{Image, Report, Verdict};

#[derive(Args, Debug)]
pub struct CheckArgs {
    archive: PathBuf,
    /// Check one image (by tag, ID prefix or index); default: every image.
    #[arg(long)]
    image: Option<String>,
    /// Fail below this efficiency (0–1), or `disabled` (dive's lowestEfficiency).
    #[arg(long = "lowest-efficiency", alias = "lowestEfficiency")]
    lowest_efficiency: Option<String>,
    /// Fail when more bytes than this are wasted (`20MB` = 20 000 000), or `disabled`.
    #[arg(long = "highest-wasted-bytes", alias = "highestWastedBytes")]
    highest_wasted_bytes: Option<String>,
    /// Fail when the layers above the first waste more than this share (0–1) of their file
    /// bytes, or `disabled` (dive's highestUserWastedPercent).
    #[arg(long = "highest-user-wasted-percent", alias = "highestUserWastedPercent")]
    highest_user_wasted_percent: Option<String>,
    /// dive's `.dive-ci` file (default: `./.dive-ci` when it exists). Flags win over it.
    #[arg(long = "ci-config", alias = "ciConfig")]
    ci_config: Option<PathBuf>,
    /// Fail when the image (uncompressed layer bytes, docker's SIZE) is bigger than this.
    #[arg(long = "max-size")]
    max_size: Option<String>,
    /// Fail when the image has more layers than this.
    #[arg(long = "max-layers")]
    max_layers: Option<u64>,
    /// Fail when a layer cannot be verified (a foreign layer, absent by design).
    #[arg(long = "no-unverifiable-layers")]
    no_unverifiable_layers: bool,
    #[arg(long)]
    json: bool,
    /// Also write the results as JUnit XML to this file.
    #[arg(long)]
    junit: Option<PathBuf>,
}

/// One limit: a number, or switched off.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Limit {
    Disabled,
    At(f64),
}

/// The rules in force, after dive's defaults, the config file and the flags.
#[derive(Debug, Clone)]
struct Rules {
    lowest_efficiency: Limit,
    highest_wasted_bytes: Limit,
    highest_user_wasted_percent: Limit,
    max_size: Limit,
    max_layers: Limit,
    no_unverifiable_layers: bool,
}

impl Default for Rules {
    /// dive's defaults for `--ci` without a config file.
    fn default() -> Rules {
        Rules {
            lowest_efficiency: Limit::At(0.9),
            highest_wasted_bytes: Limit::Disabled,
            highest_user_wasted_percent: Limit::At(0.1),
            max_size: Limit::Disabled,
            max_layers: Limit::Disabled,
            no_unverifiable_layers: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
enum Status {
    Pass,
    Fail,
    Skip,
}

#[derive(Debug, Clone, serde::Serialize)]
struct RuleResult {
    rule: &'static str,
    /// The limit as written (`disabled` when off; `-` for verification).
    limit: String,
    value: String,
    status: Status,
    /// Why it failed (or was skipped), in one sentence.
    reason: Option<String>,
}

#[derive(Debug, serde::Serialize)]
struct ImageResult {
    image: String,
    id: String,
    rules: Vec<RuleResult>,
}

#[derive(Debug, serde::Serialize)]
struct CheckResult {
    passed: bool,
    images: Vec<ImageResult>,
}

pub fn run(args: CheckArgs) -> Result<ExitCode, String> {
    let rules = rules_from(&args)?;
    let (archive, _src) = crate::open_verified(&args.archive)?;
    let report = archive.report();
    crate::require_images(report, &args.archive)?;
    let images: Vec<&Image> = match args.image.as_deref() {
        Some(wanted) => vec![pick_image(report, Some(wanted))?],
        None => report.images.iter().collect(),
    };
    let mut results = Vec::new();
    for img in images {
        let layers = strata::merge::source::image_layers(&archive, img);
        let tree = strata::merge::MergedTree::build(&layers.indexes);
        let w = waste::analyze(&tree, &layers.indexes);
        // File bytes each layer stores (the "user" share counts the layers above the first).
        let file_bytes: Vec<u64> = layers
            .indexes
            .iter()
            .map(|ix| ix.entries.iter().filter(|e| e.kind == strata::layer::EntryKind::File).map(|e| e.size).sum())
            .collect();
        results.push(ImageResult { image: image_name(report, img), id: img.id.clone(), rules: evaluate(&rules, img, &w, &file_bytes) });
    }
    let passed = results.iter().all(|r| r.rules.iter().all(|x| x.status != Status::Fail));
    let result = CheckResult { passed, images: results };
    if let Some(path) = &args.junit {
        std::fs::write(path, junit(&result, &args.archive)).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    if args.json {
        print_json(&result)?;
    } else {
        print_text(&table(&result))?;
    }
    Ok(if passed { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn image_name(report: &Report, img: &Image) -> String {
    let name = img.repo_tags.first().cloned().unwrap_or_else(|| img.id.trim_start_matches("sha256:").chars().take(12).collect());
    if report.images.iter().filter(|i| i.repo_tags.first() == img.repo_tags.first()).count() > 1 {
        let platform = [img.os.as_deref(), img.architecture.as_deref(), img.variant.as_deref()].into_iter().flatten().collect::<Vec<_>>().join("/");
        return format!("{name}@{platform}");
    }
    name
}

fn evaluate(rules: &Rules, img: &Image, w: &waste::WasteReport, file_bytes: &[u64]) -> Vec<RuleResult> {
    let mut out = Vec::new();
    // Verification first: every digest, whatever the rules.
    let failed: Vec<String> = img
        .checks
        .iter()
        .chain(img.layers.iter().flat_map(|l| l.checks.iter()))
        .filter(|c| !matches!(c.verdict, Verdict::Ok | Verdict::NotCheckable { .. }))
        .map(|c| format!("{}: {}", c.item, verdict_word(&c.verdict)))
        .collect();
    out.push(RuleResult {
        rule: "verification",
        limit: "-".into(),
        value: if img.verified { "verified".into() } else { format!("{} check(s) failed", failed.len().max(1)) },
        status: if img.verified { Status::Pass } else { Status::Fail },
        reason: (!img.verified).then(|| if failed.is_empty() { "the image is not fully verified".into() } else { failed.join("; ") }),
    });
    let user_bytes: u64 = file_bytes.iter().skip(1).sum();
    let user_wasted: u64 = w.per_layer.iter().skip(1).sum();
    let user_ratio = if user_bytes == 0 { 0.0 } else { user_wasted as f64 / user_bytes as f64 };
    out.push(rule_min("lowestEfficiency", rules.lowest_efficiency, w.efficiency, |v| format!("{v:.4}")));
    out.push(rule_max("highestWastedBytes", rules.highest_wasted_bytes, w.wasted_bytes as f64, |v| size_text(v)));
    out.push(rule_max("highestUserWastedPercent", rules.highest_user_wasted_percent, user_ratio, |v| format!("{v:.4}")));
    out.push(rule_max("maxSize", rules.max_size, img.size as f64, |v| size_text(v)));
    out.push(rule_max("maxLayers", rules.max_layers, img.layers.len() as f64, |v| format!("{v}")));
    if rules.no_unverifiable_layers {
        let foreign: Vec<String> = img
            .layers
            .iter()
            .filter(|l| l.foreign || l.checks.iter().any(|c| matches!(c.verdict, Verdict::NotCheckable { .. })))
            .map(|l| format!("layer {}", l.index))
            .collect();
        out.push(RuleResult {
            rule: "noUnverifiableLayers",
            limit: "0".into(),
            value: foreign.len().to_string(),
            status: if foreign.is_empty() { Status::Pass } else { Status::Fail },
            reason: (!foreign.is_empty()).then(|| format!("not verifiable: {}", foreign.join(", "))),
        });
    }
    out
}

fn verdict_word(v: &Verdict) -> &'static str {
    match v {
        Verdict::Ok => "ok",
        Verdict::Mismatch { .. } => "digest mismatch",
        Verdict::SizeMismatch { .. } => "size mismatch",
        Verdict::Missing => "missing",
        Verdict::NotCheckable { .. } => "not checkable",
        Verdict::Pending => "not hashed",
    }
}

fn size_text(bytes: f64) -> String {
    human_size(bytes as u64)
}

/// A rule that fails when the value is below the limit (dive: `threshold > value`).
fn rule_min(rule: &'static str, limit: Limit, value: f64, show: impl Fn(f64) -> String) -> RuleResult {
    rule_with(rule, limit, value, show, |value, limit| value < limit, "below")
}

/// A rule that fails when the value is above the limit (dive: `value > threshold`).
fn rule_max(rule: &'static str, limit: Limit, value: f64, show: impl Fn(f64) -> String) -> RuleResult {
    rule_with(rule, limit, value, show, |value, limit| value > limit, "above")
}

fn rule_with(rule: &'static str, limit: Limit, value: f64, show: impl Fn(f64) -> String, fails: fn(f64, f64) -> bool, side: &str) -> RuleResult {
    match limit {
        Limit::Disabled => RuleResult { rule, limit: "disabled".into(), value: show(value), status: Status::Skip, reason: None },
        Limit::At(l) => {
            let failed = fails(value, l);
            RuleResult {
                rule,
                limit: show(l),
                value: show(value),
                status: if failed { Status::Fail } else { Status::Pass },
                reason: failed.then(|| format!("{} is {side} the limit {}", show(value), show(l))),
            }
        }
    }
}

// ---------- the rules in force ----------

fn rules_from(args: &CheckArgs) -> Result<Rules, String> {
    let mut rules = Rules::default();
    let config = match &args.ci_config {
        Some(path) => Some(path.clone()),
        None => Some(PathBuf::from(".dive-ci")).filter(|p| p.is_file()),
    };
    if let Some(path) = config {
        let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        for (key, value, line) in dive_ci_rules(&text).map_err(|e| format!("{}: {e}", path.display()))? {
            let at = |e: String| format!("{}:{line}: {key}: {e}", path.display());
            match key.as_str() {
                "lowestEfficiency" => rules.lowest_efficiency = ratio(&value).map_err(at)?,
                "highestWastedBytes" => rules.highest_wasted_bytes = bytes(&value).map_err(at)?,
                "highestUserWastedPercent" => rules.highest_user_wasted_percent = ratio(&value).map_err(at)?,
                _ => crate::output::warn(&format!("{}:{line}: unknown rule {key:?} ignored", path.display())),
            }
        }
    }
    if let Some(v) = &args.lowest_efficiency {
        rules.lowest_efficiency = ratio(v).map_err(|e| format!("--lowest-efficiency: {e}"))?;
    }
    if let Some(v) = &args.highest_wasted_bytes {
        rules.highest_wasted_bytes = bytes(v).map_err(|e| format!("--highest-wasted-bytes: {e}"))?;
    }
    if let Some(v) = &args.highest_user_wasted_percent {
        rules.highest_user_wasted_percent = ratio(v).map_err(|e| format!("--highest-user-wasted-percent: {e}"))?;
    }
    if let Some(v) = &args.max_size {
        rules.max_size = bytes(v).map_err(|e| format!("--max-size: {e}"))?;
    }
    if let Some(n) = args.max_layers {
        rules.max_layers = Limit::At(n as f64);
    }
    rules.no_unverifiable_layers = args.no_unverifiable_layers;
    Ok(rules)
}

/// The `rules:` mapping of a `.dive-ci` file: (key, value, line number). The YAML subset
/// dive's files use: comments, blank lines, one `rules:` mapping of `key: value` lines,
/// values plain or quoted.
fn dive_ci_rules(text: &str) -> Result<Vec<(String, String, usize)>, String> {
    let mut out = Vec::new();
    let mut in_rules = false;
    let mut rules_indent = None;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = strip_comment(raw);
        if line.trim().is_empty() {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let Some((key, value)) = line.trim().split_once(':') else {
            return Err(format!("line {line_no}: expected `key: value`"));
        };
        let (key, value) = (key.trim(), unquote(value.trim()));
        if indent == 0 {
            in_rules = key == "rules";
            rules_indent = None;
            if in_rules && !value.is_empty() {
                return Err(format!("line {line_no}: `rules:` takes a mapping on the lines below it"));
            }
            continue;
        }
        if !in_rules {
            continue;
        }
        match rules_indent {
            None => rules_indent = Some(indent),
            Some(n) if n != indent => return Err(format!("line {line_no}: unexpected indentation")),
            Some(_) => {}
        }
        out.push((key.to_string(), value.to_string(), line_no));
    }
    Ok(out)
}

fn strip_comment(line: &str) -> &str {
    // A `#` starts a comment at the line's start or after whitespace, outside quotes.
    let mut quote = None;
    let mut prev_space = true;
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') if prev_space => return &line[..i],
            _ => {}
        }
        prev_space = c.is_whitespace();
    }
    line
}

fn unquote(v: &str) -> &str {
    for q in ['"', '\''] {
        if let Some(inner) = v.strip_prefix(q).and_then(|s| s.strip_suffix(q)) {
            return inner;
        }
    }
    v
}

fn disabled(v: &str) -> bool {
    v.eq_ignore_ascii_case("disabled")
}

/// A ratio between 0 and 1 (`0.9`), or `disabled`.
fn ratio(v: &str) -> Result<Limit, String> {
    if disabled(v) {
        return Ok(Limit::Disabled);
    }
    let x: f64 = v.trim().parse().map_err(|_| format!("{v:?} is not a number between 0 and 1 (or `disabled`)"))?;
    if !(0.0..=1.0).contains(&x) {
        return Err(format!("{v:?} is not between 0 and 1"));
    }
    Ok(Limit::At(x))
}

/// A size as dive reads it (go-humanize's ParseBytes: `20MB` = 20 000 000, `20MiB` =
/// 20 971 520, a bare number is bytes), or `disabled`.
fn bytes(v: &str) -> Result<Limit, String> {
    if disabled(v) {
        return Ok(Limit::Disabled);
    }
    let s = v.trim();
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (number, unit) = (&s[..split], s[split..].trim());
    let n: f64 = number.parse().map_err(|_| format!("{v:?} is not a size (like 20MB)"))?;
    let mult: f64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "t" | "tb" => 1e12,
        "ki" | "kib" => 1024.0,
        "mi" | "mib" => 1024.0 * 1024.0,
        "gi" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "ti" | "tib" => 1024f64.powi(4),
        _ => return Err(format!("{v:?}: unknown unit {unit:?} (B, kB, MB, GB, TB, KiB, MiB, GiB, TiB)")),
    };
    Ok(Limit::At((n * mult).floor()))
}

// ---------- output ----------

fn table(result: &CheckResult) -> String {
    let mut rows = vec![["IMAGE".to_string(), "RULE".into(), "LIMIT".into(), "VALUE".into(), "RESULT".into()]];
    for img in &result.images {
        for r in &img.rules {
            let status = match r.status {
                Status::Pass => "PASS",
                Status::Fail => "FAIL",
                Status::Skip => "SKIP",
            };
            rows.push([crate::escape::escape(&img.image).into_owned(), r.rule.into(), r.limit.clone(), r.value.clone(), status.into()]);
        }
    }
    let widths: Vec<usize> = (0..5).map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for row in &rows {
        let line: Vec<String> = row.iter().zip(&widths).map(|(cell, w)| format!("{cell:<w$}")).collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
    }
    let failures: Vec<String> = result
        .images
        .iter()
        .flat_map(|img| img.rules.iter().filter(|r| r.status == Status::Fail).map(move |r| (img, r)))
        .map(|(img, r)| format!("FAIL {} {}: {}", crate::escape::escape(&img.image).into_owned(), r.rule, crate::escape::escape(r.reason.as_deref().unwrap_or(""))))
        .collect();
    if !failures.is_empty() {
        out.push('\n');
        for f in failures {
            let _ = writeln!(out, "{f}");
        }
    }
    let _ = writeln!(out, "\n{}", if result.passed { "PASS: every rule passed" } else { "FAIL: some rules failed" });
    out
}

/// JUnit XML as GitLab, Jenkins and GitHub's test reporters read it: one testsuite per
/// image, one testcase per rule (verification included), `<failure>` with the reason,
/// `<skipped/>` for a disabled rule.
fn junit(result: &CheckResult, archive: &Path) -> String {
    let total: usize = result.images.iter().map(|i| i.rules.len()).sum();
    let failed = |rules: &[RuleResult]| rules.iter().filter(|r| r.status == Status::Fail).count();
    let skipped = |rules: &[RuleResult]| rules.iter().filter(|r| r.status == Status::Skip).count();
    let all_failed: usize = result.images.iter().map(|i| failed(&i.rules)).sum();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"strata check {}\" tests=\"{total}\" failures=\"{all_failed}\" errors=\"0\">",
        xml(&archive.display().to_string())
    );
    for img in &result.images {
        let _ = writeln!(
            x,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\">",
            xml(&img.image),
            img.rules.len(),
            failed(&img.rules),
            skipped(&img.rules)
        );
        for r in &img.rules {
            let _ = write!(x, "    <testcase classname=\"strata.check.{}\" name=\"{}\"", xml(&img.image), r.rule);
            match r.status {
                Status::Pass => x.push_str("/>\n"),
                Status::Skip => x.push_str("><skipped message=\"disabled\"/></testcase>\n"),
                Status::Fail => {
                    let reason = xml(r.reason.as_deref().unwrap_or(""));
                    let _ = writeln!(
                        x,
                        "><failure message=\"{reason}\" type=\"{}\">limit {}, value {}: {reason}</failure></testcase>",
                        r.rule,
                        xml(&r.limit),
                        xml(&r.value)
                    );
                }
            }
        }
        x.push_str("  </testsuite>\n");
    }
    x.push_str("</testsuites>\n");
    x
}

/// Text for an XML attribute or element: the five specials as entities, and every
/// character XML 1.0 cannot carry (controls but tab/newline/CR, and U+FFFE/U+FFFF) — plus
/// C1 controls, bidi overrides and zero-width characters, which it can carry but a
/// reader should see — written visibly as `\u{..}`.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' => out.push(c),
            c if c.is_control() || is_invisible(c) || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{061C}' | '\u{FEFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_as_dive_reads_them() {
        assert_eq!(bytes("20MB"), Ok(Limit::At(20_000_000.0)));
        assert_eq!(bytes("20 MiB"), Ok(Limit::At(20_971_520.0)));
        assert_eq!(bytes("1.5GB"), Ok(Limit::At(1_500_000_000.0)));
        assert_eq!(bytes("512"), Ok(Limit::At(512.0)));
        assert_eq!(bytes("disabled"), Ok(Limit::Disabled));
        assert!(bytes("20 furlongs").is_err());
    }

    #[test]
    fn dive_ci_files_are_read() {
        let text = "# dive's sample\nrules:\n  # If the efficiency is measured below X%, mark as failed.\n  lowestEfficiency: 0.95\n  highestWastedBytes: \"20MB\" # quoted\n  highestUserWastedPercent: disabled\n";
        let rules = dive_ci_rules(text).expect("parses");
        assert_eq!(
            rules,
            [
                ("lowestEfficiency".into(), "0.95".into(), 4),
                ("highestWastedBytes".into(), "20MB".into(), 5),
                ("highestUserWastedPercent".into(), "disabled".into(), 6)
            ]
        );
        assert!(dive_ci_rules("rules:\n  a: 1\n    b: 2\n").is_err());
    }

    #[test]
    fn xml_carries_no_control_characters() {
        assert_eq!(xml("a<b>&\"'\u{1b}]0;x\u{7}\u{202e}"), "a&lt;b&gt;&amp;&quot;&apos;\\u{001b}]0;x\\u{0007}\\u{202e}");
    }
}

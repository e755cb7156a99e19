//! Rebuild an approximate Dockerfile from `config.history`.
//!
//! The history records what each step ran, in a few writer-specific shapes:
//! - classic builder: `/bin/sh -c #(nop)  ENV A=b` for metadata steps, `/bin/sh -c cmd`
//!   for RUN;
//! - BuildKit: `RUN /bin/sh -c cmd # buildkit`, with build args as `RUN |2 A=1 B=2 /bin/sh
//!   -c cmd`; metadata steps as plain `ENV A=b`, `CMD ["x"]`, `COPY dir /app # buildkit`;
//! - old Docker: `CMD ["a" "b"]` without commas, `EXPOSE map[80/tcp:{}]`.

use crate::report::HistoryEntry;
use serde::Serialize;

/// One reconstructed line.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DockerfileLine {
    /// Index into the image's history.
    pub history: usize,
    /// The instruction (`RUN apt-get update`), or a `# comment` when unknown.
    pub text: String,
    pub empty_layer: bool,
}

const INSTRUCTIONS: &[&str] = &[
    "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL", "MAINTAINER",
    "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
];

/// The lines, oldest first. ARG lines are added before the first RUN that uses them.
pub fn reconstruct(history: &[HistoryEntry]) -> Vec<DockerfileLine> {
    let mut out = Vec::new();
    let mut args_seen: Vec<String> = Vec::new();
    for (i, h) in history.iter().enumerate() {
        let Some(raw) = h.created_by.as_deref() else {
            out.push(DockerfileLine { history: i, text: "# (no command recorded)".into(), empty_layer: h.empty_layer });
            continue;
        };
        for text in convert(raw, &mut args_seen) {
            out.push(DockerfileLine { history: i, text, empty_layer: h.empty_layer });
        }
    }
    out
}

/// The lines as one Dockerfile text.
pub fn to_text(lines: &[DockerfileLine]) -> String {
    let mut s = String::new();
    for l in lines {
        s.push_str(&l.text);
        s.push('\n');
    }
    s
}

fn strip_buildkit(s: &str) -> &str {
    s.trim_end().strip_suffix("# buildkit").map(str::trim_end).unwrap_or(s.trim_end())
}

fn strip_shell(s: &str) -> Option<&str> {
    s.strip_prefix("/bin/sh -c ").or_else(|| s.strip_prefix("/bin/bash -c ")).or_else(|| s.strip_prefix("|0 /bin/sh -c "))
}

/// Convert one `created_by` into Dockerfile lines.
fn convert(raw: &str, args_seen: &mut Vec<String>) -> Vec<String> {
    let s = strip_buildkit(raw.trim());
    // Classic builder metadata step.
    if let Some(rest) = s.strip_prefix("/bin/sh -c #(nop)") {
        return vec![metadata(rest.trim())];
    }
    if let Some(rest) = s.strip_prefix("#(nop)") {
        return vec![metadata(rest.trim())];
    }
    // BuildKit RUN with build args: `RUN |N k=v ... cmd`.
    if let Some(rest) = s.strip_prefix("RUN |") {
        let mut lines = Vec::new();
        let (count, after) = match rest.split_once(' ') {
            Some((n, a)) => (n.parse::<usize>().unwrap_or(0), a),
            None => (0, ""),
        };
        let mut rest = after;
        for _ in 0..count {
            let (kv, r) = rest.split_once(' ').unwrap_or((rest, ""));
            let name = kv.split_once('=').map(|(k, _)| k).unwrap_or(kv).to_string();
            if !args_seen.contains(&name) {
                lines.push(format!("ARG {kv}"));
                args_seen.push(name);
            }
            rest = r;
        }
        lines.push(format!("RUN {}", strip_shell(rest).unwrap_or(rest)));
        return lines;
    }
    if let Some(rest) = s.strip_prefix("RUN ") {
        return vec![format!("RUN {}", strip_shell(rest).unwrap_or(rest))];
    }
    // Classic builder RUN.
    if let Some(cmd) = strip_shell(s) {
        return vec![format!("RUN {cmd}")];
    }
    let word = s.split_whitespace().next().unwrap_or("");
    if INSTRUCTIONS.contains(&word) {
        return vec![metadata(s)];
    }
    if s.is_empty() {
        return vec!["# (empty command)".into()];
    }
    vec![format!("# {s}")]
}

/// Tidy a metadata instruction (`CMD ["a" "b"]`, `ADD file:… in /`, `EXPOSE map[…]`).
fn metadata(s: &str) -> String {
    let (word, rest) = s.split_once(' ').map(|(w, r)| (w, r.trim())).unwrap_or((s, ""));
    match word {
        "CMD" | "ENTRYPOINT" | "SHELL" | "VOLUME" => format!("{word} {}", json_list(rest)),
        "ADD" | "COPY" => match rest.rsplit_once(" in ") {
            Some((from, to)) => format!("{word} {} {}", from.trim(), to.trim()),
            None => format!("{word} {rest}"),
        },
        "EXPOSE" => {
            // Old Docker wrote `EXPOSE map[80/tcp:{} 443/tcp:{}]`.
            if let Some(inner) = rest.strip_prefix("map[").and_then(|r| r.strip_suffix(']')) {
                let ports: Vec<&str> = inner.split_whitespace().map(|p| p.trim_end_matches(":{}")).collect();
                format!("EXPOSE {}", ports.join(" "))
            } else {
                format!("EXPOSE {rest}")
            }
        }
        "HEALTHCHECK" => healthcheck(rest).unwrap_or_else(|| format!("HEALTHCHECK {rest}")),
        _ if rest.is_empty() => word.to_string(),
        _ => format!("{word} {rest}"),
    }
}

/// Docker records a HEALTHCHECK as its config struct printed with Go's `%q`:
/// `&{["CMD-SHELL" "curl -f http://localhost/"] "30s" "5s" "0s" '\x03'}` — the test, then the
/// interval, timeout, start period (and, since Docker 25, start interval) as duration strings,
/// then the retry count as a quoted rune. Rebuilt as the instruction that wrote it; None when
/// the text has another shape (it is then shown as recorded).
fn healthcheck(rest: &str) -> Option<String> {
    let inner = rest.trim().strip_prefix("&{")?.strip_suffix('}')?;
    let (quoted, tail) = quoted_list(inner.trim_start())?;
    // Go's escapes in a quoted string are JSON's plus `\x..`: such a string stays as written.
    let test: Vec<String> = quoted
        .iter()
        .map(|q| serde_json::from_str::<String>(q).unwrap_or_else(|_| q[1..q.len() - 1].to_string()))
        .collect();
    let mut durations = Vec::new();
    let mut retries = 0u32;
    let mut tail = tail.trim();
    while !tail.is_empty() {
        if let Some(r) = tail.strip_prefix('"') {
            let end = r.find('"')?;
            durations.push(&r[..end]);
            tail = r[end + 1..].trim_start();
        } else if tail.starts_with('\'') && tail.ends_with('\'') && tail.len() >= 3 {
            retries = go_rune(&tail[1..tail.len() - 1])?;
            tail = "";
        } else {
            return None;
        }
    }
    if durations.len() > 4 {
        return None;
    }
    let (kind, args) = test.split_first()?;
    if kind == "NONE" {
        return Some("HEALTHCHECK NONE".into());
    }
    let command = match kind.as_str() {
        "CMD-SHELL" if args.len() == 1 => args[0].clone(),
        "CMD" => format!("[{}]", args.iter().map(|a| serde_json::to_string(a).unwrap_or_default()).collect::<Vec<_>>().join(", ")),
        _ => return None,
    };
    let mut line = String::from("HEALTHCHECK");
    for (flag, value) in ["--interval", "--timeout", "--start-period", "--start-interval"].iter().zip(&durations) {
        if *value != "0s" && !value.is_empty() {
            line.push_str(&format!(" {flag}={value}"));
        }
    }
    if retries != 0 {
        line.push_str(&format!(" --retries={retries}"));
    }
    line.push_str(&format!(" CMD {command}"));
    Some(line)
}

/// The value of a Go rune literal's body: `\x03`, `\n`, `A`, `\u00e9`.
fn go_rune(body: &str) -> Option<u32> {
    let value = match body.strip_prefix('\\') {
        None => {
            let mut chars = body.chars();
            let c = chars.next()?;
            if chars.next().is_some() {
                return None;
            }
            c as u32
        }
        Some(esc) => match esc {
            "a" => 7,
            "b" => 8,
            "f" => 12,
            "n" => 10,
            "r" => 13,
            "t" => 9,
            "v" => 11,
            "\\" => 92,
            "'" => 39,
            _ => {
                let hex = esc.strip_prefix('x').or_else(|| esc.strip_prefix('u')).or_else(|| esc.strip_prefix('U'))?;
                u32::from_str_radix(hex, 16).ok()?
            }
        },
    };
    Some(value)
}

/// `["a" "b"]` (old Docker) → `["a", "b"]`; anything else unchanged.
fn json_list(s: &str) -> String {
    let t = s.trim();
    if serde_json::from_str::<Vec<String>>(t).is_ok() {
        return t.to_string();
    }
    match quoted_list(t) {
        Some((items, rest)) if rest.trim().is_empty() => format!("[{}]", items.join(", ")),
        _ => t.to_string(),
    }
}

/// The list `s` starts with, as Go's `%q` prints a string slice (`["a" "b\"c"]`): its quoted
/// strings as written (quotes and escapes kept), and what follows the `]`. None when `s`
/// does not start with such a list.
fn quoted_list(s: &str) -> Option<(Vec<&str>, &str)> {
    let body = s.strip_prefix('[')?;
    let mut items = Vec::new();
    let mut open = None; // byte index of the opening quote of the string being read
    let mut esc = false;
    for (i, ch) in body.char_indices() {
        match (open, ch) {
            (Some(_), _) if esc => esc = false,
            (Some(_), '\\') => esc = true,
            (Some(from), '"') => {
                items.push(&body[from..=i]);
                open = None;
            }
            (Some(_), _) => {}
            (None, '"') => open = Some(i),
            (None, ']') => return Some((items, &body[i + 1..])),
            (None, c) if c.is_whitespace() => {}
            (None, _) => return None,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str, empty: bool) -> HistoryEntry {
        HistoryEntry { created_by: Some(s.into()), empty_layer: empty, ..Default::default() }
    }

    #[test]
    fn classic_and_buildkit() {
        let hist = vec![
            h("/bin/sh -c #(nop) ADD file:abc123 in / ", false),
            h("/bin/sh -c #(nop)  CMD [\"/bin/sh\" \"-c\" \"echo hi\"]", true),
            h("/bin/sh -c apk add --no-cache curl", false),
            h("/bin/sh -c #(nop)  EXPOSE map[80/tcp:{}]", true),
            h("RUN |2 VERSION=1.2 MODE=prod /bin/sh -c make install # buildkit", false),
            h("RUN |1 VERSION=1.2 /bin/sh -c make test # buildkit", false),
            h("ENV PATH=/usr/local/bin:/usr/bin", true),
            h("COPY app /app # buildkit", false),
            h("ENTRYPOINT [\"/app\"]", true),
            h("LABEL org.opencontainers.image.title=x", true),
            h("something odd", false),
        ];
        let text = to_text(&reconstruct(&hist));
        assert_eq!(
            text,
            "ADD file:abc123 /\nCMD [\"/bin/sh\", \"-c\", \"echo hi\"]\nRUN apk add --no-cache curl\nEXPOSE 80/tcp\n\
             ARG VERSION=1.2\nARG MODE=prod\nRUN make install\nRUN make test\nENV PATH=/usr/local/bin:/usr/bin\n\
             COPY app /app\nENTRYPOINT [\"/app\"]\nLABEL org.opencontainers.image.title=x\n# something odd\n"
        );
    }

    #[test]
    fn healthcheck_is_rebuilt_from_the_go_struct() {
        let cases = [
            // classic builder, Docker < 25 (three durations)
            (
                "/bin/sh -c #(nop)  HEALTHCHECK &{[\"CMD-SHELL\" \"curl -f http://localhost/ || exit 1\"] \"30s\" \"5s\" \"0s\" '\\x03'}",
                "HEALTHCHECK --interval=30s --timeout=5s --retries=3 CMD curl -f http://localhost/ || exit 1",
            ),
            // Docker 25+ (start interval), exec form, retries 10 printed as '\n'
            (
                "HEALTHCHECK &{[\"CMD\" \"/bin/check\" \"--quiet\"] \"1m0s\" \"0s\" \"10s\" \"2s\" '\\n'} # buildkit",
                "HEALTHCHECK --interval=1m0s --start-period=10s --start-interval=2s --retries=10 CMD [\"/bin/check\", \"--quiet\"]",
            ),
            ("/bin/sh -c #(nop)  HEALTHCHECK &{[\"NONE\"] \"0s\" \"0s\" \"0s\" '\\x00'}", "HEALTHCHECK NONE"),
            // a quote inside the command
            (
                "HEALTHCHECK &{[\"CMD-SHELL\" \"test \\\"$(cat /ok)\\\" = yes\"] \"0s\" \"0s\" \"0s\" \"0s\" '\\x00'}",
                "HEALTHCHECK CMD test \"$(cat /ok)\" = yes",
            ),
            // another shape: shown as recorded
            ("HEALTHCHECK --interval=5s CMD true", "HEALTHCHECK --interval=5s CMD true"),
            ("HEALTHCHECK &{[\"CMD-SHELL\" \"x\"] \"5s\" junk}", "HEALTHCHECK &{[\"CMD-SHELL\" \"x\"] \"5s\" junk}"),
        ];
        for (created_by, want) in cases {
            assert_eq!(to_text(&reconstruct(&[h(created_by, true)])), format!("{want}\n"), "{created_by}");
        }
    }
}

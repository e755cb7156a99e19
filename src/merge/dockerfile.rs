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
        _ if rest.is_empty() => word.to_string(),
        _ => format!("{word} {rest}"),
    }
}

/// `["a" "b"]` (old Docker) → `["a", "b"]`; anything else unchanged.
fn json_list(s: &str) -> String {
    let t = s.trim();
    if !(t.starts_with('[') && t.ends_with(']')) || serde_json::from_str::<Vec<String>>(t).is_ok() {
        return t.to_string();
    }
    // Split the quoted strings, honouring backslash escapes.
    let mut items: Vec<String> = Vec::new();
    let mut cur = String::new();
    let (mut in_str, mut esc) = (false, false);
    for ch in t[1..t.len() - 1].chars() {
        if in_str {
            if esc {
                cur.push(ch);
                esc = false;
            } else if ch == '\\' {
                cur.push(ch);
                esc = true;
            } else if ch == '"' {
                in_str = false;
                items.push(format!("\"{cur}\""));
                cur.clear();
            } else {
                cur.push(ch);
            }
        } else if ch == '"' {
            in_str = true;
        }
    }
    if in_str {
        return t.to_string();
    }
    format!("[{}]", items.join(", "))
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
}

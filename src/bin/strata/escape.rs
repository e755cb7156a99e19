//! Archive text made safe for a terminal.
//!
//! Tags, labels, env, history, file names and symlink targets come from the archive, and an
//! archive can hold anything: an ESC that starts a terminal control sequence (retitle the
//! window, rewrite the screen), a CR or LF that forges a row of `ls -l`, a right-to-left
//! override that shows `evil\u{202e}txt.exe` as "evilexe.txt", characters that are not
//! there at all. Every human-readable output passes archive text through [`escape`], which
//! makes those characters visible the way GNU `ls -b` does (`\033`, `\n`), and Unicode
//! format characters as `\u202e` — whether or not stdout is a terminal, since the output
//! may be shown in one later. `--json` output is left alone: JSON escapes them itself.
//!
//! Backslashes are left as they are: file names arrive here already in their lossless
//! display form (`\\` for a backslash, `\xNN` for a byte that is not UTF-8), and a backslash
//! cannot drive a terminal. So escaping is idempotent: escaping escaped text changes nothing,
//! and a table may escape its cells again without harm.

use std::borrow::Cow;

/// Whether `c` must not reach a terminal as is: C0 controls (tab and line feed included),
/// DEL, C1 controls, bidirectional overrides and isolates, and invisible format characters.
pub fn is_unsafe(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}' | '\u{7f}' | '\u{80}'..='\u{9f}'
        // Arabic letter mark, zero-width space/joiners, LRM/RLM.
        | '\u{61c}' | '\u{200b}'..='\u{200f}'
        // Line and paragraph separators, bidi embeddings and overrides (LRE..RLO).
        | '\u{2028}'..='\u{202e}'
        // Word joiner, invisible operators, bidi isolates (LRI..PDI).
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}'
        // Byte order mark / zero-width no-break space; interlinear annotation marks.
        | '\u{feff}' | '\u{fff9}'..='\u{fffb}')
}

/// The visible form of one character: itself when safe, else an escape.
fn push_visible(out: &mut String, c: char) {
    if !is_unsafe(c) {
        out.push(c);
        return;
    }
    match c {
        '\u{7}' => out.push_str("\\a"),
        '\u{8}' => out.push_str("\\b"),
        '\t' => out.push_str("\\t"),
        '\n' => out.push_str("\\n"),
        '\u{b}' => out.push_str("\\v"),
        '\u{c}' => out.push_str("\\f"),
        '\r' => out.push_str("\\r"),
        // ESC and the other C0 controls, and DEL, in octal as `ls -b` prints them (`\033`).
        c if (c as u32) < 0x80 => out.push_str(&format!("\\{:03o}", c as u32)),
        c => out.push_str(&format!("\\u{:04x}", c as u32)),
    }
}

/// `s` with every unsafe character made visible (see the module comment).
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        push_visible(&mut out, c);
    }
    Cow::Owned(out)
}

/// [`escape`], cut to at most `max` characters (counted in the escaped form) with `…` at
/// the end when something was left out. An escape is never cut in half: it is kept whole
/// or left out whole.
pub fn escape_truncated(s: &str, max: usize) -> String {
    let escaped = escape(s);
    if escaped.chars().count() <= max {
        return escaped.into_owned();
    }
    let budget = max.saturating_sub(1); // room for the `…`
    let mut out = String::new();
    let mut used = 0;
    let mut piece = String::new();
    for c in s.chars() {
        piece.clear();
        push_visible(&mut piece, c);
        let width = piece.chars().count();
        if used + width > budget {
            break;
        }
        out.push_str(&piece);
        used += width;
    }
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_become_visible() {
        assert_eq!(escape("\x1b]0;pwned\x07"), "\\033]0;pwned\\a");
        assert_eq!(escape("line1\nINJECTED"), "line1\\nINJECTED");
        assert_eq!(escape("a\tb\rc\x08d\x7f"), "a\\tb\\rc\\bd\\177");
        assert_eq!(escape("evil\u{202e}txt.exe"), "evil\\u202etxt.exe");
        assert_eq!(escape("zero\u{200b}width\u{feff}"), "zero\\u200bwidth\\ufeff");
        assert_eq!(escape("next\u{85}line"), "next\\u0085line");
        assert_eq!(escape("plain café/naïve \\x80"), "plain café/naïve \\x80");
    }

    #[test]
    fn escaping_twice_changes_nothing() {
        let once = escape("\x1b[2J\u{2066}x\n").into_owned();
        assert_eq!(escape(&once), once);
    }

    #[test]
    fn truncation_keeps_escapes_whole() {
        // 8 columns: "ab" (2) + "\033" (4) = 6, the next escape would not fit with the `…`.
        assert_eq!(escape_truncated("ab\x1b\x1b\x1b", 8), "ab\\033…");
        assert_eq!(escape_truncated("ab\x1b", 8), "ab\\033");
        assert_eq!(escape_truncated("abcdefghij", 5), "abcd…");
        assert!(escape_truncated("\u{202e}\u{202e}", 7).ends_with("\\u202e…"));
    }
}

//! Path filters for listings: a substring, or a small glob.
//!
//! Glob syntax: `*` matches any run of bytes within one path component, `?` one byte
//! that is not `/`, `**` any run of bytes including `/` (so `**/x` also matches `x`).
//! A pattern without `/` is matched against the base name only (like `find -name`);
//! a pattern with `/` against the whole path (no leading `/`).

/// What a user typed after `--filter` (or in the page's search box).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathFilter {
    /// Matches paths that contain these bytes anywhere.
    Substring(Vec<u8>),
    /// Matches with [`glob_match`]; `basename_only` when the pattern has no `/`.
    Glob { pattern: Vec<u8>, basename_only: bool },
}

impl PathFilter {
    /// A pattern with `*` or `?` is a glob; anything else is a substring.
    pub fn parse(text: &str) -> PathFilter {
        let t = text.trim_start_matches('/');
        if t.contains('*') || t.contains('?') {
            PathFilter::Glob { pattern: t.as_bytes().to_vec(), basename_only: !t.contains('/') }
        } else {
            PathFilter::Substring(text.as_bytes().to_vec())
        }
    }

    /// Does this normalised path (no leading `/`) match?
    pub fn matches(&self, path: &[u8]) -> bool {
        match self {
            PathFilter::Substring(s) => s.is_empty() || path.windows(s.len()).any(|w| w == s.as_slice()),
            PathFilter::Glob { pattern, basename_only: true } => {
                let base = match path.iter().rposition(|&b| b == b'/') {
                    Some(i) => &path[i + 1..],
                    None => path,
                };
                glob_match(pattern, base)
            }
            PathFilter::Glob { pattern, .. } => glob_match(pattern, path),
        }
    }
}

/// Match `text` against a glob `pat` (`*`, `?`, `**`; every other byte literal).
///
/// Iterative with backtracking to the last star, so it runs in O(len(pat) × len(text))
/// at worst and never recurses (no stack blow-up on hostile patterns).
pub fn glob_match(pat: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    // Backtracking points: the last single `*` and the last `**` seen, each as (where the
    // pattern resumes, the text position the star has eaten up to). A single star that
    // would have to eat a `/` gives way to the last `**`.
    let mut star: Option<(usize, usize)> = None;
    // For `**`: (pattern position when it ate nothing, pattern position once it ate
    // something, text position). In `**/x` the `/` is skipped only while `**` is empty.
    let mut dstar: Option<(usize, usize, usize)> = None;
    while t < text.len() {
        if p < pat.len() && pat[p] == b'*' {
            let double = p + 1 < pat.len() && pat[p + 1] == b'*';
            if double {
                let after = p + 2;
                // `**/` also matches zero directories: the `/` is optional while empty.
                let empty = if after < pat.len() && pat[after] == b'/' { after + 1 } else { after };
                dstar = Some((empty, after, t));
                star = None;
                p = empty;
            } else {
                star = Some((p + 1, t));
                p += 1;
            }
            continue;
        }
        if p < pat.len() && (pat[p] == text[t] || (pat[p] == b'?' && text[t] != b'/')) {
            p += 1;
            t += 1;
            continue;
        }
        if let Some((sp, st)) = star {
            if text[st] != b'/' {
                star = Some((sp, st + 1));
                p = sp;
                t = st + 1;
                continue;
            }
        }
        match dstar {
            Some((empty, after, st)) => {
                star = None;
                dstar = Some((empty, after, st + 1));
                p = after;
                t = st + 1;
            }
            None => return false,
        }
    }
    // Only stars may remain.
    while p < pat.len() && (pat[p] == b'*' || (pat[p] == b'/' && p > 0 && pat[p - 1] == b'*')) {
        p += 1;
    }
    p == pat.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match(b"*.so", b"libc.so"));
        assert!(!glob_match(b"*.so", b"lib/libc.so"));
        assert!(glob_match(b"usr/**/*.so", b"usr/lib/x86/libc.so"));
        assert!(glob_match(b"usr/**/*.so", b"usr/libc.so"));
        assert!(glob_match(b"**", b"a/b/c"));
        assert!(glob_match(b"a?c", b"abc"));
        assert!(!glob_match(b"a?c", b"a/c"));
        assert!(glob_match(b"etc/*", b"etc/passwd"));
        assert!(!glob_match(b"etc/*", b"etc/ssl/certs"));
        assert!(glob_match(b"**/certs", b"etc/ssl/certs"));
        assert!(glob_match(b"**/certs", b"certs"));
        assert!(!glob_match(b"**/certs", b"xcerts"));
        assert!(glob_match(b"a/**/b*/c", b"a/x/y/bq/c"));
        assert!(glob_match(b"**/*.txt", b"a/b.txt"));
        assert!(!glob_match(b"abc", b"abcd"));
        assert!(glob_match(b"", b""));
    }

    #[test]
    fn filters() {
        assert!(PathFilter::parse("bin").matches(b"usr/bin/sh"));
        assert!(PathFilter::parse("*.conf").matches(b"etc/nginx/nginx.conf"));
        assert!(!PathFilter::parse("etc/*.conf").matches(b"etc/nginx/nginx.conf"));
        assert!(PathFilter::parse("etc/**/*.conf").matches(b"etc/nginx/nginx.conf"));
    }
}

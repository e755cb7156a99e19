//! Docker's image reference grammar (github.com/distribution/reference), to tell which
//! `RepoTags` `docker load` would refuse. `docker load` parses each tag with
//! `ParseNormalizedNamed` and stops with an error at the first one that does not parse or
//! has no tag, so `load-preview` says so instead of promising "Loaded image".
//!
//! ```text
//! reference       := name [ ":" tag ] [ "@" digest ]
//! name            := [domain '/'] path-component ['/' path-component]*
//! domain          := host [':' port-number]
//! host            := domain-name | IPv4address | \[ IPv6address \]
//! domain-name     := domain-component ['.' domain-component]*
//! domain-component:= /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/
//! path-component  := alpha-numeric [separator alpha-numeric]*
//! alpha-numeric   := /[a-z0-9]+/
//! separator       := /[_.]|__|[-]*/
//! tag             := /[\w][\w.-]{0,127}/
//! digest          := algorithm ":" /[0-9a-fA-F]{32,}/
//! ```

/// The longest repository name docker accepts (domain included).
const NAME_TOTAL_LENGTH_MAX: usize = 255;

/// Why `docker load` would refuse `reference` as a tag, in docker's words where it has
/// them; None when it is a valid `name:tag`.
pub fn tag_problem(reference: &str) -> Option<String> {
    if reference.is_empty() {
        return Some("invalid reference format: it is empty".into());
    }
    let (rest, digest) = match reference.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (reference, None),
    };
    if let Some(d) = digest {
        if !is_digest(d) {
            return Some("invalid reference format: the part after @ is not a digest".into());
        }
    }
    // The tag is after the last ':' that follows the last '/' (a ':' before it is a port).
    let last_slash = rest.rfind('/').map(|i| i + 1).unwrap_or(0);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
        None => (rest, None),
    };
    if name.is_empty() {
        return Some("invalid reference format: no repository name".into());
    }
    if name.len() > NAME_TOTAL_LENGTH_MAX {
        return Some(format!("invalid reference format: repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters"));
    }
    let components: Vec<&str> = name.split('/').collect();
    // docker's splitDockerDomain: the first component is a domain when there are more and
    // it has a '.' or ':', is `localhost`, or has an upper-case letter.
    let first = components[0];
    let has_domain = components.len() > 1 && (first.contains(['.', ':']) || first == "localhost" || first.chars().any(|c| c.is_ascii_uppercase()));
    if has_domain && !is_domain(first) {
        return Some(format!("invalid reference format: {first:?} is not a registry host[:port]"));
    }
    let path = if has_domain { &components[1..] } else { &components[..] };
    for c in path {
        if !is_path_component(c) {
            if c.chars().any(|ch| ch.is_ascii_uppercase()) && is_path_component(&c.to_ascii_lowercase()) {
                return Some("invalid reference format: repository name must be lowercase".into());
            }
            return Some(format!("invalid reference format: {c:?} is not a repository name part (lowercase letters and digits, joined by . _ __ or -)"));
        }
    }
    match tag {
        Some(t) if is_tag(t) => None,
        Some(t) => Some(format!("invalid reference format: {t:?} is not a tag (letters, digits, _ . -, at most 128, not starting with . or -)")),
        None if digest.is_some() => Some("a digest without a tag: docker load needs a tag".into()),
        None => Some("no tag: docker load needs name:tag".into()),
    }
}

fn is_lower_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// `[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*`
fn is_path_component(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    loop {
        // An alpha-numeric run.
        let start = i;
        while i < b.len() && is_lower_alnum(b[i]) {
            i += 1;
        }
        if i == start {
            return false;
        }
        if i == b.len() {
            return true;
        }
        // A separator: `.`, `_`, `__`, or any number of `-`.
        match b[i] {
            b'.' => i += 1,
            b'_' if b.get(i + 1) == Some(&b'_') => i += 2,
            b'_' => i += 1,
            b'-' => {
                while i < b.len() && b[i] == b'-' {
                    i += 1;
                }
            }
            _ => return false,
        }
    }
}

/// `host[:port]`: domain components joined by `.`, or a bracketed IPv6 address.
fn is_domain(s: &str) -> bool {
    let (host, port) = if let Some(v6) = s.strip_prefix('[') {
        match v6.split_once(']') {
            Some((addr, rest)) if !addr.is_empty() && addr.bytes().all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.') => {
                return rest.is_empty() || rest.strip_prefix(':').is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
            }
            _ => return false,
        }
    } else {
        match s.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    let component_ok = |c: &str| {
        let b = c.as_bytes();
        !b.is_empty()
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter().all(|&x| x.is_ascii_alphanumeric() || x == b'-')
    };
    port_ok && host.split('.').all(component_ok)
}

/// `[\w][\w.-]{0,127}`
fn is_tag(s: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let b = s.as_bytes();
    !b.is_empty() && b.len() <= 128 && word(b[0]) && b[1..].iter().all(|&x| word(x) || x == b'.' || x == b'-')
}

/// `algorithm:hex`, algorithm `[a-z0-9]+(?:[.+_-][a-z0-9]+)*`, at least 32 hex digits.
fn is_digest(s: &str) -> bool {
    let Some((algorithm, hex)) = s.split_once(':') else { return false };
    let algorithm_ok = !algorithm.is_empty()
        && algorithm.split(['.', '+', '_', '-']).all(|part| !part.is_empty() && part.bytes().all(is_lower_alnum));
    algorithm_ok && hex.len() >= 32 && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::tag_problem;

    #[test]
    fn docker_accepts_these() {
        for ok in [
            "web:v1",
            "library/web:latest",
            "docker.io/library/web:1.0",
            "localhost:5000/ok_name:tag-1",
            "localhost/app:v1",
            "my.registry.example:443/team/app__x:V1.2_rc-3",
            "a-b--c__d/x.y-z:t",
            "[::1]:5000/app:v1",
            "Registry.Example/app:v1",
        ] {
            assert_eq!(tag_problem(ok), None, "{ok}");
        }
    }

    #[test]
    fn docker_refuses_these() {
        for bad in ["UPPER:1", "a b:c", "@@@", "web", "web:", "web:-x", "web:.x", "-web:v1", "web-:v1", "a..b:v1", "a/:v1", ":v1", "web:v1@sha256:xyz", "host:port/app:v1"] {
            assert!(tag_problem(bad).is_some(), "{bad} accepted");
        }
        assert!(tag_problem("UPPER:1").unwrap().contains("must be lowercase"));
        assert!(tag_problem(&format!("{}:v1", "a".repeat(256))).unwrap().contains("255"));
        assert!(tag_problem(&format!("web:{}", "t".repeat(129))).is_some());
    }
}

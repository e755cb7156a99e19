//! Package URLs (github.com/package-url/purl-spec): `pkg:type/namespace/name@version?qualifiers`.

use super::os_release::OsInfo;
use super::{Package, PackageType};

/// The purl of a package; OS packages carry `arch` and the `distro` qualifier
/// (`pkg:deb/debian/nginx@1.22.1-9?arch=amd64&distro=debian-12`).
pub fn purl(p: &Package, os: Option<&OsInfo>) -> String {
    let os_id = os.and_then(|o| o.id.as_deref()).map(str::to_ascii_lowercase);
    let (namespace, name) = match p.kind {
        PackageType::Deb => (Some(os_id.clone().unwrap_or_else(|| "debian".to_string())), p.name.clone()),
        PackageType::Apk => (Some(os_id.clone().unwrap_or_else(|| "alpine".to_string())), p.name.clone()),
        PackageType::Rpm => (os_id.clone(), p.name.clone()),
        // PEP 503 normalisation, as the purl spec asks for pypi names.
        PackageType::Pypi => (None, pep503(&p.name)),
        PackageType::Npm => match p.name.split_once('/') {
            Some((scope, name)) if scope.starts_with('@') => (Some(scope.to_string()), name.to_string()),
            _ => (None, p.name.clone()),
        },
        PackageType::Golang | PackageType::Maven => match p.name.rsplit_once('/').or_else(|| p.name.rsplit_once(':')) {
            Some((ns, name)) => (Some(ns.to_string()), name.to_string()),
            None => (None, p.name.clone()),
        },
    };
    let mut out = format!("pkg:{}/", p.kind.as_str());
    if let Some(ns) = namespace.filter(|n| !n.is_empty()) {
        // Namespace segments are encoded one by one: their `/` stay separators.
        let segments: Vec<String> = ns.split('/').map(encode).collect();
        out.push_str(&segments.join("/"));
        out.push('/');
    }
    out.push_str(&encode(&name));
    out.push('@');
    out.push_str(&encode(&p.version));
    let mut qualifiers: Vec<(&str, String)> = Vec::new();
    if p.kind.is_os() {
        if let Some(arch) = &p.arch {
            qualifiers.push(("arch", arch.clone()));
        }
        if let Some(distro) = os.and_then(OsInfo::distro) {
            qualifiers.push(("distro", distro));
        }
    }
    // Keys in lexical order, as the spec's canonical form has them.
    qualifiers.sort();
    for (i, (key, value)) in qualifiers.iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        out.push_str(key);
        out.push('=');
        out.push_str(&encode(value));
    }
    out
}

/// `Foo_Bar.baz` → `foo-bar-baz`.
fn pep503(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut last_sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !last_sep {
                out.push('-');
            }
            last_sep = true;
        } else {
            out.push(c.to_ascii_lowercase());
            last_sep = false;
        }
    }
    out
}

/// Percent-encode all but unreserved characters (and `:`, which the spec leaves as is).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b':') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deb_with_distro() {
        let mut p = Package::new(PackageType::Deb, "libc6".into(), "2.36-9+deb12u4".into(), "/s");
        p.arch = Some("amd64".into());
        let os = OsInfo { id: Some("debian".into()), version_id: Some("12".into()), ..OsInfo::default() };
        assert_eq!(purl(&p, Some(&os)), "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12");
        let n = Package::new(PackageType::Npm, "@types/node".into(), "20.1.0".into(), "/p");
        assert_eq!(purl(&n, Some(&os)), "pkg:npm/%40types/node@20.1.0");
        let y = Package::new(PackageType::Pypi, "Tiny_Pkg".into(), "1.0".into(), "/p");
        assert_eq!(purl(&y, None), "pkg:pypi/tiny-pkg@1.0");
    }
}

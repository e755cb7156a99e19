//! SBOMs of one image's packages: SPDX 2.3 JSON and CycloneDX 1.6 JSON. The image is the
//! primary component (`CONTAINER` / `container`), each package carries its purl and, as a
//! property (an annotation in SPDX, which has no properties), the layer that installed it.

use super::{ImagePackages, Package, PackageType};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The image an SBOM describes, and the words of the document itself.
pub struct Subject {
    /// `web:v1`, or the image ID when it has no tag.
    pub name: String,
    /// `sha256:<hex>`.
    pub image_id: String,
    /// When the document is made, RFC 3339 UTC (`2026-12-03T13:10:51Z`): the caller's
    /// clock (the core has none in the browser).
    pub created: String,
    /// Per layer, bottom first: its diff_id and its history line (`created_by`).
    pub layers: Vec<SubjectLayer>,
}

#[derive(Debug, Clone, Default)]
pub struct SubjectLayer {
    pub diff_id: Option<String>,
    pub created_by: Option<String>,
}

const TOOL: &str = concat!("strata-", env!("CARGO_PKG_VERSION"));

/// SPDX license identifiers (non-deprecated) that package databases commonly hold as
/// they are; anything else is kept as text, never passed off as an SPDX expression.
const KNOWN_LICENSES: &[&str] = &[
    "0BSD", "AGPL-3.0-only", "AGPL-3.0-or-later", "Apache-2.0", "Artistic-2.0", "BSD-1-Clause", "BSD-2-Clause", "BSD-2-Clause-Patent",
    "BSD-3-Clause", "BlueOak-1.0.0", "BSL-1.0", "CC-BY-4.0", "CC0-1.0", "curl", "EPL-1.0", "EPL-2.0", "GPL-1.0-or-later", "GPL-2.0-only",
    "GPL-2.0-or-later", "GPL-3.0-only", "GPL-3.0-or-later", "ISC", "LGPL-2.0-only", "LGPL-2.0-or-later", "LGPL-2.1-only",
    "LGPL-2.1-or-later", "LGPL-3.0-only", "LGPL-3.0-or-later", "MIT", "MIT-0", "MPL-1.1", "MPL-2.0", "OpenSSL", "PSF-2.0", "Python-2.0",
    "Ruby", "Unlicense", "Zlib", "WTFPL", "X11",
];

/// An SPDX expression made only of known identifiers, `AND`, `OR` and parentheses.
fn spdx_expression(text: &str) -> Option<String> {
    let spaced = text.replace('(', " ( ").replace(')', " ) ");
    let tokens: Vec<&str> = spaced.split_whitespace().collect();
    if tokens.is_empty() {
        return None;
    }
    let ok = tokens.iter().all(|t| matches!(*t, "AND" | "OR" | "(" | ")") || KNOWN_LICENSES.contains(t));
    let has_id = tokens.iter().any(|t| KNOWN_LICENSES.contains(t));
    (ok && has_id).then(|| text.trim().to_string())
}

fn layer_words(subject: &Subject, p: &Package) -> String {
    let layer = subject.layers.get(p.layer);
    let mut s = format!("layer {}", p.layer);
    if let Some(d) = layer.and_then(|l| l.diff_id.as_deref()) {
        s.push_str(&format!(" ({d})"));
    }
    if let Some(c) = layer.and_then(|l| l.created_by.as_deref()) {
        s.push_str(&format!(", created by: {c}"));
    }
    s
}

/// A stable UUID (version-4 layout) from what the document says, so the same image and
/// time give the same serial number without a random source (there is none in wasm).
fn uuid_of(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    let mut b: [u8; 16] = [0; 16];
    b.copy_from_slice(&h.finalize()[..16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

/// `pkg:oci/<name>@sha256:…?tag=…` for the image itself.
fn image_purl(subject: &Subject) -> String {
    let (repo, tag) = match subject.name.rsplit_once(':') {
        Some((r, t)) if !t.contains('/') && !subject.name.starts_with("sha256:") => (r, Some(t)),
        _ => (subject.name.as_str(), None),
    };
    let repo_name = repo.rsplit('/').next().unwrap_or(repo);
    let repo_name = if subject.name.starts_with("sha256:") { "image" } else { repo_name };
    let mut out = format!("pkg:oci/{}@{}", super::purl::encode(&repo_name.to_ascii_lowercase()), super::purl::encode(&subject.image_id));
    if let Some(tag) = tag {
        out.push_str(&format!("?tag={}", super::purl::encode(tag)));
    }
    out
}

fn os_name_version(found: &ImagePackages) -> Option<(String, String)> {
    let os = found.os.as_ref()?;
    let id = os.id.clone()?;
    let version = os.point_release.clone().or_else(|| os.version_id.clone()).unwrap_or_default();
    Some((id, version))
}

/// SPDX 2.3, JSON.
pub fn spdx_json(subject: &Subject, found: &ImagePackages) -> Value {
    let namespace_id = uuid_of(&[&subject.image_id, &subject.created, "spdx"]);
    let mut packages = vec![json!({
        "SPDXID": "SPDXRef-Image",
        "name": subject.name,
        "versionInfo": subject.image_id,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": "NOASSERTION",
        "copyrightText": "NOASSERTION",
        "primaryPackagePurpose": "CONTAINER",
        "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": image_purl(subject)}],
    })];
    let mut relationships = vec![json!({"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": "SPDXRef-Image"})];
    if let Some((id, version)) = os_name_version(found) {
        packages.push(json!({
            "SPDXID": "SPDXRef-OperatingSystem",
            "name": id,
            "versionInfo": version,
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": false,
            "licenseConcluded": "NOASSERTION",
            "licenseDeclared": "NOASSERTION",
            "copyrightText": "NOASSERTION",
            "primaryPackagePurpose": "OPERATING-SYSTEM",
            "description": found.os.as_ref().and_then(|o| o.pretty_name.clone()).unwrap_or_default(),
        }));
        relationships.push(json!({"spdxElementId": "SPDXRef-Image", "relationshipType": "CONTAINS", "relatedSpdxElement": "SPDXRef-OperatingSystem"}));
    }
    for (i, p) in found.packages.iter().enumerate() {
        let id = format!("SPDXRef-Package-{}-{i}", p.kind.as_str());
        let declared = match p.licenses.as_slice() {
            [one] => spdx_expression(one).unwrap_or_else(|| "NOASSERTION".to_string()),
            _ => "NOASSERTION".to_string(),
        };
        let mut pkg = json!({
            "SPDXID": id,
            "name": p.name,
            "versionInfo": p.version,
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": false,
            "licenseConcluded": "NOASSERTION",
            "licenseDeclared": declared,
            "copyrightText": "NOASSERTION",
            "primaryPackagePurpose": if p.kind.is_os() || p.kind == PackageType::Golang { "APPLICATION" } else { "LIBRARY" },
            "sourceInfo": format!("{}; read from {}", layer_words(subject, p), p.location),
            "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": p.purl}],
            "annotations": [{
                "annotator": format!("Tool: {TOOL}"),
                "annotationDate": subject.created,
                "annotationType": "OTHER",
                "comment": format!("strata:layer={}; {}", p.layer, layer_words(subject, p)),
            }],
        });
        if declared == "NOASSERTION" && !p.licenses.is_empty() {
            pkg["licenseComments"] = json!(format!("as the package declares it: {}", p.licenses.join(", ")));
        }
        if let Some(source) = &p.source {
            pkg["comment"] = json!(format!("source package: {source}"));
        }
        packages.push(pkg);
        relationships.push(json!({"spdxElementId": "SPDXRef-Image", "relationshipType": "CONTAINS", "relatedSpdxElement": id}));
    }
    json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": subject.name,
        "documentNamespace": format!("https://strata.invalid/spdx/{}-{namespace_id}", subject.image_id.trim_start_matches("sha256:")),
        "creationInfo": {"created": subject.created, "creators": [format!("Tool: {TOOL}")]},
        "packages": packages,
        "relationships": relationships,
    })
}

/// CycloneDX 1.6, JSON.
pub fn cyclonedx_json(subject: &Subject, found: &ImagePackages) -> Value {
    let serial = uuid_of(&[&subject.image_id, &subject.created, "cyclonedx"]);
    let mut components = Vec::new();
    let mut refs = Vec::new();
    if let Some((id, version)) = os_name_version(found) {
        let mut os = json!({"type": "operating-system", "bom-ref": "os", "name": id, "version": version});
        if let Some(pretty) = found.os.as_ref().and_then(|o| o.pretty_name.clone()) {
            os["description"] = json!(pretty);
        }
        components.push(os);
        refs.push("os".to_string());
    }
    for (i, p) in found.packages.iter().enumerate() {
        let bom_ref = format!("pkg-{i}");
        let mut c = json!({
            "type": if p.kind.is_os() || p.kind == PackageType::Golang { "application" } else { "library" },
            "bom-ref": bom_ref,
            "name": p.name,
            "version": p.version,
            "purl": p.purl,
            "properties": layer_properties(subject, p),
        });
        if !p.licenses.is_empty() {
            let licenses: Vec<Value> = p
                .licenses
                .iter()
                .map(|l| if KNOWN_LICENSES.contains(&l.as_str()) { json!({"license": {"id": l}}) } else { json!({"license": {"name": l}}) })
                .collect();
            c["licenses"] = json!(licenses);
        }
        components.push(c);
        refs.push(bom_ref);
    }
    json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": format!("urn:uuid:{serial}"),
        "version": 1,
        "metadata": {
            "timestamp": subject.created,
            "tools": {"components": [{"type": "application", "name": "strata", "version": env!("CARGO_PKG_VERSION")}]},
            "component": {"type": "container", "bom-ref": "image", "name": subject.name, "version": subject.image_id, "purl": image_purl(subject)},
        },
        "components": components,
        "dependencies": [{"ref": "image", "dependsOn": refs}],
    })
}

fn layer_properties(subject: &Subject, p: &Package) -> Vec<Value> {
    let mut props = vec![json!({"name": "strata:layer", "value": p.layer.to_string()})];
    let layer = subject.layers.get(p.layer);
    if let Some(d) = layer.and_then(|l| l.diff_id.as_deref()) {
        props.push(json!({"name": "strata:layer:diff_id", "value": d}));
    }
    if let Some(c) = layer.and_then(|l| l.created_by.as_deref()) {
        props.push(json!({"name": "strata:layer:created_by", "value": c}));
    }
    props.push(json!({"name": "strata:location", "value": p.location}));
    if let Some(arch) = &p.arch {
        props.push(json!({"name": "strata:arch", "value": arch}));
    }
    if let Some(source) = &p.source {
        props.push(json!({"name": "strata:source_package", "value": source}));
    }
    props
}

/// Seconds since the epoch as RFC 3339 UTC (`2026-12-03T13:10:51Z`), for callers with a
/// clock but no date library.
pub fn rfc3339_utc(unix_seconds: u64) -> String {
    let days = (unix_seconds / 86_400) as i64;
    let secs = unix_seconds % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + if month <= 2 { 1 } else { 0 };
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs % 3600 / 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_expressions() {
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(1_709_251_200), "2024-03-01T00:00:00Z");
        assert_eq!(spdx_expression("MIT OR Apache-2.0").as_deref(), Some("MIT OR Apache-2.0"));
        assert_eq!(spdx_expression("BSD License"), None);
    }
}

//! Node: `node_modules/<name>/package.json` and `node_modules/@scope/<name>/package.json`,
//! one installed package each (the project's own package.json, outside `node_modules`,
//! is not a package of the image).

use super::{Package, PackageType, Parsed};
use serde_json::Value;

pub fn parse(bytes: &[u8], location: &str) -> Result<Parsed, String> {
    let json: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    let Value::Object(obj) = &json else { return Err("not a JSON object".to_string()) };
    let name = obj.get("name").and_then(Value::as_str).filter(|n| !n.is_empty());
    let version = obj.get("version").and_then(Value::as_str).filter(|v| !v.is_empty());
    let (Some(name), Some(version)) = (name, version) else {
        // npm itself installs only packages with both; one without is not a package
        // (a test fixture, a nested project), and not a damaged database either.
        return Ok(Parsed::default());
    };
    let mut p = Package::new(PackageType::Npm, name.to_string(), version.to_string(), location);
    // `"license": "MIT"`, the old `"license": {"type": "MIT"}` and `"licenses": [{"type": …}]`.
    let license_of = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("type").and_then(Value::as_str).map(str::to_string),
        _ => None,
    };
    if let Some(l) = obj.get("license").and_then(license_of) {
        p.licenses.push(l);
    } else if let Some(Value::Array(list)) = obj.get("licenses") {
        p.licenses.extend(list.iter().filter_map(license_of).take(16));
    }
    Ok(Parsed { packages: vec![p], ..Parsed::default() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn licenses_in_three_shapes() {
        let a = parse(br#"{"name":"@s/x","version":"1.0.0","license":"MIT"}"#, "/p").unwrap();
        assert_eq!(a.packages[0].licenses, ["MIT"]);
        let b = parse(br#"{"name":"y","version":"2.0.0","license":{"type":"ISC"}}"#, "/p").unwrap();
        assert_eq!(b.packages[0].licenses, ["ISC"]);
        let c = parse(br#"{"name":"z","version":"3.0.0","licenses":[{"type":"MIT"},{"type":"GPL-2.0"}]}"#, "/p").unwrap();
        assert_eq!(c.packages[0].licenses, ["MIT", "GPL-2.0"]);
        assert!(parse(b"{", "/p").is_err());
    }
}

//! Canonical manifest bytes: the exact bytes a pack signature covers.
//!
//! The signature is over a deterministic re-serialisation of the *parsed* manifest, not over the
//! bytes of `pack.toml`. So editing whitespace, comments, key order or quoting style in
//! `pack.toml` does not invalidate a signature, while every change of meaning does: any field,
//! any plugin entry, any digest, any configuration value or permission.
//!
//! Canonical form (version 1): the ASCII line `harrier-pack-manifest/v1` and a newline, followed
//! by the manifest as compact JSON with object keys sorted bytewise, arrays in manifest order,
//! versions and the WIT requirement in their normalised semver spelling, and plugin
//! configuration converted to JSON exactly as the plugin receives it (TOML date-times become
//! strings; NaN and infinities are refused). Strings use JSON escaping as `serde_json` writes
//! them.

use serde_json::{Map, Value};

use crate::manifest::Manifest;

/// Domain-separation prefix of canonical manifest bytes.
pub const CANONICAL_PREFIX: &[u8] = b"harrier-pack-manifest/v1\n";

/// Returns the canonical bytes of a validated manifest (what `pack.sig` signs).
pub fn canonical_bytes(manifest: &Manifest) -> Result<Vec<u8>, String> {
    let mut out = CANONICAL_PREFIX.to_vec();
    write_value(&mut out, &manifest_value(manifest)?);
    Ok(out)
}

/// Converts a plugin's TOML configuration table to the JSON object handed to its `init`.
pub fn table_to_json(table: &toml::Table) -> Result<Value, String> {
    let mut map = Map::new();
    for (key, value) in table {
        map.insert(
            key.clone(),
            toml_to_json(value).map_err(|e| format!("{key}: {e}"))?,
        );
    }
    Ok(Value::Object(map))
}

fn toml_to_json(value: &toml::Value) -> Result<Value, String> {
    Ok(match value {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(Value::Number)
            .ok_or_else(|| format!("{f} cannot be represented in JSON"))?,
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| toml_to_json(v).map_err(|e| format!("[{i}]: {e}")))
                .collect::<Result<_, _>>()?,
        ),
        toml::Value::Table(table) => table_to_json(table)?,
    })
}

fn manifest_value(m: &Manifest) -> Result<Value, String> {
    let version = |what: &str, text: &str| -> Result<Value, String> {
        Ok(Value::String(
            crate::manifest::parse_version(what, text)?.to_string(),
        ))
    };
    let plugins = m
        .plugins
        .iter()
        .map(|p| -> Result<Value, String> {
            let mut plugin = serde_json::json!({
                "name": p.name,
                "file": p.file,
                "sha256": p.sha256,
                "version": version("plugin version", &p.version)?,
                "config": table_to_json(&p.config).map_err(|e| format!("plugin {}: config: {e}", p.name))?,
                "permissions": p.permissions,
            });
            // Signed too; absent when there are none, so the canonical bytes
            // of packs without test vectors are unchanged.
            if !p.tests.is_empty() {
                plugin["tests"] = test_vectors(p)?;
            }
            Ok(plugin)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let fixtures: Vec<Value> = m
        .fixtures
        .iter()
        .map(|f| serde_json::json!({ "file": f.file, "sha256": f.sha256 }))
        .collect();
    let mut canonical = serde_json::json!({
        "name": m.name,
        "version": version("pack version", &m.version)?,
        "vendor": m.vendor,
        "description": m.description,
        "wit": m.wit_requirement()?.to_string(),
        "plugins": plugins,
        "fixtures": fixtures,
    });
    // Only when there are feeds, so the signed bytes of packs without any
    // are unchanged.
    if !m.feeds.is_empty() {
        canonical["feeds"] = m
            .feeds
            .iter()
            .map(|f| serde_json::json!({ "file": f.file, "sha256": f.sha256 }))
            .collect();
    }
    Ok(canonical)
}

fn test_vectors(p: &crate::manifest::PluginEntry) -> Result<Value, String> {
    p.tests
        .iter()
        .map(|t| {
            let config = match &t.config {
                Some(c) => {
                    table_to_json(c).map_err(|e| format!("plugin {}: test config: {e}", p.name))?
                }
                None => Value::Null,
            };
            Ok(serde_json::json!({ "events": t.events, "expect": t.expect, "config": config }))
        })
        .collect::<Result<Vec<_>, String>>()
        .map(Value::Array)
}

/// Writes compact JSON with object keys sorted bytewise, whatever map order serde_json uses.
fn write_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push(b'{');
            for (i, key) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, &Value::String((*key).clone()));
                out.push(b':');
                write_value(out, &map[key.as_str()]);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item);
            }
            out.push(b']');
        }
        scalar => out.extend_from_slice(scalar.to_string().as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(text: &str) -> Manifest {
        let m = Manifest::parse(text).expect("parse");
        m.validate().expect("valid");
        m
    }

    const BASE: &str = r#"
name = "p"
version = "1.0.0"
wit = "^0.1"
[[plugin]]
name = "d"
file = "d.wasm"
sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
version = "0.1.0"
[plugin.config]
b = 1
a = { y = 2.5, x = "s" }
"#;

    #[test]
    fn layout_and_comments_do_not_change_canonical_bytes() {
        let reordered = r#"
# a comment
wit   = '^0.1'
version = "1.0.0"
name = "p"

[[plugin]]
version = "0.1.0"
sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
file = "d.wasm"
name = "d"
config = { a = { x = "s", y = 2.5 }, b = 1 }
"#;
        assert_eq!(
            canonical_bytes(&manifest(BASE)).unwrap(),
            canonical_bytes(&manifest(reordered)).unwrap()
        );
    }

    #[test]
    fn semantic_changes_change_canonical_bytes() {
        let base = canonical_bytes(&manifest(BASE)).unwrap();
        for changed in [
            BASE.replace("b = 1", "b = 2"),
            BASE.replace("b = 1", "b = 1.0"),
            BASE.replace("\"1.0.0\"", "\"1.0.1\""),
            BASE.replace("^0.1", "^0.2"),
            BASE.replace("d.wasm", "e.wasm"),
            BASE.replace(
                "0000000000000000000000000000000000000000000000000000000000000000",
                "0000000000000000000000000000000000000000000000000000000000000001",
            ),
            BASE.replace("wit = \"^0.1\"", "wit = \"^0.1\"\nvendor = \"x\""),
        ] {
            assert_ne!(
                base,
                canonical_bytes(&manifest(&changed)).unwrap(),
                "{changed}"
            );
        }
    }

    #[test]
    fn feeds_are_signed_and_absent_feeds_leave_the_bytes_as_they_were() {
        let base = canonical_bytes(&manifest(BASE)).unwrap();
        let feed = |digest: char| {
            format!(
                "{BASE}\n[[feed]]\nfile = \"intel/c2.txt\"\nsha256 = \"{}\"\n",
                digest.to_string().repeat(64)
            )
        };
        let with_feed = canonical_bytes(&manifest(&feed('a'))).unwrap();
        assert!(!String::from_utf8_lossy(&base).contains("feeds"));
        assert!(
            String::from_utf8_lossy(&with_feed).contains("\"feeds\":[{\"file\":\"intel/c2.txt\"")
        );
        assert_ne!(with_feed, canonical_bytes(&manifest(&feed('b'))).unwrap());
    }

    #[test]
    fn canonical_bytes_are_prefixed_sorted_compact_json() {
        let bytes = canonical_bytes(&manifest(BASE)).unwrap();
        let text = std::str::from_utf8(&bytes).unwrap();
        assert!(
            text.starts_with(
                "harrier-pack-manifest/v1\n{\"description\":\"\",\"fixtures\":[],\"name\":\"p\""
            ),
            "{text}"
        );
        assert!(
            text.contains("\"config\":{\"a\":{\"x\":\"s\",\"y\":2.5},\"b\":1}"),
            "{text}"
        );
    }

    #[test]
    fn non_finite_float_in_config_is_refused() {
        let m = Manifest::parse(&BASE.replace("b = 1", "b = nan")).unwrap();
        let err = m.validate().unwrap_err();
        assert!(err.contains("plugin d: config: b"), "{err}");
    }
}

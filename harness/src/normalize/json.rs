//! Canonical JSON text: compact, object keys sorted recursively, serde_json's string quoting.
//!
//! `serde_json` is built with `preserve_order` in this workspace (the raw key order is itself
//! checked), so sorting has to be explicit rather than a side effect of `BTreeMap`.

use serde_json::Value;

/// Renders a value as compact JSON with object keys sorted (by code point) at every level.
pub(crate) fn canonical(value: &Value) -> String {
    let mut out = String::new();
    write(value, &mut out);
    out
}

/// JSON-quotes a string the way [`canonical`] does.
pub(crate) fn quote(text: &str) -> String {
    let mut out = String::new();
    write_str(text, &mut out);
    out
}

fn write(value: &Value, out: &mut String) {
    match value {
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(key, out);
                out.push(':');
                write(item, out);
            }
            out.push('}');
        }
        Value::String(text) => write_str(text, out),
        // Scalars have exactly one serde_json rendering; serializing them cannot fail.
        scalar => out.push_str(&serde_json::to_string(scalar).unwrap_or_default()),
    }
}

fn write_str(text: &str, out: &mut String) {
    // Serializing a string cannot fail.
    out.push_str(&serde_json::to_string(text).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_sorted_at_every_level() {
        let value = json!({"b": 1, "a": {"z": [{"y": 1, "x": 2}], "c": null}});
        assert_eq!(
            canonical(&value),
            r#"{"a":{"c":null,"z":[{"x":2,"y":1}]},"b":1}"#
        );
    }

    #[test]
    fn strings_use_serde_json_quoting() {
        assert_eq!(canonical(&json!("a\"b\n\u{1}é")), r#""a\"b\n\u0001é""#);
        assert_eq!(quote("Creating trace"), r#""Creating trace""#);
    }

    #[test]
    fn scalars_render_compactly() {
        assert_eq!(
            canonical(&json!([1, 1.5, true, null, -3])),
            "[1,1.5,true,null,-3]"
        );
    }
}

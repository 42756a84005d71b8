//! Canonical JSON text: compact, object keys sorted recursively, serde_json's string quoting.
//!
//! Numbers: serde_json is built with `arbitrary_precision`, so a number keeps the text it was
//! parsed from. Integers are written with every digit (Python's integers are unbounded, and a
//! usage sum past 2^64 must not round through a float); other numbers are rendered from their
//! `f64` value, so Python's `1e+16` and Rust's `1e16` are the same number in a transcript.
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
        Value::Number(number) => write_number(number, out),
        // Scalars have exactly one serde_json rendering; serializing them cannot fail.
        scalar => out.push_str(&serde_json::to_string(scalar).unwrap_or_default()),
    }
}

fn write_number(number: &serde_json::Number, out: &mut String) {
    let text = number.to_string();
    let digits = text.strip_prefix('-').unwrap_or(&text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        out.push_str(&text);
        return;
    }
    // A parsed JSON number is always finite, so `from_f64` succeeds; keep the text otherwise.
    match number.as_f64().and_then(serde_json::Number::from_f64) {
        Some(float) => out.push_str(&float.to_string()),
        None => out.push_str(&text),
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

    #[test]
    fn integers_keep_every_digit() {
        // 2^64 + 1 and -(2^63) - 1: beyond both u64 and i64, and beyond a float's precision.
        let parsed: serde_json::Value =
            serde_json::from_str("[18446744073709551617,-9223372036854775809,9007199254740993]")
                .unwrap();
        assert_eq!(
            canonical(&parsed),
            "[18446744073709551617,-9223372036854775809,9007199254740993]"
        );
    }

    #[test]
    fn python_and_rust_float_spellings_agree() {
        // Python's json.dumps spells these `1e+16`, `1e-07`, `2.5E3`-style input is legal JSON.
        let python: serde_json::Value = serde_json::from_str("[1e+16,1e-07,2.5E3,0.1]").unwrap();
        assert_eq!(
            canonical(&python),
            canonical(&json!([1e16, 1e-7, 2500.0, 0.1]))
        );
    }
}

//! Python's `str()` and `repr()` of JSON values.
//!
//! The Python client puts **`str(result)`** of a tool's return value into the function
//! span's `output`, the `on_tool_end` hook's `result` and the `Tool X returned …` log line,
//! and the `repr()` of call arguments into `Tool call args: …`. A Rust tool that returns a
//! JSON value therefore has to be rendered the way CPython renders the equivalent Python
//! value (`dict`, `list`, `str`, `int`, `float`, `bool`, `None`), which is what this module
//! does; the lifecycle API calls it, so an SDK author hands over plain
//! [`serde_json::Value`]s.
//!
//! | JSON | Python value | `str()` | `repr()` |
//! |---|---|---|---|
//! | `"sunny"` | `'sunny'` | `sunny` | `'sunny'` |
//! | `{"hour": 9}` | `{'hour': 9}` | `{'hour': 9}` | same |
//! | `[true, null, 1.5]` | `[True, None, 1.5]` | `[True, None, 1.5]` | same |
//! | `1e16` | `1e+16` | `1e+16` | same |
//!
//! Object keys keep their order (the crate builds `serde_json` with `preserve_order`, and
//! Python dicts keep insertion order too).
//!
//! One approximation: for non-ASCII characters `repr()` escapes what CPython's
//! `str.isprintable()` rejects; this module rejects control, separator (other than the space),
//! private-use and the common format characters, and keeps every other character, where
//! CPython would also escape unassigned code points.
//!
//! ```
//! use codex_telemetry::pyrepr::{python_repr, python_str};
//! use serde_json::json;
//!
//! assert_eq!(python_str(&json!("rain in Tokyo")), "rain in Tokyo");
//! assert_eq!(python_str(&json!({"hour": 9, "minute": 30})), "{'hour': 9, 'minute': 30}");
//! assert_eq!(python_repr(&json!(["Paris"])), "['Paris']");
//! assert_eq!(python_repr(&json!("it's")), "\"it's\"");
//! ```

use std::fmt::Write as _;

use serde_json::{Number, Value};

/// Python's `str(value)` for the Python value that `value` decodes to (`json.loads`):
/// strings as they are, everything else as [`python_repr`].
///
/// # Examples
///
/// ```
/// use codex_telemetry::pyrepr::python_str;
/// use serde_json::json;
///
/// assert_eq!(python_str(&json!(42)), "42");
/// assert_eq!(python_str(&json!(null)), "None");
/// assert_eq!(python_str(&json!({"a": 1, "b": [true, null]})), "{'a': 1, 'b': [True, None]}");
/// ```
pub fn python_str(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => python_repr(other),
    }
}

/// `str()` of a pydantic model with these fields, in its declared order: `name=repr(value)`
/// separated by spaces (pydantic's `BaseModel.__str__`), as an agent tool's structured
/// output reaches its hooks and function span.
///
/// # Examples
///
/// ```
/// use codex_telemetry::pyrepr::pydantic_str;
/// use serde_json::json;
///
/// let fields = [("restaurant", json!("Chez Nous")), ("seats", json!(2)), ("confirmed", json!(true))];
/// assert_eq!(
///     pydantic_str(fields.iter().map(|(name, value)| (*name, value))),
///     "restaurant='Chez Nous' seats=2 confirmed=True"
/// );
/// ```
pub fn pydantic_str<'a>(fields: impl IntoIterator<Item = (&'a str, &'a Value)>) -> String {
    fields
        .into_iter()
        .map(|(name, value)| format!("{name}={}", python_repr(value)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The pydantic release whose documentation the client's pinned dependencies link from every
/// validation error (`https://errors.pydantic.dev/<version>/v/<type>`). The harness's
/// normalizer masks the version, so a pydantic upgrade does not change a transcript.
pub const PYDANTIC_ERRORS_VERSION: &str = "2.14";

/// pydantic's `str()` of the `ValidationError` raised when the model `model` is built from
/// the keyword arguments `input` without the required fields `missing` (in declaration
/// order): one `Field required` entry per field, each quoting the input's repr (truncated as
/// pydantic truncates it).
///
/// ```
/// use codex_telemetry::pyrepr::pydantic_missing_fields_error;
/// use serde_json::json;
///
/// let input = json!({"days": 2});
/// let text = pydantic_missing_fields_error("get_weather_args", &["city"], input.as_object().unwrap());
/// assert_eq!(
///     text,
///     "1 validation error for get_weather_args\ncity\n  Field required [type=missing, input_value={'days': 2}, input_type=dict]\n    For further information visit https://errors.pydantic.dev/2.14/v/missing"
/// );
/// ```
pub fn pydantic_missing_fields_error(
    model: &str,
    missing: &[&str],
    input: &serde_json::Map<String, Value>,
) -> String {
    let count = missing.len();
    let plural = if count == 1 { "" } else { "s" };
    let input_repr = truncated_repr(&python_repr(&Value::Object(input.clone())));
    let mut out = format!("{count} validation error{plural} for {model}");
    for field in missing {
        let _ = write!(
            out,
            "\n{field}\n  Field required [type=missing, input_value={input_repr}, input_type=dict]\n    For further information visit https://errors.pydantic.dev/{PYDANTIC_ERRORS_VERSION}/v/missing"
        );
    }
    out
}

/// pydantic-core's truncation of an input's repr in an error: over 50 bytes, the first 25
/// bytes and the last 24, joined by `...`, each cut at a character boundary inside its part.
fn truncated_repr(repr: &str) -> String {
    const LIMIT: usize = 50;
    if repr.len() <= LIMIT {
        return repr.to_owned();
    }
    let mut head = LIMIT.div_ceil(2);
    while !repr.is_char_boundary(head) {
        head -= 1;
    }
    let mut tail = repr.len() - (LIMIT.div_ceil(2) - 1);
    while !repr.is_char_boundary(tail) {
        tail += 1;
    }
    format!("{}...{}", &repr[..head], &repr[tail..])
}

/// Python's default `repr()` of an object of `module.class` (one without a `__repr__` of its
/// own): `<module.class object at 0x…>`, with `object`'s address standing in for the Python
/// object's (the harness's normalizer drops addresses: they differ on every run).
///
/// ```
/// use codex_telemetry::pyrepr::python_object_repr;
///
/// let repr = python_object_repr("agents.tracing.spans", "NoOpSpan", &());
/// assert!(repr.starts_with("<agents.tracing.spans.NoOpSpan object at 0x"), "{repr}");
/// ```
pub fn python_object_repr<T: ?Sized>(module: &str, class: &str, object: &T) -> String {
    let address = object as *const T as *const () as usize;
    format!("<{module}.{class} object at {address:#x}>")
}

/// Python's `repr(value)` for the Python value that `value` decodes to.
///
/// # Examples
///
/// ```
/// use codex_telemetry::pyrepr::python_repr;
/// use serde_json::json;
///
/// assert_eq!(python_repr(&json!("Paris")), "'Paris'");
/// assert_eq!(python_repr(&json!(0.1)), "0.1");
/// assert_eq!(python_repr(&json!(1.0)), "1.0");
/// assert_eq!(python_repr(&json!(1e-5)), "1e-05");
/// assert_eq!(python_repr(&json!({})), "{}");
/// ```
pub fn python_repr(value: &Value) -> String {
    let mut out = String::new();
    write_repr(&mut out, value);
    out
}

fn write_repr(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("None"),
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::Number(number) => write_number(out, number),
        Value::String(text) => write_str_repr(out, text),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_str_repr(out, key);
                out.push_str(": ");
                write_repr(out, item);
            }
            out.push('}');
        }
    }
}

fn write_number(out: &mut String, number: &Number) {
    // serde_json keeps a parsed number's text (`arbitrary_precision`): an integer beyond 64
    // bits is still an int in Python, so print its digits rather than a float.
    let text = number.to_string();
    let digits = text.strip_prefix('-').unwrap_or(&text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        out.push_str(&text);
    } else if let Some(int) = number.as_i64() {
        let _ = write!(out, "{int}");
    } else if let Some(int) = number.as_u64() {
        let _ = write!(out, "{int}");
    } else if let Some(float) = number.as_f64() {
        write_float_repr(out, float);
    }
}

/// CPython's `float.__repr__` (`format_float_short` with mode `'r'`): the shortest digits
/// that round-trip, in fixed notation when the decimal point position is in `-3..=16`,
/// otherwise in exponent notation with a sign and at least two exponent digits.
fn write_float_repr(out: &mut String, value: f64) {
    if value.is_nan() {
        out.push_str("nan");
        return;
    }
    if value.is_infinite() {
        out.push_str(if value > 0.0 { "inf" } else { "-inf" });
        return;
    }
    // Rust's `{:e}` prints the shortest round-tripping digits, without leading zeros
    // (`-1.2345e-7`; zero is `0e0`).
    let formatted = format!("{value:e}");
    let (mantissa, exponent) = formatted
        .split_once('e')
        .expect("`{:e}` always has an exponent");
    let exponent: i32 = exponent.parse().expect("`{:e}` exponent is an integer");
    let mantissa = match mantissa.strip_prefix('-') {
        Some(rest) => {
            out.push('-');
            rest
        }
        None => mantissa,
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    // Python's `decpt`: the value is 0.DIGITS × 10^decpt.
    let decpt = exponent + 1;
    if decpt <= -4 || decpt > 16 {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let exp = decpt - 1;
        let _ = write!(
            out,
            "e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.unsigned_abs()
        );
    } else if decpt <= 0 {
        out.push_str("0.");
        for _ in 0..(-decpt) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let decpt = decpt as usize;
        if digits.len() <= decpt {
            out.push_str(&digits);
            for _ in digits.len()..decpt {
                out.push('0');
            }
            out.push_str(".0");
        } else {
            out.push_str(&digits[..decpt]);
            out.push('.');
            out.push_str(&digits[decpt..]);
        }
    }
}

/// CPython's `str.__repr__`.
fn write_str_repr(out: &mut String, text: &str) {
    let quote = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
    out.push(quote);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_ascii() || is_printable(c) => out.push(c),
            c if (c as u32) < 0x100 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if (c as u32) < 0x10000 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
    out.push(quote);
}

/// An approximation of CPython's `str.isprintable()` for one non-ASCII character.
fn is_printable(c: char) -> bool {
    let code = c as u32;
    let control = c.is_control();
    let separator = c.is_whitespace(); // Zs (the ASCII space is handled by the caller), Zl, Zp
    let format = matches!(
        code,
        0xad | 0x600..=0x605
            | 0x61c
            | 0x6dd
            | 0x70f
            | 0x180e
            | 0x200b..=0x200f
            | 0x202a..=0x202e
            | 0x2060..=0x2064
            | 0x2066..=0x206f
            | 0xfeff
            | 0xfff9..=0xfffb
            | 0xe0001
            | 0xe0020..=0xe007f
    );
    let private_use = matches!(code, 0xe000..=0xf8ff | 0xf0000..=0xffffd | 0x100000..=0x10fffd);
    !(control || separator || format || private_use)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The texts pydantic 2.14 printed for these inputs (`input_value` over 50 bytes is cut
    /// at character boundaries inside each part).
    #[test]
    fn missing_field_errors_quote_the_input_as_pydantic_truncates_it() {
        let long = json!({"days": 2, "other": "a".repeat(60)});
        let text =
            pydantic_missing_fields_error("t_args", &["city", "x"], long.as_object().unwrap());
        assert!(
            text.starts_with("2 validation errors for t_args\ncity\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "input_value={'days': 2, 'other': 'aaa...aaaaaaaaaaaaaaaaaaaaaa'}, input_type=dict]"
            ),
            "{text}"
        );
        assert!(text.contains("\nx\n  Field required"), "{text}");
        let multibyte = json!({"k": format!("{}ééé", "a".repeat(36))});
        let text =
            pydantic_missing_fields_error("t_args", &["city"], multibyte.as_object().unwrap());
        assert!(
            text.contains("input_value={'k': 'aaaaaaaaaaaaaaaaaa...aaaaaaaaaaaaaaaaééé'},"),
            "{text}"
        );
        let fits = json!({"k": format!("{}ééé", "a".repeat(35))});
        let text = pydantic_missing_fields_error("t_args", &["city"], fits.as_object().unwrap());
        assert!(
            text.contains(&format!("input_value={{'k': '{}ééé'}},", "a".repeat(35))),
            "{text}"
        );
    }

    #[test]
    fn floats_like_cpython() {
        // Pairs checked against CPython 3.11 `repr(float)`.
        let cases = [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (1.5, "1.5"),
            (-2.25, "-2.25"),
            (0.1, "0.1"),
            (100.0, "100.0"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (0.000123, "0.000123"),
            (1.5e-7, "1.5e-07"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (1234567890123456.0, "1234567890123456.0"),
            (123456789012345680.0, "1.2345678901234568e+17"),
            (1e22, "1e+22"),
            (1e-300, "1e-300"),
            (f64::MAX, "1.7976931348623157e+308"),
            (21.5, "21.5"),
        ];
        for (value, expected) in cases {
            let mut out = String::from("<");
            write_float_repr(&mut out, value);
            assert_eq!(out, format!("<{expected}"), "{value:e}");
        }
    }

    #[test]
    fn integers_beyond_64_bits_stay_integers() {
        // A usage sum past u64::MAX is still an `int` to Python: `repr` prints its digits.
        let big: Value =
            serde_json::from_str("[18446744073709551617, -9223372036854775809, 1.5e16]").unwrap();
        assert_eq!(
            python_repr(&big),
            "[18446744073709551617, -9223372036854775809, 1.5e+16]"
        );
        assert_eq!(python_repr(&json!(u128::MAX)), u128::MAX.to_string());
    }

    #[test]
    fn strings_like_cpython() {
        let cases = [
            ("", "''"),
            ("plain", "'plain'"),
            ("it's", "\"it's\""),
            ("say \"hi\"", "'say \"hi\"'"),
            ("both ' and \"", "'both \\' and \"'"),
            ("back\\slash", "'back\\\\slash'"),
            ("tab\tnew\nret\r", "'tab\\tnew\\nret\\r'"),
            ("\u{0}\u{1f}\u{7f}", "'\\x00\\x1f\\x7f'"),
            ("café ☀ 日本", "'café ☀ 日本'"),
            ("\u{a0}\u{ad}\u{2028}", "'\\xa0\\xad\\u2028'"),
            ("\u{200b}", "'\\u200b'"),
            ("\u{f0000}", "'\\U000f0000'"),
            ("😀", "'😀'"),
        ];
        for (text, expected) in cases {
            assert_eq!(python_repr(&json!(text)), expected, "{text:?}");
        }
    }

    #[test]
    fn containers_and_scalars() {
        assert_eq!(
            python_repr(&json!({"a": [1, -2, 3.5], "b": {"c": null}, "d": false})),
            "{'a': [1, -2, 3.5], 'b': {'c': None}, 'd': False}"
        );
        assert_eq!(python_repr(&json!([])), "[]");
        assert_eq!(python_repr(&json!(u64::MAX)), "18446744073709551615");
        assert_eq!(python_str(&json!("it's")), "it's");
        assert_eq!(python_str(&json!(["it's"])), "[\"it's\"]");
    }

    #[test]
    fn object_keys_keep_insertion_order() {
        let value: Value = serde_json::from_str(r#"{"z": 1, "a": 2}"#).unwrap();
        assert_eq!(python_repr(&value), "{'z': 1, 'a': 2}");
    }
}

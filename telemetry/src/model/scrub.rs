//! Secret scrubbing: API keys and bearer tokens are replaced with `[REDACTED]` in everything
//! the crate hands out — span and trace exports (every processor's), `openai.agents` log lines
//! and Codex events — before it leaves the process. An extension: the Python client does not
//! scrub, so a run whose data holds a key differs from it there, deliberately.
//!
//! Built-in shapes ([`Scrubber::new`]): OpenAI keys (`sk-…`, `sk-proj-…`, `sk-svcacct-…`,
//! `sk-admin-…`), `Bearer <token>`, `Authorization` header values, AWS access key ids
//! (`AKIA…`/`ASIA…`) and `aws_secret_access_key` values, GitHub tokens (`ghp_…`, `gho_…`,
//! `ghu_…`, `ghs_…`, `ghr_…`, `github_pat_…`). A scheme or header name is kept
//! (`Bearer [REDACTED]`), the secret is not. Add patterns with [`Scrubber::with_pattern`];
//! turn scrubbing off explicitly with [`Scrubber::disabled`]. `trace_include_sensitive_data`
//! still decides whether inputs and outputs are exported at all, as in Python.
//!
//! ```
//! use codex_telemetry::scrub::Scrubber;
//!
//! let scrubber = Scrubber::new();
//! assert_eq!(
//!     scrubber.scrub("key sk-proj-abcdefghijklmnopqrstuvwx1234, header Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.x"),
//!     "key [REDACTED], header Authorization: Bearer [REDACTED]",
//! );
//! assert_eq!(scrubber.scrub("nothing secret"), "nothing secret");
//! ```

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use arc_swap::ArcSwap;
use regex::Regex;
use regex::bytes::Regex as BytesRegex;
use serde_json::Value;

/// What replaces a secret.
pub const REDACTED: &str = "[REDACTED]";

/// One secret shape: what keeps its place (capture group 1, if any) and what goes.
struct Rule {
    text: Regex,
    bytes: BytesRegex,
    /// Whether group 1 (a scheme or header name) is kept before `[REDACTED]`.
    keeps_prefix: bool,
}

/// The built-in shapes: (pattern, keeps group 1). Token character classes never contain a
/// quote or a backslash, so a match inside JSON text stays inside one string.
const BUILT_IN: &[(&str, bool)] = &[
    // OpenAI API keys (project, service account, admin and legacy user keys).
    (r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}", false),
    // An Authorization header's value, with or without its scheme.
    (
        r#"(?i)(\bauthorization\\?["']?\s*[:=]\s*\\?["']?(?:basic\s+|bearer\s+|token\s+)?)[A-Za-z0-9._~+/-]{12,}=*"#,
        true,
    ),
    // A bearer token anywhere else.
    (r"(?i)(\bbearer\s+)[A-Za-z0-9._~+/-]{20,}=*", true),
    // AWS access key ids and secret access keys.
    (r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b", false),
    (
        r#"(?i)(\baws_secret_access_key\\?["']?\s*[:=]\s*\\?["']?)[A-Za-z0-9/+=]{40}"#,
        true,
    ),
    // GitHub tokens.
    (r"\bgh[pousr]_[A-Za-z0-9]{36,}\b", false),
    (r"\bgithub_pat_[A-Za-z0-9_]{22,}", false),
];

/// The shortest run of token characters a built-in secret holds (an `Authorization` value).
const MIN_SECRET_RUN: usize = 12;

/// Whether `bytes` hold a run of at least [`MIN_SECRET_RUN`] token characters (the union of
/// the built-in shapes' classes): a byte loop far cheaper than a regex scan on short text.
fn has_token_run(bytes: &[u8]) -> bool {
    if bytes.len() < MIN_SECRET_RUN {
        return false;
    }
    let mut run = 0;
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'+' | b'/' | b'=')
        {
            run += 1;
            if run >= MIN_SECRET_RUN {
                return true;
            }
        } else {
            run = 0;
        }
    }
    false
}

/// Finds and replaces secrets in text, JSON values and serialized JSON. Cheap to share.
#[derive(Clone)]
pub struct Scrubber {
    rules: Arc<Vec<Rule>>,
    /// Any rule's shape, to skip text without secrets in one pass.
    any: Option<Arc<(Regex, BytesRegex)>>,
    /// Whether only the built-in shapes apply: every one of them holds a run of at least
    /// [`MIN_SECRET_RUN`] token characters, so text without such a run is skipped without a
    /// regex. A pattern of the user's turns the gate off (its shape is unknown).
    gated: bool,
}

impl Default for Scrubber {
    fn default() -> Self {
        Self::new()
    }
}

impl Scrubber {
    /// The built-in shapes.
    pub fn new() -> Self {
        let mut scrubber = Self::disabled();
        for (pattern, keeps_prefix) in BUILT_IN {
            scrubber = scrubber
                .with_rule(pattern, *keeps_prefix)
                .expect("built-in patterns compile");
        }
        scrubber.gated = true;
        scrubber
    }

    /// Scrubs nothing (an explicit choice: the default scrubs).
    pub fn disabled() -> Self {
        Self {
            rules: Arc::new(Vec::new()),
            any: None,
            gated: false,
        }
    }

    /// Also replaces every match of `pattern` (a `regex` crate pattern) with `[REDACTED]`. A
    /// match that holds a quote or a backslash is left alone: in serialized JSON it would cross
    /// a string's end.
    ///
    /// # Errors
    ///
    /// When `pattern` does not compile.
    ///
    /// ```
    /// use codex_telemetry::scrub::Scrubber;
    ///
    /// let scrubber = Scrubber::new().with_pattern(r"\bacme_[0-9a-f]{16}\b").unwrap();
    /// assert_eq!(scrubber.scrub("token acme_0123456789abcdef"), "token [REDACTED]");
    /// assert!(Scrubber::new().with_pattern("(").is_err());
    /// ```
    pub fn with_pattern(self, pattern: &str) -> Result<Self, regex::Error> {
        self.with_rule(pattern, false)
    }

    fn with_rule(self, pattern: &str, keeps_prefix: bool) -> Result<Self, regex::Error> {
        let text = Regex::new(pattern)?;
        let bytes = BytesRegex::new(pattern)?;
        let mut rules: Vec<Rule> = Vec::with_capacity(self.rules.len() + 1);
        for rule in self.rules.iter() {
            rules.push(Rule {
                text: rule.text.clone(),
                bytes: rule.bytes.clone(),
                keeps_prefix: rule.keeps_prefix,
            });
        }
        rules.push(Rule {
            text,
            bytes,
            keeps_prefix,
        });
        let any = rules
            .iter()
            .map(|rule| format!("(?:{})", rule.text.as_str()))
            .collect::<Vec<_>>()
            .join("|");
        let any = (Regex::new(&any)?, BytesRegex::new(&any)?);
        Ok(Self {
            rules: Arc::new(rules),
            any: Some(Arc::new(any)),
            // A new pattern's shape is unknown: every text goes through the regexes.
            gated: false,
        })
    }

    /// Whether this scrubber replaces anything at all.
    pub fn is_enabled(&self) -> bool {
        self.any.is_some()
    }

    /// `text` with every secret replaced.
    pub fn scrub<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let Some(any) = &self.any else {
            return Cow::Borrowed(text);
        };
        if (self.gated && !has_token_run(text.as_bytes())) || !any.0.is_match(text) {
            return Cow::Borrowed(text);
        }
        let mut out = text.to_owned();
        for rule in self.rules.iter() {
            let replaced = rule.text.replace_all(&out, |caps: &regex::Captures<'_>| {
                let matched = &caps[0];
                let prefix = if rule.keeps_prefix {
                    caps.get(1).map_or("", |m| m.as_str())
                } else {
                    ""
                };
                if matched[prefix.len()..].contains(['"', '\\']) {
                    // Never across a JSON string's end: left as it is.
                    return matched.to_owned();
                }
                format!("{prefix}{REDACTED}")
            });
            if let Cow::Owned(replaced) = replaced {
                out = replaced;
            }
        }
        Cow::Owned(out)
    }

    /// Scrubs every string (and object key) of `value` in place.
    pub fn scrub_value(&self, value: &mut Value) {
        if self.any.is_none() {
            return;
        }
        match value {
            Value::String(text) => {
                if let Cow::Owned(scrubbed) = self.scrub(text) {
                    *text = scrubbed;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|item| self.scrub_value(item)),
            Value::Object(map) => {
                let entries = std::mem::take(map);
                for (key, mut item) in entries {
                    self.scrub_value(&mut item);
                    self.scrub_named_value(&key, &mut item);
                    let mut key = self.scrub(&key).into_owned();
                    // Two keys that scrub alike both stay.
                    let mut n = 1;
                    while map.contains_key(&key) {
                        n += 1;
                        key = format!("{REDACTED}#{n}");
                    }
                    map.insert(key, item);
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }

    /// A string under a key that names a secret (`Authorization`, `aws_secret_access_key`):
    /// the shapes that need the name see `name: value`, as they would in a header line.
    fn scrub_named_value(&self, key: &str, item: &mut Value) {
        let Value::String(text) = item else {
            return;
        };
        let lower = key.to_ascii_lowercase();
        if !(lower.contains("authorization") || lower.contains("aws_secret_access_key")) {
            return;
        }
        let prefix = format!("{key}: ");
        if let Cow::Owned(scrubbed) = self.scrub(&format!("{prefix}{text}")) {
            *text = scrubbed
                .strip_prefix(&prefix)
                .map_or_else(|| REDACTED.to_owned(), str::to_owned);
        }
    }

    /// Scrubs serialized JSON in place: only inside its strings, so it stays valid JSON. A
    /// chunk with escapes (`\n`, `\u…`) is scrubbed through its decoded value: an escape
    /// would hide a secret's word boundary from the patterns.
    pub fn scrub_bytes(&self, bytes: &mut Vec<u8>) {
        let Some(any) = &self.any else {
            return;
        };
        if self.gated && !has_token_run(bytes) {
            return;
        }
        let escaped = bytes.contains(&b'\\');
        if !escaped && !any.1.is_match(bytes) {
            return;
        }
        if escaped && let Ok(mut value) = serde_json::from_slice::<Value>(bytes) {
            self.scrub_value(&mut value);
            if let Ok(text) = serde_json::to_vec(&value) {
                *bytes = text;
                return;
            }
        }
        // Values under secret-naming keys (`"authorization":"Basic …"`) are scrubbed as text
        // here too: the key is in the same chunk.
        for rule in self.rules.iter() {
            let inside = string_mask(bytes);
            let replaced = rule
                .bytes
                .replace_all(bytes, |caps: &regex::bytes::Captures<'_>| {
                    let whole = caps.get(0).expect("a match has group 0");
                    let matched = whole.as_bytes();
                    let prefix = if rule.keeps_prefix {
                        caps.get(1).map_or(&b""[..], |m| m.as_bytes())
                    } else {
                        b""
                    };
                    let secret_start = whole.start() + prefix.len();
                    let in_string = (secret_start..whole.end()).all(|i| inside[i]);
                    if !in_string
                        || matched[prefix.len()..]
                            .iter()
                            .any(|b| matches!(b, b'"' | b'\\'))
                    {
                        // Never outside a string, nor across its end: left as it is.
                        return matched.to_vec();
                    }
                    let mut out = prefix.to_vec();
                    out.extend_from_slice(REDACTED.as_bytes());
                    out
                });
            if let Cow::Owned(replaced) = replaced {
                *bytes = replaced;
            }
        }
    }
}

/// For each byte of JSON text, whether it is inside a string (between its quotes).
fn string_mask(bytes: &[u8]) -> Vec<bool> {
    let mut mask = Vec::with_capacity(bytes.len());
    let (mut in_string, mut escaped) = (false, false);
    for &b in bytes {
        if in_string {
            if escaped {
                escaped = false;
                mask.push(true);
            } else if b == b'\\' {
                escaped = true;
                mask.push(true);
            } else if b == b'"' {
                in_string = false;
                mask.push(false);
            } else {
                mask.push(true);
            }
        } else {
            in_string = b == b'"';
            mask.push(false);
        }
    }
    mask
}

impl std::fmt::Debug for Scrubber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scrubber")
            .field("rules", &self.rules.len())
            .finish()
    }
}

fn global() -> &'static ArcSwap<Scrubber> {
    static GLOBAL: OnceLock<ArcSwap<Scrubber>> = OnceLock::new();
    GLOBAL.get_or_init(|| ArcSwap::from_pointee(Scrubber::new()))
}

/// The process's scrubber, used by every export, log line and event: [`Scrubber::new`]
/// unless [`set_scrubber`] replaced it.
pub fn scrubber() -> Arc<Scrubber> {
    global().load_full()
}

/// Replaces the process's scrubber (with more patterns, or [`Scrubber::disabled`]).
///
/// ```
/// use codex_telemetry::scrub::{scrubber, set_scrubber, Scrubber};
///
/// set_scrubber(Scrubber::new().with_pattern(r"\bint_[0-9]{8}\b").unwrap());
/// assert_eq!(scrubber().scrub("int_12345678"), "[REDACTED]");
/// set_scrubber(Scrubber::new());
/// ```
pub fn set_scrubber(scrubber: Scrubber) {
    global().store(Arc::new(scrubber));
}

/// An export as JSON value, scrubbed by the process's scrubber.
pub(crate) fn scrubbed_value(mut value: Value) -> Value {
    global().load().scrub_value(&mut value);
    value
}

/// Scrubs a chunk of serialized JSON in place with the process's scrubber.
pub(crate) fn scrub_json_chunk(bytes: &mut Vec<u8>) {
    global().load().scrub_bytes(bytes);
}

/// `text` scrubbed by the process's scrubber, borrowed when it holds no secret.
pub(crate) fn scrub_str(text: &str) -> Cow<'_, str> {
    match global().load().scrub(text) {
        Cow::Borrowed(_) => Cow::Borrowed(text),
        Cow::Owned(scrubbed) => Cow::Owned(scrubbed),
    }
}

/// `text` scrubbed by the process's scrubber (log lines and events).
pub(crate) fn scrub_text(text: String) -> String {
    match global().load().scrub(&text) {
        Cow::Borrowed(_) => text,
        Cow::Owned(scrubbed) => scrubbed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_built_in_shape_is_replaced() {
        let scrubber = Scrubber::new();
        let cases = [
            ("sk-abcdefghijklmnopqrstuvwxyz012345", "[REDACTED]"),
            ("sk-proj-AbC_dEf-1234567890abcdefghij", "[REDACTED]"),
            ("sk-svcacct-0123456789abcdefghijklmn", "[REDACTED]"),
            (
                "Authorization: Basic dXNlcjpwYXNzd29yZA==",
                "Authorization: Basic [REDACTED]",
            ),
            (
                r#""authorization": "Token abcdef0123456789""#,
                r#""authorization": "Token [REDACTED]""#,
            ),
            ("bearer abcdefghijklmnopqrstuvwxyz", "bearer [REDACTED]"),
            ("AKIAIOSFODNN7EXAMPLE", "[REDACTED]"),
            (
                "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "aws_secret_access_key=[REDACTED]",
            ),
            ("ghp_0123456789abcdefghijklmnopqrstuvwxyzAB", "[REDACTED]"),
            ("github_pat_11ABCDEFG0123456789_abcdefghijkl", "[REDACTED]"),
        ];
        for (secret, expected) in cases {
            assert_eq!(scrubber.scrub(secret), expected, "{secret}");
        }
    }

    #[test]
    fn prose_that_looks_almost_like_a_secret_stays() {
        let scrubber = Scrubber::new();
        for text in [
            "the bearer of bad news",
            "task-1234 and sk-short",
            "Authorization is required",
            "askdjaskd-qwertyuiopasdfghjklzxcv",
        ] {
            assert_eq!(scrubber.scrub(text), text);
        }
    }

    #[test]
    fn json_values_and_json_text_are_scrubbed_alike() {
        let scrubber = Scrubber::new();
        let mut value = json!({"headers": {"Authorization": "Bearer abcdefghijklmnopqrstuvwx"},
            "sk-abcdefghijklmnopqrstuvwxyz": ["ok", "key sk-abcdefghijklmnopqrstuvwxyz"]});
        let mut text = serde_json::to_vec(&value).unwrap();
        scrubber.scrub_value(&mut value);
        scrubber.scrub_bytes(&mut text);
        assert_eq!(serde_json::from_slice::<Value>(&text).unwrap(), value);
        assert_eq!(
            value,
            json!({"headers": {"Authorization": "Bearer [REDACTED]"}, "[REDACTED]": ["ok", "key [REDACTED]"]})
        );
    }

    #[test]
    fn review_findings_stay_fixed() {
        let scrubber = Scrubber::new();
        // A secret right after an escape (`\n` ends in a word character).
        let mut text = br#"{"output":"line1\nsk-abcdefghijklmnopqrstuvwxyz012345"}"#.to_vec();
        scrubber.scrub_bytes(&mut text);
        assert_eq!(
            serde_json::from_slice::<Value>(&text).unwrap(),
            json!({"output": "line1\n[REDACTED]"})
        );
        // Secrets named by their key, in a value.
        let mut value = json!({"headers": {"Authorization": "Basic dXNlcjpwYXNzd29yZA=="},
            "aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"});
        scrubber.scrub_value(&mut value);
        assert_eq!(
            value,
            json!({"headers": {"Authorization": "Basic [REDACTED]"}, "aws_secret_access_key": "[REDACTED]"})
        );
        // Numbers are not strings: JSON stays valid.
        let mut text = br#"{"authorization":123456789012345,"n":"x"}"#.to_vec();
        scrubber.scrub_bytes(&mut text);
        assert_eq!(text, br#"{"authorization":123456789012345,"n":"x"}"#);
        let digits = Scrubber::new().with_pattern(r"\b\d{6}\b").unwrap();
        let mut text = br#"{"input_tokens":123456,"note":"pin 654321"}"#.to_vec();
        digits.scrub_bytes(&mut text);
        assert_eq!(text, br#"{"input_tokens":123456,"note":"pin [REDACTED]"}"#);
        // Two keys that scrub alike both stay.
        let mut value =
            json!({"sk-abcdefghijklmnopqrstuvwxyz": 1, "sk-zyxwvutsrqponmlkjihgfedcba": 2});
        scrubber.scrub_value(&mut value);
        assert_eq!(value.as_object().unwrap().len(), 2);
    }

    #[test]
    fn secrets_in_escaped_json_text_are_found_too() {
        let scrubber = Scrubber::new();
        let value = json!({"log": "header: Authorization=\"Basic dXNlcjpwYXNzd29yZA==\""});
        let mut text = serde_json::to_vec(&value).unwrap();
        scrubber.scrub_bytes(&mut text);
        let scrubbed: Value = serde_json::from_slice(&text).unwrap();
        assert_eq!(
            scrubbed,
            json!({"log": "header: Authorization=\"Basic [REDACTED]\""})
        );
    }

    #[test]
    fn a_match_that_would_cross_a_json_string_is_left_alone() {
        let scrubber = Scrubber::disabled().with_pattern(r#"secret"?\w+"#).unwrap();
        let mut text = br#"{"a":"secret","b":"secretvalue"}"#.to_vec();
        scrubber.scrub_bytes(&mut text);
        assert_eq!(text, br#"{"a":"secret","b":"[REDACTED]"}"#);
        assert!(!Scrubber::disabled().is_enabled());
        assert_eq!(
            Scrubber::disabled().scrub("sk-abcdefghijklmnopqrstuvwxyz"),
            "sk-abcdefghijklmnopqrstuvwxyz"
        );
    }
}

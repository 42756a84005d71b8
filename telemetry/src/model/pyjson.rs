//! Python's `json.loads` errors: the text of the `json.JSONDecodeError` CPython's decoder
//! raises for a document it cannot read (`Expecting value: line 1 column 7 (char 6)`).
//!
//! The client puts it on a function span when a tool with a custom failure handler gets
//! arguments that are not JSON and sensitive data is traced. This follows CPython 3.11's
//! scanner (`Modules/_json.c`, `Lib/json/decoder.py`): the first error in document order, with
//! its message and position (in characters; line and column counted from 1).

/// `str()` of the `JSONDecodeError` that `json.loads(text)` raises, or `None` when Python
/// reads `text` (which includes `NaN`, `Infinity` and `-Infinity`, which strict JSON
/// parsers refuse).
///
/// ```
/// use codex_telemetry::pyjson::json_decode_error;
///
/// assert_eq!(json_decode_error(r#"{"x": "#).as_deref(), Some("Expecting value: line 1 column 7 (char 6)"));
/// assert_eq!(json_decode_error("[1, 2]"), None);
/// assert_eq!(json_decode_error("{'x': 1}").as_deref(), Some("Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"));
/// ```
pub fn json_decode_error(text: &str) -> Option<String> {
    if text.starts_with('\u{feff}') {
        // `json.loads` checks for a byte-order mark before it scans.
        return Some(
            "Unexpected UTF-8 BOM (decode using utf-8-sig): line 1 column 1 (char 0)".into(),
        );
    }
    let chars: Vec<char> = text.chars().collect();
    let scanner = Scanner { s: &chars };
    let start = scanner.whitespace(0);
    let (message, at) = match scanner.value(start, 0) {
        Ok(end) => {
            let end = scanner.whitespace(end);
            if end == chars.len() {
                return None;
            }
            ("Extra data", end)
        }
        Err(Stop::Value(at)) => ("Expecting value", at),
        Err(Stop::Error(message, at)) => (message, at),
        // CPython's scanner hits the interpreter's recursion limit: a `RecursionError`,
        // which is no `JSONDecodeError`.
        Err(Stop::TooDeep) => return None,
    };
    let before = &chars[..at.min(chars.len())];
    let line = before.iter().filter(|c| **c == '\n').count() + 1;
    let column = match before.iter().rposition(|c| *c == '\n') {
        Some(newline) => at - newline,
        None => at + 1,
    };
    Some(format!(
        "{message}: line {line} column {column} (char {at})"
    ))
}

/// Why scanning stopped: no value where one must start (Python's `StopIteration`, reported
/// as `Expecting value`), or an error of its own.
enum Stop {
    Value(usize),
    Error(&'static str, usize),
    /// Nested deeper than [`MAX_DEPTH`].
    TooDeep,
}

/// How deep CPython's scanner nests before its recursion limit (1,000 frames, some of which
/// the caller uses) stops it; also what keeps this scanner's recursion bounded.
const MAX_DEPTH: usize = 900;

struct Scanner<'a> {
    s: &'a [char],
}

impl Scanner<'_> {
    fn at(&self, i: usize) -> Option<char> {
        self.s.get(i).copied()
    }

    fn starts(&self, i: usize, word: &str) -> bool {
        word.chars()
            .enumerate()
            .all(|(k, c)| self.at(i + k) == Some(c))
    }

    fn whitespace(&self, mut i: usize) -> usize {
        while matches!(self.at(i), Some(' ' | '\t' | '\n' | '\r')) {
            i += 1;
        }
        i
    }

    /// `scan_once`: the end of the value starting at `i`, `depth` containers deep.
    fn value(&self, i: usize, depth: usize) -> Result<usize, Stop> {
        if depth > MAX_DEPTH {
            return Err(Stop::TooDeep);
        }
        match self.at(i) {
            None => Err(Stop::Value(i)),
            Some('"') => self.string(i + 1),
            Some('{') => self.object(i + 1, depth + 1),
            Some('[') => self.array(i + 1, depth + 1),
            Some('n') if self.starts(i, "null") => Ok(i + 4),
            Some('t') if self.starts(i, "true") => Ok(i + 4),
            Some('f') if self.starts(i, "false") => Ok(i + 5),
            Some('N') if self.starts(i, "NaN") => Ok(i + 3),
            Some('I') if self.starts(i, "Infinity") => Ok(i + 8),
            Some('-') if self.starts(i, "-Infinity") => Ok(i + 9),
            Some(c) if c == '-' || c.is_ascii_digit() => self.number(i),
            Some(_) => Err(Stop::Value(i)),
        }
    }

    /// `-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?`; no match is no value.
    fn number(&self, i: usize) -> Result<usize, Stop> {
        let digit = |j: usize| self.at(j).is_some_and(|c| c.is_ascii_digit());
        let mut j = i;
        if self.at(j) == Some('-') {
            j += 1;
        }
        match self.at(j) {
            Some('0') => j += 1,
            Some(c) if c.is_ascii_digit() => {
                while digit(j) {
                    j += 1;
                }
            }
            _ => return Err(Stop::Value(i)),
        }
        if self.at(j) == Some('.') && digit(j + 1) {
            j += 1;
            while digit(j) {
                j += 1;
            }
        }
        if matches!(self.at(j), Some('e' | 'E')) {
            let mut k = j + 1;
            if matches!(self.at(k), Some('+' | '-')) {
                k += 1;
            }
            if digit(k) {
                while digit(k) {
                    k += 1;
                }
                j = k;
            }
        }
        Ok(j)
    }

    /// `scanstring` (strict): `i` is just after the opening quote.
    fn string(&self, i: usize) -> Result<usize, Stop> {
        let begin = i - 1;
        let mut j = i;
        loop {
            match self.at(j) {
                None => return Err(Stop::Error("Unterminated string starting at", begin)),
                Some('"') => return Ok(j + 1),
                Some('\\') => {
                    j += 1;
                    match self.at(j) {
                        None => return Err(Stop::Error("Unterminated string starting at", begin)),
                        Some('"' | '\\' | '/' | 'b' | 'f' | 'n' | 'r' | 't') => j += 1,
                        Some('u') => {
                            let hex = (1..=4)
                                .all(|k| self.at(j + k).is_some_and(|c| c.is_ascii_hexdigit()));
                            // CPython also wants a character after the four digits.
                            if !hex || j + 5 >= self.s.len() {
                                return Err(Stop::Error("Invalid \\uXXXX escape", j));
                            }
                            j += 5;
                        }
                        Some(_) => return Err(Stop::Error("Invalid \\escape", j - 1)),
                    }
                }
                Some(c) if (c as u32) < 0x20 => {
                    return Err(Stop::Error("Invalid control character at", j));
                }
                Some(_) => j += 1,
            }
        }
    }

    /// `_parse_object_unicode`: `i` is just after `{`.
    fn object(&self, i: usize, depth: usize) -> Result<usize, Stop> {
        let mut j = self.whitespace(i);
        if self.at(j) == Some('}') {
            return Ok(j + 1);
        }
        loop {
            if self.at(j) != Some('"') {
                return Err(Stop::Error(
                    "Expecting property name enclosed in double quotes",
                    j,
                ));
            }
            j = self.whitespace(self.string(j + 1)?);
            if self.at(j) != Some(':') {
                return Err(Stop::Error("Expecting ':' delimiter", j));
            }
            j = self.whitespace(j + 1);
            j = self.whitespace(self.value(j, depth)?);
            match self.at(j) {
                Some('}') => return Ok(j + 1),
                Some(',') => j = self.whitespace(j + 1),
                _ => return Err(Stop::Error("Expecting ',' delimiter", j)),
            }
        }
    }

    /// `_parse_array_unicode`: `i` is just after `[`.
    fn array(&self, i: usize, depth: usize) -> Result<usize, Stop> {
        let mut j = self.whitespace(i);
        if self.at(j) == Some(']') {
            return Ok(j + 1);
        }
        loop {
            j = self.whitespace(self.value(j, depth)?);
            match self.at(j) {
                Some(']') => return Ok(j + 1),
                Some(',') => j = self.whitespace(j + 1),
                _ => return Err(Stop::Error("Expecting ',' delimiter", j)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 450 documents (hand-picked and random) with what CPython 3.11's `json.loads` said of
    /// each: `null` when it read it, else `str()` of its `JSONDecodeError`
    /// (`tests/data/python_json_errors.jsonl`, written by the venv's python).
    #[test]
    fn every_error_is_the_one_python_raises() {
        let table = include_str!("../../tests/data/python_json_errors.jsonl");
        let mut checked = 0;
        for line in table.lines() {
            let (text, expected): (String, Option<String>) =
                serde_json::from_str(line).expect("a [text, error] pair");
            assert_eq!(json_decode_error(&text), expected, "json.loads({text:?})");
            checked += 1;
        }
        assert_eq!(checked, 450);
    }

    /// Cases CPython 3.11 was asked about directly: a `\uXXXX` escape at the very end, a
    /// byte-order mark, and nesting past the recursion limit (a `RecursionError`, no
    /// `JSONDecodeError`; and no stack overflow here).
    #[test]
    fn escapes_at_the_end_a_bom_and_deep_nesting_are_python_s() {
        let error = |text: &str| json_decode_error(text);
        assert_eq!(
            error("{\"city\": \"\\u00e9").as_deref(),
            Some("Invalid \\uXXXX escape: line 1 column 12 (char 11)")
        );
        assert_eq!(
            error("\"\\ud83d\\ude00").as_deref(),
            Some("Invalid \\uXXXX escape: line 1 column 9 (char 8)")
        );
        assert_eq!(error("\"\\ud83d\\ude00\""), None);
        assert_eq!(
            error("\u{feff}{}").as_deref(),
            Some("Unexpected UTF-8 BOM (decode using utf-8-sig): line 1 column 1 (char 0)")
        );
        assert_eq!(error(&"[".repeat(200_000)), None);
        assert_eq!(
            error(&"[".repeat(100)).as_deref(),
            Some("Expecting value: line 1 column 101 (char 100)")
        );
    }
}

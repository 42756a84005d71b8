//! The first difference between two transcripts, as a path a reviewer can act on:
//! `trace#1 > span#3 (turn) > span#5 (function) > output`, or `log #7 "Running agent weather
//! (turn 2)"`.
//!
//! It reads the transcript text (the golden format, `docs/normalization.md`): the `--- spans`
//! section gives each span's ancestors and type, and a differing span line is compared field by
//! field. Pure text in, text out, so it works on any two transcripts, golden or not.

use std::collections::BTreeMap;

use serde_json::Value;

/// The path of the first line where `expected` and `actual` differ (both compared as insta
/// compares them); `None` when they are equal.
pub fn first_difference(expected: &str, actual: &str) -> Option<String> {
    let expected: Vec<&str> = expected.trim_end().lines().collect();
    let actual: Vec<&str> = actual.trim_end().lines().collect();
    let index = (0..expected.len().max(actual.len()))
        .find(|&i| expected.get(i).map(|l| l.trim_end()) != actual.get(i).map(|l| l.trim_end()))?;
    let reference = if index < expected.len() {
        &expected
    } else {
        &actual
    };
    let tree = SpanTree::read(&expected).merged(SpanTree::read(&actual));
    let section = reference[..=index]
        .iter()
        .rev()
        .find_map(|line| line.strip_prefix("--- "))
        .unwrap_or("header");
    let (old, new) = (expected.get(index).copied(), actual.get(index).copied());
    let line = old.or(new).unwrap_or_default().trim_start();
    if index == 0 {
        return Some("normalizer version".into());
    }
    if line.starts_with("--- ") {
        return Some(format!("section {line:?}"));
    }
    Some(match section {
        "events" => event_path(reference, index, line, old, new, &tree),
        "spans" => span_line_path(line, old, new, &tree),
        "findings" => format!("finding {:?}", new.or(old).unwrap_or_default().trim()),
        _ => format!("line {}", index + 1),
    })
}

/// Ancestors and labels of spans, from the `--- spans` section.
#[derive(Debug, Default)]
struct SpanTree {
    /// `span#N` → (parent placeholder, label), where the parent may be a `trace#N`.
    nodes: BTreeMap<String, (String, String)>,
}

impl SpanTree {
    fn read(lines: &[&str]) -> SpanTree {
        let mut tree = SpanTree::default();
        let Some(start) = lines.iter().position(|l| *l == "--- spans") else {
            return tree;
        };
        // The open ancestor at each depth.
        let mut stack: Vec<String> = Vec::new();
        for line in &lines[start + 1..] {
            if line.starts_with("--- ") {
                break;
            }
            let depth = (line.len() - line.trim_start().len()) / 2;
            let trimmed = line.trim_start();
            let Some((id, rest)) = trimmed.split_once(' ') else {
                continue;
            };
            stack.truncate(depth);
            if let Some(parent) = stack.last() {
                tree.nodes
                    .insert(id.to_owned(), (parent.clone(), label(payload(rest))));
            }
            stack.push(id.to_owned());
        }
        tree
    }

    /// Spans known only to `other` are added (a span only the subject has).
    fn merged(mut self, other: SpanTree) -> SpanTree {
        for (id, node) in other.nodes {
            self.nodes.entry(id).or_insert(node);
        }
        self
    }

    /// `trace#1 > span#1 (task) > span#3 (turn)` for `span#3`.
    fn path(&self, id: &str) -> String {
        let mut parts = Vec::new();
        let mut current = id.to_owned();
        // Bounded by the number of spans: a malformed tree cannot loop forever.
        for _ in 0..=self.nodes.len() {
            match self.nodes.get(&current) {
                Some((parent, label)) => {
                    parts.push(format!("{current} ({label})"));
                    current = parent.clone();
                }
                None => {
                    parts.push(current);
                    break;
                }
            }
        }
        parts.reverse();
        parts.join(" > ")
    }
}

/// The JSON payload at the start of `rest` (a span line's `{…}` before ` error=`/` metadata=`).
fn payload(rest: &str) -> Option<Value> {
    let mut stream = serde_json::Deserializer::from_str(rest).into_iter::<Value>();
    stream.next().and_then(Result::ok)
}

/// A span's label: its type, or a custom span's name (`turn`, `task`).
fn label(payload: Option<Value>) -> String {
    let Some(payload) = payload else {
        return "?".into();
    };
    let kind = payload.get("type").and_then(Value::as_str).unwrap_or("?");
    match (kind, payload.get("name").and_then(Value::as_str)) {
        ("custom", Some(name)) => name.to_owned(),
        (kind, _) => kind.to_owned(),
    }
}

/// Where a span's or trace's JSON payload starts on a transcript line.
const PAYLOAD_START: char = '{';

/// The JSON payload of a transcript line, if it has one.
fn line_payload(line: &str) -> Option<Value> {
    line.find(PAYLOAD_START).and_then(|at| payload(&line[at..]))
}

/// A line of the `--- events` section: a log line by its ordinal and message, a hook by its
/// name, a span or trace event by its span's ancestors (and the first differing field), the
/// outcome by its first differing field; each with the span it happened in.
fn event_path(
    lines: &[&str],
    index: usize,
    line: &str,
    old: Option<&str>,
    new: Option<&str>,
    tree: &SpanTree,
) -> String {
    let place = || {
        line.rsplit_once(" @")
            .map(|(_, id)| id)
            .filter(|id| id.starts_with("span#") || id.starts_with("trace#"))
            .map(|id| format!(" at {}", tree.path(id)))
            .unwrap_or_default()
    };
    match line.split_whitespace().next().unwrap_or_default() {
        "log" => {
            let ordinal = lines[..=index]
                .iter()
                .filter(|l| l.trim_start().starts_with("log "))
                .count();
            let message = line
                .split_once(' ')
                .and_then(|(_, rest)| rest.split_once(' '))
                .map(|(_, rest)| rest.rsplit_once(" @").map_or(rest, |(m, _)| m))
                .unwrap_or_default();
            format!("log #{ordinal} {message}{}", place())
        }
        "hook" => {
            let name = word(line, 1).unwrap_or_default();
            format!("hook {name}{}", place())
        }
        "span_start" | "span_end" | "trace_start" | "trace_end" => {
            span_event_path(line, old, new, tree)
        }
        "outcome" => match first_field(&old.and_then(line_payload), &new.and_then(line_payload)) {
            Some(field) => format!("outcome > {field}"),
            None => "outcome".into(),
        },
        other => format!("event {other}"),
    }
}

/// The `n`th word of a line.
fn word(line: &str, n: usize) -> Option<String> {
    line.split_whitespace().nth(n).map(str::to_owned)
}

/// A span or trace event: the span's ancestors, and the first differing field when both
/// lines are about the same span.
fn span_event_path(line: &str, old: Option<&str>, new: Option<&str>, tree: &SpanTree) -> String {
    let kind = word(line, 0).unwrap_or_default();
    let id = word(line, 1).unwrap_or_default();
    let field = match (old, new) {
        (Some(old), Some(new)) if word(old, 1) == word(new, 1) => {
            first_field(&line_payload(old), &line_payload(new))
                .map(|f| format!(" > {f}"))
                .unwrap_or_default()
        }
        _ => String::new(),
    };
    format!("{} {kind}{field}", tree.path(&id))
}

fn span_line_path(line: &str, old: Option<&str>, new: Option<&str>, tree: &SpanTree) -> String {
    let id = line.split_whitespace().next().unwrap_or_default();
    let fields = |l: Option<&str>| -> Option<Value> {
        let l = l?.trim_start();
        let (_, rest) = l.split_once(' ')?;
        let mut object = payload(rest)?.as_object()?.clone();
        // `error=` and `metadata=` follow the payload on the line.
        for key in ["error", "metadata"] {
            if let Some(at) = rest.find(&format!(" {key}=")) {
                let text = &rest[at + key.len() + 2..];
                object.insert(key.into(), payload(text).unwrap_or(Value::Null));
            }
        }
        Some(Value::Object(object))
    };
    let same_span = old.and_then(|l| l.split_whitespace().next())
        == new.and_then(|l| l.split_whitespace().next());
    match first_field(&fields(old), &fields(new)).filter(|_| same_span) {
        Some(field) => format!("{} > {field}", tree.path(id)),
        None => tree.path(id),
    }
}

/// The dotted path of the first key whose value differs (keys in sorted order, as rendered).
fn first_field(old: &Option<Value>, new: &Option<Value>) -> Option<String> {
    fn walk(old: &Value, new: &Value, prefix: &str) -> Option<String> {
        match (old, new) {
            (Value::Object(a), Value::Object(b)) => {
                let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
                keys.sort();
                keys.dedup();
                keys.into_iter().find_map(|key| {
                    let path = if prefix.is_empty() {
                        key.clone()
                    } else {
                        format!("{prefix}.{key}")
                    };
                    match (a.get(key), b.get(key)) {
                        (Some(x), Some(y)) if x == y => None,
                        (Some(x), Some(y)) => walk(x, y, &path).or(Some(path)),
                        _ => Some(path),
                    }
                })
            }
            _ if old != new => (!prefix.is_empty()).then(|| prefix.to_owned()),
            _ => None,
        }
    }
    match (old, new) {
        (Some(old), Some(new)) => walk(old, new, ""),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOLDEN: &str = r#"normalizer: v2
--- events
log DEBUG "Creating trace"
trace_start trace#1 {"workflow_name":"Agent workflow"}
  span_start span#1 parent=- {"data":{"name":"Agent workflow"},"name":"task","type":"custom"}
    span_start span#2 parent=span#1 {"name":"weather","type":"agent"}
      span_start span#3 parent=span#2 {"name":"turn","type":"custom"}
        log DEBUG "Running agent weather (turn 2)" @span#3
        span_start span#4 parent=span#3 {"input":null,"name":"get_weather","output":null,"type":"function"}
        span_end span#4
      span_end span#3
    span_end span#2
  span_end span#1
trace_end trace#1
outcome {"final_output":"Sunny.","status":"completed"}
--- spans
trace#1 {"workflow_name":"Agent workflow"}
  span#1 {"data":{"name":"Agent workflow"},"name":"task","type":"custom"}
    span#2 {"name":"weather","type":"agent"}
      span#3 {"name":"turn","type":"custom"}
        span#4 {"input":"{}","name":"get_weather","output":"sunny","type":"function"}
--- findings
none
"#;

    #[test]
    fn a_span_field_is_named_with_its_ancestors() {
        let actual = GOLDEN.replace(r#""output":"sunny""#, r#""output":"rainy""#);
        assert_eq!(
            first_difference(GOLDEN, &actual).unwrap(),
            "trace#1 > span#1 (task) > span#2 (agent) > span#3 (turn) > span#4 (function) > output"
        );
    }

    #[test]
    fn a_log_line_is_named_by_its_ordinal_and_message() {
        let actual = GOLDEN.replace("(turn 2)", "(turn 3)");
        assert_eq!(
            first_difference(GOLDEN, &actual).unwrap(),
            r#"log #2 "Running agent weather (turn 2)" at trace#1 > span#1 (task) > span#2 (agent) > span#3 (turn)"#
        );
    }

    #[test]
    fn errors_outcomes_and_equal_texts() {
        let actual = GOLDEN.replace(
            r#"      span#3 {"name":"turn","type":"custom"}"#,
            r#"      span#3 {"name":"turn","type":"custom"} error={"message":"Tool not found"}"#,
        );
        assert_eq!(
            first_difference(GOLDEN, &actual).unwrap(),
            "trace#1 > span#1 (task) > span#2 (agent) > span#3 (turn) > error"
        );
        let actual = GOLDEN.replace(r#""final_output":"Sunny.""#, r#""final_output":"Rain.""#);
        assert_eq!(
            first_difference(GOLDEN, &actual).unwrap(),
            "outcome > final_output"
        );
        assert_eq!(first_difference(GOLDEN, &format!("{GOLDEN}\n")), None);
        let actual = GOLDEN.replace("normalizer: v2", "normalizer: v1");
        assert_eq!(
            first_difference(GOLDEN, &actual).unwrap(),
            "normalizer version"
        );
    }
}

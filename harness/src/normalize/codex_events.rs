//! The rust subject's Codex lifecycle events as a canonical text (an extension transcript,
//! compared with `golden/extensions/<scenario>.snap`, never with the python goldens).
//!
//! One line per event, in emission order: `LEVEL event.name tok#N {fields}`. Ids get
//! placeholders by first appearance (`trace#N`, `span#N`, `thread#N`, and `tok#N` for span
//! tokens). `event.timestamp` and `duration_ms` vary from run to run: they are checked (an ISO
//! UTC timestamp on every event; a non-negative integer on every end and on no start) and then
//! dropped, like span timestamps. Pairing is checked too: every `stop`/`exception` ends an
//! open `start` of its namespace with the same token, and every start ends, except an approval
//! still waiting when the scenario ends. Violations are findings, listed at the end.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::json::canonical;

/// The version of this format: the first line of every extension golden.
pub const CODEX_EVENTS_VERSION: u32 = 1;

/// The canonical text of `events` (as the rust subject records them).
pub fn normalize_codex_events(events: &[Value]) -> String {
    let mut renamer = Placeholders::default();
    let mut findings = Vec::new();
    let mut open: Vec<(String, String)> = Vec::new();
    let mut lines = Vec::with_capacity(events.len());
    for (index, event) in events.iter().enumerate() {
        let mut finding = |message: String| findings.push(format!("event {index}: {message}"));
        let Some(fields) = event.as_object() else {
            finding("not an object".into());
            continue;
        };
        let mut fields = fields.clone();
        let level = take_str(&mut fields, "level").unwrap_or_default();
        let Some(name) = take_str(&mut fields, "event.name") else {
            finding("no event.name".into());
            continue;
        };
        let (namespace, phase) = match name.strip_prefix("codex.").and_then(|n| n.rsplit_once('.'))
        {
            Some((namespace, phase)) if ["start", "stop", "exception"].contains(&phase) => {
                (namespace.to_owned(), phase.to_owned())
            }
            _ => {
                finding(format!(
                    "event.name {name:?} is not codex.<namespace>.<start|stop|exception>"
                ));
                (String::new(), String::new())
            }
        };
        match take_str(&mut fields, "event.timestamp") {
            Some(timestamp) if is_iso_utc(&timestamp) => {}
            other => finding(format!(
                "{name}: event.timestamp {other:?} is not an ISO-8601 UTC time"
            )),
        }
        match (phase.as_str(), fields.remove("duration_ms")) {
            ("start", None) => {}
            ("start", Some(_)) => finding(format!("{name}: a start has no duration_ms")),
            (_, Some(Value::Number(n))) if n.is_u64() => {}
            (_, other) => finding(format!(
                "{name}: duration_ms {other:?} is not a non-negative integer"
            )),
        }
        match fields.get("originator").and_then(Value::as_str) {
            Some("sdk" | "cli") => {}
            other => finding(format!("{name}: originator {other:?} is not sdk or cli")),
        }
        let token = take_str(&mut fields, "span.token").unwrap_or_default();
        if !is_token(&token) {
            finding(format!(
                "{name}: span.token {token:?} is not tok_ and 24 hex digits"
            ));
        }
        if phase == "start" {
            open.push((namespace.clone(), token.clone()));
        } else if let Some(position) = open
            .iter()
            .position(|(n, t)| *n == namespace && *t == token)
        {
            open.remove(position);
        } else if !phase.is_empty() {
            finding(format!("{name} ends no open start (span.token {token})"));
        }
        for (key, kind) in [
            ("trace.id", "trace"),
            ("span.id", "span"),
            ("thread.id", "thread"),
        ] {
            if let Some(Value::String(id)) = fields.get_mut(key) {
                *id = renamer.name(kind, id);
            }
        }
        let token = renamer.name("tok", &token);
        lines.push(format!(
            "{level} {name} {token} {}",
            canonical(&Value::Object(fields))
        ));
    }
    for (namespace, token) in open {
        // A run interrupted and not resumed leaves its approvals waiting: that is their state.
        if namespace != "approval" {
            findings.push(format!(
                "codex.{namespace}.start {} never ends",
                renamer.name("tok", &token)
            ));
        }
    }
    let mut out = format!("codex-events: v{CODEX_EVENTS_VERSION}\n--- events\n");
    for line in lines {
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str("--- findings\n");
    if findings.is_empty() {
        out.push_str("none\n");
    }
    for finding in findings {
        out.push_str(&finding);
        out.push('\n');
    }
    out
}

fn take_str(fields: &mut Map<String, Value>, key: &str) -> Option<String> {
    match fields.remove(key) {
        Some(Value::String(text)) => Some(text),
        _ => None,
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00`, as the library's `Timestamp::to_isoformat` writes.
fn is_iso_utc(text: &str) -> bool {
    let Some(body) = text.strip_suffix("+00:00") else {
        return false;
    };
    let (seconds, fraction) = body.split_once('.').unwrap_or((body, "000000"));
    let shape = seconds.len() == 19
        && seconds.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            10 => b == b'T',
            13 | 16 => b == b':',
            _ => b.is_ascii_digit(),
        });
    shape && fraction.len() == 6 && fraction.bytes().all(|b| b.is_ascii_digit())
}

fn is_token(text: &str) -> bool {
    text.strip_prefix("tok_")
        .is_some_and(|hex| hex.len() == 24 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Placeholders by kind, numbered by first appearance.
#[derive(Default)]
struct Placeholders {
    names: BTreeMap<(String, String), String>,
    counts: BTreeMap<String, usize>,
}

impl Placeholders {
    fn name(&mut self, kind: &str, id: &str) -> String {
        let key = (kind.to_owned(), id.to_owned());
        if let Some(name) = self.names.get(&key) {
            return name.clone();
        }
        let count = self.counts.entry(kind.to_owned()).or_default();
        *count += 1;
        let name = format!("{kind}#{count}");
        self.names.insert(key, name.clone());
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(name: &str, token: &str, extra: Value) -> Value {
        let mut event = json!({
            "level": "INFO",
            "event.name": name,
            "event.timestamp": "2026-11-30T07:00:00.123456+00:00",
            "originator": "sdk",
            "span.token": token,
            "thread.id": "thread_abc",
            "trace.id": "trace_0123",
        });
        event
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        event
    }

    const T1: &str = "tok_0000000000000000000000a1";
    const T2: &str = "tok_0000000000000000000000b2";

    #[test]
    fn ids_become_placeholders_and_varying_fields_are_dropped() {
        let text = normalize_codex_events(&[
            event("codex.thread.start", T1, json!({"streamed": false})),
            event(
                "codex.thread.stop",
                T1,
                json!({"duration_ms": 1532, "outcome": "completed"}),
            ),
        ]);
        assert_eq!(
            text,
            "codex-events: v1\n--- events\n\
             INFO codex.thread.start tok#1 {\"originator\":\"sdk\",\"streamed\":false,\"thread.id\":\"thread#1\",\"trace.id\":\"trace#1\"}\n\
             INFO codex.thread.stop tok#1 {\"originator\":\"sdk\",\"outcome\":\"completed\",\"thread.id\":\"thread#1\",\"trace.id\":\"trace#1\"}\n\
             --- findings\nnone\n"
        );
    }

    #[test]
    fn broken_pairs_and_fields_are_findings() {
        let text = normalize_codex_events(&[
            event("codex.tool.start", T1, json!({"duration_ms": 3})),
            event("codex.turn.stop", T2, json!({})),
            event("codex.approval.start", T2, json!({})),
        ]);
        let findings: Vec<&str> = text
            .split("--- findings\n")
            .nth(1)
            .unwrap()
            .lines()
            .collect();
        assert_eq!(
            findings,
            [
                "event 0: codex.tool.start: a start has no duration_ms",
                "event 1: codex.turn.stop: duration_ms None is not a non-negative integer",
                "event 1: codex.turn.stop ends no open start (span.token tok_0000000000000000000000b2)",
                "codex.tool.start tok#1 never ends",
            ]
        );
    }
}

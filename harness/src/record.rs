//! Raw records: what a subject emitted, in emission order, never edited after capture.
//!
//! This is the common schema of every subject (DESIGN §4, a **contract**): `parity show
//! SCENARIO --raw` prints one [`RawRecord`] per line as `{"seq": N, "kind": K, "data": {...}}`.
//! `data` stays a JSON value on purpose: the normalizer validates it, so a subject that emits a
//! malformed record produces a finding in the transcript instead of a parse failure here.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The kind of a raw record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// A trace started; `data` is the trace export.
    TraceStart,
    /// A trace ended; `data` is the trace export.
    TraceEnd,
    /// A span started; `data` is the span export snapshotted at the event.
    SpanStart,
    /// A span ended; `data` is the span export snapshotted at the event.
    SpanEnd,
    /// A log line on the `openai.agents` logger (or a child of it).
    Log,
    /// A RunHooks or AgentHooks callback.
    Hook,
    /// How the run ended; one per run, last.
    Outcome,
}

impl RecordKind {
    /// The wire name of the kind, as in `{"kind": "span_start"}`.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::TraceStart => "trace_start",
            RecordKind::TraceEnd => "trace_end",
            RecordKind::SpanStart => "span_start",
            RecordKind::SpanEnd => "span_end",
            RecordKind::Log => "log",
            RecordKind::Hook => "hook",
            RecordKind::Outcome => "outcome",
        }
    }
}

/// One record of a [`RawLog`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRecord {
    /// Emission index, starting at 0, strictly increasing.
    pub seq: u64,
    /// What happened.
    pub kind: RecordKind,
    /// The payload; its shape depends on `kind` (DESIGN §4).
    pub data: Value,
}

/// The ordered records of one scenario run by one subject.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RawLog {
    /// Records in emission order.
    pub records: Vec<RawRecord>,
}

impl RawLog {
    /// Renders the log as JSON Lines, one record per line (the `--raw` format).
    pub fn to_json_lines(&self) -> String {
        let mut out = String::new();
        for record in &self.records {
            // Serializing a `Value` tree cannot fail.
            out.push_str(&serde_json::to_string(record).expect("raw record serializes"));
            out.push('\n');
        }
        out
    }

    /// Parses JSON Lines produced by [`RawLog::to_json_lines`] or by an external subject.
    pub fn from_json_lines(text: &str) -> Result<RawLog, (usize, serde_json::Error)> {
        let mut records = Vec::new();
        for (index, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let record = serde_json::from_str(line).map_err(|e| (index + 1, e))?;
            records.push(record);
        }
        Ok(RawLog { records })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_lines_round_trip_keeps_key_order() {
        let log = RawLog {
            records: vec![RawRecord {
                seq: 0,
                kind: RecordKind::TraceStart,
                data: json!({"object": "trace", "id": "trace_1", "workflow_name": "w"}),
            }],
        };
        let text = log.to_json_lines();
        assert_eq!(
            text,
            "{\"seq\":0,\"kind\":\"trace_start\",\"data\":{\"object\":\"trace\",\"id\":\"trace_1\",\"workflow_name\":\"w\"}}\n"
        );
        assert_eq!(RawLog::from_json_lines(&text).unwrap(), log);
    }

    #[test]
    fn json_lines_error_names_the_line() {
        let err = RawLog::from_json_lines("\n{\"seq\":0}\n").unwrap_err();
        assert_eq!(err.0, 2);
    }
}

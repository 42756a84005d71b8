//! Test helpers: a builder of raw logs in the Python client's export format.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::record::{RawLog, RawRecord, RecordKind};

/// A well-formed trace id built from a number.
pub(crate) fn tid(n: u128) -> String {
    format!("trace_{n:032x}")
}

/// A well-formed span id built from a number.
pub(crate) fn sid(n: u128) -> String {
    format!("span_{n:024x}")
}

/// Builds raw logs record by record, with a fake clock that ticks one microsecond per span event.
#[derive(Debug, Default)]
pub(crate) struct LogBuilder {
    records: Vec<RawRecord>,
    clock: u32,
    spans: HashMap<String, Value>,
}

impl LogBuilder {
    pub(crate) fn new() -> LogBuilder {
        LogBuilder::default()
    }

    /// The next timestamp of the fake clock (never a whole second, so never `.000000`).
    pub(crate) fn tick(&mut self) -> String {
        self.clock += 1;
        format!("2026-11-21T07:42:10.{:06}+00:00", self.clock)
    }

    pub(crate) fn push(&mut self, kind: RecordKind, data: Value) -> &mut LogBuilder {
        let seq = self.records.len() as u64;
        self.records.push(RawRecord { seq, kind, data });
        self
    }

    pub(crate) fn trace_start(&mut self, id: &str) -> &mut LogBuilder {
        self.push(RecordKind::TraceStart, trace_export(id, "Agent workflow"))
    }

    pub(crate) fn trace_end(&mut self, id: &str) -> &mut LogBuilder {
        self.push(RecordKind::TraceEnd, trace_export(id, "Agent workflow"))
    }

    /// A span start; the export is remembered so that `span_end` can repeat it.
    pub(crate) fn span_start(
        &mut self,
        id: &str,
        trace: &str,
        parent: Option<&str>,
        span_data: Value,
    ) -> &mut LogBuilder {
        let started_at = self.tick();
        let data = json!({
            "object": "trace.span",
            "id": id,
            "trace_id": trace,
            "parent_id": parent,
            "started_at": started_at,
            "ended_at": null,
            "span_data": span_data,
            "error": null,
        });
        self.spans.insert(id.to_owned(), data.clone());
        self.push(RecordKind::SpanStart, data)
    }

    /// A span end repeating the start export, with `ended_at` set and `span_data` replaced when
    /// given.
    pub(crate) fn span_end(&mut self, id: &str, span_data: Option<Value>) -> &mut LogBuilder {
        self.span_end_with(id, |data| {
            if let Some(span_data) = span_data {
                data["span_data"] = span_data;
            }
        })
    }

    /// A span end whose export is edited by `edit` after `ended_at` is set.
    pub(crate) fn span_end_with(
        &mut self,
        id: &str,
        edit: impl FnOnce(&mut Value),
    ) -> &mut LogBuilder {
        let ended_at = self.tick();
        let mut data = self
            .spans
            .get(id)
            .cloned()
            .expect("span_end of a span started by the builder");
        data["ended_at"] = json!(ended_at);
        edit(&mut data);
        self.push(RecordKind::SpanEnd, data)
    }

    pub(crate) fn log(
        &mut self,
        level: &str,
        message: &str,
        trace: Option<&str>,
        span: Option<&str>,
    ) -> &mut LogBuilder {
        self.push(
            RecordKind::Log,
            json!({
                "logger": "openai.agents",
                "level": level,
                "message": message,
                "trace_id": trace,
                "span_id": span,
            }),
        )
    }

    pub(crate) fn hook(
        &mut self,
        scope: &str,
        hook: &str,
        args: Value,
        trace: Option<&str>,
        span: Option<&str>,
    ) -> &mut LogBuilder {
        let mut data = json!({"hook": hook, "scope": scope});
        if let (Some(data), Some(args)) = (data.as_object_mut(), args.as_object()) {
            data.extend(args.clone());
        }
        data["trace_id"] = json!(trace);
        data["span_id"] = json!(span);
        self.push(RecordKind::Hook, data)
    }

    pub(crate) fn outcome(&mut self, data: Value) -> &mut LogBuilder {
        self.push(RecordKind::Outcome, data)
    }

    pub(crate) fn build(&self) -> RawLog {
        RawLog {
            records: self.records.clone(),
        }
    }
}

/// A trace export in Python's key order.
pub(crate) fn trace_export(id: &str, workflow_name: &str) -> Value {
    json!({
        "object": "trace",
        "id": id,
        "workflow_name": workflow_name,
        "group_id": null,
        "metadata": null,
    })
}

/// Parses a JSON Lines fixture.
pub(crate) fn fixture(text: &str) -> RawLog {
    RawLog::from_json_lines(text).expect("fixture parses")
}

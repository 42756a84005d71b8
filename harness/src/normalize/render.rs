//! Pass 4: rendering into the [`Transcript`] value, dropping what validation has checked.
//!
//! * Ids become placeholders (see `rename`); `object`, `started_at` and `ended_at` are dropped.
//! * Events, indented by depth: trace events, outcomes and logs without context at 0; a span at
//!   its depth in its trace's tree (a root span is 1); a log or hook one deeper than the span it
//!   names, or at 1 when it names only a trace.
//!   - `trace_start trace#N {export}`; `trace_end trace#N`, plus the export when it differs from
//!     the trace's latest `trace_start`.
//!   - `span_start span#N parent=span#M|- {span_data}[ error=…][ metadata=…]`; `span_end span#N`.
//!   - `log LEVEL "message"[ [logger]][ @span#N| @trace#N]`, logger shown when it is not
//!     `openai.agents`.
//!   - `hook scope.hook {args}[ @span#N| @trace#N]`.
//!   - `outcome {data}`.
//! * The span tree: per trace (by placeholder number) its end export, then its spans, children in
//!   start order, each with its *end* payload (its start payload when it never ended). Spans whose
//!   parent is unknown, in another trace, or part of a cycle are listed as roots.
//! * Fields outside the schema are never dropped silently: they are findings (see `validate`)
//!   and are rendered as ` key=json` after the known parts, sorted by key. A field that is missing
//!   renders as `<missing>`; one with the wrong type renders as its JSON.
//!
//! All JSON is canonical (see `json`).

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::json::{canonical, quote};
use super::rename::Renamer;
use super::view::{HOOK_KEYS, IdKind, Index, LOG_KEYS, SPAN_KEYS, View};
use crate::record::RecordKind;
use crate::transcript::{Event, Finding, SpanNode, TraceNode, Transcript};

const MISSING: &str = "<missing>";
const DEFAULT_LOGGER: &str = "openai.agents";

/// Builds the transcript from the canonical order, the renamer and the findings.
pub(crate) fn render(
    version: u32,
    index: &Index<'_>,
    order: &[usize],
    renamer: &Renamer,
    findings: Vec<Finding>,
) -> Transcript {
    let renderer = Renderer {
        index,
        renamer,
        depths: span_depths(index),
    };
    let events = order
        .iter()
        .map(|&i| renderer.event(index.view(i)))
        .collect();
    let traces = renderer.trees(order);
    Transcript::new(version, events, traces, findings)
}

struct Renderer<'i, 'a> {
    index: &'i Index<'a>,
    renamer: &'i Renamer,
    /// Depth of each span id in its trace's tree (a root span is 1).
    depths: HashMap<&'a str, usize>,
}

impl<'a> Renderer<'_, 'a> {
    fn event(&self, view: &View<'a>) -> Event {
        let (depth, text) = match view.obj() {
            None => (
                0,
                format!("{} data={}", view.kind.as_str(), self.json(view.data)),
            ),
            Some(obj) => match view.kind {
                RecordKind::TraceStart => {
                    (0, format!("trace_start {}", self.trace_line(view, obj)))
                }
                RecordKind::TraceEnd => (0, self.trace_end(view, obj)),
                RecordKind::SpanStart => (self.span_depth(view), self.span_start(view, obj)),
                RecordKind::SpanEnd => (
                    self.span_depth(view),
                    format!("span_end {}", self.id(view, IdKind::Span)),
                ),
                RecordKind::Log => (self.context_depth(view), self.log(view, obj)),
                RecordKind::Hook => (self.context_depth(view), self.hook(view, obj)),
                RecordKind::Outcome => (0, format!("outcome {}", self.json(view.data))),
            },
        };
        Event {
            depth,
            kind: view.kind,
            text,
        }
    }

    // === fields ===

    /// Canonical JSON of a value with known ids renamed.
    fn json(&self, value: &Value) -> String {
        canonical(&self.renamer.value(value))
    }

    /// A field as JSON, or `<missing>`.
    fn field_json(&self, view: &View<'_>, key: &str) -> String {
        view.field(key)
            .map_or_else(|| MISSING.to_owned(), |value| self.json(value))
    }

    /// A field that should be a plain word (level, scope): the string itself, or its JSON.
    fn field_word(&self, view: &View<'_>, key: &str) -> String {
        match view.field(key) {
            Some(Value::String(text)) => text.clone(),
            _ => self.field_json(view, key),
        }
    }

    /// The record's own `id` as a placeholder.
    fn id(&self, view: &View<'_>, kind: IdKind) -> String {
        match view.field("id") {
            Some(Value::String(id)) => self.renamer.name(kind, id),
            _ => self.field_json(view, "id"),
        }
    }

    /// ` key=json` for every field not in `known`, sorted by key.
    fn extras(&self, obj: &Map<String, Value>, known: &[&str]) -> String {
        let mut keys: Vec<&String> = obj
            .keys()
            .filter(|key| !known.contains(&key.as_str()))
            .collect();
        keys.sort();
        keys.into_iter()
            .map(|key| {
                format!(
                    " {}={}",
                    self.renamer.text(key).into_owned(),
                    self.json(&obj[key])
                )
            })
            .collect()
    }

    /// An object without the listed keys.
    fn without(obj: &Map<String, Value>, keys: &[&str]) -> Value {
        Value::Object(
            obj.iter()
                .filter(|(key, _)| !keys.contains(&key.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        )
    }

    // === traces ===

    /// `trace#N {export without object and id}`.
    fn trace_line(&self, view: &View<'_>, obj: &Map<String, Value>) -> String {
        format!(
            "{} {}",
            self.id(view, IdKind::Trace),
            self.json(&Self::without(obj, &["object", "id"]))
        )
    }

    fn trace_end(&self, view: &View<'a>, obj: &Map<String, Value>) -> String {
        let start = view.own_id().and_then(|id| {
            self.index
                .trace_starts(id)
                .iter()
                .rev()
                .find(|&&i| i < view.index)
                .map(|&i| self.index.view(i))
        });
        let same = start.and_then(View::obj).is_some_and(|start| {
            canonical(&Self::without(start, &["object"]))
                == canonical(&Self::without(obj, &["object"]))
        });
        if same {
            format!("trace_end {}", self.id(view, IdKind::Trace))
        } else {
            format!("trace_end {}", self.trace_line(view, obj))
        }
    }

    // === spans ===

    fn span_depth(&self, view: &View<'_>) -> usize {
        view.own_id()
            .and_then(|id| self.depths.get(id).copied())
            .unwrap_or(1)
    }

    fn span_start(&self, view: &View<'_>, obj: &Map<String, Value>) -> String {
        let parent = match view.field("parent_id") {
            Some(Value::Null) => "-".to_owned(),
            Some(Value::String(parent)) => self.renamer.name(IdKind::Span, parent),
            _ => self.field_json(view, "parent_id"),
        };
        format!(
            "span_start {} parent={parent} {}",
            self.id(view, IdKind::Span),
            self.span_payload(view, obj)
        )
    }

    /// `{span_data}[ error=…][ metadata=…][ extra=…]`.
    fn span_payload(&self, view: &View<'_>, obj: &Map<String, Value>) -> String {
        let mut out = self.field_json(view, "span_data");
        if let Some(error) = obj.get("error").filter(|error| !error.is_null()) {
            out.push_str(&format!(" error={}", self.json(error)));
        }
        if let Some(metadata) = obj.get("metadata") {
            out.push_str(&format!(" metadata={}", self.json(metadata)));
        }
        out.push_str(&self.extras(obj, SPAN_KEYS));
        out
    }

    // === logs and hooks ===

    /// Depth of a log or hook: one below the span it names, else 1 inside a trace, else 0.
    fn context_depth(&self, view: &View<'_>) -> usize {
        if let Some(depth) = view.span_ref().and_then(|span| self.depths.get(span)) {
            return depth + 1;
        }
        let has = |key| view.field(key).is_some_and(|value| !value.is_null());
        usize::from(has("trace_id") || has("span_id"))
    }

    /// ` @span#N` or ` @trace#N`, or nothing without context.
    fn context(&self, view: &View<'_>) -> String {
        match (view.field("span_id"), view.field("trace_id")) {
            (Some(Value::String(span)), _) => {
                format!(" @{}", self.renamer.name(IdKind::Span, span))
            }
            (Some(span), _) if !span.is_null() => format!(" @{}", self.json(span)),
            (_, Some(Value::String(trace))) => {
                format!(" @{}", self.renamer.name(IdKind::Trace, trace))
            }
            (_, Some(trace)) if !trace.is_null() => format!(" @{}", self.json(trace)),
            _ => String::new(),
        }
    }

    fn log(&self, view: &View<'_>, obj: &Map<String, Value>) -> String {
        let message = match obj.get("message") {
            Some(Value::String(message)) => quote(&self.renamer.text(message)),
            _ => self.field_json(view, "message"),
        };
        let mut out = format!("log {} {message}", self.field_word(view, "level"));
        if view.str("logger") != Some(DEFAULT_LOGGER) {
            out.push_str(&format!(" [{}]", self.field_word(view, "logger")));
        }
        out.push_str(&self.extras(obj, LOG_KEYS));
        out.push_str(&self.context(view));
        out
    }

    fn hook(&self, view: &View<'_>, obj: &Map<String, Value>) -> String {
        let args = Self::without(obj, HOOK_KEYS);
        format!(
            "hook {}.{} {}{}",
            self.field_word(view, "scope"),
            self.field_word(view, "hook"),
            self.json(&args),
            self.context(view)
        )
    }

    // === the span tree ===

    fn trees(&self, order: &[usize]) -> Vec<TraceNode> {
        let index = self.index;
        // Traces with their spans in start order (first record in canonical order).
        let mut groups: Vec<(Option<&'a str>, Vec<&'a str>)> = Vec::new();
        let mut seen = HashSet::new();
        for &i in order {
            let view = index.view(i);
            let Some(id) = view.own_id() else { continue };
            let (trace, span) = if view.is_trace_event() {
                (Some(id), None)
            } else if view.is_span_event() {
                (index.span_trace(id), Some(id))
            } else {
                continue;
            };
            let group = match groups.iter().position(|(t, _)| *t == trace) {
                Some(group) => group,
                None => {
                    groups.push((trace, Vec::new()));
                    groups.len() - 1
                }
            };
            if let Some(span) = span
                && seen.insert(span)
            {
                groups[group].1.push(span);
            }
        }
        // By placeholder number; spans without a trace go last.
        groups.sort_by_key(|(trace, _)| {
            trace
                .and_then(|t| self.renamer.trace_number(t))
                .unwrap_or(usize::MAX)
        });
        groups
            .into_iter()
            .map(|(trace, spans)| self.trace_node(trace, &spans))
            .collect()
    }

    fn trace_node(&self, trace: Option<&'a str>, spans: &[&'a str]) -> TraceNode {
        let index = self.index;
        let (label, payload) = match trace {
            None => ("<no trace>".to_owned(), String::new()),
            Some(id) => {
                let last = index
                    .trace_ends(id)
                    .last()
                    .or_else(|| index.trace_starts(id).last());
                let payload = match last.map(|&i| index.view(i)).and_then(|view| view.obj()) {
                    Some(obj) => self.json(&Self::without(obj, &["object", "id"])),
                    None => "<never started>".to_owned(),
                };
                (self.renamer.name(IdKind::Trace, id), payload)
            }
        };
        let members: HashSet<&str> = spans.iter().copied().collect();
        let mut children: HashMap<&str, Vec<&str>> = HashMap::new();
        let mut roots = Vec::new();
        for &span in spans {
            match index
                .span_parent(span)
                .filter(|parent| members.contains(parent) && *parent != span)
            {
                Some(parent) => children.entry(parent).or_default().push(span),
                None => roots.push(span),
            }
        }
        let mut placed = HashSet::new();
        let mut nodes: Vec<SpanNode> = roots
            .into_iter()
            .map(|span| self.span_node(span, &children, &mut placed))
            .collect();
        // Spans caught in a parent cycle are reachable from no root; list them as roots.
        for &span in spans {
            if !placed.contains(span) {
                nodes.push(self.span_node(span, &children, &mut placed));
            }
        }
        TraceNode {
            label,
            payload,
            spans: nodes,
        }
    }

    fn span_node<'s>(
        &self,
        span: &'s str,
        children: &HashMap<&'s str, Vec<&'s str>>,
        placed: &mut HashSet<&'s str>,
    ) -> SpanNode {
        placed.insert(span);
        let index = self.index;
        let record = index
            .span_ends(span)
            .first()
            .or_else(|| index.span_starts(span).first());
        let payload = match record.map(|&i| index.view(i)) {
            Some(view) => match view.obj() {
                Some(obj) => self.span_payload(view, obj),
                None => MISSING.to_owned(),
            },
            None => MISSING.to_owned(),
        };
        let kids = children.get(span).map_or(&[][..], Vec::as_slice);
        let mut nodes = Vec::new();
        for &kid in kids {
            if !placed.contains(kid) {
                nodes.push(self.span_node(kid, children, placed));
            }
        }
        SpanNode {
            label: self.renamer.name(IdKind::Span, span),
            payload,
            children: nodes,
        }
    }
}

/// Depth of every span in its trace's tree: 1 for a span without a known parent, else one more
/// than its parent; a parent cycle is cut where it closes.
fn span_depths<'a>(index: &Index<'a>) -> HashMap<&'a str, usize> {
    let mut depths: HashMap<&'a str, usize> = HashMap::new();
    for view in &index.views {
        let Some(id) = view.own_id().filter(|_| view.is_span_event()) else {
            continue;
        };
        if depths.contains_key(id) {
            continue;
        }
        // Walk up to a span whose depth is known or to a root, then assign on the way down.
        let mut chain = vec![id];
        let mut base = 0;
        while let Some(parent) = index
            .span_parent(chain[chain.len() - 1])
            .filter(|p| index.is_span(p))
        {
            if let Some(&depth) = depths.get(parent) {
                base = depth;
                break;
            }
            if chain.contains(&parent) {
                break;
            }
            chain.push(parent);
        }
        for (offset, span) in chain.into_iter().rev().enumerate() {
            depths.insert(span, base + offset + 1);
        }
    }
    depths
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::normalize;
    use crate::normalize::testing::{LogBuilder, sid, tid};
    use serde_json::json;

    fn events(b: &LogBuilder) -> Vec<String> {
        normalize(&b.build())
            .events()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn logs_show_level_logger_and_context() {
        let mut b = LogBuilder::new();
        b.trace_start(&tid(1));
        b.span_start(&sid(1), &tid(1), None, json!({"type": "custom"}));
        b.log("INFO", "in span", Some(&tid(1)), Some(&sid(1)));
        b.push(
            RecordKind::Log,
            json!({"logger": "openai.agents.tracing", "level": "WARNING", "message": "say \"hi\"", "trace_id": tid(1), "span_id": null}),
        );
        b.span_end(&sid(1), None);
        b.trace_end(&tid(1));
        b.log("DEBUG", "outside", None, None);
        assert_eq!(
            events(&b),
            vec![
                r#"trace_start trace#1 {"group_id":null,"metadata":null,"workflow_name":"Agent workflow"}"#,
                r#"  span_start span#1 parent=- {"type":"custom"}"#,
                r#"    log INFO "in span" @span#1"#,
                r#"  log WARNING "say \"hi\"" [openai.agents.tracing] @trace#1"#,
                r#"  span_end span#1"#,
                r#"trace_end trace#1"#,
                r#"log DEBUG "outside""#,
            ]
        );
    }

    #[test]
    fn span_start_shows_error_metadata_and_extension_fields() {
        let mut b = LogBuilder::new();
        b.trace_start(&tid(1));
        b.push(
            RecordKind::SpanStart,
            json!({"object": "trace.span", "id": sid(1), "trace_id": tid(1), "parent_id": null,
                   "started_at": "2026-11-21T07:42:10+00:00", "ended_at": null,
                   "span_data": {"type": "custom", "data": {"b": 1, "a": sid(1)}},
                   "error": {"message": "m", "data": null}, "metadata": {"agent_harness_id": "h"},
                   "duration_ms": 3}),
        );
        assert_eq!(
            events(&b)[1],
            r#"  span_start span#1 parent=- {"data":{"a":"span#1","b":1},"type":"custom"} error={"data":null,"message":"m"} metadata={"agent_harness_id":"h"} duration_ms=3"#
        );
    }

    #[test]
    fn trace_end_shows_its_export_only_when_it_changed() {
        let mut b = LogBuilder::new();
        b.trace_start(&tid(1));
        b.push(
            RecordKind::TraceEnd,
            crate::normalize::testing::trace_export(&tid(1), "renamed"),
        );
        b.trace_start(&tid(2));
        b.trace_end(&tid(2));
        assert_eq!(
            events(&b),
            vec![
                r#"trace_start trace#1 {"group_id":null,"metadata":null,"workflow_name":"Agent workflow"}"#,
                r#"trace_end trace#1 {"group_id":null,"metadata":null,"workflow_name":"renamed"}"#,
                r#"trace_start trace#2 {"group_id":null,"metadata":null,"workflow_name":"Agent workflow"}"#,
                r#"trace_end trace#2"#,
            ]
        );
    }

    #[test]
    fn hooks_show_scope_name_and_args() {
        let mut b = LogBuilder::new();
        b.trace_start(&tid(1));
        b.hook(
            "agent",
            "on_tool_end",
            json!({"tool": "t", "agent": "a", "result": "r"}),
            Some(&tid(1)),
            None,
        );
        b.trace_end(&tid(1));
        assert_eq!(
            events(&b)[1],
            r#"  hook agent.on_tool_end {"agent":"a","result":"r","tool":"t"} @trace#1"#
        );
    }

    #[test]
    fn malformed_records_render_what_they_have() {
        let mut b = LogBuilder::new();
        b.push(
            RecordKind::Log,
            json!({"level": 10, "trace_id": null, "span_id": null}),
        );
        b.push(
            RecordKind::SpanStart,
            json!({"span_data": {"type": "x"}, "parent_id": 3}),
        );
        b.push(RecordKind::Hook, json!(null));
        assert_eq!(
            events(&b),
            vec![
                "log 10 <missing> [<missing>]",
                r#"  span_start <missing> parent=3 {"type":"x"}"#,
                "hook data=null",
            ]
        );
    }

    #[test]
    fn tree_lists_end_payloads_and_orphans() {
        let mut b = LogBuilder::new();
        b.trace_start(&tid(1));
        b.span_start(
            &sid(1),
            &tid(1),
            None,
            json!({"type": "agent", "tools": []}),
        );
        b.span_start(
            &sid(2),
            &tid(1),
            Some(&sid(1)),
            json!({"type": "function", "output": null}),
        );
        b.span_start(&sid(3), &tid(1), Some(&sid(9)), json!({"type": "custom"}));
        b.span_end(&sid(2), Some(json!({"type": "function", "output": "ok"})));
        b.span_end(&sid(1), Some(json!({"type": "agent", "tools": ["f"]})));
        b.trace_end(&tid(1));
        let transcript = normalize(&b.build());
        let tree: Vec<String> = transcript
            .traces()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            tree,
            vec![concat!(
                "trace#1 {\"group_id\":null,\"metadata\":null,\"workflow_name\":\"Agent workflow\"}\n",
                "  span#1 {\"tools\":[\"f\"],\"type\":\"agent\"}\n",
                "    span#2 {\"output\":\"ok\",\"type\":\"function\"}\n",
                "  span#3 {\"type\":\"custom\"}\n",
            )]
        );
    }

    #[test]
    fn depth_follows_the_parent_chain_and_survives_cycles() {
        let mut b = LogBuilder::new();
        b.trace_start(&tid(1));
        b.span_start(&sid(1), &tid(1), Some(&sid(2)), json!({"type": "custom"}));
        b.span_start(&sid(2), &tid(1), Some(&sid(1)), json!({"type": "custom"}));
        b.span_start(&sid(3), &tid(1), Some(&sid(2)), json!({"type": "custom"}));
        let log = b.build();
        let index = Index::new(&log);
        let depths = span_depths(&index);
        assert_eq!(depths[sid(1).as_str()], 2);
        assert_eq!(depths[sid(2).as_str()], 1);
        assert_eq!(depths[sid(3).as_str()], 2);
        // The tree still lists every span once, the cycle entered at its first span.
        let tree = normalize(&log).traces()[0].to_string();
        assert_eq!(
            tree.lines().skip(1).collect::<Vec<_>>(),
            vec![
                "  span#1 {\"type\":\"custom\"}",
                "    span#2 {\"type\":\"custom\"}",
                "      span#3 {\"type\":\"custom\"}"
            ]
        );
    }
}

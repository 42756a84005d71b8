//! The OTLP transcript: what a subject's OpenTelemetry export delivered to the loopback
//! receiver, as a canonical text compared with `golden/otlp/<scenario>.snap` and across
//! subjects (docs/otlp.md).
//!
//! Kept: the resource and scope, except what names the implementation or the process rather
//! than the export — the SDK's language and version (`<sdk>`), the random
//! `service.instance.id` (`<uuid>`, checked to be one) and the executable in the default
//! `service.name` (`unknown_service:<executable>`) — and per trace the span tree with each
//! span's name, kind, status and attributes (sorted by key). Validated, then dropped: trace and
//! span ids (non-zero, span ids unique, one trace id per tree, parents inside the trace), start
//! and end times (set, end not before start), and the `openai.agents.*` attributes that carry
//! the Agents ids (the rust subject's extension: each must agree with the OTel ids it maps to).
//! Siblings are ordered by start time, then end time, then name; traces by their root's start.
//! Span flags are not shown (sampling and remote-parent bits, the same for every span here).
//! Anything that breaks a rule is a finding (a key set twice on one span among them: OTLP keys
//! are unique), listed sorted at the end.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;

use codex_telemetry::otel::ids::otel_span_id;
use codex_telemetry::otel::receiver::ReceivedRequest;
use codex_telemetry::otel::receiver::proto::tonic::common::v1::any_value::Value as AnyValue;
use codex_telemetry::otel::receiver::proto::tonic::common::v1::{AnyValue as Any, KeyValue};
use codex_telemetry::otel::receiver::proto::tonic::trace::v1::Span;
use codex_telemetry::otel::receiver::proto::tonic::trace::v1::span::SpanKind;
use codex_telemetry::otel::receiver::proto::tonic::trace::v1::status::StatusCode;

/// The version of this format: the first line of every OTLP golden.
pub const OTLP_TRANSCRIPT_VERSION: u32 = 1;

/// Resource attributes that name the SDK rather than what it exported.
const SDK_ATTRIBUTES: [&str; 2] = ["telemetry.sdk.language", "telemetry.sdk.version"];
/// Attributes carrying the Agents ids (validated against the OTel ids, then dropped).
const AGENTS_TRACE_ID: &str = "openai.agents.trace_id";
const AGENTS_SPAN_ID: &str = "openai.agents.span_id";
const AGENTS_PARENT_ID: &str = "openai.agents.parent_id";

struct Received<'a> {
    span: &'a Span,
    /// The index of its resource/scope pair in the header.
    origin: usize,
}

/// The canonical text of what `requests` delivered.
pub fn normalize_otlp(requests: &[ReceivedRequest]) -> String {
    let mut findings = Vec::new();
    let mut origins: Vec<String> = Vec::new();
    let mut spans = Vec::new();
    for request in requests {
        for resource_spans in &request.request.resource_spans {
            let mut resource = resource_spans
                .resource
                .as_ref()
                .map(|r| render_resource(&r.attributes, &mut findings))
                .unwrap_or_else(|| "(none)".into());
            if !resource_spans.schema_url.is_empty() {
                resource.push_str(&format!(" schema={:?}", resource_spans.schema_url));
            }
            for scope_spans in &resource_spans.scope_spans {
                let scope = scope_spans.scope.as_ref().map_or_else(
                    || "(none)".to_owned(),
                    |s| {
                        let mut text = format!("{} version={:?}", s.name, s.version);
                        for kv in sorted(&s.attributes) {
                            text.push_str(&format!(
                                " {}={}",
                                kv.key,
                                render_value(kv.value.as_ref())
                            ));
                        }
                        text
                    },
                );
                let origin = format!(
                    "resource: {resource}\nscope: {scope} schema={:?}",
                    scope_spans.schema_url
                );
                let index = origins
                    .iter()
                    .position(|o| *o == origin)
                    .unwrap_or_else(|| {
                        origins.push(origin);
                        origins.len() - 1
                    });
                spans.extend(scope_spans.spans.iter().map(|span| Received {
                    span,
                    origin: index,
                }));
            }
        }
    }

    validate_ids(&spans, &mut findings);
    let mut out = format!("otlp: v{OTLP_TRANSCRIPT_VERSION}\n");
    for origin in &origins {
        let _ = writeln!(out, "{origin}");
    }
    let _ = writeln!(out, "spans: {}", spans.len());

    // Children by parent id; roots are spans without a parent in the delivered set.
    let ids: BTreeSet<&[u8]> = spans.iter().map(|r| r.span.span_id.as_slice()).collect();
    let mut children: HashMap<&[u8], Vec<&Received>> = HashMap::new();
    let mut roots = Vec::new();
    for received in &spans {
        let parent = received.span.parent_span_id.as_slice();
        if parent.is_empty() {
            roots.push(received);
        } else if ids.contains(parent) {
            children.entry(parent).or_default().push(received);
        } else {
            findings.push(format!(
                "span {:?}: its parent was not delivered (shown as a root)",
                received.span.name
            ));
            roots.push(received);
        }
    }
    sort_siblings(&mut roots);
    for list in children.values_mut() {
        sort_siblings(list);
    }
    for (index, root) in roots.iter().enumerate() {
        let _ = writeln!(out, "--- trace {}", index + 1);
        render_span(&mut out, root, &children, 0, origins.len() > 1);
    }
    if !findings.is_empty() {
        findings.sort();
        let _ = writeln!(out, "--- findings");
        for finding in findings {
            let _ = writeln!(out, "{finding}");
        }
    }
    out
}

fn sort_siblings(list: &mut [&Received]) {
    list.sort_by(|a, b| {
        (
            a.span.start_time_unix_nano,
            a.span.end_time_unix_nano,
            &a.span.name,
        )
            .cmp(&(
                b.span.start_time_unix_nano,
                b.span.end_time_unix_nano,
                &b.span.name,
            ))
    });
}

fn sorted(attributes: &[KeyValue]) -> Vec<&KeyValue> {
    let mut sorted: Vec<&KeyValue> = attributes.iter().collect();
    sorted.sort_by(|a, b| a.key.cmp(&b.key));
    sorted
}

fn render_resource(attributes: &[KeyValue], findings: &mut Vec<String>) -> String {
    let parts: Vec<String> = sorted(attributes)
        .iter()
        .map(|kv| {
            let text = string_value(kv.value.as_ref());
            if SDK_ATTRIBUTES.contains(&kv.key.as_str()) {
                if text.is_none_or(str::is_empty) {
                    findings.push(format!("resource: {} is not a non-empty string", kv.key));
                }
                format!("{}=<sdk>", kv.key)
            } else if kv.key == "service.instance.id" {
                if !text.is_some_and(is_uuid) {
                    findings.push("resource: service.instance.id is not a UUID".into());
                }
                format!("{}=<uuid>", kv.key)
            } else if kv.key == "service.name"
                && text.is_some_and(|name| name.starts_with("unknown_service:"))
            {
                format!("{}=\"unknown_service:<executable>\"", kv.key)
            } else {
                format!("{}={}", kv.key, render_value(kv.value.as_ref()))
            }
        })
        .collect();
    parts.join(" ")
}

fn render_span(
    out: &mut String,
    received: &Received,
    children: &HashMap<&[u8], Vec<&Received>>,
    depth: usize,
    show_origin: bool,
) {
    let span = received.span;
    let indent = "  ".repeat(depth);
    let kind = match SpanKind::try_from(span.kind).unwrap_or(SpanKind::Unspecified) {
        SpanKind::Unspecified => "unspecified",
        SpanKind::Internal => "internal",
        SpanKind::Server => "server",
        SpanKind::Client => "client",
        SpanKind::Producer => "producer",
        SpanKind::Consumer => "consumer",
    };
    let status = match span.status.as_ref() {
        None => "unset".to_owned(),
        Some(status) => match StatusCode::try_from(status.code).unwrap_or(StatusCode::Unset) {
            StatusCode::Unset => "unset".to_owned(),
            StatusCode::Ok => "ok".to_owned(),
            StatusCode::Error => format!("error {:?}", status.message),
        },
    };
    let origin = if show_origin {
        format!(" origin={}", received.origin + 1)
    } else {
        String::new()
    };
    let trace_state = if span.trace_state.is_empty() {
        String::new()
    } else {
        format!(" trace_state={:?}", span.trace_state)
    };
    let _ = writeln!(
        out,
        "{indent}{} [{kind}] {status}{origin}{trace_state}",
        span.name
    );
    for kv in sorted(&span.attributes) {
        if [AGENTS_TRACE_ID, AGENTS_SPAN_ID, AGENTS_PARENT_ID].contains(&kv.key.as_str()) {
            continue;
        }
        let _ = writeln!(
            out,
            "{indent}  . {} = {}",
            kv.key,
            render_value(kv.value.as_ref())
        );
    }
    for event in &span.events {
        let attributes: Vec<String> = sorted(&event.attributes)
            .iter()
            .map(|kv| format!("{}={}", kv.key, render_value(kv.value.as_ref())))
            .collect();
        let _ = writeln!(
            out,
            "{indent}  event {:?} {{{}}}",
            event.name,
            attributes.join(", ")
        );
    }
    if !span.links.is_empty() {
        let _ = writeln!(out, "{indent}  links: {}", span.links.len());
    }
    if span.dropped_attributes_count + span.dropped_events_count + span.dropped_links_count > 0 {
        let _ = writeln!(
            out,
            "{indent}  dropped: {} attributes, {} events, {} links",
            span.dropped_attributes_count, span.dropped_events_count, span.dropped_links_count
        );
    }
    for child in children.get(span.span_id.as_slice()).into_iter().flatten() {
        render_span(out, child, children, depth + 1, show_origin);
    }
}

fn validate_ids(spans: &[Received], findings: &mut Vec<String>) {
    let mut seen = BTreeSet::new();
    let by_id: HashMap<&[u8], &Span> = spans
        .iter()
        .map(|r| (r.span.span_id.as_slice(), r.span))
        .collect();
    for Received { span, .. } in spans {
        let name = &span.name;
        if span.trace_id.len() != 16 || span.trace_id.iter().all(|b| *b == 0) {
            findings.push(format!(
                "span {name:?}: the trace id is not 16 non-zero bytes"
            ));
        }
        if span.span_id.len() != 8 || span.span_id.iter().all(|b| *b == 0) {
            findings.push(format!(
                "span {name:?}: the span id is not 8 non-zero bytes"
            ));
        }
        if !seen.insert(span.span_id.as_slice()) {
            findings.push(format!(
                "span {name:?}: its span id is used by another span"
            ));
        }
        if let Some(parent) = by_id.get(span.parent_span_id.as_slice())
            && parent.trace_id != span.trace_id
        {
            findings.push(format!("span {name:?}: its parent is in another trace"));
        }
        if span.start_time_unix_nano == 0 || span.end_time_unix_nano < span.start_time_unix_nano {
            findings.push(format!(
                "span {name:?}: start and end times are not set in order"
            ));
        }
        let mut keys = BTreeSet::new();
        for kv in &span.attributes {
            if !keys.insert(kv.key.as_str()) {
                findings.push(format!(
                    "span {name:?}: the attribute {} is set more than once",
                    kv.key
                ));
            }
        }
        // The Agents span and parent ids map to the OTel ones by codex-telemetry's hash.
        if let Some(agents_span) =
            attribute(span, AGENTS_SPAN_ID).and_then(|v| string_value(Some(v)))
            && otel_span_id(agents_span).to_bytes().as_slice() != span.span_id.as_slice()
        {
            findings.push(format!(
                "span {name:?}: {AGENTS_SPAN_ID} does not match the span id"
            ));
        }
        if let Some(agents_parent) =
            attribute(span, AGENTS_PARENT_ID).and_then(|v| string_value(Some(v)))
            && !span.parent_span_id.is_empty()
            && by_id.contains_key(span.parent_span_id.as_slice())
            && otel_span_id(agents_parent).to_bytes().as_slice() != span.parent_span_id.as_slice()
        {
            findings.push(format!(
                "span {name:?}: {AGENTS_PARENT_ID} does not match the parent span id"
            ));
        }
        // The Agents ids the rust subject adds: the trace id maps losslessly when well formed.
        if let Some(agents_trace) =
            attribute(span, AGENTS_TRACE_ID).and_then(|v| string_value(Some(v)))
        {
            let hex: String = span.trace_id.iter().map(|b| format!("{b:02x}")).collect();
            let well_formed = agents_trace
                .strip_prefix("trace_")
                .is_some_and(|h| h.len() == 32 && h.bytes().all(|b| b.is_ascii_hexdigit()));
            if well_formed && agents_trace != format!("trace_{hex}") {
                findings.push(format!(
                    "span {name:?}: {AGENTS_TRACE_ID} does not match the trace id"
                ));
            }
        }
        let has_parent_attribute = attribute(span, AGENTS_PARENT_ID).is_some();
        if has_parent_attribute && span.parent_span_id.is_empty() {
            findings.push(format!(
                "span {name:?}: {AGENTS_PARENT_ID} is set on a root span"
            ));
        }
    }
}

fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups
            .iter()
            .all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn attribute<'a>(span: &'a Span, key: &str) -> Option<&'a Any> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)?
        .value
        .as_ref()
}

fn string_value(value: Option<&Any>) -> Option<&str> {
    match value?.value.as_ref()? {
        AnyValue::StringValue(s) => Some(s),
        _ => None,
    }
}

fn render_value(value: Option<&Any>) -> String {
    let Some(value) = value.and_then(|v| v.value.as_ref()) else {
        return "(empty)".into();
    };
    match value {
        AnyValue::StringValue(s) => format!("{s:?}"),
        AnyValue::BoolValue(b) => b.to_string(),
        AnyValue::IntValue(i) => i.to_string(),
        AnyValue::DoubleValue(d) => format!("{d:?}"),
        AnyValue::ArrayValue(array) => {
            let items: Vec<String> = array.values.iter().map(|v| render_value(Some(v))).collect();
            format!("[{}]", items.join(", "))
        }
        AnyValue::KvlistValue(list) => {
            let items: Vec<String> = list
                .values
                .iter()
                .map(|kv| format!("{}: {}", kv.key, render_value(kv.value.as_ref())))
                .collect();
            format!("{{{}}}", items.join(", "))
        }
        AnyValue::BytesValue(bytes) => format!("<{} bytes>", bytes.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use codex_telemetry::otel::receiver::proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use codex_telemetry::otel::receiver::proto::tonic::trace::v1::{
        ResourceSpans, ScopeSpans, Status,
    };

    fn span(name: &str, id: u8, parent: Option<u8>, start: u64) -> Span {
        Span {
            trace_id: vec![7; 16],
            span_id: vec![id; 8],
            parent_span_id: parent.map(|p| vec![p; 8]).unwrap_or_default(),
            name: name.into(),
            kind: SpanKind::Internal as i32,
            start_time_unix_nano: start,
            end_time_unix_nano: start + 1,
            status: Some(Status {
                message: String::new(),
                code: StatusCode::Ok as i32,
            }),
            ..Span::default()
        }
    }

    fn requests(spans: Vec<Span>) -> Vec<ReceivedRequest> {
        vec![ReceivedRequest {
            protocol: "http",
            path: "/v1/traces".into(),
            headers: Vec::new(),
            request: ExportTraceServiceRequest {
                resource_spans: vec![ResourceSpans {
                    scope_spans: vec![ScopeSpans {
                        spans,
                        ..ScopeSpans::default()
                    }],
                    ..ResourceSpans::default()
                }],
            },
        }]
    }

    #[test]
    fn children_nest_under_parents_in_start_order_whatever_the_arrival_order() {
        let text = normalize_otlp(&requests(vec![
            span("second", 3, Some(1), 30),
            span("first", 2, Some(1), 20),
            span("root", 1, None, 10),
        ]));
        assert!(
            text.ends_with(
                "--- trace 1\nroot [internal] ok\n  first [internal] ok\n  second [internal] ok\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn broken_ids_and_times_are_findings() {
        let mut late = span("late", 4, Some(1), 50);
        late.end_time_unix_nano = 10;
        let mut zero = span("zero", 0, None, 5);
        zero.trace_id = vec![0; 16];
        let text = normalize_otlp(&requests(vec![
            span("root", 1, None, 10),
            span("orphan", 2, Some(9), 20),
            span("twin", 1, None, 30),
            late,
            zero,
        ]));
        for finding in [
            "span \"orphan\": its parent was not delivered (shown as a root)",
            "span \"twin\": its span id is used by another span",
            "span \"late\": start and end times are not set in order",
            "span \"zero\": the trace id is not 16 non-zero bytes",
            "span \"zero\": the span id is not 8 non-zero bytes",
        ] {
            assert!(text.contains(finding), "{finding:?} missing from:\n{text}");
        }
    }

    fn string(key: &str, value: &str) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(Any {
                value: Some(AnyValue::StringValue(value.into())),
            }),
        }
    }

    #[test]
    fn a_key_set_twice_is_a_finding() {
        let mut twice = span("twice", 1, None, 10);
        twice.attributes = vec![
            string("gen_ai.agent.name", "OpenAI Agent"),
            string("gen_ai.agent.name", "A"),
        ];
        let text = normalize_otlp(&requests(vec![twice]));
        assert!(
            text.contains("span \"twice\": the attribute gen_ai.agent.name is set more than once"),
            "{text}"
        );
    }

    #[test]
    fn agents_span_and_parent_ids_must_hash_to_the_otel_ids() {
        let agents_root = "span_000000000000000000000001";
        let mut root = span("root", 1, None, 10);
        root.span_id = otel_span_id(agents_root).to_bytes().to_vec();
        root.attributes = vec![string(AGENTS_SPAN_ID, agents_root)];
        let mut child = span("child", 2, None, 20);
        child.parent_span_id = root.span_id.clone();
        child.attributes = vec![
            string(AGENTS_SPAN_ID, "span_000000000000000000000002"),
            string(AGENTS_PARENT_ID, "span_000000000000000000000009"),
        ];
        let text = normalize_otlp(&requests(vec![root, child]));
        assert!(!text.contains("\"root\": openai.agents.span_id"), "{text}");
        assert!(
            text.contains("span \"child\": openai.agents.span_id does not match the span id"),
            "{text}"
        );
        assert!(
            text.contains(
                "span \"child\": openai.agents.parent_id does not match the parent span id"
            ),
            "{text}"
        );
    }

    #[test]
    fn agents_ids_are_checked_against_the_otel_ids_and_dropped() {
        let mut child = span("child", 2, Some(1), 20);
        child.attributes = vec![
            KeyValue {
                key: AGENTS_TRACE_ID.into(),
                value: Some(Any {
                    value: Some(AnyValue::StringValue(format!("trace_{}", "08".repeat(16)))),
                }),
            },
            KeyValue {
                key: "gen_ai.tool.name".into(),
                value: Some(Any {
                    value: Some(AnyValue::StringValue("lookup".into())),
                }),
            },
        ];
        let text = normalize_otlp(&requests(vec![span("root", 1, None, 10), child]));
        assert!(
            text.contains("openai.agents.trace_id does not match the trace id"),
            "{text}"
        );
        assert!(!text.contains(". openai.agents"), "{text}");
        assert!(
            text.contains("    . gen_ai.tool.name = \"lookup\"\n"),
            "{text}"
        );
    }
}

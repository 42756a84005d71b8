//! The processor that turns the library's traces and spans into OpenTelemetry spans, the way
//! the Python instrumentation does: a root span per trace, a child per span under its parent,
//! attributes and status from [`super::genai`] at start and end. Ids follow [`super::ids`].

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use opentelemetry::trace::{SpanBuilder, Status, TraceContextExt, Tracer as _};
use opentelemetry::{Context, KeyValue, Value as OtelValue};
use opentelemetry_sdk::trace::SdkTracer;

use super::genai;
use super::ids::{
    PARENT_ID_ATTRIBUTE, SPAN_ID_ATTRIBUTE, TRACE_ID_ATTRIBUTE, otel_span_id, otel_trace_id,
    root_span_id,
};
use crate::model::scrub::scrub_str;
use crate::model::span_data::SpanData;
use crate::sdk::processor::TracingProcessor;
use crate::sdk::span::Span;
use crate::sdk::trace::Trace;

/// Open spans the bridge keeps at most (a span that never ends must not grow memory without
/// bound); spans started beyond it are not exported and are counted.
pub const MAX_OPEN_SPANS: usize = 65_536;
/// Open traces the bridge keeps at most; traces started beyond it are not exported (counted
/// with the refused spans).
pub const MAX_OPEN_TRACES: usize = 65_536;

/// Library spans as OTel spans, created on `tracer` (whose provider exports them).
pub struct OtelBridge {
    tracer: SdkTracer,
    state: Mutex<BridgeState>,
}

#[derive(Default)]
struct BridgeState {
    /// The root span of each open trace.
    roots: HashMap<String, OpenRoot>,
    /// Each open span: its OTel context and its Agents parent.
    open: HashMap<String, OpenSpan>,
    /// For each open agent span, the model its first finished generation reported.
    agent_models: HashMap<String, Option<String>>,
    /// Spans (and traces) not exported because [`MAX_OPEN_SPANS`] (or [`MAX_OPEN_TRACES`])
    /// were open.
    refused: u64,
    /// Codex events whose span and trace were not open.
    unattached_events: u64,
}

struct OpenSpan {
    context: Context,
    parent_id: Option<String>,
    /// The attributes of its start, set with the end ones when it ends.
    attributes: Vec<KeyValue>,
}

struct OpenRoot {
    context: Context,
    attributes: Vec<KeyValue>,
}

impl std::fmt::Debug for OtelBridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.state();
        f.debug_struct("OtelBridge")
            .field("open_traces", &state.roots.len())
            .field("open_spans", &state.open.len())
            .field("refused", &state.refused)
            .finish()
    }
}

impl OtelBridge {
    /// A bridge creating its spans on `tracer`.
    pub fn new(tracer: SdkTracer) -> Self {
        Self {
            tracer,
            state: Mutex::new(BridgeState::default()),
        }
    }

    /// How many spans were not exported because too many were open at once.
    pub fn refused_spans(&self) -> u64 {
        self.state().refused
    }

    /// How many Codex events found neither their span nor their trace open.
    pub fn unattached_events(&self) -> u64 {
        self.state().unattached_events
    }

    /// Adds an event to the OTel span of Agents span `span_id`, or else to the root span of
    /// trace `trace_id`; counts it when neither is open.
    pub(crate) fn add_event(
        &self,
        trace_id: Option<&str>,
        span_id: Option<&str>,
        name: String,
        attributes: Vec<KeyValue>,
    ) {
        let mut state = self.state();
        let context = span_id
            .and_then(|id| state.open.get(id).map(|open| open.context.clone()))
            .or_else(|| {
                trace_id.and_then(|id| state.roots.get(id).map(|root| root.context.clone()))
            });
        match context {
            Some(context) => {
                drop(state);
                context
                    .span()
                    .add_event(name, attributes.into_iter().map(scrubbed).collect());
            }
            None => state.unattached_events += 1,
        }
    }

    fn state(&self) -> MutexGuard<'_, BridgeState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts an OTel span without attributes: they are all set when it ends (the SDK appends
    /// every `set_attribute`, so setting start and end values would export a key twice; Python
    /// keeps them in a dict, where the end value replaces the start one).
    fn start(
        &self,
        name: &str,
        kind: opentelemetry::trace::SpanKind,
        parent: &Context,
        ids: Ids,
    ) -> Context {
        let mut builder = SpanBuilder::from_name(scrub_str(name).into_owned()).with_kind(kind);
        builder.span_id = Some(ids.span_id);
        builder.trace_id = Some(ids.trace_id);
        let span = self.tracer.build_with_context(builder, parent);
        parent.with_span(span)
    }
}

/// Ends `context`'s span with `attributes` (later values of a key replace earlier ones, in the
/// key's first position, as in a Python dict), scrubbed, and `status`.
fn end_span(context: &Context, attributes: Vec<KeyValue>, rename: Option<String>, status: Status) {
    let mut merged: Vec<KeyValue> = Vec::with_capacity(attributes.len());
    for kv in attributes {
        match merged.iter_mut().find(|existing| existing.key == kv.key) {
            Some(existing) => existing.value = kv.value,
            None => merged.push(kv),
        }
    }
    let span = context.span();
    span.set_attributes(merged.into_iter().map(scrubbed));
    if let Some(name) = rename {
        span.update_name(scrub_str(&name).into_owned());
    }
    span.set_status(match status {
        Status::Error { description } => Status::error(scrub_str(&description).into_owned()),
        other => other,
    });
    span.end();
}

struct Ids {
    trace_id: opentelemetry::trace::TraceId,
    span_id: opentelemetry::trace::SpanId,
}

impl TracingProcessor for OtelBridge {
    fn on_trace_start(&self, trace: &Trace) {
        let id = trace.id();
        if self.state().roots.len() >= MAX_OPEN_TRACES {
            self.state().refused += 1;
            return;
        }
        let shape = genai::trace_root(trace.workflow_name());
        let context = self.start(
            &shape.name,
            shape.kind,
            &Context::new(),
            Ids {
                trace_id: otel_trace_id(id),
                span_id: root_span_id(id),
            },
        );
        let mut attributes = shape.attributes;
        attributes.push(KeyValue::new(TRACE_ID_ATTRIBUTE, id.to_owned()));
        self.state().roots.insert(
            id.to_owned(),
            OpenRoot {
                context,
                attributes,
            },
        );
    }

    fn on_trace_end(&self, trace: &Trace) {
        // Spans still open stay open: they end (and export) when they end, as in Python.
        let root = self.state().roots.remove(trace.id());
        if let Some(root) = root {
            end_span(&root.context, root.attributes, None, Status::Ok);
        }
    }

    fn on_span_start(&self, span: &Span) {
        let Some(data) = span.data() else { return };
        let parent_id = span.parent_id().map(str::to_owned);
        let parent = {
            let mut state = self.state();
            if state.open.len() >= MAX_OPEN_SPANS {
                state.refused += 1;
                return;
            }
            // A parent the bridge does not know (refused, or from elsewhere): the trace's root,
            // where Python's instrumentation would use the span current in its context.
            parent_id
                .as_ref()
                .and_then(|parent| state.open.get(parent).map(|open| open.context.clone()))
                .or_else(|| {
                    state
                        .roots
                        .get(span.trace_id())
                        .map(|root| root.context.clone())
                })
                .unwrap_or_default()
        };
        let shape = genai::span_start(&data);
        let context = self.start(
            &shape.name,
            shape.kind,
            &parent,
            Ids {
                trace_id: otel_trace_id(span.trace_id()),
                span_id: otel_span_id(span.id()),
            },
        );
        let mut attributes = shape.attributes;
        attributes.push(KeyValue::new(
            TRACE_ID_ATTRIBUTE,
            span.trace_id().to_owned(),
        ));
        attributes.push(KeyValue::new(SPAN_ID_ATTRIBUTE, span.id().to_owned()));
        if let Some(parent) = &parent_id {
            attributes.push(KeyValue::new(PARENT_ID_ATTRIBUTE, parent.clone()));
        }
        let mut state = self.state();
        if matches!(data, SpanData::Agent(_)) {
            state.agent_models.insert(span.id().to_owned(), None);
        }
        // A reused span id replaces the span it named (Python's dict does the same).
        state.open.insert(
            span.id().to_owned(),
            OpenSpan {
                context,
                parent_id,
                attributes,
            },
        );
    }

    fn on_span_end(&self, span: &Span) {
        let Some(data) = span.data() else { return };
        let (open, request_model) = {
            let mut state = self.state();
            let Some(open) = state.open.remove(span.id()) else {
                return;
            };
            // The nearest open agent ancestor learns the model of the first generation to end.
            // Ids are the caller's to choose, so the walk guards against cycles.
            if let Some(model) = genai::model_of(&data) {
                let mut ancestor = open.parent_id.clone();
                let mut visited = std::collections::HashSet::new();
                while let Some(id) = ancestor.filter(|id| visited.insert(id.clone())) {
                    if let Some(slot) = state.agent_models.get_mut(&id) {
                        slot.get_or_insert_with(|| model.to_owned());
                        break;
                    }
                    ancestor = state.open.get(&id).and_then(|o| o.parent_id.clone());
                }
            }
            let request_model = state.agent_models.remove(span.id()).flatten();
            (open, request_model)
        };
        let error = span.error();
        let end = genai::span_end(&data, error.as_ref(), request_model.as_deref());
        let mut attributes = open.attributes;
        attributes.extend(end.attributes);
        end_span(&open.context, attributes, end.rename, end.status);
    }

    fn shutdown(&self) {
        // Python's instrumentation ends what is still open as an error at shutdown.
        let (open, roots) = {
            let mut state = self.state();
            state.agent_models.clear();
            let open: Vec<OpenSpan> = state.open.drain().map(|(_, open)| open).collect();
            let roots: Vec<OpenRoot> = state.roots.drain().map(|(_, root)| root).collect();
            (open, roots)
        };
        for open in open {
            end_span(
                &open.context,
                open.attributes,
                None,
                Status::error("Application shutdown"),
            );
        }
        for root in roots {
            end_span(
                &root.context,
                root.attributes,
                None,
                Status::error("Application shutdown"),
            );
        }
    }
}

/// String attributes come from the application (agent, tool and model names): scrubbed like
/// every other export.
fn scrubbed(kv: KeyValue) -> KeyValue {
    match &kv.value {
        OtelValue::String(text) => {
            let clean = scrub_str(text.as_str());
            if clean == text.as_str() {
                kv
            } else {
                KeyValue::new(kv.key, clean.into_owned())
            }
        }
        _ => kv,
    }
}

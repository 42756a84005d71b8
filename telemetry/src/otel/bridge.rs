//! The processor that turns the library's traces and spans into OpenTelemetry spans, the way
//! the Python instrumentation does: a root span per trace, a child per span under its parent,
//! attributes and status from [`super::genai`] at start and end. Ids follow [`super::ids`].

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use opentelemetry::trace::{SpanBuilder, TraceContextExt, Tracer as _};
use opentelemetry::{Context, KeyValue, Value as OtelValue};
use opentelemetry_sdk::trace::SdkTracer;

use super::genai::{self, StartShape};
use super::ids::{
    PARENT_ID_ATTRIBUTE, SPAN_ID_ATTRIBUTE, TRACE_ID_ATTRIBUTE, otel_span_id, otel_trace_id,
    root_span_id,
};
use crate::processor::TracingProcessor;
use crate::scrub::scrub_str;
use crate::span::Span;
use crate::span_data::SpanData;
use crate::trace::Trace;

/// Open spans the bridge keeps at most (a span that never ends must not grow memory without
/// bound); spans started beyond it are not exported and are counted.
pub const MAX_OPEN_SPANS: usize = 65_536;

/// Library spans as OTel spans, created on `tracer` (whose provider exports them).
pub struct OtelBridge {
    tracer: SdkTracer,
    state: Mutex<BridgeState>,
}

#[derive(Default)]
struct BridgeState {
    /// The root span of each open trace.
    roots: HashMap<String, Context>,
    /// Each open span: its OTel context and its Agents parent.
    open: HashMap<String, OpenSpan>,
    /// For each open agent span, the model its first finished generation reported.
    agent_models: HashMap<String, Option<String>>,
    /// Spans not exported because [`MAX_OPEN_SPANS`] were open.
    refused: u64,
    /// Codex events whose span and trace were not open.
    unattached_events: u64,
}

struct OpenSpan {
    context: Context,
    parent_id: Option<String>,
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
            .or_else(|| trace_id.and_then(|id| state.roots.get(id).cloned()));
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

    fn start(&self, shape: StartShape, extra: Vec<KeyValue>, parent: &Context, ids: Ids) -> Context {
        let mut attributes: Vec<KeyValue> = shape.attributes.into_iter().map(scrubbed).collect();
        attributes.extend(extra);
        let mut builder = SpanBuilder::from_name(scrub_str(&shape.name).into_owned())
            .with_kind(shape.kind)
            .with_attributes(attributes);
        builder.span_id = Some(ids.span_id);
        builder.trace_id = Some(ids.trace_id);
        let span = self.tracer.build_with_context(builder, parent);
        parent.with_span(span)
    }
}

struct Ids {
    trace_id: opentelemetry::trace::TraceId,
    span_id: opentelemetry::trace::SpanId,
}

impl TracingProcessor for OtelBridge {
    fn on_trace_start(&self, trace: &Trace) {
        let id = trace.id();
        let context = self.start(
            genai::trace_root(trace.workflow_name()),
            vec![KeyValue::new(TRACE_ID_ATTRIBUTE, id.to_owned())],
            &Context::new(),
            Ids {
                trace_id: otel_trace_id(id),
                span_id: root_span_id(id),
            },
        );
        self.state().roots.insert(id.to_owned(), context);
    }

    fn on_trace_end(&self, trace: &Trace) {
        // Spans still open stay open: they end (and export) when they end, as in Python.
        if let Some(root) = self.state().roots.remove(trace.id()) {
            let span = root.span();
            span.set_status(opentelemetry::trace::Status::Ok);
            span.end();
        }
    }

    fn on_span_start(&self, span: &Span) {
        let Some(data) = span.data() else { return };
        let parent_id = span.parent_id().map(str::to_owned);
        let mut state = self.state();
        if state.open.len() >= MAX_OPEN_SPANS {
            state.refused += 1;
            return;
        }
        let parent = match &parent_id {
            Some(parent) => state.open.get(parent).map(|open| open.context.clone()),
            None => state.roots.get(span.trace_id()).cloned(),
        }
        .unwrap_or_default();
        let mut extra = vec![
            KeyValue::new(TRACE_ID_ATTRIBUTE, span.trace_id().to_owned()),
            KeyValue::new(SPAN_ID_ATTRIBUTE, span.id().to_owned()),
        ];
        if let Some(parent) = &parent_id {
            extra.push(KeyValue::new(PARENT_ID_ATTRIBUTE, parent.clone()));
        }
        let context = self.start(
            genai::span_start(&data),
            extra,
            &parent,
            Ids {
                trace_id: otel_trace_id(span.trace_id()),
                span_id: otel_span_id(span.id()),
            },
        );
        if matches!(data, SpanData::Agent(_)) {
            state.agent_models.insert(span.id().to_owned(), None);
        }
        state.open.insert(span.id().to_owned(), OpenSpan { context, parent_id });
    }

    fn on_span_end(&self, span: &Span) {
        let Some(data) = span.data() else { return };
        let mut state = self.state();
        let Some(open) = state.open.remove(span.id()) else {
            return;
        };
        // The nearest open agent ancestor learns the model of the first generation to end.
        if let Some(model) = genai::model_of(&data) {
            let mut ancestor = open.parent_id.clone();
            while let Some(id) = ancestor {
                if let Some(slot) = state.agent_models.get_mut(&id) {
                    slot.get_or_insert_with(|| model.to_owned());
                    break;
                }
                ancestor = state.open.get(&id).and_then(|o| o.parent_id.clone());
            }
        }
        let request_model = state.agent_models.remove(span.id()).flatten();
        drop(state);

        let error = span.error();
        let end = genai::span_end(&data, error.as_ref(), request_model.as_deref());
        let otel_span = open.context.span();
        otel_span.set_attributes(end.attributes.into_iter().map(scrubbed));
        if let Some(name) = end.rename {
            otel_span.update_name(scrub_str(&name).into_owned());
        }
        otel_span.set_status(match end.status {
            opentelemetry::trace::Status::Error { description } => {
                opentelemetry::trace::Status::error(scrub_str(&description).into_owned())
            }
            other => other,
        });
        otel_span.end();
    }

    fn shutdown(&self) {
        // Python's instrumentation ends what is still open as an error at shutdown.
        let mut state = self.state();
        for (_, open) in state.open.drain() {
            let span = open.context.span();
            span.set_status(opentelemetry::trace::Status::error("Application shutdown"));
            span.end();
        }
        for (_, root) in state.roots.drain() {
            let span = root.span();
            span.set_status(opentelemetry::trace::Status::error("Application shutdown"));
            span.end();
        }
        state.agent_models.clear();
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

//! Codex lifecycle events (`codex.events`) as OTel span events: a `tracing` layer that puts each
//! event on the OTel span of the Agents span current at emission (its `span.id` field), or on
//! its trace's root span when no span was current. Events whose span and trace are not open
//! (already ended, or never exported) are counted, not kept. The Python instrumentation has no
//! such events: this is an extension (docs/otlp.md).

use std::sync::Arc;

use opentelemetry::{KeyValue, Value as OtelValue};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::Context as LayerContext;

use super::bridge::OtelBridge;
use crate::events::EVENT_TARGET;

/// The layer; add it to the application's subscriber (`registry().with(layer)`).
#[derive(Debug, Clone)]
pub struct CodexEventsLayer {
    bridge: Arc<OtelBridge>,
}

impl CodexEventsLayer {
    pub(crate) fn new(bridge: Arc<OtelBridge>) -> Self {
        Self { bridge }
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for CodexEventsLayer {
    fn enabled(&self, metadata: &tracing::Metadata<'_>, _: LayerContext<'_, S>) -> bool {
        metadata.target() == EVENT_TARGET
    }

    fn on_event(&self, event: &tracing::Event<'_>, _: LayerContext<'_, S>) {
        if event.metadata().target() != EVENT_TARGET {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        let Some(name) = fields.name else { return };
        self.bridge.add_event(
            fields.trace_id.as_deref(),
            fields.span_id.as_deref(),
            name,
            fields.attributes,
        );
    }
}

#[derive(Default)]
struct Fields {
    name: Option<String>,
    trace_id: Option<String>,
    span_id: Option<String>,
    attributes: Vec<KeyValue>,
}

impl Fields {
    fn add(&mut self, field: &Field, value: OtelValue) {
        self.attributes.push(KeyValue::new(field.name(), value));
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "event.name" => self.name = Some(value.to_owned()),
            "trace.id" => self.trace_id = Some(value.to_owned()),
            "span.id" => self.span_id = Some(value.to_owned()),
            _ => {}
        }
        if field.name() != "event.name" {
            self.add(field, OtelValue::String(value.to_owned().into()));
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.add(field, OtelValue::I64(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        let value = i64::try_from(value).map_or_else(
            |_| OtelValue::String(value.to_string().into()),
            OtelValue::I64,
        );
        self.add(field, value);
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.add(field, OtelValue::F64(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.add(field, OtelValue::Bool(value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        // `message` and other formatted fields: their text.
        self.add(field, OtelValue::String(format!("{value:?}").into()));
    }
}

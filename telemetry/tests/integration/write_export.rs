//! `write_export` (serialization straight from the span's state) writes exactly the bytes of
//! `serde_json::to_writer(&export())`, for every span type, error and metadata, at start and
//! at end: processors may use either.

use std::sync::{Arc, Mutex};

use codex_telemetry::{
    AgentSpanData, CustomSpanData, FunctionSpanData, GenerationSpanData, GuardrailSpanData,
    HandoffSpanData, JsonMap, McpListToolsSpanData, ResponseSpanData, Span, SpanError,
    TaskSpanData, Trace, TraceOptions, TraceProvider, TracingProcessor, TurnSpanData,
};
use serde_json::json;

#[derive(Clone, Default)]
struct Compare(Arc<Mutex<(usize, Vec<String>)>>);

impl Compare {
    fn check(
        &self,
        what: &str,
        value: Option<serde_json::Value>,
        written: std::io::Result<(bool, Vec<u8>)>,
    ) {
        let (wrote, bytes) = written.expect("writing to a Vec succeeds");
        let expected = value.map(|v| serde_json::to_vec(&v).unwrap());
        let mut state = self.0.lock().unwrap();
        state.0 += 1;
        if expected.as_deref() != wrote.then_some(bytes.as_slice()) {
            state.1.push(format!(
                "{what}: export {:?} vs written {:?}",
                expected.map(|b| String::from_utf8(b).unwrap()),
                String::from_utf8(bytes).unwrap()
            ));
        }
    }
}

fn written_span(span: &Span) -> std::io::Result<(bool, Vec<u8>)> {
    let mut bytes = Vec::new();
    span.write_export(&mut bytes).map(|wrote| (wrote, bytes))
}

fn written_trace(trace: &Trace) -> std::io::Result<(bool, Vec<u8>)> {
    let mut bytes = Vec::new();
    trace.write_export(&mut bytes).map(|wrote| (wrote, bytes))
}

impl TracingProcessor for Compare {
    fn on_trace_start(&self, trace: &Trace) {
        self.check("trace_start", trace.export(), written_trace(trace));
    }
    fn on_trace_end(&self, trace: &Trace) {
        self.check("trace_end", trace.export(), written_trace(trace));
    }
    fn on_span_start(&self, span: &Span) {
        self.check("span_start", span.export(), written_span(span));
    }
    fn on_span_end(&self, span: &Span) {
        self.check("span_end", span.export(), written_span(span));
    }
}

#[test]
fn written_exports_are_the_bytes_of_export() {
    let compare = Compare::default();
    let provider = TraceProvider::builder()
        .with_processor(compare.clone())
        .build();
    let metadata = JsonMap::from_iter([
        ("agent_harness_id".to_owned(), json!("h1")),
        (
            "customer".to_owned(),
            json!({"tier": 2, "ratio": 0.25, "tags": ["é", "\"q\""]}),
        ),
    ]);
    {
        let _trace = provider
            .trace(
                TraceOptions::new("Export workflow")
                    .with_group_id("g-1")
                    .with_metadata(metadata),
            )
            .start_as_current();
        let task = provider.span(TaskSpanData::new("Export workflow"));
        let _task = task.start_as_current();
        let agent = provider.span(AgentSpanData::new("weather"));
        let _agent = agent.start_as_current();
        agent.update(|a| a.tools = Some(vec!["get_weather".into()]));
        let turn = provider.span(TurnSpanData::new(1, "weather"));
        let _turn = turn.start_as_current();
        for span in [
            provider.span(GenerationSpanData::new()).into_span(),
            provider.span(ResponseSpanData::new()).into_span(),
            provider
                .span(HandoffSpanData::new(Some("a".into()), None))
                .into_span(),
            provider.span(GuardrailSpanData::new("check")).into_span(),
            provider
                .span(McpListToolsSpanData::new(Some("server".into())))
                .into_span(),
            provider
                .span(CustomSpanData::with_data(
                    "custom",
                    JsonMap::from_iter([("n".to_owned(), json!(1e16))]),
                ))
                .into_span(),
        ] {
            let _entered = span.start_as_current();
        }
        let tool = provider.span(FunctionSpanData::new("get_weather"));
        let _tool = tool.start_as_current();
        tool.update(|f| {
            f.input = Some(r#"{"city":"Zürich"}"#.into());
            f.output = Some("sunny \u{1F324}".into());
        });
        tool.set_error(
            SpanError::new("Error running tool").with_data(JsonMap::from_iter([(
                "tool_name".to_owned(),
                json!("get_weather"),
            )])),
        );
    }
    // A no-op span writes nothing.
    let mut bytes = Vec::new();
    assert!(!Span::noop().write_export(&mut bytes).unwrap());
    assert!(bytes.is_empty());
    let state = compare.0.lock().unwrap();
    assert!(state.0 >= 20, "only {} events compared", state.0);
    assert!(state.1.is_empty(), "{}", state.1.join("\n"));
}

proptest::proptest! {
    /// Caller-chosen ids and names are written verbatim by the fast path only when they
    /// need no escaping; quotes, backslashes, control and non-ASCII characters still give
    /// the bytes of `export()`.
    #[test]
    fn any_ids_and_names_write_the_bytes_of_export(
        trace_id in "\\PC*|[\"\\\\\u{0}-\u{1f}\u{7f}é]{0,4}",
        span_id in "\\PC*|[\"\\\\\u{0}-\u{1f}\u{7f}é]{0,4}",
        name in ".*",
        group in proptest::option::of(".*"),
    ) {
        let compare = Compare::default();
        let provider = TraceProvider::builder().with_processor(compare.clone()).build();
        let mut options = TraceOptions::new(name.clone()).with_trace_id(trace_id);
        if let Some(group) = group {
            options = options.with_group_id(group);
        }
        {
            let _trace = provider.trace(options).start_as_current();
            let parent = provider.create_span(
                CustomSpanData::new(name.clone()),
                codex_telemetry::SpanOptions::new().with_span_id(span_id),
            );
            let _parent = parent.start_as_current();
            let _child = provider.span(FunctionSpanData::new(name)).start_as_current();
        }
        let state = compare.0.lock().unwrap();
        proptest::prop_assert!(state.1.is_empty(), "{}", state.1.join("\n"));
    }
}

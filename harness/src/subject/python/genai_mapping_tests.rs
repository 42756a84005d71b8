//! codex-telemetry's GenAI mapping against the contrib instrumentation, on span data the
//! scenarios never carry: the client's `ScriptedModel` opens generation spans without input,
//! model, settings or usage, so the OTLP layer's goldens cannot hold the generation mapping
//! (chat or text completion, model names, token counts, finish reasons, request settings, the
//! server from a base URL, output types) or an agent's model learnt from its generations. Here
//! the same spans are opened directly with each library, both export over OTLP to a loopback
//! receiver, and the OTLP transcripts must be equal.

use std::ffi::CString;
use std::sync::Arc;

use codex_telemetry::otel::receiver::{Behaviour, LoopbackReceiver};
use codex_telemetry::otel::{Endpoint, OtlpExportBuilder, OtlpSettings, Protocol};
use codex_telemetry::{
    AgentSpanData, CustomSpanData, FunctionSpanData, GenerationSpanData, GuardrailSpanData,
    HandoffSpanData, JsonMap, Span, SpanError, TraceProvider,
};
use serde_json::{Value, json};

use super::embed;
use crate::normalize::normalize_otlp;
use crate::workspace::Workspace;

/// A model's base URL: the server address and port come from it.
const BASE_URL: &str = "https://Example.com:8443/v1";
/// A model endpoint that is not a base URL.
const ENDPOINT: &str = "http://localhost";

/// Spans to open, nested: `{"type", "data", "error", "children"}`, in one trace each.
fn programs() -> Value {
    let message = json!({"role": "user", "content": "hi"});
    json!([
        {"type": "generation", "data": {
            "input": [message], "model": "gpt-4o",
            "output": [{"type": "message", "finish_reason": "stop"}, {"type": "message", "stop_reason": "length"}],
            "usage": {"input_tokens": 12, "output_tokens": 7, "total_tokens": 19},
            "model_config": {"temperature": 0.5, "max_tokens": 100, "top_p": null,
                             "base_url": BASE_URL}}},
        {"type": "generation", "data": {
            "output": [{"role": "assistant", "content": "hi"}],
            "usage": {"prompt_tokens": 0, "input_tokens": 4, "completion_tokens": 2}}},
        {"type": "generation", "data": {
            "input": [{"type": "function_call_output"}], "model": "",
            "output": [{"type": "function_call"}], "usage": {"prompt_tokens": 0},
            "model_config": {"stop": ["a", "b"], "seed": 3, "n": 2, "endpoint": ENDPOINT}}},
        {"type": "generation", "data": {
            "input": [message], "model": "m",
            "output": [{"role": "assistant", "parts": [{"type": "text"}, {"type": "image_url"}]}]}},
        {"type": "generation", "data": {"output": [{"arguments": "{}"}]}},
        {"type": "generation", "data": {"output": [{"role": "assistant", "parts": ["a", {"type": "tool_call"}]}]}},
        {"type": "generation", "data": {"model": "gpt-x"},
         "error": {"message": "Error", "data": {"name": "RateLimitError", "message": "slow down"}}},
        {"type": "agent", "data": {"name": "Planner"}, "children": [
            {"type": "custom", "data": {"name": "turn"}, "children": [
                {"type": "generation", "data": {"model": "gpt-first"}},
                {"type": "generation", "data": {"model": "gpt-second"}}]},
            {"type": "function", "data": {"name": "lookup"},
             "error": {"message": "Error running tool", "data": null}},
            {"type": "agent", "data": {"name": ""}, "children": [
                {"type": "generation", "data": {"model": "inner"}}]},
            {"type": "handoff", "data": {"from_agent": "Planner", "to_agent": ""}},
            {"type": "guardrail", "data": {"name": "", "triggered": true}}]},
    ])
}

fn python_transcript(program: &Value) -> String {
    let receiver = LoopbackReceiver::http(Behaviour::Accept).expect("a receiver");
    let embedded = embed::embedded(&Workspace::current()).expect("the python subject starts");
    let code = format!(
        r#"
import agents
from agents.tracing import (agent_span, custom_span, function_span, generation_span,
    get_trace_provider, guardrail_span, handoff_span, SpanError)
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.openai_agents import OpenAIAgentsInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

program = json.loads({program:?})
endpoint = {endpoint:?}

def open_span(spec):
    d = spec.get("data") or {{}}
    kind = spec["type"]
    if kind == "generation":
        return generation_span(input=d.get("input"), output=d.get("output"), model=d.get("model"),
                               model_config=d.get("model_config"), usage=d.get("usage"))
    if kind == "agent":
        return agent_span(name=d["name"])
    if kind == "function":
        return function_span(name=d["name"])
    if kind == "handoff":
        return handoff_span(from_agent=d.get("from_agent"), to_agent=d.get("to_agent"))
    if kind == "guardrail":
        return guardrail_span(name=d["name"], triggered=d["triggered"])
    return custom_span(name=d["name"])

def run(spec):
    with open_span(spec) as span:
        for child in spec.get("children", []):
            run(child)
        if spec.get("error"):
            span.set_error(SpanError(message=spec["error"]["message"], data=spec["error"]["data"]))

provider = get_trace_provider()
saved = list(provider._multi_processor._processors)
agents.set_trace_processors([])
tracer_provider = TracerProvider()
tracer_provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=endpoint + "/v1/traces")))
instrumentor = OpenAIAgentsInstrumentor()
instrumentor.instrument(tracer_provider=tracer_provider, capture_message_content=False, capture_metrics=False)
try:
    with agents.trace("Mapping"):
        run(program)
finally:
    instrumentor.uninstrument()
    tracer_provider.shutdown()
    agents.set_trace_processors(saved)
result = json.dumps(None)
"#,
        program = program.to_string(),
        endpoint = receiver.endpoint(),
    );
    embedded.eval_json(&CString::new(code).expect("no NUL in the program"));
    normalize_otlp(&receiver.requests())
}

fn rust_transcript(program: &Value) -> String {
    let receiver = LoopbackReceiver::http(Behaviour::Accept).expect("a receiver");
    let mut settings = OtlpSettings::from_lookup(|_| None);
    settings.endpoint = Endpoint::Url(receiver.endpoint());
    settings.protocol = Protocol::HttpProtobuf;
    let export = OtlpExportBuilder::new(settings)
        .build()
        .expect("the export builds");
    let provider = TraceProvider::builder()
        .with_processor(Arc::new(export.processor()))
        .build();
    {
        let _trace = provider.trace("Mapping").start_as_current();
        run_rust(&provider, program);
    }
    let stats = export.shutdown();
    assert_eq!(stats.not_delivered(), 0, "{stats:?}");
    normalize_otlp(&receiver.requests())
}

fn run_rust(provider: &TraceProvider, spec: &Value) {
    let data = &spec["data"];
    let text = |key: &str| data[key].as_str().map(str::to_owned);
    let maps = |key: &str| {
        data[key].as_array().map(|items| {
            items
                .iter()
                .filter_map(|i| i.as_object().cloned())
                .collect::<Vec<JsonMap>>()
        })
    };
    let span: Span = match spec["type"].as_str().unwrap() {
        "generation" => {
            let mut generation = GenerationSpanData::new();
            generation.input = maps("input");
            generation.output = maps("output");
            generation.model = text("model");
            generation.model_config = data["model_config"].as_object().cloned();
            generation.usage = data["usage"].as_object().cloned();
            provider.span(generation).into_span()
        }
        "agent" => provider
            .span(AgentSpanData::new(text("name").unwrap()))
            .into_span(),
        "function" => provider
            .span(FunctionSpanData::new(text("name").unwrap()))
            .into_span(),
        "handoff" => provider
            .span(HandoffSpanData::new(text("from_agent"), text("to_agent")))
            .into_span(),
        "guardrail" => {
            let mut guardrail = GuardrailSpanData::new(text("name").unwrap());
            guardrail.triggered = data["triggered"].as_bool().unwrap();
            provider.span(guardrail).into_span()
        }
        _ => provider
            .span(CustomSpanData::new(text("name").unwrap()))
            .into_span(),
    };
    let _current = span.start_as_current();
    for child in spec["children"].as_array().into_iter().flatten() {
        run_rust(provider, child);
    }
    if let Some(error) = spec["error"].as_object() {
        let mut span_error = SpanError::new(error["message"].as_str().unwrap());
        span_error.data = error["data"].as_object().cloned();
        span.set_error(span_error);
    }
}

#[test]
fn generation_and_agent_model_mapping_matches_the_contrib_instrumentation() {
    let mut all = String::new();
    for program in programs().as_array().unwrap() {
        let python = python_transcript(program);
        let rust = rust_transcript(program);
        assert_eq!(rust, python, "program {program}");
        all.push_str(&python);
    }
    // The programs reach the mapping's branches (so equality above is not two empty exports).
    for expected in [
        "chat gpt-4o [client] ok",
        ". gen_ai.usage.input_tokens = 12",
        ". gen_ai.response.finish_reasons = [\"stop\", \"length\"]",
        ". server.address = \"example.com\"",
        ". gen_ai.output.type = \"image\"",
        ". gen_ai.request.stop_sequences = [\"a\", \"b\"]",
        ". gen_ai.request.model = \"gpt-first\"",
        "execute_tool lookup [internal] error \"Error running tool: None\"",
    ] {
        assert!(all.contains(expected), "{expected:?} missing from:\n{all}");
    }
}

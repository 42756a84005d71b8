//! OTLP export against a real receiver on loopback (`otel::receiver`, built on
//! opentelemetry-proto): both protocols, headers, resource and scope, parent links and ids;
//! and every way a collector can fail: down, hanging, refusing, a bad endpoint or header, a
//! full queue. Each wait is bounded.

use std::net::TcpListener;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use codex_telemetry::otel::receiver::proto::tonic::common::v1::any_value::Value as AnyValue;
use codex_telemetry::otel::receiver::proto::tonic::trace::v1::Span as OtlpSpan;
use codex_telemetry::otel::receiver::{Behaviour, LoopbackReceiver, ReceivedRequest};
use codex_telemetry::otel::{
    Endpoint, OtlpExport, OtlpExportBuilder, OtlpSettings, Protocol, WarningSink,
    configure_provider,
};
use codex_telemetry::{
    AgentSpanData, FunctionSpanData, GenerationSpanData, JsonMap, SpanError, TraceProvider,
};
use serde_json::json;

/// Generous bound on any wait: a failure shows up as a clear assertion, never a hang.
const PATIENCE: Duration = Duration::from_secs(20);

fn settings(endpoint: &str, protocol: Protocol) -> OtlpSettings {
    let mut settings = OtlpSettings::from_lookup(|_| None);
    settings.enabled = true;
    settings.endpoint = Endpoint::Url(endpoint.to_owned());
    settings.protocol = protocol;
    settings.headers = vec![("x-tenant".into(), "acme corp".into())];
    settings
}

/// Warnings collected from the export.
#[derive(Clone, Default)]
struct Warnings(Arc<Mutex<Vec<String>>>);

impl Warnings {
    fn sink(&self) -> WarningSink {
        let warnings = self.0.clone();
        WarningSink::to(move |message| warnings.lock().unwrap().push(message.to_owned()))
    }

    fn all(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

fn export(settings: OtlpSettings, warnings: &Warnings, timeout: Duration) -> OtlpExport {
    OtlpExportBuilder::new(settings)
        .with_timeout(timeout)
        .with_scheduled_delay(Duration::from_millis(50))
        .with_shutdown_timeout(timeout * 2)
        .with_warnings(warnings.sink())
        .build()
        .expect("the export builds")
}

/// An export to `receiver` (5 s timeout) and a provider feeding it.
fn exporting_to(
    receiver: &LoopbackReceiver,
    protocol: Protocol,
) -> (OtlpExport, TraceProvider, Warnings) {
    let warnings = Warnings::default();
    let export = export(
        settings(&receiver.endpoint(), protocol),
        &warnings,
        Duration::from_secs(5),
    );
    let provider = TraceProvider::builder()
        .with_processor(export.processor())
        .build();
    (export, provider, warnings)
}

const TRACE_ID: &str = "trace_0123456789abcdef0123456789abcdef";

/// A trace with an agent, its generation and a failing tool call.
fn record_run(provider: &TraceProvider) {
    let trace = provider
        .trace(codex_telemetry::TraceOptions::new("Agent workflow").with_trace_id(TRACE_ID))
        .start_as_current();
    {
        let agent = provider.span(AgentSpanData::new("Assistant"));
        let _agent = agent.start_as_current();
        {
            let mut data = GenerationSpanData::new();
            data.model = Some("gpt-4o".into());
            let generation = provider.span(data);
            let _generation = generation.start_as_current();
            generation.update(|d| {
                d.input = Some(vec![
                    json!({"role": "user", "content": "hi"})
                        .as_object()
                        .unwrap()
                        .clone(),
                ]);
                d.usage = Some(
                    json!({"input_tokens": 3, "output_tokens": 5})
                        .as_object()
                        .unwrap()
                        .clone(),
                );
            });
        }
        let tool = provider.span(FunctionSpanData::new("lookup"));
        let _tool = tool.start_as_current();
        tool.into_span()
            .set_error(
                SpanError::new("Error running tool").with_data(JsonMap::from_iter([(
                    "tool_name".to_owned(),
                    json!("lookup"),
                )])),
            );
    }
    drop(trace);
}

fn spans(requests: &[ReceivedRequest]) -> Vec<OtlpSpan> {
    requests
        .iter()
        .flat_map(|r| &r.request.resource_spans)
        .flat_map(|rs| &rs.scope_spans)
        .flat_map(|ss| ss.spans.clone())
        .collect()
}

fn string_attribute(span: &OtlpSpan, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
            AnyValue::StringValue(s) => Some(s.clone()),
            AnyValue::IntValue(i) => Some(i.to_string()),
            AnyValue::BoolValue(b) => Some(b.to_string()),
            _ => None,
        })
}

fn by_name<'a>(spans: &'a [OtlpSpan], name: &str) -> &'a OtlpSpan {
    spans.iter().find(|s| s.name == name).unwrap_or_else(|| {
        panic!(
            "no span {name:?} in {:?}",
            spans.iter().map(|s| &s.name).collect::<Vec<_>>()
        )
    })
}

fn exports_the_run_over(protocol: Protocol, receiver: LoopbackReceiver) {
    let (export, provider, warnings) = exporting_to(&receiver, protocol);
    record_run(&provider);
    let stats = export.shutdown();
    assert!(
        receiver.wait_for_spans(4, PATIENCE),
        "spans did not arrive: {stats:?}"
    );
    assert_eq!(warnings.all(), Vec::<String>::new());
    assert_eq!((stats.ended, stats.exported, stats.failed), (4, 4, 0));

    let requests = receiver.requests();
    assert_eq!(
        requests[0].header("x-tenant"),
        Some("acme corp"),
        "headers arrive decoded"
    );
    let resource_spans = &requests[0].request.resource_spans[0];
    let resource = resource_spans.resource.as_ref().expect("a resource");
    assert!(
        resource
            .attributes
            .iter()
            .any(|kv| kv.key == "service.name")
    );
    let scope = resource_spans.scope_spans[0]
        .scope
        .as_ref()
        .expect("a scope");
    assert_eq!(scope.name, "opentelemetry.instrumentation.openai_agents");
    assert_eq!(
        resource_spans.scope_spans[0].schema_url,
        "https://opentelemetry.io/schemas/1.28.0"
    );

    let spans = spans(&requests);
    // OTLP keys are unique per span (the end value of a key replaces its start value).
    for span in &spans {
        let mut keys: Vec<&str> = span.attributes.iter().map(|kv| kv.key.as_str()).collect();
        let total = keys.len();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(
            keys.len(),
            total,
            "a key is repeated on {:?}: {:?}",
            span.name,
            span.attributes
        );
    }
    let root = by_name(&spans, "Agent workflow");
    let agent = by_name(&spans, "invoke_agent Assistant");
    let generation = by_name(&spans, "chat gpt-4o");
    let tool = by_name(&spans, "execute_tool lookup");
    // The Agents trace id is the OTel trace id, digit for digit.
    let hex: String = root.trace_id.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(format!("trace_{hex}"), TRACE_ID);
    assert!(spans.iter().all(|s| s.trace_id == root.trace_id));
    assert!(root.parent_span_id.is_empty());
    assert_eq!(agent.parent_span_id, root.span_id);
    assert_eq!(generation.parent_span_id, agent.span_id);
    assert_eq!(tool.parent_span_id, agent.span_id);
    assert_eq!(
        string_attribute(agent, "openai.agents.trace_id").as_deref(),
        Some(TRACE_ID)
    );
    assert!(
        string_attribute(tool, "openai.agents.span_id").is_some_and(|id| id.starts_with("span_"))
    );
    assert_eq!(
        string_attribute(agent, "gen_ai.request.model").as_deref(),
        Some("gpt-4o")
    );
    assert_eq!(
        string_attribute(generation, "gen_ai.usage.output_tokens").as_deref(),
        Some("5")
    );
    assert_eq!(
        string_attribute(tool, "gen_ai.tool.name").as_deref(),
        Some("lookup")
    );
    let status = tool.status.as_ref().expect("a status");
    assert_eq!(status.code, 2, "error");
    assert_eq!(
        status.message,
        "Error running tool: {'tool_name': 'lookup'}"
    );
}

#[test]
fn http_protobuf_export_reaches_the_receiver_with_headers_parents_and_ids() {
    let receiver = LoopbackReceiver::http(Behaviour::Accept).unwrap();
    exports_the_run_over(Protocol::HttpProtobuf, receiver);
}

#[test]
fn grpc_export_reaches_the_receiver_with_headers_parents_and_ids() {
    let receiver = LoopbackReceiver::grpc(Behaviour::Accept).unwrap();
    exports_the_run_over(Protocol::Grpc, receiver);
}

/// A port nobody listens on.
fn closed_port_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// Runs ten traces against a collector that fails, and checks the program went on: shutdown
/// returned, nothing was delivered, everything was counted, and there was one warning.
fn fails_gracefully(endpoint: String, protocol: Protocol, expect_in_warning: &str) {
    let warnings = Warnings::default();
    let export = export(
        settings(&endpoint, protocol),
        &warnings,
        Duration::from_millis(100),
    );
    let provider = TraceProvider::builder()
        .with_processor(export.processor())
        .build();
    let started = Instant::now();
    for _ in 0..10 {
        record_run(&provider);
        export.force_flush();
    }
    let shutdown_started = Instant::now();
    let stats = export.shutdown();
    // Shutdown is bounded by its timeout (1 s here, for spans and metrics together); the
    // margin absorbs a loaded machine, not a second timeout.
    assert!(
        shutdown_started.elapsed() < Duration::from_secs(4),
        "shutdown took {:?}",
        shutdown_started.elapsed()
    );
    assert!(
        started.elapsed() < PATIENCE,
        "the failing export held the program"
    );
    assert_eq!(stats.ended, 40);
    assert_eq!(stats.exported, 0);
    assert_eq!(stats.not_delivered(), 40);
    let warnings = warnings.all();
    assert_eq!(
        warnings.len(),
        1,
        "one warning, not one per batch: {warnings:#?}"
    );
    assert!(warnings[0].contains(&endpoint), "{}", warnings[0]);
    assert!(
        warnings[0].to_lowercase().contains(expect_in_warning),
        "{:?} should mention {expect_in_warning:?}",
        warnings[0]
    );
}

#[test]
fn a_collector_that_is_down_costs_one_warning_over_http() {
    fails_gracefully(closed_port_endpoint(), Protocol::HttpProtobuf, "failed");
}

#[test]
fn a_collector_that_is_down_costs_one_warning_over_grpc() {
    fails_gracefully(closed_port_endpoint(), Protocol::Grpc, "failed");
}

#[test]
fn a_collector_that_never_answers_times_out_over_http() {
    let receiver = LoopbackReceiver::http(Behaviour::Hang).unwrap();
    fails_gracefully(receiver.endpoint(), Protocol::HttpProtobuf, "failed");
}

#[test]
fn a_collector_that_never_answers_times_out_over_grpc() {
    let receiver = LoopbackReceiver::grpc(Behaviour::Hang).unwrap();
    fails_gracefully(receiver.endpoint(), Protocol::Grpc, "failed");
}

#[test]
fn a_refusing_collector_costs_one_warning() {
    let receiver = LoopbackReceiver::http(Behaviour::Refuse).unwrap();
    fails_gracefully(receiver.endpoint(), Protocol::HttpProtobuf, "503");
    let receiver = LoopbackReceiver::grpc(Behaviour::Refuse).unwrap();
    fails_gracefully(receiver.endpoint(), Protocol::Grpc, "unavailable");
}

#[test]
fn a_full_queue_drops_spans_and_counts_them() {
    let receiver = LoopbackReceiver::http(Behaviour::Hang).unwrap();
    let warnings = Warnings::default();
    let export = OtlpExportBuilder::new(settings(&receiver.endpoint(), Protocol::HttpProtobuf))
        .with_timeout(Duration::from_millis(300))
        .with_max_queue_size(4)
        .with_shutdown_timeout(Duration::from_secs(2))
        .with_warnings(warnings.sink())
        .build()
        .unwrap();
    let provider = TraceProvider::builder()
        .with_processor(export.processor())
        .build();
    for _ in 0..50 {
        record_run(&provider);
    }
    let stats = export.shutdown();
    assert_eq!(stats.ended, 200);
    assert_eq!(stats.exported, 0);
    // At most a queue's worth (plus the batch in flight) reached the exporter to fail; the
    // rest were dropped at the queue, and all of it is visible.
    assert!(stats.failed <= 8, "{stats:?}");
    assert_eq!(stats.not_delivered(), 200);
}

#[test]
fn bad_endpoints_and_headers_are_refused_naming_the_variable() {
    let lookup = |vars: &'static [(&'static str, &'static str)]| {
        OtlpSettings::from_lookup(move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    };
    let bad_endpoint = lookup(&[
        ("CODEX_OTLP_ENABLE", "1"),
        ("CODEX_OTLP_ENDPOINT", "localhost:4318"),
    ]);
    let error = OtlpExportBuilder::new(bad_endpoint.clone())
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("CODEX_OTLP_ENDPOINT"), "{error}");
    // configure_provider warns on standard error and leaves the provider without an exporter
    // (exactly one warning: the closed-port test below counts them in a child process).
    let provider = TraceProvider::builder().build();
    assert!(configure_provider(&provider, bad_endpoint).is_none());

    let bad_headers = lookup(&[("CODEX_OTLP_ENABLE", "1"), ("CODEX_OTLP_HEADERS", "tenant")]);
    let error = OtlpExportBuilder::new(bad_headers).build().unwrap_err();
    assert!(error.to_string().contains("CODEX_OTLP_HEADERS"), "{error}");

    let mut not_metadata = settings("http://127.0.0.1:4317", Protocol::Grpc);
    not_metadata.headers = vec![("bad header".into(), "v".into())];
    let error = OtlpExportBuilder::new(not_metadata).build().unwrap_err();
    assert!(error.to_string().contains("bad header"), "{error}");

    let missing_ca = lookup(&[
        ("CODEX_OTLP_ENABLE", "1"),
        ("CODEX_OTLP_CACERTFILE", "/nonexistent/ca.pem"),
    ]);
    let error = OtlpExportBuilder::new(missing_ca).build().unwrap_err();
    assert!(
        error.to_string().contains("CODEX_OTLP_CACERTFILE"),
        "{error}"
    );
}

/// The child process of the next test: a scripted run exporting as the environment says.
#[test]
#[ignore = "run as a child process by enabled_export_to_a_closed_port_prints_exactly_one_warning…"]
fn scripted_run_child() {
    let provider = TraceProvider::builder().build();
    let export = configure_provider(&provider, OtlpSettings::from_env());
    for _ in 0..20 {
        record_run(&provider);
    }
    if let Some(export) = export {
        export.shutdown();
    }
}

#[test]
fn enabled_export_to_a_closed_port_prints_exactly_one_warning_and_the_run_completes() {
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "otlp::scripted_run_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("CODEX_OTLP_ENABLE", "1")
        .env("CODEX_OTLP_ENDPOINT", closed_port_endpoint())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the run failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("1 passed"),
        "the child test did not run:\n{stdout}"
    );
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.contains("warning")).collect();
    assert_eq!(warnings.len(), 1, "stderr:\n{stderr}");
    assert!(
        warnings[0].contains("OTLP export to http://127.0.0.1:"),
        "{}",
        warnings[0]
    );
}

#[test]
fn codex_events_travel_as_span_events_on_the_span_current_at_emission() {
    use codex_telemetry::config::EnvConfig;
    use codex_telemetry::lifecycle::{RunOptions, Runner};
    use tracing_subscriber::layer::SubscriberExt;

    let receiver = LoopbackReceiver::http(Behaviour::Accept).unwrap();
    let (export, provider, warnings) = exporting_to(&receiver, Protocol::HttpProtobuf);
    let runner = Runner::new(provider, EnvConfig::default());
    let subscriber = tracing_subscriber::registry().with(export.codex_events_layer());
    tracing::subscriber::with_default(subscriber, || {
        crate::events::tool_call_run(&runner, RunOptions::new(), || Ok(json!("sunny"))).unwrap();
    });
    let stats = export.shutdown();
    assert_eq!(
        (stats.not_delivered(), stats.unattached_events),
        (0, 0),
        "{stats:?}"
    );
    assert_eq!(warnings.all(), Vec::<String>::new());
    let spans = spans(&receiver.requests());
    let events_of = |name: &str| -> Vec<String> {
        by_name(&spans, name)
            .events
            .iter()
            .map(|e| e.name.clone())
            .collect()
    };
    assert_eq!(
        events_of("execute_tool get_weather"),
        ["codex.tool.start", "codex.tool.stop"]
    );
    let all: Vec<String> = spans
        .iter()
        .flat_map(|s| s.events.iter().map(|e| e.name.clone()))
        .collect();
    for expected in [
        "codex.thread.start",
        "codex.thread.stop",
        "codex.turn.start",
        "codex.turn.stop",
    ] {
        assert!(
            all.iter().any(|n| n == expected),
            "{expected} missing from {all:?}"
        );
    }
    let tool = by_name(&spans, "execute_tool get_weather");
    let stop = tool
        .events
        .iter()
        .find(|e| e.name == "codex.tool.stop")
        .unwrap();
    assert!(
        stop.attributes.iter().any(|kv| kv.key == "duration_ms"),
        "{stop:?}"
    );
}

/// The metric names in what the receiver got.
fn metric_names(receiver: &LoopbackReceiver) -> Vec<String> {
    receiver
        .metrics_requests()
        .iter()
        .flat_map(|r| &r.resource_metrics)
        .flat_map(|rm| &rm.scope_metrics)
        .flat_map(|sm| &sm.metrics)
        .map(|m| m.name.clone())
        .collect()
}

fn metrics_of_a_run_arrive_over(protocol: Protocol, receiver: LoopbackReceiver) {
    use codex_telemetry::config::EnvConfig;
    use codex_telemetry::events::Events;
    use codex_telemetry::lifecycle::{RunOptions, Runner};
    use tracing_subscriber::layer::SubscriberExt;

    let (export, provider, warnings) = exporting_to(&receiver, protocol);
    let events = Events::new(provider.clone()).with_meter(&export.meter());
    let runner = Runner::new(provider, EnvConfig::default()).with_events(events);
    // The events are emitted (and so measured) only when a subscriber wants them.
    let subscriber = tracing_subscriber::registry().with(export.codex_events_layer());
    tracing::subscriber::with_default(subscriber, || {
        crate::events::tool_call_run(&runner, RunOptions::new(), || Ok(json!("sunny"))).unwrap();
    });
    let stats = export.shutdown();
    assert_eq!(
        (stats.failed_metric_exports, stats.not_delivered()),
        (0, 0),
        "{stats:?}"
    );
    assert_eq!(warnings.all(), Vec::<String>::new());
    let names = metric_names(&receiver);
    for expected in [
        "codex.thread.run",
        "codex.turn",
        "codex.tool.call",
        "codex.tool.call.duration_ms",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {names:?}"
        );
    }
}

#[test]
fn codex_event_metrics_are_exported_to_the_same_collector_over_http() {
    metrics_of_a_run_arrive_over(
        Protocol::HttpProtobuf,
        LoopbackReceiver::http(Behaviour::Accept).unwrap(),
    );
}

#[test]
fn codex_event_metrics_are_exported_to_the_same_collector_over_grpc() {
    metrics_of_a_run_arrive_over(
        Protocol::Grpc,
        LoopbackReceiver::grpc(Behaviour::Accept).unwrap(),
    );
}

/// A CA, a server certificate for `localhost` and a client certificate, made for this test.
struct Pki {
    dir: tempfile::TempDir,
    server: codex_telemetry::otel::receiver::ServerTls,
}

impl Pki {
    fn new(mutual: bool) -> Self {
        use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        let server_key = KeyPair::generate().unwrap();
        let server_cert = CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .signed_by(&server_key, &ca)
            .unwrap();
        let client_key = KeyPair::generate().unwrap();
        let client_cert = CertificateParams::new(vec!["client".to_owned()])
            .unwrap()
            .signed_by(&client_key, &ca)
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
        std::fs::write(dir.path().join("client.pem"), client_cert.pem()).unwrap();
        std::fs::write(dir.path().join("client.key"), client_key.serialize_pem()).unwrap();
        Pki {
            server: codex_telemetry::otel::receiver::ServerTls {
                cert_pem: server_cert.pem().into_bytes(),
                key_pem: server_key.serialize_pem().into_bytes(),
                client_ca_pem: mutual.then(|| ca.pem().into_bytes()),
            },
            dir,
        }
    }

    fn file(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }
}

fn exports_over_mutual_tls(protocol: Protocol, receiver: LoopbackReceiver) {
    let pki = Pki::new(true);
    let receiver = receiver.with_tls(pki.server.clone()).unwrap();
    assert!(receiver.endpoint().starts_with("https://localhost:"));
    // Without the client certificate the receiver refuses the handshake: one warning, nothing
    // delivered.
    let mut anonymous = settings(&receiver.endpoint(), protocol);
    anonymous.ca_cert_file = Some(pki.file("ca.pem"));
    let warnings = Warnings::default();
    let export_without_identity = export(anonymous.clone(), &warnings, Duration::from_secs(2));
    let provider = TraceProvider::builder()
        .with_processor(export_without_identity.processor())
        .build();
    record_run(&provider);
    let stats = export_without_identity.shutdown();
    assert_eq!(
        (stats.exported, warnings.all().len()),
        (0, 1),
        "{stats:?} {:?}",
        warnings.all()
    );
    assert_eq!(receiver.span_count(), 0);

    // With the CA and the client certificate and key, the spans arrive.
    let mut mutual = anonymous;
    mutual.cert_file = Some(pki.file("client.pem"));
    mutual.key_file = Some(pki.file("client.key"));
    let warnings = Warnings::default();
    let export = export(mutual, &warnings, Duration::from_secs(5));
    let provider = TraceProvider::builder()
        .with_processor(export.processor())
        .build();
    record_run(&provider);
    let stats = export.shutdown();
    assert!(
        receiver.wait_for_spans(4, PATIENCE),
        "{stats:?} {:?}",
        warnings.all()
    );
    assert_eq!(warnings.all(), Vec::<String>::new());
    assert_eq!(receiver.requests()[0].header("x-tenant"), Some("acme corp"));
}

#[test]
fn https_export_with_mutual_tls_over_http() {
    exports_over_mutual_tls(
        Protocol::HttpProtobuf,
        LoopbackReceiver::http(Behaviour::Accept).unwrap(),
    );
}

#[test]
fn https_export_with_mutual_tls_over_grpc() {
    exports_over_mutual_tls(
        Protocol::Grpc,
        LoopbackReceiver::grpc(Behaviour::Accept).unwrap(),
    );
}

#[test]
fn unusable_tls_files_are_refused_naming_the_variable() {
    let pki = Pki::new(false);
    let not_pem = pki.file("not.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    let mut settings = settings("https://localhost:4318", Protocol::HttpProtobuf);
    settings.ca_cert_file = Some(not_pem);
    let error = OtlpExportBuilder::new(settings).build().unwrap_err();
    assert!(
        error.to_string().contains("CODEX_OTLP_CACERTFILE"),
        "{error}"
    );
    assert!(error.to_string().contains("is not a PEM file"), "{error}");
}

/// Exports `record` with a fresh export to a fresh receiver and returns the spans received.
fn received(record: impl FnOnce(&TraceProvider)) -> Vec<OtlpSpan> {
    let receiver = LoopbackReceiver::http(Behaviour::Accept).unwrap();
    let (export, provider, warnings) = exporting_to(&receiver, Protocol::HttpProtobuf);
    record(&provider);
    let stats = export.shutdown();
    assert_eq!(stats.not_delivered(), 0, "{stats:?}");
    assert_eq!(warnings.all(), Vec::<String>::new());
    spans(&receiver.requests())
}

#[test]
fn reused_span_ids_cannot_trap_the_agent_model_walk_in_a_cycle() {
    use codex_telemetry::{CustomSpanData, SpanOptions};
    // Ids are the caller's to choose: two nested spans with one id make the first the parent
    // of itself in the bridge's records. The walk must still end (it used to spin forever).
    let spans = received(|provider| {
        let _trace = provider.trace("Loop").start_as_current();
        let outer = provider.create_span(
            CustomSpanData::new("outer"),
            SpanOptions::new().with_span_id("span_same"),
        );
        let _outer = outer.start_as_current();
        let inner = provider.create_span(
            CustomSpanData::new("inner"),
            SpanOptions::new().with_span_id("span_same"),
        );
        let _inner = inner.start_as_current();
        let mut data = GenerationSpanData::new();
        data.model = Some("gpt-4o".into());
        let generation = provider.span(data);
        let _generation = generation.start_as_current();
    });
    assert!(
        spans.iter().any(|s| s.name == "text_completion gpt-4o"),
        "{spans:?}"
    );
}

#[test]
fn a_span_whose_parent_is_unknown_goes_under_its_trace_root() {
    use codex_telemetry::{CustomSpanData, SpanOptions};
    let elsewhere = TraceProvider::builder().build();
    let spans = received(|provider| {
        let trace = provider.trace("Adopted").start_as_current();
        let foreign = elsewhere.create_span(
            CustomSpanData::new("foreign"),
            SpanOptions::new().with_parent_trace(trace.trace()),
        );
        let child = provider.create_span(
            CustomSpanData::new("child"),
            SpanOptions::new().with_parent_span(&foreign.into_span()),
        );
        let _child = child.start_as_current();
    });
    let root = by_name(&spans, "Adopted");
    let child = by_name(&spans, "unknown");
    assert_eq!(child.parent_span_id, root.span_id);
    assert!(string_attribute(child, "openai.agents.parent_id").is_some());
}

#[test]
fn tls_files_with_a_plain_http_endpoint_are_refused() {
    let pki = Pki::new(false);
    let mut plain = settings("http://localhost:4318", Protocol::Grpc);
    plain.ca_cert_file = Some(pki.file("ca.pem"));
    for protocol in [Protocol::Grpc, Protocol::HttpProtobuf] {
        plain.protocol = protocol;
        let error = OtlpExportBuilder::new(plain.clone()).build().unwrap_err();
        assert!(error.to_string().contains("is not https://"), "{error}");
    }
}

//! The export pipeline: the OpenTelemetry SDK's tracer provider with a bounded batch processor
//! over an OTLP exporter (http/protobuf or gRPC) or `opentelemetry-stdout`, built from
//! [`OtlpSettings`]. It never blocks or panics the instrumented program on a bad collector:
//! failures are counted ([`ExportStats`]) and reported by one warning ([`super::warning`]).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use opentelemetry::Context;
use opentelemetry::InstrumentationScope;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig, WithTonicConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider, SpanData, SpanExporter,
    SpanProcessor,
};

use super::bridge::OtelBridge;
use super::config::{Endpoint, OtlpSettings, Protocol};
use super::genai::{SCHEMA_URL, SCOPE_NAME};
use super::warning::WarningSink;

/// Per-request timeout of an export (and of connecting), unless the builder says otherwise.
pub const DEFAULT_EXPORT_TIMEOUT: Duration = Duration::from_secs(10);
/// Spans waiting for export at most; beyond it spans are dropped and counted.
pub const DEFAULT_MAX_QUEUE_SIZE: usize = 2048;
/// How long [`OtlpExport::shutdown`] waits for the last export by default.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// Builds an [`OtlpExport`] from settings (usually [`OtlpSettings::from_env`]).
#[derive(Debug, Clone)]
pub struct OtlpExportBuilder {
    settings: OtlpSettings,
    timeout: Duration,
    max_queue_size: usize,
    scheduled_delay: Duration,
    shutdown_timeout: Duration,
    warnings: WarningSink,
}

/// Why an export could not be built: the settings' problems, or the exporter's refusal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("OTLP export is off: {}", .problems.join("; "))]
pub struct OtlpBuildError {
    /// One sentence per problem, naming the variable or value.
    pub problems: Vec<String>,
}

impl OtlpExportBuilder {
    /// A builder for `settings` (whether they say `enabled` or not: building is explicit).
    pub fn new(settings: OtlpSettings) -> Self {
        Self {
            settings,
            timeout: DEFAULT_EXPORT_TIMEOUT,
            max_queue_size: DEFAULT_MAX_QUEUE_SIZE,
            scheduled_delay: Duration::from_secs(1),
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            warnings: WarningSink::application(),
        }
    }

    /// Where the one warning about failing exports goes (default: the application's
    /// `tracing` subscriber, or standard error when none listens).
    pub fn with_warnings(mut self, sink: WarningSink) -> Self {
        self.warnings = sink;
        self
    }

    /// The export (and connect) timeout of one request.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The most spans kept waiting for export (at least 1).
    pub fn with_max_queue_size(mut self, size: usize) -> Self {
        self.max_queue_size = size.max(1);
        self
    }

    /// How often queued spans are sent.
    pub fn with_scheduled_delay(mut self, delay: Duration) -> Self {
        self.scheduled_delay = delay;
        self
    }

    /// How long [`OtlpExport::shutdown`] waits for the last export.
    pub fn with_shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// The pipeline, or the problems that keep it from being built.
    pub fn build(self) -> Result<OtlpExport, OtlpBuildError> {
        if !self.settings.problems.is_empty() {
            return Err(OtlpBuildError {
                problems: self.settings.problems.clone(),
            });
        }
        if self.settings.ca_cert_file.is_some() || self.settings.cert_file.is_some() {
            return Err(OtlpBuildError {
                problems: vec![
                    "TLS certificate files are set (CODEX_OTLP_CACERTFILE/CERTFILE/KEYFILE) but this \
                     build exports over plain http only: unset them, or export to a local \
                     collector that forwards over TLS"
                        .into(),
                ],
            });
        }
        let stats = Arc::new(StatsCounters::default());
        let (runtime, exporter) = self.exporter(stats.clone())?;
        let batch = BatchSpanProcessor::builder(exporter)
            .with_batch_config(
                BatchConfigBuilder::default()
                    .with_max_queue_size(self.max_queue_size)
                    .with_max_export_batch_size(self.max_queue_size.min(512))
                    .with_scheduled_delay(self.scheduled_delay)
                    .build(),
            )
            .build();
        let provider = SdkTracerProvider::builder()
            .with_resource(resource())
            .with_span_processor(Counting {
                inner: batch,
                stats: stats.clone(),
            })
            .build();
        let scope = InstrumentationScope::builder(SCOPE_NAME)
            .with_version("")
            .with_schema_url(SCHEMA_URL)
            .build();
        let bridge = Arc::new(OtelBridge::new(provider.tracer_with_scope(scope)));
        Ok(OtlpExport {
            provider,
            bridge,
            stats,
            runtime,
            shutdown_timeout: self.shutdown_timeout,
            shut_down: AtomicBool::new(false),
        })
    }

    fn exporter(
        &self,
        stats: Arc<StatsCounters>,
    ) -> Result<(Option<tokio::runtime::Runtime>, Watched), OtlpBuildError> {
        let refused = |e: &dyn fmt::Display| OtlpBuildError {
            problems: vec![format!("the OTLP exporter could not be built: {e}")],
        };
        let url = match &self.settings.endpoint {
            Endpoint::Stdout => {
                let exporter = Watched::new(
                    Inner::Stdout(opentelemetry_stdout::SpanExporter::default()),
                    "stdout".into(),
                    stats,
                    self.warnings.clone(),
                );
                return Ok((None, exporter));
            }
            Endpoint::Url(url) => url.clone(),
        };
        let headers: HashMap<String, String> = self.settings.headers.iter().cloned().collect();
        match self.settings.protocol {
            Protocol::HttpProtobuf => {
                let url = http_traces_url(&url);
                // The blocking reqwest client must be built (and later dropped) outside any
                // async runtime: build it on a thread of its own.
                let (timeout, target) = (self.timeout, url.clone());
                let built = std::thread::scope(|scope| {
                    scope
                        .spawn(move || {
                            opentelemetry_otlp::SpanExporter::builder()
                                .with_http()
                                .with_endpoint(target)
                                .with_timeout(timeout)
                                .with_headers(headers)
                                .build()
                        })
                        .join()
                });
                let exporter = built
                    .map_err(|_| refused(&"building the HTTP client panicked"))?
                    .map_err(|e| refused(&e))?;
                Ok((None, Watched::new(Inner::Otlp(Box::new(exporter)), url, stats, self.warnings.clone())))
            }
            Protocol::Grpc => {
                // tonic's channel runs on a tokio runtime: a one-worker runtime of our own, so
                // the application needs none.
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .thread_name("codex-otlp-grpc")
                    .enable_all()
                    .build()
                    .map_err(|e| refused(&e))?;
                let mut headers = http::HeaderMap::new();
                for (key, value) in &self.settings.headers {
                    let name = http::HeaderName::from_bytes(key.as_bytes()).map_err(|_| {
                        OtlpBuildError {
                            problems: vec![format!("the header name {key:?} is not valid in gRPC metadata")],
                        }
                    })?;
                    let value = http::HeaderValue::from_str(value).map_err(|_| OtlpBuildError {
                        problems: vec![format!("the value of header {key:?} is not valid in gRPC metadata")],
                    })?;
                    headers.insert(name, value);
                }
                let metadata = opentelemetry_otlp::tonic_types::metadata::MetadataMap::from_headers(headers);
                let exporter = {
                    let _entered = runtime.enter();
                    opentelemetry_otlp::SpanExporter::builder()
                        .with_tonic()
                        .with_endpoint(url.clone())
                        .with_timeout(self.timeout)
                        .with_metadata(metadata)
                        .build()
                        .map_err(|e| refused(&e))?
                };
                Ok((Some(runtime), Watched::new(Inner::Otlp(Box::new(exporter)), url, stats, self.warnings.clone())))
            }
        }
    }
}

/// The SDK's resource (`OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, `telemetry.sdk.*`), with
/// the defaults the Python SDK adds when the environment sets none: `service.name` as
/// `unknown_service:<executable>` (the OTel specification's fallback) and a random
/// `service.instance.id` per export.
fn resource() -> Resource {
    let detected = Resource::builder().build();
    let mut extra = Vec::new();
    let service_name = opentelemetry::Key::from_static_str("service.name");
    if detected.get(&service_name).is_none_or(|name| name.as_str() == "unknown_service") {
        let executable = std::env::current_exe()
            .ok()
            .and_then(|path| path.file_name().map(|name| name.to_string_lossy().into_owned()));
        if let Some(executable) = executable {
            extra.push(opentelemetry::KeyValue::new(service_name, format!("unknown_service:{executable}")));
        }
    }
    let instance = opentelemetry::Key::from_static_str("service.instance.id");
    if detected.get(&instance).is_none() {
        let bytes: [u8; 16] = std::array::from_fn(|_| fastrand::u8(..));
        let id = uuid::Builder::from_random_bytes(bytes).into_uuid();
        extra.push(opentelemetry::KeyValue::new(instance, id.to_string()));
    }
    Resource::builder().with_attributes(extra).build()
}

/// An http/protobuf endpoint without a path gets OTLP's traces path (`/v1/traces`), as the
/// standard `OTEL_EXPORTER_OTLP_ENDPOINT` does; one with a path is used as written.
fn http_traces_url(url: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    match after_scheme.split_once('/') {
        Some((_, path)) if !path.is_empty() => url.to_owned(),
        _ => format!("{}/v1/traces", url.trim_end_matches('/')),
    }
}

/// The running export: attach [`OtlpExport::processor`] to a trace provider, and
/// [`shut it down`](OtlpExport::shutdown) before the program exits so queued spans are sent.
pub struct OtlpExport {
    provider: SdkTracerProvider,
    bridge: Arc<OtelBridge>,
    stats: Arc<StatsCounters>,
    runtime: Option<tokio::runtime::Runtime>,
    shutdown_timeout: Duration,
    shut_down: AtomicBool,
}

impl fmt::Debug for OtlpExport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtlpExport").field("stats", &self.stats()).finish_non_exhaustive()
    }
}

/// What the export has done so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExportStats {
    /// Spans that ended and were handed to the export queue.
    pub ended: u64,
    /// Spans the receiver accepted.
    pub exported: u64,
    /// Spans in requests that failed (refused, unreachable, timed out).
    pub failed: u64,
    /// Spans not exported because too many were open at once (see `bridge::MAX_OPEN_SPANS`).
    pub refused: u64,
}

impl ExportStats {
    /// Spans that ended but did not reach the receiver: failed, dropped on a full queue, or
    /// still queued. After [`OtlpExport::force_flush`] or shutdown, nothing is still queued.
    pub fn not_delivered(&self) -> u64 {
        self.ended.saturating_sub(self.exported)
    }
}

impl OtlpExport {
    /// The processor to register on a `TraceProvider`: it turns the provider's traces and
    /// spans into OTel spans for this export.
    pub fn processor(&self) -> Arc<OtelBridge> {
        self.bridge.clone()
    }

    /// The counts so far.
    pub fn stats(&self) -> ExportStats {
        ExportStats {
            ended: self.stats.ended.load(Ordering::Relaxed),
            exported: self.stats.exported.load(Ordering::Relaxed),
            failed: self.stats.failed.load(Ordering::Relaxed),
            refused: self.bridge.refused_spans(),
        }
    }

    /// Sends what is queued now (waits at most a few seconds; failures are counted).
    pub fn force_flush(&self) {
        let _ = self.provider.force_flush();
    }

    /// Ends what is still open, sends what is queued, and stops, waiting at most the
    /// shutdown timeout. Calling it again does nothing.
    pub fn shutdown(&self) -> ExportStats {
        if !self.shut_down.swap(true, Ordering::SeqCst) {
            crate::processor::TracingProcessor::shutdown(&*self.bridge);
            let _ = self.provider.shutdown_with_timeout(self.shutdown_timeout);
        }
        self.stats()
    }
}

impl Drop for OtlpExport {
    fn drop(&mut self) {
        self.shutdown();
        if let Some(runtime) = self.runtime.take() {
            // Dropping a runtime blocks; inside an application's async code that would panic.
            runtime.shutdown_background();
        }
    }
}

#[derive(Debug, Default)]
struct StatsCounters {
    ended: AtomicU64,
    exported: AtomicU64,
    failed: AtomicU64,
}

/// Counts the spans handed to the batch processor.
#[derive(Debug)]
struct Counting {
    inner: BatchSpanProcessor,
    stats: Arc<StatsCounters>,
}

impl SpanProcessor for Counting {
    fn on_start(&self, span: &mut opentelemetry_sdk::trace::Span, cx: &Context) {
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        self.stats.ended.fetch_add(1, Ordering::Relaxed);
        self.inner.on_end(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

#[derive(Debug)]
enum Inner {
    Otlp(Box<opentelemetry_otlp::SpanExporter>),
    Stdout(opentelemetry_stdout::SpanExporter),
}

/// The exporter, watched: counts what it delivered and what failed, and warns once.
#[derive(Debug)]
struct Watched {
    inner: Inner,
    target: String,
    stats: Arc<StatsCounters>,
    warnings: WarningSink,
    warned: AtomicBool,
}

impl Watched {
    fn new(inner: Inner, target: String, stats: Arc<StatsCounters>, warnings: WarningSink) -> Self {
        Self {
            inner,
            target,
            stats,
            warnings,
            warned: AtomicBool::new(false),
        }
    }
}

impl SpanExporter for Watched {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let count = batch.len() as u64;
        let result = match &self.inner {
            Inner::Otlp(exporter) => exporter.export(batch).await,
            Inner::Stdout(exporter) => exporter.export(batch).await,
        };
        match &result {
            Ok(()) => {
                self.stats.exported.fetch_add(count, Ordering::Relaxed);
            }
            Err(error) => {
                self.stats.failed.fetch_add(count, Ordering::Relaxed);
                if !self.warned.swap(true, Ordering::Relaxed) {
                    self.warnings.warn(&format!(
                        "OTLP export to {} failed ({error}); spans are dropped until it \
                         recovers. Later failures are counted, not logged \
                         (OtlpExport::stats; docs/runbook.md)",
                        self.target
                    ));
                }
            }
        }
        result
    }

    fn shutdown_with_timeout(&mut self, timeout: Duration) -> OTelSdkResult {
        match &mut self.inner {
            Inner::Otlp(exporter) => exporter.shutdown_with_timeout(timeout),
            Inner::Stdout(exporter) => exporter.shutdown_with_timeout(timeout),
        }
    }

    fn force_flush(&mut self) -> OTelSdkResult {
        match &mut self.inner {
            Inner::Otlp(exporter) => exporter.force_flush(),
            Inner::Stdout(exporter) => exporter.force_flush(),
        }
    }

    fn set_resource(&mut self, resource: &Resource) {
        match &mut self.inner {
            Inner::Otlp(exporter) => exporter.set_resource(resource),
            Inner::Stdout(exporter) => exporter.set_resource(resource),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_endpoints_without_a_path_get_the_traces_path() {
        assert_eq!(http_traces_url("http://h:4318"), "http://h:4318/v1/traces");
        assert_eq!(http_traces_url("http://h:4318/"), "http://h:4318/v1/traces");
        assert_eq!(http_traces_url("http://h:4318/custom"), "http://h:4318/custom");
    }
}

//! The export pipeline: the OpenTelemetry SDK's tracer provider with a bounded batch processor
//! over the exporter ([`super::transport`]), and a meter provider for the Codex events' metrics,
//! built from [`OtlpSettings`]. It never blocks or panics the instrumented program on a bad
//! collector: failures are counted and reported by one warning ([`super::watch`]).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use opentelemetry::InstrumentationScope;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider};

use super::bridge::OtelBridge;
use super::config::{OtlpBuildError, OtlpSettings};
use super::genai::{SCHEMA_URL, SCOPE_NAME};
use super::warning::WarningSink;
use super::watch::{Counting, ExportStats, Watch, WatchedMetrics, WatchedSpans};

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
    metrics_interval: Duration,
    shutdown_timeout: Duration,
    warnings: WarningSink,
}

impl OtlpExportBuilder {
    /// A builder for `settings` (whether they say `enabled` or not: building is explicit).
    pub fn new(settings: OtlpSettings) -> Self {
        Self {
            settings,
            timeout: DEFAULT_EXPORT_TIMEOUT,
            max_queue_size: DEFAULT_MAX_QUEUE_SIZE,
            scheduled_delay: Duration::from_secs(1),
            metrics_interval: Duration::from_secs(60),
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

    /// How often metrics are sent (OTel's default: a minute); shutdown sends them too.
    pub fn with_metrics_interval(mut self, interval: Duration) -> Self {
        self.metrics_interval = interval;
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
        let watch = Watch::new(self.warnings.clone());
        let transport = super::transport::build(&self.settings, self.timeout)?;
        let resource = resource();
        let batch = BatchSpanProcessor::builder(WatchedSpans {
            sink: transport.spans,
            target: transport.spans_target,
            watch: watch.clone(),
        })
        .with_batch_config(
            BatchConfigBuilder::default()
                .with_max_queue_size(self.max_queue_size)
                .with_max_export_batch_size(self.max_queue_size.min(512))
                .with_scheduled_delay(self.scheduled_delay)
                .build(),
        )
        .build();
        let provider = SdkTracerProvider::builder()
            .with_resource(resource.clone())
            .with_span_processor(Counting {
                inner: batch,
                watch: watch.clone(),
            })
            .build();
        let reader = PeriodicReader::builder(WatchedMetrics {
            sink: transport.metrics,
            target: transport.metrics_target,
            watch: watch.clone(),
        })
        .with_interval(self.metrics_interval)
        .build();
        let meter_provider = SdkMeterProvider::builder()
            .with_resource(resource)
            .with_reader(reader)
            .build();
        let scope = InstrumentationScope::builder(SCOPE_NAME)
            .with_version("")
            .with_schema_url(SCHEMA_URL)
            .build();
        let bridge = Arc::new(OtelBridge::new(provider.tracer_with_scope(scope)));
        Ok(OtlpExport {
            provider,
            meter_provider,
            bridge,
            watch,
            runtime: transport.runtime,
            shutdown_timeout: self.shutdown_timeout,
            shut_down: AtomicBool::new(false),
        })
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
    if detected
        .get(&service_name)
        .is_none_or(|name| name.as_str() == "unknown_service")
    {
        let executable = std::env::current_exe().ok().and_then(|path| {
            path.file_name()
                .map(|name| name.to_string_lossy().into_owned())
        });
        if let Some(executable) = executable {
            extra.push(opentelemetry::KeyValue::new(
                service_name,
                format!("unknown_service:{executable}"),
            ));
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

/// The running export: attach [`OtlpExport::processor`] to a trace provider, and
/// [`shut it down`](OtlpExport::shutdown) before the program exits so queued spans are sent
/// (dropping it shuts it down too, waiting at most the shutdown timeout).
#[must_use = "dropping the export shuts it down: keep it until the program ends"]
pub struct OtlpExport {
    provider: SdkTracerProvider,
    meter_provider: SdkMeterProvider,
    bridge: Arc<OtelBridge>,
    watch: Arc<Watch>,
    runtime: Option<tokio::runtime::Runtime>,
    shutdown_timeout: Duration,
    shut_down: AtomicBool,
}

impl fmt::Debug for OtlpExport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtlpExport")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl OtlpExport {
    /// The processor to register on a `TraceProvider`: it turns the provider's traces and
    /// spans into OTel spans for this export.
    pub fn processor(&self) -> Arc<OtelBridge> {
        self.bridge.clone()
    }

    /// A `tracing` layer putting the Codex lifecycle events on the exported spans as span
    /// events (add it to the application's subscriber).
    pub fn codex_events_layer(&self) -> super::events::CodexEventsLayer {
        super::events::CodexEventsLayer::new(self.bridge.clone())
    }

    /// The counts so far.
    pub fn stats(&self) -> ExportStats {
        ExportStats {
            ended: self.watch.ended.load(Ordering::Relaxed),
            exported: self.watch.exported.load(Ordering::Relaxed),
            failed: self.watch.failed.load(Ordering::Relaxed),
            failed_metric_exports: self.watch.failed_metric_exports.load(Ordering::Relaxed),
            refused: self.bridge.refused_spans(),
            unattached_events: self.bridge.unattached_events(),
        }
    }

    /// A meter exporting to the same collector, for the Codex events' metrics
    /// (`Events::with_meter(&export.meter())`, feature `metrics`).
    pub fn meter(&self) -> opentelemetry::metrics::Meter {
        self.meter_provider
            .meter_with_scope(InstrumentationScope::builder("codex_telemetry").build())
    }

    /// Sends what is queued now (waits at most a few seconds; failures are counted).
    pub fn force_flush(&self) {
        let _ = self.provider.force_flush();
        let _ = self.meter_provider.force_flush();
    }

    /// Ends what is still open, sends what is queued, and stops, waiting at most the
    /// shutdown timeout. Calling it again does nothing.
    pub fn shutdown(&self) -> ExportStats {
        if !self.shut_down.swap(true, Ordering::SeqCst) {
            crate::sdk::processor::TracingProcessor::shutdown(&*self.bridge);
            // One deadline for both signals: spans first, metrics with what is left.
            let deadline = std::time::Instant::now() + self.shutdown_timeout;
            let _ = self.provider.shutdown_with_timeout(self.shutdown_timeout);
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let _ = self
                .meter_provider
                .shutdown_with_timeout(left.max(Duration::from_millis(1)));
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

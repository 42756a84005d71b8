//! Watching the export: what was handed over, delivered and lost ([`ExportStats`]), and the one
//! warning when a collector fails, shared by the span and metric exporters so that a dead
//! collector costs one line however many batches and signals fail.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use opentelemetry::Context;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::trace::{BatchSpanProcessor, SpanData, SpanExporter, SpanProcessor};

use super::transport::{MetricSink, SpanSink};
use super::warning::WarningSink;

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
    /// Codex events not exported because their span and trace were no longer open.
    pub unattached_events: u64,
    /// Metric exports that failed.
    pub failed_metric_exports: u64,
}

impl ExportStats {
    /// Spans that ended but did not reach the receiver: failed, dropped on a full queue, or
    /// still queued. After a flush or shutdown, nothing is still queued.
    pub fn not_delivered(&self) -> u64 {
        self.ended.saturating_sub(self.exported)
    }
}

/// The counters behind [`ExportStats`] and the once-only warning.
#[derive(Debug)]
pub(super) struct Watch {
    pub(super) ended: AtomicU64,
    pub(super) exported: AtomicU64,
    pub(super) failed: AtomicU64,
    pub(super) failed_metric_exports: AtomicU64,
    warned: AtomicBool,
    warnings: WarningSink,
}

impl Watch {
    pub(super) fn new(warnings: WarningSink) -> Arc<Self> {
        Arc::new(Self {
            ended: AtomicU64::new(0),
            exported: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            failed_metric_exports: AtomicU64::new(0),
            warned: AtomicBool::new(false),
            warnings,
        })
    }

    fn failure(&self, target: &str, error: &dyn std::fmt::Display) {
        if !self.warned.swap(true, Ordering::Relaxed) {
            self.warnings.warn(&format!(
                "OTLP export to {target} failed ({error}); spans are dropped until it recovers. \
                 Later failures are counted, not logged (OtlpExport::stats; docs/runbook.md)"
            ));
        }
    }
}

/// Counts the spans handed to the batch processor.
#[derive(Debug)]
pub(super) struct Counting {
    pub(super) inner: BatchSpanProcessor,
    pub(super) watch: Arc<Watch>,
}

impl SpanProcessor for Counting {
    fn on_start(&self, span: &mut opentelemetry_sdk::trace::Span, cx: &Context) {
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        self.watch.ended.fetch_add(1, Ordering::Relaxed);
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

/// The span exporter, watched.
#[derive(Debug)]
pub(super) struct WatchedSpans {
    pub(super) sink: SpanSink,
    pub(super) target: String,
    pub(super) watch: Arc<Watch>,
}

impl SpanExporter for WatchedSpans {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let count = batch.len() as u64;
        let result = match &self.sink {
            SpanSink::Otlp(exporter) => exporter.export(batch).await,
            SpanSink::Stdout(exporter) => exporter.export(batch).await,
        };
        match &result {
            Ok(()) => self.watch.exported.fetch_add(count, Ordering::Relaxed),
            Err(error) => {
                self.watch.failure(&self.target, error);
                self.watch.failed.fetch_add(count, Ordering::Relaxed)
            }
        };
        result
    }

    fn shutdown_with_timeout(&mut self, timeout: Duration) -> OTelSdkResult {
        match &mut self.sink {
            SpanSink::Otlp(exporter) => exporter.shutdown_with_timeout(timeout),
            SpanSink::Stdout(exporter) => exporter.shutdown_with_timeout(timeout),
        }
    }

    fn force_flush(&mut self) -> OTelSdkResult {
        match &mut self.sink {
            SpanSink::Otlp(exporter) => exporter.force_flush(),
            SpanSink::Stdout(exporter) => exporter.force_flush(),
        }
    }

    fn set_resource(&mut self, resource: &Resource) {
        match &mut self.sink {
            SpanSink::Otlp(exporter) => exporter.set_resource(resource),
            SpanSink::Stdout(exporter) => exporter.set_resource(resource),
        }
    }
}

/// The metric exporter, watched.
#[derive(Debug)]
pub(super) struct WatchedMetrics {
    pub(super) sink: MetricSink,
    pub(super) target: String,
    pub(super) watch: Arc<Watch>,
}

impl PushMetricExporter for WatchedMetrics {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let result = match &self.sink {
            MetricSink::Otlp(exporter) => exporter.export(metrics).await,
            MetricSink::Stdout(exporter) => exporter.export(metrics).await,
        };
        if let Err(error) = &result {
            self.watch.failure(&self.target, error);
            self.watch
                .failed_metric_exports
                .fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    fn force_flush(&self) -> OTelSdkResult {
        match &self.sink {
            MetricSink::Otlp(exporter) => exporter.force_flush(),
            MetricSink::Stdout(exporter) => exporter.force_flush(),
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        match &self.sink {
            MetricSink::Otlp(exporter) => exporter.shutdown_with_timeout(timeout),
            MetricSink::Stdout(exporter) => exporter.shutdown_with_timeout(timeout),
        }
    }

    fn temporality(&self) -> Temporality {
        Temporality::Cumulative
    }
}

//! The exporters for one set of settings: OTLP over http/protobuf (a blocking reqwest client)
//! or gRPC (tonic, on a one-worker tokio runtime of our own, so the application needs none), or
//! `opentelemetry-stdout`; for spans and for metrics, to the same collector.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use opentelemetry_otlp::{WithExportConfig, WithHttpConfig, WithTonicConfig};
use opentelemetry_sdk::metrics::Temporality;

use super::config::{Endpoint, OtlpSettings, Protocol};
use super::pipeline::OtlpBuildError;

/// Where spans go.
#[derive(Debug)]
pub(super) enum SpanSink {
    Otlp(Box<opentelemetry_otlp::SpanExporter>),
    Stdout(opentelemetry_stdout::SpanExporter),
}

/// Where metrics go.
#[derive(Debug)]
pub(super) enum MetricSink {
    Otlp(Box<opentelemetry_otlp::MetricExporter>),
    Stdout(opentelemetry_stdout::MetricExporter),
}

/// The exporters, what they send to (for the warning), and the runtime gRPC needs.
pub(super) struct Transport {
    pub(super) spans: SpanSink,
    pub(super) spans_target: String,
    pub(super) metrics: MetricSink,
    pub(super) metrics_target: String,
    pub(super) runtime: Option<tokio::runtime::Runtime>,
}

pub(super) fn build(settings: &OtlpSettings, timeout: Duration) -> Result<Transport, OtlpBuildError> {
    let url = match &settings.endpoint {
        Endpoint::Stdout => {
            return Ok(Transport {
                spans: SpanSink::Stdout(opentelemetry_stdout::SpanExporter::default()),
                spans_target: "stdout".into(),
                metrics: MetricSink::Stdout(opentelemetry_stdout::MetricExporter::default()),
                metrics_target: "stdout".into(),
                runtime: None,
            });
        }
        Endpoint::Url(url) => url.clone(),
    };
    match settings.protocol {
        Protocol::HttpProtobuf => http(settings, &url, timeout),
        Protocol::Grpc => grpc(settings, url, timeout),
    }
}

fn refused(error: &dyn fmt::Display) -> OtlpBuildError {
    OtlpBuildError {
        problems: vec![format!("the OTLP exporter could not be built: {error}")],
    }
}

fn http(settings: &OtlpSettings, url: &str, timeout: Duration) -> Result<Transport, OtlpBuildError> {
    let headers: HashMap<String, String> = settings.headers.iter().cloned().collect();
    let (spans_target, metrics_target) = http_signal_urls(url);
    // The blocking reqwest client must be built (and later dropped) outside any async
    // runtime: build the exporters on a thread of their own.
    let built = std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let spans = opentelemetry_otlp::SpanExporter::builder()
                    .with_http()
                    .with_endpoint(spans_target.clone())
                    .with_timeout(timeout)
                    .with_headers(headers.clone())
                    .build()?;
                let metrics = opentelemetry_otlp::MetricExporter::builder()
                    .with_http()
                    .with_endpoint(metrics_target.clone())
                    .with_timeout(timeout)
                    .with_headers(headers.clone())
                    .with_temporality(Temporality::Cumulative)
                    .build()?;
                Ok::<_, opentelemetry_otlp::ExporterBuildError>((spans, metrics))
            })
            .join()
    });
    let (spans, metrics) = built
        .map_err(|_| refused(&"building the HTTP client panicked"))?
        .map_err(|e| refused(&e))?;
    Ok(Transport {
        spans: SpanSink::Otlp(Box::new(spans)),
        spans_target,
        metrics: MetricSink::Otlp(Box::new(metrics)),
        metrics_target,
        runtime: None,
    })
}

fn grpc(settings: &OtlpSettings, url: String, timeout: Duration) -> Result<Transport, OtlpBuildError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("codex-otlp-grpc")
        .enable_all()
        .build()
        .map_err(|e| refused(&e))?;
    let mut headers = http::HeaderMap::new();
    for (key, value) in &settings.headers {
        let name = http::HeaderName::from_bytes(key.as_bytes()).map_err(|_| OtlpBuildError {
            problems: vec![format!("the header name {key:?} is not valid in gRPC metadata")],
        })?;
        let value = http::HeaderValue::from_str(value).map_err(|_| OtlpBuildError {
            problems: vec![format!("the value of header {key:?} is not valid in gRPC metadata")],
        })?;
        headers.insert(name, value);
    }
    let metadata = || opentelemetry_otlp::tonic_types::metadata::MetadataMap::from_headers(headers.clone());
    // tonic's channels start on the runtime they are built in.
    let _entered = runtime.enter();
    let spans = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(url.clone())
        .with_timeout(timeout)
        .with_metadata(metadata())
        .build()
        .map_err(|e| refused(&e))?;
    let metrics = opentelemetry_otlp::MetricExporter::builder()
        .with_tonic()
        .with_endpoint(url.clone())
        .with_timeout(timeout)
        .with_metadata(metadata())
        .with_temporality(Temporality::Cumulative)
        .build()
        .map_err(|e| refused(&e))?;
    drop(_entered);
    Ok(Transport {
        spans: SpanSink::Otlp(Box::new(spans)),
        spans_target: url.clone(),
        metrics: MetricSink::Otlp(Box::new(metrics)),
        metrics_target: url,
        runtime: Some(runtime),
    })
}

/// The traces and metrics URLs of an http/protobuf endpoint: without a path, OTLP's signal
/// paths are appended (as for the standard `OTEL_EXPORTER_OTLP_ENDPOINT`); a path ending in
/// `/v1/traces` is the traces URL and gives the metrics one; any other path is used for traces
/// as written, with `/v1/metrics` beside it.
fn http_signal_urls(url: &str) -> (String, String) {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let has_path = after_scheme
        .split_once('/')
        .is_some_and(|(_, path)| !path.is_empty());
    if !has_path {
        let base = url.trim_end_matches('/');
        return (format!("{base}/v1/traces"), format!("{base}/v1/metrics"));
    }
    let metrics = match url.strip_suffix("/v1/traces") {
        Some(base) => format!("{base}/v1/metrics"),
        None => format!("{}/v1/metrics", url.trim_end_matches('/')),
    };
    (url.to_owned(), metrics)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_endpoints_get_the_signal_paths() {
        let urls = |u| http_signal_urls(u);
        assert_eq!(urls("http://h:4318"), ("http://h:4318/v1/traces".into(), "http://h:4318/v1/metrics".into()));
        assert_eq!(urls("http://h:4318/"), ("http://h:4318/v1/traces".into(), "http://h:4318/v1/metrics".into()));
        assert_eq!(
            urls("http://h:4318/otlp/v1/traces"),
            ("http://h:4318/otlp/v1/traces".into(), "http://h:4318/otlp/v1/metrics".into())
        );
        assert_eq!(urls("http://h/custom"), ("http://h/custom".into(), "http://h/custom/v1/metrics".into()));
    }
}

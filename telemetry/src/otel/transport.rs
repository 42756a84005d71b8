//! The exporters for one set of settings: OTLP over http/protobuf (a blocking reqwest client)
//! or gRPC (tonic, on a one-worker tokio runtime of our own, so the application needs none), or
//! `opentelemetry-stdout`; for spans and for metrics, to the same collector. `https://`
//! endpoints use rustls with the system's trust store, plus the CA certificate and the client
//! certificate and key of the settings (mutual TLS), read here.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use opentelemetry_otlp::{WithExportConfig, WithHttpConfig, WithTonicConfig};
use opentelemetry_sdk::metrics::Temporality;

use super::config::{Endpoint, OtlpBuildError, OtlpSettings, Protocol};

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

pub(super) fn build(
    settings: &OtlpSettings,
    timeout: Duration,
) -> Result<Transport, OtlpBuildError> {
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

/// The PEM files of the settings, read.
struct TlsFiles {
    ca: Option<Vec<u8>>,
    /// Client certificate and key.
    identity: Option<(Vec<u8>, Vec<u8>)>,
}

impl TlsFiles {
    fn read(settings: &OtlpSettings) -> Result<Self, OtlpBuildError> {
        let read = |path: &Option<std::path::PathBuf>,
                    variable: &str|
         -> Result<Option<Vec<u8>>, OtlpBuildError> {
            let Some(path) = path else { return Ok(None) };
            let bytes = std::fs::read(path).map_err(|e| OtlpBuildError {
                problems: vec![format!("{variable}: cannot read {}: {e}", path.display())],
            })?;
            if !String::from_utf8_lossy(&bytes).contains("-----BEGIN ") {
                return Err(OtlpBuildError {
                    problems: vec![format!("{variable}: {} is not a PEM file", path.display())],
                });
            }
            Ok(Some(bytes))
        };
        let ca = read(&settings.ca_cert_file, "CODEX_OTLP_CACERTFILE")?;
        let cert = read(&settings.cert_file, "CODEX_OTLP_CERTFILE")?;
        let key = read(&settings.key_file, "CODEX_OTLP_KEYFILE")?;
        Ok(Self {
            ca,
            identity: cert.zip(key),
        })
    }

    fn is_empty(&self) -> bool {
        self.ca.is_none() && self.identity.is_none()
    }

    /// TLS files with a plain `http://` endpoint would be ignored and the data sent in clear.
    fn check_scheme(&self, url: &str) -> Result<(), OtlpBuildError> {
        if !self.is_empty() && !url.starts_with("https://") {
            return Err(OtlpBuildError {
                problems: vec![format!(
                    "TLS files are set (CODEX_OTLP_CACERTFILE/CERTFILE/KEYFILE) but the endpoint \
                     {url} is not https://: use an https:// endpoint (CODEX_OTLP_ENDPOINT) or \
                     unset the files"
                )],
            });
        }
        Ok(())
    }
}

/// A blocking reqwest client with rustls, the system roots, and the settings' files.
fn https_client(
    tls: &TlsFiles,
    timeout: Duration,
) -> Result<reqwest::blocking::Client, OtlpBuildError> {
    let mut builder = reqwest::blocking::Client::builder()
        .use_rustls_tls()
        .timeout(timeout);
    if let Some(ca) = &tls.ca {
        let certificate = reqwest::Certificate::from_pem(ca).map_err(|e| OtlpBuildError {
            problems: vec![format!(
                "CODEX_OTLP_CACERTFILE: not a usable certificate: {e}"
            )],
        })?;
        builder = builder.add_root_certificate(certificate);
    }
    if let Some((cert, key)) = &tls.identity {
        let mut pem = cert.clone();
        pem.push(b'\n');
        pem.extend_from_slice(key);
        let identity = reqwest::Identity::from_pem(&pem).map_err(|e| OtlpBuildError {
            problems: vec![format!(
                "CODEX_OTLP_CERTFILE/CODEX_OTLP_KEYFILE: not a usable certificate and key: {e}"
            )],
        })?;
        builder = builder.identity(identity);
    }
    builder.build().map_err(|e| refused(&e))
}

fn http(
    settings: &OtlpSettings,
    url: &str,
    timeout: Duration,
) -> Result<Transport, OtlpBuildError> {
    let headers: HashMap<String, String> = settings.headers.iter().cloned().collect();
    let (spans_target, metrics_target) = http_signal_urls(url);
    let tls = TlsFiles::read(settings)?;
    tls.check_scheme(url)?;
    let secure = url.starts_with("https://");
    // The blocking reqwest client must be built (and later dropped) outside any async
    // runtime: build the exporters on a thread of their own.
    let built = std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let client = if secure {
                    Some(https_client(&tls, timeout)?)
                } else {
                    None
                };
                let mut spans = opentelemetry_otlp::SpanExporter::builder()
                    .with_http()
                    .with_endpoint(spans_target.clone())
                    .with_timeout(timeout)
                    .with_headers(headers.clone());
                let mut metrics = opentelemetry_otlp::MetricExporter::builder()
                    .with_http()
                    .with_endpoint(metrics_target.clone())
                    .with_timeout(timeout)
                    .with_headers(headers.clone());
                if let Some(client) = client {
                    spans = spans.with_http_client(client.clone());
                    metrics = metrics.with_http_client(client);
                }
                let spans = spans.build().map_err(|e| refused(&e))?;
                let metrics = metrics
                    .with_temporality(Temporality::Cumulative)
                    .build()
                    .map_err(|e| refused(&e))?;
                Ok::<_, OtlpBuildError>((spans, metrics))
            })
            .join()
    });
    let (spans, metrics) = built.map_err(|_| refused(&"building the HTTP client panicked"))??;
    Ok(Transport {
        spans: SpanSink::Otlp(Box::new(spans)),
        spans_target,
        metrics: MetricSink::Otlp(Box::new(metrics)),
        metrics_target,
        runtime: None,
    })
}

fn grpc(
    settings: &OtlpSettings,
    url: String,
    timeout: Duration,
) -> Result<Transport, OtlpBuildError> {
    // Everything that can be refused is checked before the runtime exists: dropping a runtime
    // inside the application's async code would panic.
    let mut headers = http::HeaderMap::new();
    for (key, value) in &settings.headers {
        let name = http::HeaderName::from_bytes(key.as_bytes()).map_err(|_| OtlpBuildError {
            problems: vec![format!(
                "the header name {key:?} is not valid in gRPC metadata"
            )],
        })?;
        let value = http::HeaderValue::from_str(value).map_err(|_| OtlpBuildError {
            problems: vec![format!(
                "the value of header {key:?} is not valid in gRPC metadata"
            )],
        })?;
        headers.insert(name, value);
    }
    let metadata =
        || opentelemetry_otlp::tonic_types::metadata::MetadataMap::from_headers(headers.clone());
    let tls = TlsFiles::read(settings)?;
    tls.check_scheme(&url)?;
    let tls_config = url.starts_with("https://").then(|| {
        use opentelemetry_otlp::tonic_types::transport::{Certificate, ClientTlsConfig, Identity};
        let mut config = ClientTlsConfig::new().with_native_roots();
        if let Some(ca) = &tls.ca {
            config = config.ca_certificate(Certificate::from_pem(ca));
        }
        if let Some((cert, key)) = &tls.identity {
            config = config.identity(Identity::from_pem(cert, key));
        }
        config
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("codex-otlp-grpc")
        .enable_all()
        .build()
        .map_err(|e| refused(&e))?;
    // tonic's channels start on the runtime they are built in.
    let built = {
        let _entered = runtime.enter();
        let mut spans = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(url.clone())
            .with_timeout(timeout)
            .with_metadata(metadata());
        let mut metrics = opentelemetry_otlp::MetricExporter::builder()
            .with_tonic()
            .with_endpoint(url.clone())
            .with_timeout(timeout)
            .with_metadata(metadata());
        if let Some(config) = tls_config {
            spans = spans.with_tls_config(config.clone());
            metrics = metrics.with_tls_config(config);
        }
        spans.build().and_then(|spans| {
            metrics
                .with_temporality(Temporality::Cumulative)
                .build()
                .map(|metrics| (spans, metrics))
        })
    };
    let (spans, metrics) = match built {
        Ok(exporters) => exporters,
        Err(e) => {
            runtime.shutdown_background();
            return Err(refused(&e));
        }
    };
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
        assert_eq!(
            urls("http://h:4318"),
            (
                "http://h:4318/v1/traces".into(),
                "http://h:4318/v1/metrics".into()
            )
        );
        assert_eq!(
            urls("http://h:4318/"),
            (
                "http://h:4318/v1/traces".into(),
                "http://h:4318/v1/metrics".into()
            )
        );
        assert_eq!(
            urls("http://h:4318/otlp/v1/traces"),
            (
                "http://h:4318/otlp/v1/traces".into(),
                "http://h:4318/otlp/v1/metrics".into()
            )
        );
        assert_eq!(
            urls("http://h/custom"),
            (
                "http://h/custom".into(),
                "http://h/custom/v1/metrics".into()
            )
        );
    }
}

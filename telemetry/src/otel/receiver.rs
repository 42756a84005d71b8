//! An OTLP trace receiver on loopback, for tests (crate feature `otlp-receiver`): OTLP/HTTP
//! (protobuf bodies, decoded with `opentelemetry-proto`'s prost types) or OTLP/gRPC
//! (`opentelemetry-proto`'s tonic service). It records every request with its headers, and can
//! refuse or hang instead of answering, to play a broken collector. Everything it holds is
//! bounded: request bodies, the number of requests kept, and every wait.

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;

/// The OTLP protocol types (`opentelemetry-proto`), to read what was received.
pub use opentelemetry_proto as proto;

/// The largest request body kept (a larger one is answered 413 and not recorded).
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// The most requests kept; later ones are answered but not recorded (and counted).
pub const MAX_REQUESTS: usize = 10_000;

/// How the receiver answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Records the request and answers success.
    Accept,
    /// Answers with a server error (HTTP 503, gRPC UNAVAILABLE) and records nothing.
    Refuse,
    /// Accepts the connection and the request, and never answers.
    Hang,
}

/// One received export request.
#[derive(Debug, Clone)]
pub struct ReceivedRequest {
    /// `http` or `grpc`.
    pub protocol: &'static str,
    /// The request path (`/v1/traces`, or the gRPC method path).
    pub path: String,
    /// Headers (gRPC metadata), names lowercased.
    pub headers: Vec<(String, String)>,
    /// The decoded request.
    pub request: ExportTraceServiceRequest,
}

impl ReceivedRequest {
    /// The first value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Store {
    requests: Mutex<StoreInner>,
    changed: Condvar,
}

#[derive(Default)]
struct StoreInner {
    requests: Vec<ReceivedRequest>,
    metrics: Vec<ExportMetricsServiceRequest>,
    overflow: usize,
}

impl Store {
    fn push(&self, request: ReceivedRequest) {
        let mut inner = self.requests.lock().unwrap_or_else(PoisonError::into_inner);
        if inner.requests.len() < MAX_REQUESTS {
            inner.requests.push(request);
        } else {
            inner.overflow += 1;
        }
        self.changed.notify_all();
    }

    fn push_metrics(&self, request: ExportMetricsServiceRequest) {
        let mut inner = self.requests.lock().unwrap_or_else(PoisonError::into_inner);
        if inner.requests.len() + inner.metrics.len() < MAX_REQUESTS {
            inner.metrics.push(request);
        } else {
            inner.overflow += 1;
        }
        self.changed.notify_all();
    }
}

/// The receiver's side of TLS: its certificate and key (PEM), and the CA whose certificates
/// clients must present (mutual TLS) when set.
#[derive(Debug, Clone)]
pub struct ServerTls {
    /// The server certificate chain, PEM.
    pub cert_pem: Vec<u8>,
    /// The server's private key, PEM.
    pub key_pem: Vec<u8>,
    /// The CA of client certificates, PEM; `None` accepts clients without one.
    pub client_ca_pem: Option<Vec<u8>>,
}

/// A running receiver; stops when dropped.
pub struct LoopbackReceiver {
    address: SocketAddr,
    store: Arc<Store>,
    stop: Arc<AtomicBool>,
    server: Option<Server>,
    /// A TLS front forwarding to `address`, and its address.
    tls: Option<(tokio::runtime::Runtime, SocketAddr)>,
}

enum Server {
    Http(JoinHandle<()>),
    Grpc {
        runtime: tokio::runtime::Runtime,
        shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    },
}

impl std::fmt::Debug for LoopbackReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoopbackReceiver")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl LoopbackReceiver {
    /// An OTLP/HTTP receiver on `127.0.0.1`, on a free port.
    pub fn http(behaviour: Behaviour) -> io::Result<Self> {
        let server = tiny_http::Server::http("127.0.0.1:0").map_err(io::Error::other)?;
        let address = server
            .server_addr()
            .to_ip()
            .ok_or_else(|| io::Error::other("the receiver has no IP address"))?;
        let store = Arc::new(Store::default());
        let stop = Arc::new(AtomicBool::new(false));
        let handle = {
            let (store, stop) = (store.clone(), stop.clone());
            std::thread::Builder::new()
                .name("otlp-http-receiver".into())
                .spawn(move || serve_http(&server, &store, &stop, behaviour))?
        };
        Ok(Self {
            address,
            store,
            stop,
            server: Some(Server::Http(handle)),
            tls: None,
        })
    }

    /// An OTLP/gRPC receiver on `127.0.0.1`, on a free port.
    pub fn grpc(behaviour: Behaviour) -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let address = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("otlp-grpc-receiver")
            .enable_all()
            .build()?;
        let store = Arc::new(Store::default());
        let (shutdown, signal) = tokio::sync::oneshot::channel::<()>();
        let service = GrpcService {
            store: store.clone(),
            behaviour,
        };
        let metrics_service = GrpcService {
            store: store.clone(),
            behaviour,
        };
        let incoming = {
            let _entered = runtime.enter();
            tonic::transport::server::TcpIncoming::from(tokio::net::TcpListener::from_std(
                listener,
            )?)
        };
        runtime.spawn(async move {
            let _ = tonic::transport::Server::builder()
                .add_service(TraceServiceServer::new(service))
                .add_service(MetricsServiceServer::new(metrics_service))
                .serve_with_incoming_shutdown(incoming, async {
                    let _ = signal.await;
                })
                .await;
        });
        Ok(Self {
            address,
            store,
            stop: Arc::new(AtomicBool::new(false)),
            server: Some(Server::Grpc {
                runtime,
                shutdown: Some(shutdown),
            }),
            tls: None,
        })
    }

    /// The same receiver behind TLS: connections to [`endpoint`](Self::endpoint)
    /// (`https://localhost:<port>`) are decrypted and forwarded to it. ALPN offers `h2` (gRPC)
    /// and `http/1.1` (OTLP/HTTP).
    pub fn with_tls(mut self, tls: ServerTls) -> io::Result<Self> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let invalid = |what: &str, e: &dyn std::fmt::Display| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("{what}: {e}"))
        };
        let certs = CertificateDer::pem_slice_iter(&tls.cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| invalid("the server certificate", &e))?;
        let key = PrivateKeyDer::from_pem_slice(&tls.key_pem)
            .map_err(|e| invalid("the server key", &e))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid("TLS versions", &e))?;
        let builder = match &tls.client_ca_pem {
            None => builder.with_no_client_auth(),
            Some(ca) => {
                let mut roots = rustls::RootCertStore::empty();
                for cert in CertificateDer::pem_slice_iter(ca) {
                    roots
                        .add(cert.map_err(|e| invalid("the client CA", &e))?)
                        .map_err(|e| invalid("the client CA", &e))?;
                }
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots),
                    provider,
                )
                .build()
                .map_err(|e| invalid("the client CA", &e))?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        let mut config = builder
            .with_single_cert(certs, key)
            .map_err(|e| invalid("the server certificate", &e))?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));

        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let front = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("otlp-tls-front")
            .enable_all()
            .build()?;
        let backend = self.address;
        let listener = {
            let _entered = runtime.enter();
            tokio::net::TcpListener::from_std(listener)?
        };
        runtime.spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut client) = acceptor.accept(client).await else {
                        return;
                    };
                    let Ok(mut server) = tokio::net::TcpStream::connect(backend).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                });
            }
        });
        self.tls = Some((runtime, front));
        Ok(self)
    }

    /// The base URL to export to: `http://127.0.0.1:<port>`, or `https://localhost:<port>`
    /// behind TLS (the name the test certificates are made for).
    pub fn endpoint(&self) -> String {
        match &self.tls {
            Some((_, front)) => format!("https://localhost:{}", front.port()),
            None => format!("http://{}", self.address),
        }
    }

    /// The requests received so far.
    pub fn requests(&self) -> Vec<ReceivedRequest> {
        self.store
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .requests
            .clone()
    }

    /// The metrics export requests received so far (OTLP/HTTP `/v1/metrics`, or gRPC).
    pub fn metrics_requests(&self) -> Vec<ExportMetricsServiceRequest> {
        self.store
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .metrics
            .clone()
    }

    /// Requests answered but not kept, beyond [`MAX_REQUESTS`].
    pub fn overflow(&self) -> usize {
        self.store
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .overflow
    }

    /// The number of spans received so far.
    pub fn span_count(&self) -> usize {
        span_count(&self.requests())
    }

    /// Waits until at least `spans` spans arrived, for at most `timeout`; whether they did.
    pub fn wait_for_spans(&self, spans: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut inner = self
            .store
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        loop {
            if span_count(&inner.requests) >= spans {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            inner = self
                .store
                .changed
                .wait_timeout(inner, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

impl Drop for LoopbackReceiver {
    fn drop(&mut self) {
        if let Some((runtime, _)) = self.tls.take() {
            runtime.shutdown_background();
        }
        self.stop.store(true, Ordering::SeqCst);
        match self.server.take() {
            Some(Server::Http(handle)) => {
                let _ = handle.join();
            }
            Some(Server::Grpc {
                runtime,
                mut shutdown,
            }) => {
                if let Some(shutdown) = shutdown.take() {
                    let _ = shutdown.send(());
                }
                runtime.shutdown_timeout(Duration::from_secs(1));
            }
            None => {}
        }
    }
}

fn span_count(requests: &[ReceivedRequest]) -> usize {
    requests
        .iter()
        .flat_map(|r| &r.request.resource_spans)
        .flat_map(|rs| &rs.scope_spans)
        .map(|ss| ss.spans.len())
        .sum()
}

fn serve_http(server: &tiny_http::Server, store: &Store, stop: &AtomicBool, behaviour: Behaviour) {
    // Hanging requests are held (unanswered) until the receiver stops.
    let mut held = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        let Ok(Some(mut request)) = server.recv_timeout(Duration::from_millis(50)) else {
            continue;
        };
        let respond = |request: tiny_http::Request, status: u16| {
            let _ = request
                .respond(tiny_http::Response::from_data(Vec::new()).with_status_code(status));
        };
        match behaviour {
            Behaviour::Hang => {
                held.push(request);
                continue;
            }
            Behaviour::Refuse => {
                respond(request, 503);
                continue;
            }
            Behaviour::Accept => {}
        }
        if request
            .body_length()
            .is_some_and(|len| len > MAX_BODY_BYTES)
        {
            respond(request, 413);
            continue;
        }
        let mut body = Vec::new();
        let read = io::Read::read_to_end(
            &mut io::Read::take(request.as_reader(), MAX_BODY_BYTES as u64 + 1),
            &mut body,
        );
        if read.is_err() || body.len() > MAX_BODY_BYTES {
            respond(request, 413);
            continue;
        }
        if request.url().ends_with("/v1/metrics") {
            let Ok(decoded) = ExportMetricsServiceRequest::decode(body.as_slice()) else {
                respond(request, 400);
                continue;
            };
            store.push_metrics(decoded);
            let response = ExportMetricsServiceResponse::default().encode_to_vec();
            let _ = request
                .respond(tiny_http::Response::from_data(response).with_header(protobuf_header()));
            continue;
        }
        let Ok(decoded) = ExportTraceServiceRequest::decode(body.as_slice()) else {
            respond(request, 400);
            continue;
        };
        let headers = request
            .headers()
            .iter()
            .map(|h| {
                (
                    h.field.as_str().as_str().to_ascii_lowercase(),
                    h.value.as_str().to_owned(),
                )
            })
            .collect();
        store.push(ReceivedRequest {
            protocol: "http",
            path: request.url().to_owned(),
            headers,
            request: decoded,
        });
        let response = ExportTraceServiceResponse::default().encode_to_vec();
        let _ = request
            .respond(tiny_http::Response::from_data(response).with_header(protobuf_header()));
    }
    drop(held);
}

fn protobuf_header() -> tiny_http::Header {
    tiny_http::Header::from_bytes("Content-Type", "application/x-protobuf").expect("a valid header")
}

struct GrpcService {
    store: Arc<Store>,
    behaviour: Behaviour,
}

impl GrpcService {
    /// Answers as the receiver's behaviour says; `accept` records the request and builds the
    /// success response.
    async fn answer<T>(
        &self,
        accept: impl FnOnce() -> T,
    ) -> Result<tonic::Response<T>, tonic::Status> {
        match self.behaviour {
            Behaviour::Hang => std::future::pending().await,
            Behaviour::Refuse => Err(tonic::Status::unavailable("the receiver refuses (test)")),
            Behaviour::Accept => Ok(tonic::Response::new(accept())),
        }
    }
}

#[tonic::async_trait]
impl MetricsService for GrpcService {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        self.answer(|| {
            self.store.push_metrics(request.into_inner());
            ExportMetricsServiceResponse::default()
        })
        .await
    }
}

#[tonic::async_trait]
impl TraceService for GrpcService {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.answer(|| {
            let headers = request
                .metadata()
                .clone()
                .into_headers()
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_owned(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect();
            self.store.push(ReceivedRequest {
                protocol: "grpc",
                path: "/opentelemetry.proto.collector.trace.v1.TraceService/Export".into(),
                headers,
                request: request.into_inner(),
            });
            ExportTraceServiceResponse::default()
        })
        .await
    }
}

//! OTLP export settings from the environment: `CODEX_OTLP_*`, falling back to the standard
//! `OTEL_EXPORTER_OTLP_*` variables where a `CODEX_` one is unset.
//!
//! | setting | variable | fallback | default |
//! |---|---|---|---|
//! | on/off | `CODEX_OTLP_ENABLE` (`1`, `true`, `yes`, `on`, ASCII case ignored; anything else is off) | — (and `OTEL_SDK_DISABLED=true` turns it off) | off |
//! | endpoint | `CODEX_OTLP_ENDPOINT` (`http(s)://host[:port][/path]`, or `stdout`) | `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `OTEL_EXPORTER_OTLP_ENDPOINT` | the protocol's local default |
//! | headers | `CODEX_OTLP_HEADERS` (`k=v,k2=v2`, percent-decoded as OTel does) | `OTEL_EXPORTER_OTLP_TRACES_HEADERS`, `OTEL_EXPORTER_OTLP_HEADERS` | none |
//! | protocol | `CODEX_OTLP_PROTOCOL` (`http/protobuf` or `grpc`) | `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`, `OTEL_EXPORTER_OTLP_PROTOCOL` | `http/protobuf` |
//! | TLS | `CODEX_OTLP_CACERTFILE`, `CODEX_OTLP_CERTFILE`, `CODEX_OTLP_KEYFILE` | `OTEL_EXPORTER_OTLP_CERTIFICATE`, `OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE`, `OTEL_EXPORTER_OTLP_CLIENT_KEY` | none |
//!
//! A value that cannot be used (a malformed endpoint, a header without `=`, an unknown
//! protocol, a certificate file that does not exist) is a [`problem`](OtlpSettings::problems):
//! the caller warns once and exports nothing rather than guess; building an export with
//! problems fails with [`OtlpBuildError`], which the exporters below the pipeline also
//! return when they refuse the settings.

use std::path::PathBuf;

/// Where spans go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// An OTLP receiver's URL.
    Url(String),
    /// Standard output, through `opentelemetry-stdout` (to see what would be sent).
    Stdout,
}

/// The OTLP transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// OTLP over HTTP with protobuf bodies (port 4318 by convention).
    HttpProtobuf,
    /// OTLP over gRPC (port 4317 by convention).
    Grpc,
}

impl Protocol {
    /// The local endpoint when none is configured.
    pub fn default_endpoint(self) -> &'static str {
        match self {
            Protocol::HttpProtobuf => "http://localhost:4318/v1/traces",
            Protocol::Grpc => "http://localhost:4317",
        }
    }
}

/// The settings read from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtlpSettings {
    /// Whether export is on.
    pub enabled: bool,
    /// Where spans go.
    pub endpoint: Endpoint,
    /// Headers sent with every request (decoded).
    pub headers: Vec<(String, String)>,
    /// The transport.
    pub protocol: Protocol,
    /// The CA certificate that verifies the receiver.
    pub ca_cert_file: Option<PathBuf>,
    /// The client certificate (mutual TLS).
    pub cert_file: Option<PathBuf>,
    /// The client key (mutual TLS).
    pub key_file: Option<PathBuf>,
    /// What could not be used, one sentence each naming the variable.
    pub problems: Vec<String>,
}

impl OtlpSettings {
    /// The settings of the process environment.
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// The settings of the variables `lookup` returns (a test's, or the process's).
    ///
    /// ```
    /// use codex_telemetry::otel::{Endpoint, OtlpSettings, Protocol};
    ///
    /// let settings = OtlpSettings::from_lookup(|name| match name {
    ///     "CODEX_OTLP_ENABLE" => Some("yes".into()),
    ///     "CODEX_OTLP_HEADERS" => Some("api-key=a%20b,x-tenant=acme".into()),
    ///     "OTEL_EXPORTER_OTLP_PROTOCOL" => Some("grpc".into()),
    ///     _ => None,
    /// });
    /// assert!(settings.enabled);
    /// assert_eq!(settings.protocol, Protocol::Grpc);
    /// assert_eq!(settings.endpoint, Endpoint::Url("http://localhost:4317".into()));
    /// assert_eq!(settings.headers, [("api-key".into(), "a b".into()), ("x-tenant".into(), "acme".into())]);
    /// assert!(settings.problems.is_empty());
    /// ```
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let first = |names: &[&str]| -> Option<(String, String)> {
            names.iter().find_map(|name| {
                lookup(name)
                    .filter(|value| !value.trim().is_empty())
                    .map(|value| ((*name).to_owned(), value.trim().to_owned()))
            })
        };
        let mut problems = Vec::new();
        let sdk_disabled = lookup("OTEL_SDK_DISABLED")
            .is_some_and(|value| value.trim().eq_ignore_ascii_case("true"));
        let enabled = lookup("CODEX_OTLP_ENABLE").is_some_and(|value| {
            matches!(
                value.trim().to_ascii_lowercase().as_str(),
                "1" | "true" | "yes" | "on"
            )
        }) && !sdk_disabled;

        let protocol = match first(&[
            "CODEX_OTLP_PROTOCOL",
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
            "OTEL_EXPORTER_OTLP_PROTOCOL",
        ]) {
            None => Protocol::HttpProtobuf,
            Some((name, value)) => match value.as_str() {
                "http/protobuf" => Protocol::HttpProtobuf,
                "grpc" => Protocol::Grpc,
                other => {
                    problems.push(format!(
                        "{name}={other:?} is not a supported protocol: use http/protobuf or grpc"
                    ));
                    Protocol::HttpProtobuf
                }
            },
        };

        let endpoint = match first(&[
            "CODEX_OTLP_ENDPOINT",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "OTEL_EXPORTER_OTLP_ENDPOINT",
        ]) {
            None => Endpoint::Url(protocol.default_endpoint().to_owned()),
            Some((_, value)) if value.eq_ignore_ascii_case("stdout") => Endpoint::Stdout,
            Some((name, value)) => {
                if let Some(why) = endpoint_problem(&value) {
                    problems.push(format!("{name}={value:?} is not an endpoint: {why}"));
                }
                Endpoint::Url(value)
            }
        };

        let mut headers = Vec::new();
        if let Some((name, value)) = first(&[
            "CODEX_OTLP_HEADERS",
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
            "OTEL_EXPORTER_OTLP_HEADERS",
        ]) {
            for item in value.split(',').filter(|item| !item.trim().is_empty()) {
                match item.split_once('=') {
                    Some((key, value)) if !key.trim().is_empty() => {
                        match (decode(key.trim()), decode(value.trim())) {
                            (Some(key), Some(value)) => headers.push((key, value)),
                            _ => problems.push(format!(
                                "{name}: the header {:?} is not valid percent-encoded UTF-8",
                                key.trim()
                            )),
                        }
                    }
                    _ => problems.push(format!(
                        "{name}: {:?} is not a header: write key=value, separated by commas",
                        item.trim()
                    )),
                }
            }
        }

        let mut file = |names: &[&str]| {
            first(names).map(|(name, value)| {
                let path = PathBuf::from(&value);
                if !path.is_file() {
                    problems.push(format!("{name}: the file {value:?} does not exist"));
                }
                path
            })
        };
        let ca_cert_file = file(&["CODEX_OTLP_CACERTFILE", "OTEL_EXPORTER_OTLP_CERTIFICATE"]);
        let cert_file = file(&[
            "CODEX_OTLP_CERTFILE",
            "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
        ]);
        let key_file = file(&["CODEX_OTLP_KEYFILE", "OTEL_EXPORTER_OTLP_CLIENT_KEY"]);
        if cert_file.is_some() != key_file.is_some() {
            problems.push(
                "CODEX_OTLP_CERTFILE and CODEX_OTLP_KEYFILE go together (mutual TLS needs both)"
                    .into(),
            );
        }

        Self {
            enabled,
            endpoint,
            headers,
            protocol,
            ca_cert_file,
            cert_file,
            key_file,
            problems,
        }
    }
}

/// Why `value` is not an `http(s)://host[:port][/path]` URL, if it is not.
fn endpoint_problem(value: &str) -> Option<&'static str> {
    let Some(rest) = value
        .strip_prefix("http://")
        .or_else(|| value.strip_prefix("https://"))
    else {
        return Some("it must start with http:// or https:// (or be stdout)");
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let (host, port) = match authority.strip_prefix('[') {
        // A bracketed IPv6 host: `[::1]` or `[::1]:4318`.
        Some(bracketed) => match bracketed.split_once(']') {
            Some((host, after)) => match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None if after.is_empty() => (host, None),
                None => return Some("it has text after the bracketed host"),
            },
            None => return Some("its IPv6 host has no closing ]"),
        },
        None => match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Some("it has no host");
    }
    if port.is_some_and(|port| port.parse::<u16>().is_err()) {
        return Some("its port is not a number from 0 to 65535");
    }
    None
}

/// Percent-decoding of a header key or value (OTel's `OTEL_EXPORTER_OTLP_HEADERS` rule).
fn decode(text: &str) -> Option<String> {
    percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .ok()
        .map(|decoded| decoded.into_owned())
}

/// Why an export could not be built: the settings' problems, or the exporter's refusal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("OTLP export is off: {}", .problems.join("; "))]
pub struct OtlpBuildError {
    /// One sentence per problem, naming the variable or value.
    pub problems: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> OtlpSettings {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        OtlpSettings::from_lookup(|name| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn off_unless_enabled_with_a_true_word() {
        for value in ["1", "true", "YES", " on "] {
            assert!(settings(&[("CODEX_OTLP_ENABLE", value)]).enabled, "{value}");
        }
        for value in ["0", "false", "enabled", ""] {
            assert!(
                !settings(&[("CODEX_OTLP_ENABLE", value)]).enabled,
                "{value}"
            );
        }
        assert!(!settings(&[]).enabled);
        assert!(!settings(&[("CODEX_OTLP_ENABLE", "1"), ("OTEL_SDK_DISABLED", "true")]).enabled);
    }

    #[test]
    fn codex_variables_win_over_otel_ones() {
        let s = settings(&[
            (
                "CODEX_OTLP_ENDPOINT",
                "https://collector.example:4318/v1/traces",
            ),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://other:4318"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "a=1"),
        ]);
        assert_eq!(
            s.endpoint,
            Endpoint::Url("https://collector.example:4318/v1/traces".into())
        );
        assert_eq!(s.headers, [("a".to_owned(), "1".to_owned())]);
        assert_eq!(
            settings(&[("CODEX_OTLP_ENDPOINT", "stdout")]).endpoint,
            Endpoint::Stdout
        );
    }

    #[test]
    fn unusable_values_are_problems_naming_the_variable() {
        let s = settings(&[
            ("CODEX_OTLP_ENDPOINT", "collector:4317"),
            ("CODEX_OTLP_HEADERS", "good=1,broken,=x,bad=%FF"),
            ("CODEX_OTLP_PROTOCOL", "http/json"),
            ("CODEX_OTLP_CACERTFILE", "/nonexistent/ca.pem"),
            ("CODEX_OTLP_CERTFILE", "/nonexistent/cert.pem"),
        ]);
        assert_eq!(s.headers, [("good".to_owned(), "1".to_owned())]);
        assert_eq!(
            s.problems,
            [
                r#"CODEX_OTLP_PROTOCOL="http/json" is not a supported protocol: use http/protobuf or grpc"#,
                r#"CODEX_OTLP_ENDPOINT="collector:4317" is not an endpoint: it must start with http:// or https:// (or be stdout)"#,
                r#"CODEX_OTLP_HEADERS: "broken" is not a header: write key=value, separated by commas"#,
                r#"CODEX_OTLP_HEADERS: "=x" is not a header: write key=value, separated by commas"#,
                r#"CODEX_OTLP_HEADERS: the header "bad" is not valid percent-encoded UTF-8"#,
                r#"CODEX_OTLP_CACERTFILE: the file "/nonexistent/ca.pem" does not exist"#,
                r#"CODEX_OTLP_CERTFILE: the file "/nonexistent/cert.pem" does not exist"#,
                "CODEX_OTLP_CERTFILE and CODEX_OTLP_KEYFILE go together (mutual TLS needs both)",
            ]
        );
    }

    #[test]
    fn endpoints_need_a_scheme_a_host_and_a_valid_port() {
        assert_eq!(endpoint_problem("http://localhost:4318/v1/traces"), None);
        assert_eq!(endpoint_problem("https://[::1]:4317"), None);
        assert_eq!(endpoint_problem("https://[::1]"), None);
        assert_eq!(
            endpoint_problem("https://[::1]x"),
            Some("it has text after the bracketed host")
        );
        assert_eq!(endpoint_problem("http://:4318"), Some("it has no host"));
        assert_eq!(
            endpoint_problem("http://host:99999"),
            Some("its port is not a number from 0 to 65535")
        );
        assert!(endpoint_problem("grpc://host").is_some());
    }
}

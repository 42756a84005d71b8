//! Agents ids as OpenTelemetry ids. Trace ids (`trace_` + 32 hex digits) carry exactly the 128
//! bits an OTel trace id holds, so they map losslessly; span ids (`span_` + 24 hex digits) hold
//! 96 bits and OTel's only 64, so they map through a hash: deterministic, never zero. The
//! original ids travel along as attributes ([`TRACE_ID_ATTRIBUTE`] and friends).

use opentelemetry::trace::{SpanId, TraceId};

/// The Agents trace id, on every span.
pub const TRACE_ID_ATTRIBUTE: &str = "openai.agents.trace_id";
/// The Agents span id.
pub const SPAN_ID_ATTRIBUTE: &str = "openai.agents.span_id";
/// The Agents parent span id, when the span has one.
pub const PARENT_ID_ATTRIBUTE: &str = "openai.agents.parent_id";

/// The OTel trace id of an Agents trace id: its 32 hex digits when it has them, otherwise a
/// 128-bit hash of the whole id (a caller-chosen id of another shape).
///
/// ```
/// use codex_telemetry::otel::ids::otel_trace_id;
///
/// let id = otel_trace_id("trace_0123456789abcdef0123456789abcdef");
/// assert_eq!(id.to_string(), "0123456789abcdef0123456789abcdef");
/// assert_eq!(otel_trace_id("my-trace"), otel_trace_id("my-trace"));
/// ```
pub fn otel_trace_id(agents_trace_id: &str) -> TraceId {
    let lossless = agents_trace_id
        .strip_prefix("trace_")
        .filter(|hex| hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .and_then(|hex| u128::from_str_radix(hex, 16).ok())
        .filter(|bits| *bits != 0);
    let bits = lossless.unwrap_or_else(|| {
        let high = u128::from(fnv1a(agents_trace_id.as_bytes(), FNV_OFFSET));
        let low = u128::from(fnv1a(agents_trace_id.as_bytes(), FNV_OFFSET_ALT));
        (high << 64 | low).max(1)
    });
    TraceId::from_bytes(bits.to_be_bytes())
}

/// The OTel span id of an Agents span id (FNV-1a, 64 bits; zero is not a valid id).
///
/// ```
/// use codex_telemetry::otel::ids::otel_span_id;
///
/// let a = otel_span_id("span_000000000000000000000001");
/// assert_eq!(a, otel_span_id("span_000000000000000000000001"));
/// assert_ne!(a, otel_span_id("span_000000000000000000000002"));
/// ```
pub fn otel_span_id(agents_span_id: &str) -> SpanId {
    SpanId::from_bytes(
        fnv1a(agents_span_id.as_bytes(), FNV_OFFSET)
            .max(1)
            .to_be_bytes(),
    )
}

/// The OTel span id of the root span the bridge opens for a trace.
pub fn root_span_id(agents_trace_id: &str) -> SpanId {
    let mut key = b"root:".to_vec();
    key.extend_from_slice(agents_trace_id.as_bytes());
    SpanId::from_bytes(fnv1a(&key, FNV_OFFSET).max(1).to_be_bytes())
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
/// A second offset basis, for the other half of a hashed trace id.
const FNV_OFFSET_ALT: u64 = 0x6c62_272e_07bb_0142;

fn fnv1a(bytes: &[u8], offset: u64) -> u64 {
    bytes.iter().fold(offset, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zero_trace_id_is_hashed_rather_than_made_invalid() {
        let id = otel_trace_id("trace_00000000000000000000000000000000");
        assert_ne!(id, TraceId::INVALID);
    }

    #[test]
    fn root_ids_differ_from_the_span_ids_of_the_trace() {
        let trace = "trace_0123456789abcdef0123456789abcdef";
        assert_ne!(root_span_id(trace), otel_span_id(trace));
        assert_ne!(root_span_id(trace), SpanId::INVALID);
    }
}

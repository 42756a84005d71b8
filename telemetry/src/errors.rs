//! Error types of the crate.
//!
//! The surface is deliberately small: recording telemetry never fails (a misbehaving
//! processor is contained and logged, see [`crate::processor`]), so the only fallible
//! operation is building a [`Timestamp`](crate::Timestamp) from an instant that the
//! Python client could not represent.

use thiserror::Error;

/// The instant lies outside the range of Python's `datetime` (years 1 to 9999), or the
/// sub-second part is not below one second.
///
/// Returned by [`Timestamp::from_unix`](crate::Timestamp::from_unix) and by the
/// `TryFrom<SystemTime>` conversion. The error is opaque: its message says what was wrong.
///
/// # Examples
///
/// ```
/// use codex_telemetry::Timestamp;
///
/// let err = Timestamp::from_unix(i64::MAX, 0).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "timestamp out of range: only years 1 to 9999 can be formatted like Python's datetime",
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{kind}")]
pub struct ConvertTimestampError {
    kind: ConvertTimestampErrorKind,
}

impl ConvertTimestampError {
    pub(crate) fn out_of_range() -> Self {
        Self {
            kind: ConvertTimestampErrorKind::OutOfRange,
        }
    }

    pub(crate) fn invalid_nanos() -> Self {
        Self {
            kind: ConvertTimestampErrorKind::InvalidNanos,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
enum ConvertTimestampErrorKind {
    #[error("timestamp out of range: only years 1 to 9999 can be formatted like Python's datetime")]
    OutOfRange,
    #[error("invalid timestamp: sub-second nanoseconds must be below 1_000_000_000")]
    InvalidNanos,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_lowercase_fragments() {
        for err in [
            ConvertTimestampError::out_of_range(),
            ConvertTimestampError::invalid_nanos(),
        ] {
            let text = err.to_string();
            assert!(text.starts_with(|c: char| c.is_lowercase()), "{text}");
            assert!(!text.ends_with('.'), "{text}");
        }
    }
}

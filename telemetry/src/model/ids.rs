//! Identifiers: the [`IdGenerator`] seam, the default random generator and a
//! deterministic one for tests.
//!
//! The formats are those of the Python client (`openai-agents`):
//!
//! | id | format | Python |
//! |---|---|---|
//! | trace | `trace_` + 32 lowercase hex | `f"trace_{uuid.uuid4().hex}"` |
//! | span | `span_` + 24 lowercase hex | `f"span_{uuid.uuid4().hex[:24]}"` |
//! | group | `group_` + 24 lowercase hex | `f"group_{uuid.uuid4().hex[:24]}"` |
//!
//! Ids that callers pass in themselves (for example
//! [`TraceOptions::with_trace_id`](crate::TraceOptions::with_trace_id)) are used verbatim
//! and never validated, as in Python.
//!
//! ```
//! use codex_telemetry::{IdGenerator, RandomIdGenerator, SequentialIdGenerator};
//!
//! let id = RandomIdGenerator.trace_id();
//! assert!(id.starts_with("trace_") && id.len() == 6 + 32);
//!
//! let ids = SequentialIdGenerator::new();
//! assert_eq!(ids.span_id(), "span_000000000000000000000001");
//! ```

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use uuid::Uuid;

/// Produces trace, span and group ids.
///
/// The provider calls it once per recorded trace or span, and never for disabled or
/// no-op ones. Implementations must be thread-safe.
///
/// # Examples
///
/// ```
/// use codex_telemetry::IdGenerator;
///
/// /// Ids that say where they came from.
/// #[derive(Debug)]
/// struct Fixed;
///
/// impl IdGenerator for Fixed {
///     fn trace_id(&self) -> String { "trace_fixed".into() }
///     fn span_id(&self) -> String { "span_fixed".into() }
///     fn group_id(&self) -> String { "group_fixed".into() }
/// }
///
/// assert_eq!(Fixed.span_id(), "span_fixed");
/// ```
pub trait IdGenerator: Send + Sync + fmt::Debug {
    /// A new trace id, `trace_` + 32 hex characters by convention.
    ///
    /// ```
    /// use codex_telemetry::{IdGenerator, SequentialIdGenerator};
    ///
    /// assert_eq!(SequentialIdGenerator::new().trace_id(), format!("trace_{:032x}", 1));
    /// ```
    fn trace_id(&self) -> String;

    /// A new span id, `span_` + 24 hex characters by convention.
    ///
    /// ```
    /// use codex_telemetry::{IdGenerator, RandomIdGenerator};
    ///
    /// assert_eq!(RandomIdGenerator.span_id().len(), 5 + 24);
    /// ```
    fn span_id(&self) -> String;

    /// A new group id, `group_` + 24 hex characters by convention. The Python client uses
    /// one only as the default group of a voice pipeline; runs never generate one.
    ///
    /// ```
    /// use codex_telemetry::{IdGenerator, RandomIdGenerator};
    ///
    /// assert!(RandomIdGenerator.group_id().starts_with("group_"));
    /// ```
    fn group_id(&self) -> String;
}

/// The default [`IdGenerator`]: random version-4 UUIDs, formatted exactly as the Python
/// client formats them.
///
/// # Examples
///
/// ```
/// use codex_telemetry::{IdGenerator, RandomIdGenerator};
///
/// let ids = RandomIdGenerator;
/// let (a, b) = (ids.trace_id(), ids.trace_id());
/// assert_ne!(a, b);
/// assert!(a[6..].chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')));
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct RandomIdGenerator;

impl RandomIdGenerator {
    /// `prefix` followed by the first `hex_len` hex characters of a fresh uuid4.
    ///
    /// The 122 random bits come from a per-thread generator seeded once (`fastrand`'s
    /// wyrand): an id is a few nanoseconds, not a `getrandom` call. Ids name spans; they
    /// are not secrets, so a non-cryptographic generator is enough.
    fn generate(prefix: &str, hex_len: usize) -> String {
        let random = fastrand::u128(..).to_le_bytes();
        let uuid = uuid::Builder::from_random_bytes(random).into_uuid();
        let mut buffer = Uuid::encode_buffer();
        let hex = uuid.simple().encode_lower(&mut buffer);
        let mut id = String::with_capacity(prefix.len() + hex_len);
        id.push_str(prefix);
        id.push_str(&hex[..hex_len]);
        id
    }
}

impl RandomIdGenerator {
    /// Reseeds this thread's generator. A child process made by `fork()` inherits the
    /// parent's generator state and would draw the same ids: call this in the child right
    /// after the fork, on each thread that makes ids. (Python's `uuid4` reads the OS on every
    /// call and has no such state.)
    ///
    /// ```
    /// use codex_telemetry::{IdGenerator, RandomIdGenerator};
    ///
    /// RandomIdGenerator::reseed_after_fork();
    /// assert!(RandomIdGenerator.span_id().starts_with("span_"));
    /// ```
    pub fn reseed_after_fork() {
        use std::hash::{BuildHasher, Hasher};
        // A fresh hasher key mixed with what differs between parent and child.
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u32(std::process::id());
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        hasher.write_u128(now.as_nanos());
        fastrand::seed(hasher.finish());
    }
}

impl IdGenerator for RandomIdGenerator {
    fn trace_id(&self) -> String {
        Self::generate("trace_", 32)
    }

    fn span_id(&self) -> String {
        Self::generate("span_", 24)
    }

    fn group_id(&self) -> String {
        Self::generate("group_", 24)
    }
}

/// A deterministic [`IdGenerator`] for tests: counters starting at 1, one per kind,
/// zero-padded to the same widths as real ids (so they pass shape checks).
///
/// # Examples
///
/// ```
/// use codex_telemetry::{IdGenerator, SequentialIdGenerator};
///
/// let ids = SequentialIdGenerator::new();
/// assert_eq!(ids.trace_id(), "trace_00000000000000000000000000000001");
/// assert_eq!(ids.span_id(), "span_000000000000000000000001");
/// assert_eq!(ids.span_id(), "span_000000000000000000000002");
/// assert_eq!(ids.group_id(), "group_000000000000000000000001");
/// ```
#[derive(Debug, Default)]
pub struct SequentialIdGenerator {
    traces: AtomicU64,
    spans: AtomicU64,
    groups: AtomicU64,
}

impl SequentialIdGenerator {
    /// A generator whose first id of each kind ends in `1`.
    ///
    /// ```
    /// use codex_telemetry::{IdGenerator, SequentialIdGenerator};
    ///
    /// assert!(SequentialIdGenerator::new().trace_id().ends_with("01"));
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    fn next(counter: &AtomicU64) -> u64 {
        counter.fetch_add(1, Ordering::Relaxed) + 1
    }
}

impl IdGenerator for SequentialIdGenerator {
    fn trace_id(&self) -> String {
        format!("trace_{:032x}", Self::next(&self.traces))
    }

    fn span_id(&self) -> String {
        format!("span_{:024x}", Self::next(&self.spans))
    }

    fn group_id(&self) -> String {
        format!("group_{:024x}", Self::next(&self.groups))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn assert_shape(id: &str, prefix: &str, hex_len: usize) {
        let hex = id
            .strip_prefix(prefix)
            .unwrap_or_else(|| panic!("{id} lacks {prefix}"));
        assert_eq!(hex.len(), hex_len, "{id}");
        assert!(
            hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
            "{id}"
        );
    }

    #[test]
    fn random_ids_have_python_shapes() {
        let ids = RandomIdGenerator;
        for _ in 0..100 {
            assert_shape(&ids.trace_id(), "trace_", 32);
            assert_shape(&ids.span_id(), "span_", 24);
            assert_shape(&ids.group_id(), "group_", 24);
        }
    }

    #[test]
    fn reseeding_changes_the_ids_a_copied_state_would_draw() {
        fastrand::seed(7);
        let inherited = RandomIdGenerator.span_id();
        fastrand::seed(7); // the state a forked child starts from
        RandomIdGenerator::reseed_after_fork();
        assert_ne!(RandomIdGenerator.span_id(), inherited);
    }

    #[test]
    fn random_trace_ids_are_uuid4_hex() {
        // uuid4().hex has the version nibble `4` at index 12 and the RFC 4122 variant
        // (8, 9, a or b) at index 16; a span id keeps both within its first 24.
        let trace = RandomIdGenerator.trace_id();
        let hex = &trace["trace_".len()..];
        assert_eq!(&hex[12..13], "4");
        assert!(matches!(&hex[16..17], "8" | "9" | "a" | "b"));
        let span = RandomIdGenerator.span_id();
        let hex = &span["span_".len()..];
        assert_eq!(&hex[12..13], "4");
        assert!(matches!(&hex[16..17], "8" | "9" | "a" | "b"));
    }

    #[test]
    fn random_ids_do_not_repeat() {
        let ids = RandomIdGenerator;
        let seen: HashSet<String> = (0..1_000).map(|_| ids.span_id()).collect();
        assert_eq!(seen.len(), 1_000);
    }

    #[test]
    fn sequential_ids_count_per_kind_and_keep_shape() {
        let ids = SequentialIdGenerator::new();
        assert_eq!(ids.trace_id(), "trace_00000000000000000000000000000001");
        assert_eq!(ids.span_id(), "span_000000000000000000000001");
        assert_eq!(ids.span_id(), "span_000000000000000000000002");
        assert_eq!(ids.trace_id(), "trace_00000000000000000000000000000002");
        assert_shape(&ids.trace_id(), "trace_", 32);
        assert_shape(&ids.span_id(), "span_", 24);
        assert_shape(&ids.group_id(), "group_", 24);
    }
}

//! Time: the [`Clock`] seam and the UTC [`Timestamp`] it returns.
//!
//! Spans record raw instants while they run; text is produced only when a span is
//! exported, in exactly the form of Python's `datetime.now(timezone.utc).isoformat()`,
//! which is what the `openai-agents` client writes into `started_at` and `ended_at`:
//!
//! * microsecond precision, nanoseconds truncated (CPython's `datetime.now()` rounds the
//!   system clock towards negative infinity);
//! * the fraction is left out entirely when the microseconds are zero;
//! * the offset is always written as `+00:00`, never `Z`.
//!
//! ```
//! use codex_telemetry::{Clock, ManualClock, Timestamp};
//! use std::time::Duration;
//!
//! // 2026-11-21T07:42:10.387012999Z
//! let start = Timestamp::from_unix(1_795_246_930, 387_012_999)?;
//! assert_eq!(start.to_isoformat(), "2026-11-21T07:42:10.387012+00:00");
//!
//! let clock = ManualClock::new(Timestamp::from_unix(1_795_246_930, 0)?);
//! assert_eq!(clock.now().to_isoformat(), "2026-11-21T07:42:10+00:00");
//! clock.advance(Duration::from_micros(10));
//! assert_eq!(clock.now().to_isoformat(), "2026-11-21T07:42:10.000010+00:00");
//! # Ok::<(), codex_telemetry::ConvertTimestampError>(())
//! ```

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Serialize, Serializer};
use thiserror::Error;

const NANOS_PER_SEC: u32 = 1_000_000_000;
const SECS_PER_DAY: i64 = 86_400;
/// `0001-01-01T00:00:00Z`, Python's `datetime.min` as Unix seconds.
const MIN_UNIX_SECS: i64 = -62_135_596_800;
/// `9999-12-31T23:59:59Z`, the last whole second of Python's `datetime.max`.
const MAX_UNIX_SECS: i64 = 253_402_300_799;

/// A UTC instant with nanosecond resolution, restricted to the years 1 to 9999 that
/// Python's `datetime` can represent.
///
/// Its [`Display`](fmt::Display) form (and [`to_isoformat`](Self::to_isoformat), and its
/// `Serialize` impl) is Python's `isoformat()` of an aware UTC datetime. Ordering is
/// chronological.
///
/// # Examples
///
/// ```
/// use codex_telemetry::Timestamp;
///
/// let t = Timestamp::from_unix(0, 1_500)?;
/// assert_eq!(t.to_string(), "1970-01-01T00:00:00.000001+00:00");
/// assert!(t > Timestamp::from_unix(0, 0)?);
/// # Ok::<(), codex_telemetry::ConvertTimestampError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    secs: i64,
    nanos: u32,
}

// === impl Timestamp ===

/// # Constructors
impl Timestamp {
    /// The instant `secs` seconds plus `nanos` nanoseconds after the Unix epoch
    /// (`secs` may be negative; `nanos` always counts forward).
    ///
    /// Fails when `nanos` is not below one second or the instant lies outside the years
    /// 1 to 9999.
    ///
    /// # Examples
    ///
    /// ```
    /// use codex_telemetry::Timestamp;
    ///
    /// // Half a second before the epoch.
    /// let t = Timestamp::from_unix(-1, 500_000_000)?;
    /// assert_eq!(t.to_isoformat(), "1969-12-31T23:59:59.500000+00:00");
    /// assert!(Timestamp::from_unix(0, 1_000_000_000).is_err());
    /// # Ok::<(), codex_telemetry::ConvertTimestampError>(())
    /// ```
    pub fn from_unix(secs: i64, nanos: u32) -> Result<Self, ConvertTimestampError> {
        if nanos >= NANOS_PER_SEC {
            return Err(ConvertTimestampError::invalid_nanos());
        }
        if !(MIN_UNIX_SECS..=MAX_UNIX_SECS).contains(&secs) {
            return Err(ConvertTimestampError::out_of_range());
        }
        Ok(Self { secs, nanos })
    }

    /// The current system time, clamped into the representable range (which only matters
    /// on a machine whose clock is set thousands of years off).
    pub(crate) fn now_saturating() -> Self {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(after) => Self::saturating(i128::from(after.as_secs()), after.subsec_nanos()),
            Err(before) => {
                let before = before.duration();
                let mut secs = -i128::from(before.as_secs());
                let mut nanos = before.subsec_nanos();
                if nanos > 0 {
                    secs -= 1;
                    nanos = NANOS_PER_SEC - nanos;
                }
                Self::saturating(secs, nanos)
            }
        }
    }

    fn saturating(secs: i128, nanos: u32) -> Self {
        if secs < i128::from(MIN_UNIX_SECS) {
            Self {
                secs: MIN_UNIX_SECS,
                nanos: 0,
            }
        } else if secs > i128::from(MAX_UNIX_SECS) {
            Self {
                secs: MAX_UNIX_SECS,
                nanos: NANOS_PER_SEC - 1,
            }
        } else {
            // In range, so the narrowing cannot fail.
            Self {
                secs: secs as i64,
                nanos,
            }
        }
    }

    /// This instant moved forward by `by`, saturating at the end of year 9999.
    pub(crate) fn saturating_add(self, by: Duration) -> Self {
        let total = i128::from(self.nanos) + i128::from(by.subsec_nanos());
        let secs =
            i128::from(self.secs) + i128::from(by.as_secs()) + total / i128::from(NANOS_PER_SEC);
        Self::saturating(secs, (total % i128::from(NANOS_PER_SEC)) as u32)
    }
}

/// # Accessors and formatting
impl Timestamp {
    /// Whole seconds since the Unix epoch (rounded towards negative infinity).
    ///
    /// # Examples
    ///
    /// ```
    /// use codex_telemetry::Timestamp;
    ///
    /// let t = Timestamp::from_unix(-1, 250)?;
    /// assert_eq!((t.unix_seconds(), t.subsec_nanos()), (-1, 250));
    /// # Ok::<(), codex_telemetry::ConvertTimestampError>(())
    /// ```
    pub fn unix_seconds(&self) -> i64 {
        self.secs
    }

    /// How long after `earlier` this instant is; zero when it is not after it.
    ///
    /// ```
    /// use codex_telemetry::Timestamp;
    /// use std::time::Duration;
    ///
    /// let (a, b) = (Timestamp::from_unix(1, 500_000_000)?, Timestamp::from_unix(3, 0)?);
    /// assert_eq!(b.duration_since(a), Duration::from_millis(1500));
    /// assert_eq!(a.duration_since(b), Duration::ZERO);
    /// # Ok::<(), codex_telemetry::ConvertTimestampError>(())
    /// ```
    pub fn duration_since(&self, earlier: Timestamp) -> Duration {
        let nanos = |t: &Timestamp| {
            i128::from(t.unix_seconds()) * 1_000_000_000 + i128::from(t.subsec_nanos())
        };
        let difference = nanos(self) - nanos(&earlier);
        u64::try_from(difference.max(0)).map_or(Duration::MAX, Duration::from_nanos)
    }

    /// Nanoseconds past [`unix_seconds`](Self::unix_seconds), always below one second.
    ///
    /// # Examples
    ///
    /// ```
    /// use codex_telemetry::Timestamp;
    ///
    /// assert_eq!(Timestamp::from_unix(10, 999)?.subsec_nanos(), 999);
    /// # Ok::<(), codex_telemetry::ConvertTimestampError>(())
    /// ```
    pub fn subsec_nanos(&self) -> u32 {
        self.nanos
    }

    /// Python's `datetime.isoformat()` of this instant as an aware UTC datetime, e.g.
    /// `2026-11-21T07:42:10.387012+00:00`, or `2026-11-21T07:42:10+00:00` when the
    /// microseconds are zero. Nanoseconds below a microsecond are truncated.
    ///
    /// # Examples
    ///
    /// ```
    /// use codex_telemetry::Timestamp;
    ///
    /// let t = Timestamp::from_unix(1_795_246_930, 999)?; // 999 ns: below one microsecond
    /// assert_eq!(t.to_isoformat(), "2026-11-21T07:42:10+00:00");
    /// # Ok::<(), codex_telemetry::ConvertTimestampError>(())
    /// ```
    pub fn to_isoformat(&self) -> String {
        self.to_string()
    }

    /// The `isoformat()` text on the stack, for serializers.
    pub(crate) fn iso_format(&self) -> IsoFormat {
        IsoFormat::new(self)
    }
}

/// A formatted timestamp, at most `YYYY-MM-DDTHH:MM:SS.ffffff+00:00` (32 bytes), on the
/// stack: an exporter formats three per span, so this avoids `core::fmt`, per-digit
/// division and any allocation.
pub(crate) struct IsoFormat {
    bytes: [u8; 32],
    len: usize,
}

impl IsoFormat {
    fn new(timestamp: &Timestamp) -> Self {
        let days = timestamp.secs.div_euclid(SECS_PER_DAY);
        let second_of_day = timestamp.secs.rem_euclid(SECS_PER_DAY) as u32;
        let (year, month, day) = civil_from_days(days);
        // The range check of `Timestamp` keeps the year within 1..=9999.
        let year = year as u32;
        let mut out = Self {
            bytes: *b"0000-00-00T00:00:00.000000+00:00",
            len: 19,
        };
        out.pair(0, year / 100);
        out.pair(2, year % 100);
        out.pair(5, month);
        out.pair(8, day);
        out.pair(11, second_of_day / 3600);
        out.pair(14, second_of_day % 3600 / 60);
        out.pair(17, second_of_day % 60);
        // Python's `isoformat()` leaves out a zero fraction.
        let micros = timestamp.nanos / 1_000;
        if micros != 0 {
            out.pair(20, micros / 10_000);
            out.pair(22, micros / 100 % 100);
            out.pair(24, micros % 100);
            out.len = 26;
        }
        out.bytes.copy_within(26..32, out.len);
        out.len += 6;
        out
    }

    /// Writes `value` (below 100) as two digits at `at`.
    fn pair(&mut self, at: usize, value: u32) {
        const PAIRS: &[u8; 200] = b"00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899";
        let value = value as usize * 2;
        self.bytes[at..at + 2].copy_from_slice(&PAIRS[value..value + 2]);
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    fn as_str(&self) -> &str {
        // Only ASCII digits and punctuation were written.
        std::str::from_utf8(&self.bytes[..self.len]).expect("ASCII")
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(IsoFormat::new(self).as_str())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(IsoFormat::new(self).as_str())
    }
}

impl TryFrom<SystemTime> for Timestamp {
    type Error = ConvertTimestampError;

    /// Converts a system time, failing outside the years 1 to 9999.
    ///
    /// ```
    /// use codex_telemetry::Timestamp;
    /// use std::time::{Duration, UNIX_EPOCH};
    ///
    /// let t = Timestamp::try_from(UNIX_EPOCH + Duration::from_millis(1))?;
    /// assert_eq!(t.to_isoformat(), "1970-01-01T00:00:00.001000+00:00");
    /// # Ok::<(), codex_telemetry::ConvertTimestampError>(())
    /// ```
    fn try_from(time: SystemTime) -> Result<Self, Self::Error> {
        let out_of_range = ConvertTimestampError::out_of_range;
        match time.duration_since(UNIX_EPOCH) {
            Ok(after) => {
                let secs = i64::try_from(after.as_secs()).map_err(|_| out_of_range())?;
                Self::from_unix(secs, after.subsec_nanos())
            }
            Err(before) => {
                let before = before.duration();
                let secs = i64::try_from(before.as_secs()).map_err(|_| out_of_range())?;
                match before.subsec_nanos() {
                    0 => Self::from_unix(-secs, 0),
                    nanos => Self::from_unix(-secs - 1, NANOS_PER_SEC - nanos),
                }
            }
        }
    }
}

/// Year, month and day of the proleptic Gregorian calendar for a count of days since
/// 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097); // [0, 146096]
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153; // March = 0
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month as u32, day as u32)
}

/// Where spans get their `started_at` and `ended_at` instants from.
///
/// The provider reads the clock exactly twice per recorded span (at start and at finish)
/// and never for disabled or no-op spans. Implementations must be cheap and thread-safe.
///
/// # Examples
///
/// ```
/// use codex_telemetry::{Clock, Timestamp};
///
/// /// Always the epoch: a clock for golden files.
/// #[derive(Debug)]
/// struct Epoch;
///
/// impl Clock for Epoch {
///     fn now(&self) -> Timestamp {
///         Timestamp::from_unix(0, 0).expect("in range")
///     }
/// }
///
/// assert_eq!(Epoch.now().to_isoformat(), "1970-01-01T00:00:00+00:00");
/// ```
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current instant.
    ///
    /// ```
    /// use codex_telemetry::{Clock, SystemClock};
    ///
    /// assert!(SystemClock.now().unix_seconds() > 1_700_000_000);
    /// ```
    fn now(&self) -> Timestamp;

    /// A reading of a monotonic clock: the time since a fixed point of this clock, never
    /// decreasing. Durations (the `duration_ms` of the Codex events, module `events`) are
    /// differences of two readings, so they do not jump with the wall clock. The default is
    /// the process's [`Instant`](std::time::Instant) since its first reading.
    ///
    /// ```
    /// use codex_telemetry::{Clock, SystemClock};
    ///
    /// let (a, b) = (SystemClock.monotonic(), SystemClock.monotonic());
    /// assert!(b >= a);
    /// ```
    fn monotonic(&self) -> Duration {
        static ANCHOR: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        ANCHOR.get_or_init(std::time::Instant::now).elapsed()
    }
}

/// The default [`Clock`]: the system's wall clock, like Python's
/// `datetime.now(timezone.utc)`. Like Python, it is not monotonic.
///
/// # Examples
///
/// ```
/// use codex_telemetry::{Clock, SystemClock};
///
/// let (a, b) = (SystemClock.now(), SystemClock.now());
/// assert!(a.to_isoformat().ends_with("+00:00"));
/// assert!(b.unix_seconds() >= a.unix_seconds() - 1);
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now_saturating()
    }
}

/// A [`Clock`] under the test's control: it returns a set instant, optionally stepping
/// forward by a fixed amount after every reading.
///
/// Clones share the same time, so a test can keep one handle and give another to the
/// provider.
///
/// # Examples
///
/// ```
/// use codex_telemetry::{Clock, ManualClock, Timestamp};
/// use std::time::Duration;
///
/// let clock = ManualClock::new(Timestamp::from_unix(0, 0)?)
///     .with_auto_advance(Duration::from_millis(1));
/// let provider_side = clock.clone();
/// assert_eq!(provider_side.now().to_isoformat(), "1970-01-01T00:00:00+00:00");
/// assert_eq!(provider_side.now().to_isoformat(), "1970-01-01T00:00:00.001000+00:00");
/// clock.set(Timestamp::from_unix(60, 0)?);
/// assert_eq!(provider_side.now().to_isoformat(), "1970-01-01T00:01:00+00:00");
/// # Ok::<(), codex_telemetry::ConvertTimestampError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock {
    state: Arc<Mutex<ManualState>>,
}

#[derive(Debug)]
struct ManualState {
    now: Timestamp,
    step: Duration,
    /// The monotonic reading: how far the clock has moved forward in total.
    elapsed: Duration,
}

// === impl ManualClock ===

impl ManualClock {
    /// A clock standing still at `start`.
    ///
    /// ```
    /// use codex_telemetry::{Clock, ManualClock, Timestamp};
    ///
    /// let clock = ManualClock::new(Timestamp::from_unix(5, 0)?);
    /// assert_eq!(clock.now(), clock.now());
    /// # Ok::<(), codex_telemetry::ConvertTimestampError>(())
    /// ```
    pub fn new(start: Timestamp) -> Self {
        Self {
            state: Arc::new(Mutex::new(ManualState {
                now: start,
                step: Duration::ZERO,
                elapsed: Duration::ZERO,
            })),
        }
    }

    /// Makes every reading advance the clock by `step` afterwards, so consecutive
    /// timestamps differ (and stay predictable).
    ///
    /// ```
    /// use codex_telemetry::{Clock, ManualClock, Timestamp};
    /// use std::time::Duration;
    ///
    /// let clock = ManualClock::new(Timestamp::from_unix(0, 0)?)
    ///     .with_auto_advance(Duration::from_secs(1));
    /// assert!(clock.now() < clock.now());
    /// # Ok::<(), codex_telemetry::ConvertTimestampError>(())
    /// ```
    pub fn with_auto_advance(self, step: Duration) -> Self {
        self.lock().step = step;
        self
    }

    /// Sets the current instant.
    ///
    /// ```
    /// use codex_telemetry::{Clock, ManualClock, Timestamp};
    ///
    /// let clock = ManualClock::new(Timestamp::from_unix(0, 0)?);
    /// clock.set(Timestamp::from_unix(3_600, 0)?);
    /// assert_eq!(clock.now().to_isoformat(), "1970-01-01T01:00:00+00:00");
    /// # Ok::<(), codex_telemetry::ConvertTimestampError>(())
    /// ```
    pub fn set(&self, now: Timestamp) {
        let mut state = self.lock();
        // The monotonic reading follows forward moves only.
        let forward = now.duration_since(state.now);
        state.elapsed += forward;
        state.now = now;
    }

    /// Moves the current instant forward by `by` (saturating at the end of year 9999).
    ///
    /// ```
    /// use codex_telemetry::{Clock, ManualClock, Timestamp};
    /// use std::time::Duration;
    ///
    /// let clock = ManualClock::new(Timestamp::from_unix(0, 999_999_999)?);
    /// clock.advance(Duration::from_nanos(1));
    /// assert_eq!(clock.now(), Timestamp::from_unix(1, 0)?);
    /// # Ok::<(), codex_telemetry::ConvertTimestampError>(())
    /// ```
    pub fn advance(&self, by: Duration) {
        let mut state = self.lock();
        state.now = state.now.saturating_add(by);
        state.elapsed += by;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ManualState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        let mut state = self.lock();
        let now = state.now;
        let step = state.step;
        state.now = now.saturating_add(step);
        state.elapsed += step;
        now
    }

    /// How far the clock has moved forward since it was made (by [`advance`](ManualClock::advance),
    /// forward [`set`](ManualClock::set)s and auto-advance); it does not advance by itself.
    ///
    /// ```
    /// use codex_telemetry::{Clock, ManualClock, Timestamp};
    /// use std::time::Duration;
    ///
    /// let clock = ManualClock::new(Timestamp::from_unix(0, 0)?);
    /// let start = clock.monotonic();
    /// clock.advance(Duration::from_millis(250));
    /// assert_eq!(clock.monotonic() - start, Duration::from_millis(250));
    /// # Ok::<(), codex_telemetry::ConvertTimestampError>(())
    /// ```
    fn monotonic(&self) -> Duration {
        self.lock().elapsed
    }
}

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

    fn ts(secs: i64, nanos: u32) -> Timestamp {
        Timestamp::from_unix(secs, nanos).unwrap()
    }

    proptest::proptest! {
        /// The hand-written formatter writes what `core::fmt` writes, over the whole range.
        #[test]
        fn isoformat_matches_core_fmt(secs in MIN_UNIX_SECS..=MAX_UNIX_SECS, nanos in 0..NANOS_PER_SEC) {
            let days = secs.div_euclid(SECS_PER_DAY);
            let second_of_day = secs.rem_euclid(SECS_PER_DAY);
            let (year, month, day) = civil_from_days(days);
            let (hour, minute, second) = (second_of_day / 3600, second_of_day % 3600 / 60, second_of_day % 60);
            let mut expected = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}");
            if nanos / 1_000 != 0 {
                expected += &format!(".{:06}", nanos / 1_000);
            }
            expected += "+00:00";
            let timestamp = ts(secs, nanos);
            proptest::prop_assert_eq!(timestamp.to_isoformat(), expected.clone());
            proptest::prop_assert_eq!(serde_json::to_string(&timestamp).unwrap(), format!("\"{expected}\""));
        }
    }

    /// Each pair is `(unix microseconds, Python isoformat)`, printed by CPython 3.11
    /// (`python-checks/isoformat.py`).
    const PYTHON: &[(i64, &str)] = &[
        (1_795_246_930_387_012, "2026-11-21T07:42:10.387012+00:00"),
        (1_795_246_930_000_000, "2026-11-21T07:42:10+00:00"),
        (1_795_246_930_000_010, "2026-11-21T07:42:10.000010+00:00"),
        (-62_135_596_800_000_000, "0001-01-01T00:00:00+00:00"),
        (253_402_300_799_999_999, "9999-12-31T23:59:59.999999+00:00"),
        (0, "1970-01-01T00:00:00+00:00"),
        (-1_500_000, "1969-12-31T23:59:58.500000+00:00"),
        (1_709_208_000_500_000, "2024-02-29T12:00:00.500000+00:00"),
        (1_700_000_000_123_456, "2023-11-14T22:13:20.123456+00:00"),
    ];

    #[test]
    fn formats_like_python_isoformat() {
        for &(micros, expected) in PYTHON {
            let t = ts(
                micros.div_euclid(1_000_000),
                (micros.rem_euclid(1_000_000) * 1_000) as u32,
            );
            assert_eq!(t.to_isoformat(), expected, "{micros}");
        }
    }

    /// CPython's `datetime.now(timezone.utc)` with the system clock faked to these
    /// nanoseconds (`python-checks/now_truncation.sh`).
    #[test]
    fn truncates_nanoseconds_like_datetime_now() {
        assert_eq!(
            ts(1_795_246_930, 387_012_999).to_string(),
            "2026-11-21T07:42:10.387012+00:00"
        );
        assert_eq!(
            ts(1_795_246_930, 999_999_999).to_string(),
            "2026-11-21T07:42:10.999999+00:00"
        );
        assert_eq!(
            ts(1_795_246_930, 999).to_string(),
            "2026-11-21T07:42:10+00:00"
        );
        assert_eq!(
            ts(-1, 999_999_999).to_string(),
            "1969-12-31T23:59:59.999999+00:00"
        );
    }

    #[test]
    fn civil_dates_round_trip_over_the_whole_range() {
        // Every day from year 1 to 9999 must follow its predecessor in the calendar.
        let first = MIN_UNIX_SECS.div_euclid(SECS_PER_DAY);
        let last = MAX_UNIX_SECS.div_euclid(SECS_PER_DAY);
        let mut previous = civil_from_days(first);
        assert_eq!(previous, (1, 1, 1));
        for day in first + 1..=last {
            let (y, m, d) = civil_from_days(day);
            let (py, pm, pd) = previous;
            let next_day = (y, m, d) == (py, pm, pd + 1);
            let next_month = y == py && m == pm + 1 && d == 1;
            let next_year = y == py + 1 && (m, d) == (1, 1) && (pm, pd) == (12, 31);
            assert!(
                next_day || next_month || next_year,
                "{previous:?} -> {:?}",
                (y, m, d)
            );
            previous = (y, m, d);
        }
        assert_eq!(previous, (9999, 12, 31));
    }

    #[test]
    fn range_is_checked() {
        assert!(Timestamp::from_unix(MIN_UNIX_SECS - 1, 999_999_999).is_err());
        assert!(Timestamp::from_unix(MAX_UNIX_SECS + 1, 0).is_err());
        assert!(Timestamp::from_unix(MAX_UNIX_SECS, 999_999_999).is_ok());
        assert!(Timestamp::from_unix(0, NANOS_PER_SEC).is_err());
    }

    #[test]
    fn system_time_conversion_handles_negative_fractions() {
        let t = Timestamp::try_from(UNIX_EPOCH - Duration::from_millis(1_500)).unwrap();
        assert_eq!((t.unix_seconds(), t.subsec_nanos()), (-2, 500_000_000));
        let t = Timestamp::try_from(UNIX_EPOCH - Duration::from_secs(2)).unwrap();
        assert_eq!((t.unix_seconds(), t.subsec_nanos()), (-2, 0));
    }

    #[test]
    fn saturating_add_carries_and_clamps() {
        assert_eq!(
            ts(0, 600_000_000).saturating_add(Duration::from_millis(500)),
            ts(1, 100_000_000)
        );
        let max = ts(MAX_UNIX_SECS, 999_999_999);
        assert_eq!(max.saturating_add(Duration::from_secs(u64::MAX)), max);
    }

    #[test]
    fn serializes_as_isoformat_string() {
        let value = serde_json::to_value(ts(0, 0)).unwrap();
        assert_eq!(value, serde_json::json!("1970-01-01T00:00:00+00:00"));
    }

    #[test]
    fn manual_clock_clones_share_time() {
        let clock = ManualClock::new(ts(0, 0)).with_auto_advance(Duration::from_micros(1));
        let other = clock.clone();
        assert_eq!(clock.now(), ts(0, 0));
        assert_eq!(other.now(), ts(0, 1_000));
        other.advance(Duration::from_secs(1));
        assert_eq!(clock.now(), ts(1, 2_000));
    }

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

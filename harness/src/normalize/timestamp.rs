//! Parsing of span timestamps in the exact form Python's `datetime.isoformat()` gives for an
//! aware UTC datetime: `YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00`, the fraction omitted when the
//! microseconds are 0.
//!
//! Parsing is lenient where it can be: a timestamp that is a real date-time but not in Python's
//! form (a `Z`, another offset, a `.000000` fraction) still yields an instant, so ordering checks
//! keep working, plus the [`Problem`]s that become findings.

use std::fmt;
use std::sync::LazyLock;

use regex::Regex;

static ISO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?(Z|[+-][0-9]{2}:[0-9]{2})?$",
    )
    .expect("timestamp regex compiles")
});

/// A point in time: microseconds since 1970-01-01T00:00:00 UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Instant(i64);

/// Why a timestamp is not in Python's isoformat UTC form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Problem {
    /// Not an ISO-8601 date-time at all.
    NotIso,
    /// The shape is right but a field is out of range (month 13, February 30…).
    OutOfRange,
    /// A fraction with other than 6 digits.
    FractionDigits,
    /// A `.000000` fraction, which Python omits.
    ZeroFraction,
    /// No offset (a naive datetime).
    NoOffset,
    /// `Z` instead of `+00:00`.
    Zulu,
    /// An offset other than `+00:00` (kept verbatim: it is a fixed form, not a random value).
    Offset(String),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::NotIso => f.write_str("is not an ISO-8601 date-time"),
            Problem::OutOfRange => f.write_str("is not a valid calendar date and time"),
            Problem::FractionDigits => f.write_str("has a fraction that is not 6 digits"),
            Problem::ZeroFraction => {
                f.write_str("has a .000000 fraction (Python omits zero microseconds)")
            }
            Problem::NoOffset => f.write_str("has no UTC offset (Python writes +00:00)"),
            Problem::Zulu => f.write_str("ends in Z (Python writes +00:00)"),
            Problem::Offset(offset) => write!(f, "has offset {offset} (Python writes +00:00)"),
        }
    }
}

/// The result of parsing one timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parsed {
    /// The instant, when the text is a real date-time (even if not in Python's form).
    pub(crate) instant: Option<Instant>,
    /// Deviations from Python's form, in a fixed order.
    pub(crate) problems: Vec<Problem>,
}

/// Parses a timestamp, reporting every deviation from Python's isoformat UTC form.
pub(crate) fn parse(text: &str) -> Parsed {
    let Some(caps) = ISO.captures(text) else {
        return Parsed {
            instant: None,
            problems: vec![Problem::NotIso],
        };
    };
    let num = |i: usize| -> i64 { caps.get(i).map_or(0, |m| m.as_str().parse().unwrap_or(0)) };
    let (year, month, day) = (num(1), num(2), num(3));
    let (hour, minute, second) = (num(4), num(5), num(6));
    let mut problems = Vec::new();

    let mut micros = 0;
    if let Some(fraction) = caps.get(7).map(|m| m.as_str()) {
        if fraction.len() != 6 {
            problems.push(Problem::FractionDigits);
        }
        if fraction.bytes().all(|b| b == b'0') {
            problems.push(Problem::ZeroFraction);
        }
        // Pad or truncate to microseconds; the digits are ASCII, so slicing is safe.
        let padded = format!("{fraction:0<6}");
        micros = padded[..6].parse().unwrap_or(0);
    }

    let mut offset_minutes = 0;
    let mut offset_ok = true;
    match caps.get(8).map(|m| m.as_str()) {
        None => problems.push(Problem::NoOffset),
        Some("Z") => problems.push(Problem::Zulu),
        Some("+00:00") => {}
        Some(offset) => {
            let sign = if offset.starts_with('-') { -1 } else { 1 };
            let hours: i64 = offset[1..3].parse().unwrap_or(0);
            let minutes: i64 = offset[4..6].parse().unwrap_or(0);
            offset_ok = hours < 24 && minutes < 60;
            offset_minutes = sign * (hours * 60 + minutes);
            problems.push(Problem::Offset(offset.to_owned()));
        }
    }

    let valid = (1..=12).contains(&month)
        && day >= 1
        && day <= days_in_month(year, month)
        && year >= 1
        && hour < 24
        && minute < 60
        && second < 60
        && offset_ok;
    if !valid {
        problems.push(Problem::OutOfRange);
        return Parsed {
            instant: None,
            problems,
        };
    }
    let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second
        - offset_minutes * 60;
    Parsed {
        instant: Some(Instant(seconds * 1_000_000 + micros)),
        problems,
    }
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_forms_parse_without_problems() {
        let with_fraction = parse("2026-11-21T07:42:10.387012+00:00");
        assert!(with_fraction.problems.is_empty());
        let whole_second = parse("2026-11-21T07:42:10+00:00");
        assert!(whole_second.problems.is_empty());
        assert!(whole_second.instant < with_fraction.instant);
    }

    #[test]
    fn epoch_is_zero_and_leap_days_count() {
        assert_eq!(parse("1970-01-01T00:00:00+00:00").instant, Some(Instant(0)));
        assert_eq!(
            parse("2024-03-01T00:00:00+00:00")
                .instant
                .map(|i| i.0 / 86_400_000_000),
            Some(19_783)
        );
        assert!(parse("2024-02-29T00:00:00+00:00").problems.is_empty());
        assert_eq!(
            parse("2025-02-29T00:00:00+00:00").problems,
            vec![Problem::OutOfRange]
        );
    }

    #[test]
    fn zero_fraction_is_a_problem() {
        let parsed = parse("2026-11-21T07:42:10.000000+00:00");
        assert_eq!(parsed.problems, vec![Problem::ZeroFraction]);
        assert_eq!(parsed.instant, parse("2026-11-21T07:42:10+00:00").instant);
    }

    #[test]
    fn non_python_offsets_are_problems_but_still_ordered() {
        let zulu = parse("2026-11-21T07:42:10.5Z");
        assert_eq!(zulu.problems, vec![Problem::FractionDigits, Problem::Zulu]);
        let shifted = parse("2026-11-21T08:42:10.500000+01:00");
        assert_eq!(shifted.problems, vec![Problem::Offset("+01:00".into())]);
        assert_eq!(zulu.instant, shifted.instant);
        assert_eq!(
            parse("2026-11-21T07:42:10").problems,
            vec![Problem::NoOffset]
        );
    }

    #[test]
    fn garbage_is_not_iso() {
        for text in [
            "",
            "yesterday",
            "2026-11-21 07:42:10+00:00",
            "１９７０-01-01T00:00:00+00:00",
        ] {
            assert_eq!(
                parse(text),
                Parsed {
                    instant: None,
                    problems: vec![Problem::NotIso]
                },
                "{text}"
            );
        }
    }
}

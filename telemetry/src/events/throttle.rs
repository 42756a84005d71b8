//! Throttling of high-volume Codex events (stream deltas, per-token events): per event name, a
//! rate limit (a token bucket on the provider's monotonic clock) or 1-in-N sampling. Every
//! event offered is either delivered or dropped, and both are counted per name, so
//! `offered = delivered + dropped` holds exactly; the drops are reported as
//! `codex.telemetry.dropped` events.
//!
//! Why not `governor`: its limiters read their own clocks, and tests here drive time through
//! the crate's [`Clock`](crate::Clock) seam (a `ManualClock`), which a token bucket of a few
//! lines reads directly.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::PoisonError;
use std::time::Duration;

/// How events of one name are thinned out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ThrottlePolicy {
    /// At most `per_second` events per second on average, with bursts of up to `burst`.
    RateLimit {
        /// The sustained rate.
        per_second: f64,
        /// How many may pass at once after a quiet period (at least 1).
        burst: u32,
    },
    /// Every `n`-th event passes (the first, the `n+1`-th, …); `n` of 1 passes all.
    Sample {
        /// The sampling interval.
        n: u64,
    },
}

impl ThrottlePolicy {
    /// A policy from text: `rate:<per second>[/<burst>]` or `sample:<n>`.
    ///
    /// ```
    /// use codex_telemetry::events::ThrottlePolicy;
    ///
    /// assert_eq!(ThrottlePolicy::parse("sample:100"), Some(ThrottlePolicy::Sample { n: 100 }));
    /// assert_eq!(ThrottlePolicy::parse("rate:50/5"), Some(ThrottlePolicy::RateLimit { per_second: 50.0, burst: 5 }));
    /// assert_eq!(ThrottlePolicy::parse("often"), None);
    /// ```
    pub fn parse(text: &str) -> Option<Self> {
        let (kind, value) = text.trim().split_once(':')?;
        match kind {
            "sample" => value
                .parse()
                .ok()
                .filter(|n| *n > 0)
                .map(|n| ThrottlePolicy::Sample { n }),
            "rate" => {
                let (rate, burst) = value.split_once('/').unwrap_or((value, "1"));
                let per_second: f64 = rate
                    .parse()
                    .ok()
                    .filter(|r: &f64| r.is_finite() && *r > 0.0)?;
                let burst: u32 = burst.parse().ok().filter(|b| *b > 0)?;
                Some(ThrottlePolicy::RateLimit { per_second, burst })
            }
            _ => None,
        }
    }
}

/// The throttles of an emitter: policies by event name, with their state and counts.
#[derive(Debug, Default)]
pub(crate) struct Throttles {
    kinds: Mutex<BTreeMap<String, Kind>>,
}

#[derive(Debug)]
struct Kind {
    policy: ThrottlePolicy,
    /// Token bucket: tokens available as of `last` (monotonic reading).
    tokens: f64,
    last: Option<Duration>,
    offered: u64,
    delivered: u64,
    /// Dropped since the last report.
    dropped_unreported: u64,
    dropped: u64,
}

/// The counts of one event name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ThrottleCounts {
    /// Events offered.
    pub offered: u64,
    /// Events that went out.
    pub delivered: u64,
    /// Events dropped.
    pub dropped: u64,
}

impl Throttles {
    /// Sets the policy of events named `name`.
    pub(crate) fn set(&self, name: &str, policy: ThrottlePolicy) {
        let burst = match policy {
            ThrottlePolicy::RateLimit { burst, .. } => f64::from(burst),
            ThrottlePolicy::Sample { .. } => 0.0,
        };
        self.lock().insert(
            name.to_owned(),
            Kind {
                policy,
                tokens: burst,
                last: None,
                offered: 0,
                delivered: 0,
                dropped_unreported: 0,
                dropped: 0,
            },
        );
    }

    /// Whether no policy is set (events then pass without a lock).
    pub(crate) fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Whether an event named `name` passes now (`now`: the monotonic reading); counts it.
    pub(crate) fn admit(&self, name: &str, now: Duration) -> bool {
        let mut kinds = self.lock();
        let Some(kind) = kinds.get_mut(name) else {
            return true;
        };
        kind.offered += 1;
        let pass = match kind.policy {
            ThrottlePolicy::Sample { n } => (kind.offered - 1) % n == 0,
            ThrottlePolicy::RateLimit { per_second, burst } => {
                if let Some(last) = kind.last {
                    let refill = now.saturating_sub(last).as_secs_f64() * per_second;
                    kind.tokens = (kind.tokens + refill).min(f64::from(burst));
                }
                kind.last = Some(now);
                if kind.tokens >= 1.0 {
                    kind.tokens -= 1.0;
                    true
                } else {
                    false
                }
            }
        };
        if pass {
            kind.delivered += 1;
        } else {
            kind.dropped += 1;
            kind.dropped_unreported += 1;
        }
        pass
    }

    /// The counts of `name` (zero when it has no policy).
    pub(crate) fn counts(&self, name: &str) -> ThrottleCounts {
        self.lock()
            .get(name)
            .map_or_else(ThrottleCounts::default, |kind| ThrottleCounts {
                offered: kind.offered,
                delivered: kind.delivered,
                dropped: kind.dropped,
            })
    }

    /// The drops not reported yet, by name, and marks them reported.
    pub(crate) fn take_unreported(&self) -> Vec<(String, u64)> {
        self.lock()
            .iter_mut()
            .filter(|(_, kind)| kind.dropped_unreported > 0)
            .map(|(name, kind)| (name.clone(), std::mem::take(&mut kind.dropped_unreported)))
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Kind>> {
        self.kinds.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The policies of `CODEX_EVENTS_THROTTLE`: `name=policy` pairs separated by `;`, e.g.
/// `codex.stream.delta=sample:100;codex.stream.token=rate:50/10`. Malformed pairs are skipped.
pub(crate) fn policies_from_env() -> Vec<(String, ThrottlePolicy)> {
    std::env::var("CODEX_EVENTS_THROTTLE")
        .map(|value| parse_policies(&value))
        .unwrap_or_default()
}

fn parse_policies(value: &str) -> Vec<(String, ThrottlePolicy)> {
    value
        .split(';')
        .filter_map(|pair| {
            let (name, policy) = pair.split_once('=')?;
            Some((name.trim().to_owned(), ThrottlePolicy::parse(policy)?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_passes_one_in_n_and_counts_everything() {
        let throttles = Throttles::default();
        throttles.set("codex.stream.delta", ThrottlePolicy::Sample { n: 3 });
        let passed: Vec<bool> = (0..7)
            .map(|_| throttles.admit("codex.stream.delta", Duration::ZERO))
            .collect();
        assert_eq!(passed, [true, false, false, true, false, false, true]);
        assert_eq!(
            throttles.counts("codex.stream.delta"),
            ThrottleCounts {
                offered: 7,
                delivered: 3,
                dropped: 4
            }
        );
        assert!(throttles.admit("codex.other", Duration::ZERO));
    }

    #[test]
    fn the_rate_limit_refills_with_the_clock() {
        let throttles = Throttles::default();
        throttles.set(
            "t",
            ThrottlePolicy::RateLimit {
                per_second: 2.0,
                burst: 2,
            },
        );
        let at = |ms| Duration::from_millis(ms);
        // The burst, then nothing until tokens come back at 2 per second.
        assert_eq!(
            [0, 0, 0].map(|ms| throttles.admit("t", at(ms))),
            [true, true, false]
        );
        assert!(!throttles.admit("t", at(400)));
        assert!(throttles.admit("t", at(500)));
        assert!(throttles.admit("t", at(5_000)) && throttles.admit("t", at(5_000)));
        assert!(!throttles.admit("t", at(5_000)));
        assert_eq!(throttles.take_unreported(), [("t".to_owned(), 3)]);
        assert!(throttles.take_unreported().is_empty());
    }

    #[test]
    fn policies_come_from_text() {
        assert_eq!(
            parse_policies("codex.stream.delta=sample:10; codex.stream.token=rate:5/2;bad=often;x"),
            [
                (
                    "codex.stream.delta".to_owned(),
                    ThrottlePolicy::Sample { n: 10 }
                ),
                (
                    "codex.stream.token".to_owned(),
                    ThrottlePolicy::RateLimit {
                        per_second: 5.0,
                        burst: 2
                    }
                ),
            ]
        );
    }
}

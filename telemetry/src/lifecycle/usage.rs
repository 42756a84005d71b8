//! Token usage and how the Python client attaches it to task and turn spans.
//!
//! Every model call's [`Usage`] is added to the run's total (`total_tokens` is never
//! computed from the others). At the end of a turn span the usage added during the turn is
//! attached as `data.usage` with the keys `input_tokens`, `output_tokens`,
//! `cached_input_tokens`, `cache_write_input_tokens`; at the end of a task span the usage
//! added during the invocation gets the same keys plus `requests` and `total_tokens`, in
//! that order. Usage is attached **only when** at least one of requests, input, output,
//! total, cached, cache-write or reasoning tokens is non-zero (reasoning tokens count for
//! this test but are never exported): a turn whose model call failed has no `usage` key.
//!
//! ```
//! use codex_telemetry::usage::Usage;
//!
//! let mut total = Usage::default();
//! let start = total.clone();
//! total.add(&Usage { requests: 1, input_tokens: 10, output_tokens: 5, cached_input_tokens: 4, reasoning_tokens: 1, ..Usage::default() });
//! let turn = total.delta_since(&start);
//! assert_eq!(
//!     serde_json::to_string(&turn.turn_span_data().unwrap())?,
//!     r#"{"input_tokens":10,"output_tokens":5,"cached_input_tokens":4,"cache_write_input_tokens":0}"#,
//! );
//! assert_eq!(Usage::default().turn_span_data(), None);
//! # Ok::<(), serde_json::Error>(())
//! ```

use serde_json::json;

use crate::model::span_data::JsonMap;

/// Token usage of one model call or accumulated over a run (Python's `agents.Usage`,
/// with the token details flattened).
///
/// Counts are `u128` because Python's integers never overflow: a run whose calls each report
/// counts near 2^63 sums past `u64::MAX`, and the client exports the exact sum. Sums
/// saturate at `u128::MAX` rather than wrap or panic, which no run can reach from
/// 64-bit per-call counts.
///
/// # Examples
///
/// ```
/// use codex_telemetry::usage::Usage;
///
/// let call = Usage { requests: 1, input_tokens: 20, output_tokens: 8, total_tokens: 28, ..Usage::default() };
/// let mut run = Usage::default();
/// run.add(&call);
/// run.add(&call);
/// assert_eq!((run.requests, run.total_tokens), (2, 56));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Usage {
    /// Model requests.
    pub requests: u128,
    /// Input tokens.
    pub input_tokens: u128,
    /// Output tokens.
    pub output_tokens: u128,
    /// Total tokens as reported by the model (not computed).
    pub total_tokens: u128,
    /// Input tokens served from the cache (`input_tokens_details.cached_tokens`).
    pub cached_input_tokens: u128,
    /// Input tokens written to the cache (`input_tokens_details.cache_write_tokens`).
    pub cache_write_input_tokens: u128,
    /// Reasoning tokens (`output_tokens_details.reasoning_tokens`).
    pub reasoning_tokens: u128,
}

impl Usage {
    /// Adds `other` field by field (Python's `Usage.add`).
    ///
    /// ```
    /// use codex_telemetry::usage::Usage;
    ///
    /// let mut usage = Usage { requests: 1, ..Usage::default() };
    /// usage.add(&Usage { requests: 1, input_tokens: 3, ..Usage::default() });
    /// assert_eq!((usage.requests, usage.input_tokens), (2, 3));
    /// ```
    pub fn add(&mut self, other: &Usage) {
        self.requests = self.requests.saturating_add(other.requests);
        self.input_tokens = self.input_tokens.saturating_add(other.input_tokens);
        self.output_tokens = self.output_tokens.saturating_add(other.output_tokens);
        self.total_tokens = self.total_tokens.saturating_add(other.total_tokens);
        self.cached_input_tokens = self
            .cached_input_tokens
            .saturating_add(other.cached_input_tokens);
        self.cache_write_input_tokens = self
            .cache_write_input_tokens
            .saturating_add(other.cache_write_input_tokens);
        self.reasoning_tokens = self.reasoning_tokens.saturating_add(other.reasoning_tokens);
    }

    /// The usage added since the snapshot `start` (Python's `usage_delta`).
    ///
    /// ```
    /// use codex_telemetry::usage::Usage;
    ///
    /// let start = Usage { requests: 1, input_tokens: 10, ..Usage::default() };
    /// let end = Usage { requests: 3, input_tokens: 15, ..Usage::default() };
    /// assert_eq!(end.delta_since(&start), Usage { requests: 2, input_tokens: 5, ..Usage::default() });
    /// ```
    pub fn delta_since(&self, start: &Usage) -> Usage {
        Usage {
            requests: self.requests.saturating_sub(start.requests),
            input_tokens: self.input_tokens.saturating_sub(start.input_tokens),
            output_tokens: self.output_tokens.saturating_sub(start.output_tokens),
            total_tokens: self.total_tokens.saturating_sub(start.total_tokens),
            cached_input_tokens: self
                .cached_input_tokens
                .saturating_sub(start.cached_input_tokens),
            cache_write_input_tokens: self
                .cache_write_input_tokens
                .saturating_sub(start.cache_write_input_tokens),
            reasoning_tokens: self.reasoning_tokens.saturating_sub(start.reasoning_tokens),
        }
    }

    /// Whether every count is zero: such usage is not attached to spans.
    ///
    /// ```
    /// use codex_telemetry::usage::Usage;
    ///
    /// assert!(Usage::default().is_zero());
    /// assert!(!Usage { reasoning_tokens: 1, ..Usage::default() }.is_zero());
    /// ```
    pub fn is_zero(&self) -> bool {
        *self == Usage::default()
    }

    /// The turn span's `data.usage`, or `None` when the usage is zero.
    ///
    /// ```
    /// use codex_telemetry::usage::Usage;
    ///
    /// let usage = Usage { requests: 1, ..Usage::default() };
    /// assert_eq!(usage.turn_span_data().unwrap().len(), 4);
    /// ```
    pub fn turn_span_data(&self) -> Option<JsonMap> {
        (!self.is_zero()).then(|| self.turn_keys())
    }

    /// The task span's `data.usage`, or `None` when the usage is zero.
    ///
    /// ```
    /// use codex_telemetry::usage::Usage;
    ///
    /// let usage = Usage { requests: 2, total_tokens: 70, ..Usage::default() };
    /// let keys: Vec<_> = usage.task_span_data().unwrap().keys().cloned().collect();
    /// assert_eq!(keys, ["input_tokens", "output_tokens", "cached_input_tokens", "cache_write_input_tokens", "requests", "total_tokens"]);
    /// ```
    pub fn task_span_data(&self) -> Option<JsonMap> {
        (!self.is_zero()).then(|| {
            let mut data = self.turn_keys();
            data.insert("requests".into(), json!(self.requests));
            data.insert("total_tokens".into(), json!(self.total_tokens));
            data
        })
    }

    fn turn_keys(&self) -> JsonMap {
        let mut data = JsonMap::new();
        data.insert("input_tokens".into(), json!(self.input_tokens));
        data.insert("output_tokens".into(), json!(self.output_tokens));
        data.insert(
            "cached_input_tokens".into(),
            json!(self.cached_input_tokens),
        );
        data.insert(
            "cache_write_input_tokens".into(),
            json!(self.cache_write_input_tokens),
        );
        data
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_example_across_a_handoff() {
        // A: 10/5 cached 4 reasoning 1; A: 20/6; B: 7/3 cached 2, total 51.
        let calls = [
            Usage {
                requests: 1,
                input_tokens: 10,
                output_tokens: 5,
                cached_input_tokens: 4,
                reasoning_tokens: 1,
                ..Usage::default()
            },
            Usage {
                requests: 1,
                input_tokens: 20,
                output_tokens: 6,
                ..Usage::default()
            },
            Usage {
                requests: 1,
                input_tokens: 7,
                output_tokens: 3,
                cached_input_tokens: 2,
                total_tokens: 51,
                ..Usage::default()
            },
        ];
        let mut run = Usage::default();
        let task_start = run;
        let mut turns = Vec::new();
        for call in &calls {
            let turn_start = run;
            run.add(call);
            turns.push(run.delta_since(&turn_start).turn_span_data().unwrap());
        }
        assert_eq!(
            serde_json::to_string(&turns).unwrap(),
            r#"[{"input_tokens":10,"output_tokens":5,"cached_input_tokens":4,"cache_write_input_tokens":0},{"input_tokens":20,"output_tokens":6,"cached_input_tokens":0,"cache_write_input_tokens":0},{"input_tokens":7,"output_tokens":3,"cached_input_tokens":2,"cache_write_input_tokens":0}]"#
        );
        assert_eq!(
            serde_json::to_string(&run.delta_since(&task_start).task_span_data()).unwrap(),
            r#"{"input_tokens":37,"output_tokens":14,"cached_input_tokens":6,"cache_write_input_tokens":0,"requests":3,"total_tokens":51}"#
        );
    }

    #[test]
    fn sums_past_u64_are_exact_like_python_ints() {
        let near = i64::MAX as u128; // the largest count a scenario (TOML) can give
        let call = Usage {
            requests: 1,
            input_tokens: near,
            ..Usage::default()
        };
        let mut run = Usage::default();
        for _ in 0..3 {
            run.add(&call);
        }
        assert_eq!(
            serde_json::to_string(&run.task_span_data()).unwrap(),
            r#"{"input_tokens":27670116110564327421,"output_tokens":0,"cached_input_tokens":0,"cache_write_input_tokens":0,"requests":3,"total_tokens":0}"#
        );
        // Saturates instead of wrapping or panicking.
        run.add(&Usage {
            input_tokens: u128::MAX,
            ..Usage::default()
        });
        assert_eq!(run.input_tokens, u128::MAX);
    }

    #[test]
    fn any_nonzero_count_attaches() {
        for usage in [
            Usage {
                requests: 1,
                ..Usage::default()
            },
            Usage {
                total_tokens: 1,
                ..Usage::default()
            },
            Usage {
                cache_write_input_tokens: 1,
                ..Usage::default()
            },
            Usage {
                reasoning_tokens: 1,
                ..Usage::default()
            },
        ] {
            assert!(usage.turn_span_data().is_some(), "{usage:?}");
            assert!(usage.task_span_data().is_some(), "{usage:?}");
        }
        assert!(Usage::default().task_span_data().is_none());
    }
}

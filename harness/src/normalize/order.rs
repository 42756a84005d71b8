//! Pass 1: canonical record order.
//!
//! Each record belongs to at most one trace: trace events to their `id`, span events, logs and
//! hooks to their `trace_id` (or, when that is missing, to the trace of the span they name).
//! Outcomes and logs outside any trace have no trace.
//!
//! * Within a trace, records keep emission order, which is causal order for one run.
//! * A trace's *range* runs from its first to its last record in emission order. Traces whose
//!   ranges overlap (transitively) form a *cluster*: concurrent runs whose records interleave.
//!   The cluster also covers the untraced records that directly follow it, up to the last
//!   outcome before the next traced record (the outcome of the run that finished last), and
//!   (since v2) the untraced records that directly precede it, back to the previous outcome or
//!   traced record (the `Creating trace` lines of runs that started at once).
//! * A cluster is rewritten as: its untraced logs and hooks, then each trace's records in
//!   emission order, then its outcomes. Traces are sorted by their content (every record
//!   rendered with trace-local placeholders and without timestamps), ties broken by first
//!   appearance; identical content renders identically, so the tie-break never shows. Untraced
//!   records and outcomes are sorted by content as well (ties in emission order): which run
//!   logged `Creating trace` or finished first is a race, so inside a cluster they are compared
//!   as a multiset (DESIGN §5). Outside clusters they keep their place.
//! * Records outside every cluster, and traces that overlap no other, keep emission order.
//!
//! Version 1 does not reorder concurrency *inside* one trace (two runs in one user trace, or
//! parallel tool calls): their interleaving is part of the transcript.

use super::json;
use super::rename::Renamer;
use super::view::Index;
use crate::record::RecordKind;

/// Emission indices in canonical order.
pub(crate) fn canonical_order(index: &Index<'_>) -> Vec<usize> {
    let count = index.views.len();
    // Ranges of traces, in order of first appearance.
    let mut ranges: Vec<(&str, usize, usize)> = Vec::new();
    for i in 0..count {
        let Some(trace) = index.trace_key(i) else {
            continue;
        };
        match ranges.iter_mut().find(|(key, _, _)| *key == trace) {
            Some(range) => range.2 = i,
            None => ranges.push((trace, i, i)),
        }
    }

    // Merge overlapping ranges into clusters; `ranges` is sorted by first index already.
    let mut clusters: Vec<(usize, usize, Vec<&str>)> = Vec::new();
    for (trace, first, last) in ranges {
        match clusters.last_mut() {
            Some(cluster) if first <= cluster.1 => {
                cluster.1 = cluster.1.max(last);
                cluster.2.push(trace);
            }
            _ => clusters.push((first, last, vec![trace])),
        }
    }

    let all_ids = Renamer::scan(&index.views);
    let sorted_by_content = |records: Vec<usize>| -> Vec<usize> {
        let mut keyed: Vec<(String, usize)> = records
            .into_iter()
            .map(|i| (content_key(index, &[i], &all_ids), i))
            .collect();
        keyed.sort();
        keyed.into_iter().map(|(_, i)| i).collect()
    };
    let mut order = Vec::with_capacity(count);
    let mut next = 0;
    for (first, last, traces) in clusters {
        if traces.len() < 2 {
            continue;
        }
        // The cluster also takes the untraced records right after it, up to the last outcome
        // before the next traced record: a run that finishes last leaves its outcome there.
        let mut end = last;
        for i in last + 1..count {
            if index.trace_key(i).is_some() {
                break;
            }
            if index.view(i).kind == RecordKind::Outcome {
                end = i;
            }
        }
        // And the untraced records right before it, back to the previous outcome or traced
        // record: whether a concurrent run logs `Creating trace` before or after another run's
        // trace started is a race too (asyncio starts every task first; threads do not).
        let mut start = first;
        while start > next
            && index.trace_key(start - 1).is_none()
            && index.view(start - 1).kind != RecordKind::Outcome
        {
            start -= 1;
        }
        let (outcomes, untraced): (Vec<usize>, Vec<usize>) = (start..=end)
            .filter(|&i| index.trace_key(i).is_none())
            .partition(|&i| index.view(i).kind == RecordKind::Outcome);
        order.extend(next..start);
        order.extend(sorted_by_content(untraced));
        let mut members: Vec<(String, usize, Vec<usize>)> = traces
            .into_iter()
            .enumerate()
            .map(|(appearance, trace)| {
                let records: Vec<usize> = (first..=last)
                    .filter(|&i| index.trace_key(i) == Some(trace))
                    .collect();
                (content_key(index, &records, &all_ids), appearance, records)
            })
            .collect();
        members.sort();
        for (_, _, records) in members {
            order.extend(records);
        }
        order.extend(sorted_by_content(outcomes));
        next = end + 1;
    }
    order.extend(next..count);
    order
}

/// The content of one trace for sorting: each record as `kind` + canonical JSON, ids replaced by
/// trace-local placeholders, timestamps removed.
fn content_key(index: &Index<'_>, records: &[usize], all_ids: &Renamer) -> String {
    let local = Renamer::scan(records.iter().map(|&i| index.view(i))).with_foreign(all_ids);
    let mut key = String::new();
    for &i in records {
        let view = index.view(i);
        let mut data = local.value(view.data);
        if let Some(obj) = data.as_object_mut() {
            obj.shift_remove("started_at");
            obj.shift_remove("ended_at");
        }
        key.push_str(view.kind.as_str());
        key.push(' ');
        key.push_str(&json::canonical(&data));
        key.push('\n');
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::testing::{LogBuilder, sid, tid};
    use crate::record::RawLog;
    use serde_json::json;

    fn order_of(log: &RawLog) -> Vec<u64> {
        let index = Index::new(log);
        canonical_order(&index)
            .into_iter()
            .map(|i| index.view(i).seq)
            .collect()
    }

    /// Two traces whose records interleave; `agent` names distinguish their content.
    fn interleaved(first_agent: &str, second_agent: &str) -> RawLog {
        let (t1, t2) = (tid(1), tid(2));
        let mut b = LogBuilder::new();
        b.log("DEBUG", "Creating trace", None, None); // 0
        b.trace_start(&t1); // 1
        b.span_start(
            &sid(1),
            &t1,
            None,
            json!({"type": "agent", "name": first_agent}),
        ); // 2
        b.log("DEBUG", "Creating trace", None, None); // 3
        b.trace_start(&t2); // 4
        b.span_start(
            &sid(2),
            &t2,
            None,
            json!({"type": "agent", "name": second_agent}),
        ); // 5
        b.span_end(&sid(1), None); // 6
        b.trace_end(&t1); // 7
        b.outcome(json!({"status": "completed", "final_output": first_agent})); // 8
        b.span_end(&sid(2), None); // 9
        b.trace_end(&t2); // 10
        b.outcome(json!({"status": "completed", "final_output": second_agent})); // 11
        b.build()
    }

    #[test]
    fn non_overlapping_traces_keep_emission_order() {
        let mut b = LogBuilder::new();
        for n in [2, 1] {
            b.trace_start(&tid(n));
            b.log("DEBUG", "in trace", Some(&tid(n)), None);
            b.trace_end(&tid(n));
            b.outcome(json!({"status": "completed", "final_output": null}));
        }
        assert_eq!(order_of(&b.build()), (0..8).collect::<Vec<_>>());
    }

    #[test]
    fn interleaved_traces_are_grouped_and_sorted_by_content() {
        // "B" sorts after "A": the second-emitted trace comes first.
        assert_eq!(
            order_of(&interleaved("B", "A")),
            vec![0, 3, 4, 5, 9, 10, 1, 2, 6, 7, 11, 8]
        );
        assert_eq!(
            order_of(&interleaved("A", "B")),
            vec![0, 3, 1, 2, 6, 7, 4, 5, 9, 10, 8, 11]
        );
    }

    #[test]
    fn identical_traces_tie_by_first_appearance() {
        assert_eq!(
            order_of(&interleaved("A", "A")),
            vec![0, 3, 1, 2, 6, 7, 4, 5, 9, 10, 8, 11]
        );
    }

    #[test]
    fn untraced_lines_before_a_cluster_belong_to_it() {
        // Two runs log `Creating trace` before either trace starts (as asyncio schedules them),
        // or one after the other's trace started (as threads may): the same transcript.
        let build = |both_before: bool| {
            let mut b = LogBuilder::new();
            b.outcome(json!({"status": "completed", "final_output": "earlier run"}));
            b.log("DEBUG", "Creating trace", None, None);
            if both_before {
                b.log("DEBUG", "Creating trace", None, None);
            }
            b.trace_start(&tid(1));
            b.log("DEBUG", "Breaking due to stored exception", None, None);
            if !both_before {
                b.log("DEBUG", "Creating trace", None, None);
            }
            b.trace_start(&tid(2));
            b.trace_end(&tid(1));
            b.trace_end(&tid(2));
            b.build()
        };
        let messages = |log: &RawLog| -> Vec<String> {
            let index = Index::new(log);
            canonical_order(&index)
                .into_iter()
                .map(|i| {
                    let view = index.view(i);
                    format!(
                        "{} {}",
                        view.kind.as_str(),
                        view.data
                            .get("message")
                            .and_then(|m| m.as_str())
                            .unwrap_or("")
                    )
                })
                .collect()
        };
        assert_eq!(messages(&build(true)), messages(&build(false)));
        assert_eq!(
            messages(&build(true))[..4],
            [
                "outcome ",
                "log Breaking due to stored exception",
                "log Creating trace",
                "log Creating trace"
            ]
        );
    }

    #[test]
    fn contained_trace_forms_a_cluster() {
        let mut b = LogBuilder::new();
        b.trace_start(&tid(1)); // 0
        b.trace_start(&tid(2)); // 1
        b.trace_end(&tid(2)); // 2
        b.trace_end(&tid(1)); // 3
        // Content is equal (trace-local placeholders), so first appearance decides.
        assert_eq!(order_of(&b.build()), vec![0, 3, 1, 2]);
    }
}

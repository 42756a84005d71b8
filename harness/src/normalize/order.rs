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
//! * Since v4, concurrent runs *inside* one trace (task spans with one parent whose records
//!   interleave) are grouped and sorted the same way (`runs_within_traces`). Other concurrency
//!   inside a trace (parallel tool calls) keeps emission order: it is part of the transcript.

use super::json;
use super::rename::Renamer;
use super::view::Index;
use crate::record::RecordKind;

/// Emission indices in canonical order.
pub(crate) fn canonical_order(index: &Index<'_>) -> Vec<usize> {
    let count = index.views.len();
    let clusters = overlapping(ranges((0..count).map(|i| index.trace_key(i))));

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
        let members = traces.into_iter().map(|trace| {
            (first..=last)
                .filter(|&i| index.trace_key(i) == Some(trace))
                .collect()
        });
        order.extend(sorted_groups(members, |records| {
            content_key(index, records, &all_ids)
        }));
        order.extend(sorted_by_content(outcomes));
        next = end + 1;
    }
    order.extend(next..count);
    runs_within_traces(index, order, &all_ids)
}

/// A trace and the parent of its task spans (`None`: the trace's root).
type TaskParent<'a> = (&'a str, Option<&'a str>);

/// Concurrent runs inside one trace (since v4): task spans with the same parent whose records
/// interleave form a *run cluster*, rewritten as trace clusters are: the loose records (the
/// parent's and untraced logs and hooks in its range, e.g. each run's `Creating span` line),
/// then each run's records in emission order, runs sorted by content, then the outcomes.
/// Other concurrency inside a trace (parallel tool calls of one turn) keeps emission order.
fn runs_within_traces(index: &Index<'_>, mut order: Vec<usize>, all_ids: &Renamer) -> Vec<usize> {
    // Task spans by parent (`None`: the trace's root), parents in order of first appearance.
    let mut groups: Vec<(TaskParent<'_>, Vec<&str>)> = Vec::new();
    for &i in &order {
        let view = index.view(i);
        if view.kind != RecordKind::SpanStart || !is_task_span(view.data) {
            continue;
        }
        let (Some(trace), Some(id)) = (index.trace_key(i), view.own_id()) else {
            continue;
        };
        let parent = (trace, view.parent_ref());
        match groups.iter_mut().find(|(key, _)| *key == parent) {
            Some((_, tasks)) => tasks.push(id),
            None => groups.push((parent, vec![id])),
        }
    }
    for ((trace, parent), tasks) in groups {
        if tasks.len() < 2 {
            continue;
        }
        order = rewrite_run_clusters(index, order, all_ids, trace, parent, &tasks);
    }
    order
}

fn is_task_span(data: &serde_json::Value) -> bool {
    let span_data = &data["span_data"];
    span_data["type"] == "custom" && span_data["data"]["sdk_span_type"] == "task"
}

/// The run (one of `tasks`) whose subtree holds the span `span`, if any.
fn run_of<'a>(index: &Index<'a>, tasks: &[&'a str], span: Option<&'a str>) -> Option<&'a str> {
    let mut current = span;
    // Bounded by the number of spans: a malformed log may hold a parent cycle.
    for _ in 0..=index.views.len() {
        let id = current?;
        if let Some(task) = tasks.iter().find(|task| **task == id) {
            return Some(task);
        }
        current = index.span_parent(id);
    }
    None
}

fn rewrite_run_clusters<'a>(
    index: &Index<'a>,
    order: Vec<usize>,
    all_ids: &Renamer,
    trace: &str,
    parent: Option<&str>,
    tasks: &[&'a str],
) -> Vec<usize> {
    // Each record's run, and the runs' ranges of positions in `order`.
    let runs: Vec<Option<&str>> = order
        .iter()
        .map(|&i| {
            let view = index.view(i);
            if index.trace_key(i) != Some(trace) {
                return None;
            }
            let span = if view.is_span_event() {
                view.own_id()
            } else {
                view.span_ref()
            };
            run_of(index, tasks, span)
        })
        .collect();
    let clusters = overlapping(ranges(runs.iter().copied()));
    // Records that belong to no run of this cluster: the parent's own logs and hooks, and
    // records outside any trace.
    let loose = |position: usize| -> bool {
        let i = order[position];
        let view = index.view(i);
        match index.trace_key(i) {
            None => true,
            Some(key) => {
                key == trace
                    && matches!(view.kind, RecordKind::Log | RecordKind::Hook)
                    && runs[position].is_none()
                    && view.span_ref() == parent
            }
        }
    };
    let content = |records: &[usize]| content_key(index, records, all_ids);
    let sorted = |mut records: Vec<usize>| -> Vec<usize> {
        records.sort_by_cached_key(|&i| content(&[i]));
        records
    };
    let mut rewritten = Vec::with_capacity(order.len());
    let mut next = 0;
    for (first, last, members) in clusters {
        if members.len() < 2 {
            continue;
        }
        // Back over the loose records just before the first run (its `Creating span` line),
        // never past an outcome; forward over the untraced records up to the last outcome
        // before the trace's next record (the outcome of the run that finished last).
        let mut start = first;
        while start > next
            && loose(start - 1)
            && index.view(order[start - 1]).kind != RecordKind::Outcome
        {
            start -= 1;
        }
        let mut end = last;
        for (position, &record) in order.iter().enumerate().skip(last + 1) {
            if index.trace_key(record).is_some() {
                break;
            }
            if index.view(record).kind == RecordKind::Outcome {
                end = position;
            }
        }
        // Outside the runs: loose records (the parent's logs and hooks, untraced lines) are
        // a multiset; anything else (a span of the parent's that is not a run) keeps its order.
        let (outcomes, others): (Vec<usize>, Vec<usize>) = (start..=end)
            .filter(|&position| runs[position].is_none())
            .partition(|&position| index.view(order[position]).kind == RecordKind::Outcome);
        let (loose_records, kept): (Vec<usize>, Vec<usize>) =
            others.into_iter().partition(|&position| loose(position));
        let outcomes: Vec<usize> = outcomes.into_iter().map(|p| order[p]).collect();
        rewritten.extend(&order[next..start]);
        rewritten.extend(sorted(
            loose_records.into_iter().map(|p| order[p]).collect(),
        ));
        rewritten.extend(kept.into_iter().map(|p| order[p]));
        let runs_records = members.iter().map(|run| {
            (first..=last)
                .filter(|&position| runs[position] == Some(*run))
                .map(|position| order[position])
                .collect()
        });
        rewritten.extend(sorted_groups(runs_records, content));
        rewritten.extend(sorted(outcomes));
        next = end + 1;
    }
    rewritten.extend(&order[next..]);
    rewritten
}

/// Groups of records (traces, runs) one after the other, sorted by their content; ties (equal
/// content renders identically) by order of first appearance.
fn sorted_groups(
    groups: impl Iterator<Item = Vec<usize>>,
    content: impl Fn(&[usize]) -> String,
) -> impl Iterator<Item = usize> {
    let mut keyed: Vec<(String, usize, Vec<usize>)> = groups
        .enumerate()
        .map(|(appearance, records)| (content(&records), appearance, records))
        .collect();
    keyed.sort();
    keyed.into_iter().flat_map(|(_, _, records)| records)
}

/// The first and last position of each key (a trace, a run), in order of first appearance.
fn ranges<'k>(keys: impl Iterator<Item = Option<&'k str>>) -> Vec<(&'k str, usize, usize)> {
    let mut ranges: Vec<(&str, usize, usize)> = Vec::new();
    for (position, key) in keys.enumerate() {
        let Some(key) = key else { continue };
        match ranges.iter_mut().find(|(known, _, _)| *known == key) {
            Some(range) => range.2 = position,
            None => ranges.push((key, position, position)),
        }
    }
    ranges
}

/// Ranges merged where they overlap (transitively): each cluster's first and last position
/// and its keys in order of first appearance. `ranges` is sorted by first position.
fn overlapping(ranges: Vec<(&str, usize, usize)>) -> Vec<(usize, usize, Vec<&str>)> {
    let mut clusters: Vec<(usize, usize, Vec<&str>)> = Vec::new();
    for (key, first, last) in ranges {
        match clusters.last_mut() {
            Some(cluster) if first <= cluster.1 => {
                cluster.1 = cluster.1.max(last);
                cluster.2.push(key);
            }
            _ => clusters.push((first, last, vec![key])),
        }
    }
    clusters
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

    /// Two runs in one user trace, their records interleaved as `schedule` says: `true` takes
    /// the next record of run "A", `false` of run "B". Each run: its `Creating span` line at
    /// the trace level, a task span with an agent span inside, a log in the agent, then its
    /// outcome after the task ends.
    fn runs_in_one_trace(schedule: &[bool]) -> RawLog {
        let trace = tid(1);
        let runs = [("A", sid(1), sid(2)), ("B", sid(3), sid(4))];
        let mut b = LogBuilder::new();
        b.trace_start(&trace);
        let mut next = [0, 0];
        for &take_a in schedule {
            let run = usize::from(!take_a);
            let (name, task, agent) = &runs[run];
            match next[run] {
                0 => b.log("DEBUG", "Creating span with id None", Some(&trace), None),
                1 => b.span_start(
                    task,
                    &trace,
                    None,
                    json!({"type": "custom", "name": "task", "data": {"sdk_span_type": "task", "name": name}}),
                ),
                2 => b.span_start(agent, &trace, Some(task), json!({"type": "agent", "name": name})),
                3 => b.log("DEBUG", &format!("Running agent {name}"), Some(&trace), Some(agent)),
                4 => b.span_end(agent, None),
                5 => b.span_end(task, None),
                _ => b.outcome(json!({"status": "completed", "final_output": name})),
            };
            next[run] += 1;
        }
        b.trace_end(&trace);
        b.build()
    }

    fn rendered(log: &RawLog) -> Vec<String> {
        let index = Index::new(log);
        let renamer = Renamer::scan(&index.views);
        canonical_order(&index)
            .into_iter()
            .map(|i| {
                let view = index.view(i);
                format!(
                    "{} {}",
                    view.kind.as_str(),
                    json::canonical(&renamer.value(view.data))
                )
                .replace(|c: char| c.is_ascii_digit(), "")
            })
            .collect()
    }

    #[test]
    fn concurrent_runs_in_one_trace_do_not_depend_on_their_interleaving() {
        let (a, b) = (true, false);
        let one_after_the_other = runs_in_one_trace(&[a, a, a, a, a, a, a, b, b, b, b, b, b, b]);
        let interleaved = runs_in_one_trace(&[a, b, a, b, b, a, a, b, b, a, b, a, b, a]);
        let b_first = runs_in_one_trace(&[b, b, a, b, a, a, b, a, b, a, b, a, b, a]);
        // Sequential runs are not concurrent: they keep emission order.
        assert_eq!(rendered(&one_after_the_other).len(), 16);
        assert_eq!(rendered(&interleaved), rendered(&b_first));
        let order = rendered(&interleaved);
        // Both `Creating span` lines first, then run A's records, then B's, then the outcomes.
        assert!(
            order[1].contains("Creating span") && order[2].contains("Creating span"),
            "{order:#?}"
        );
        assert!(order[3].contains(r#""name":"A""#), "{order:#?}");
        assert!(
            order[13].starts_with("outcome") && order[14].starts_with("outcome"),
            "{order:#?}"
        );
    }
}

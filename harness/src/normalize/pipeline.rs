//! The normalizer: the passes in order.

use super::view::Index;
use super::{order, rename, render, validate};
use crate::record::RawLog;
use crate::transcript::Transcript;

/// The normalizer version, printed on the first line of every transcript. Bump it whenever the
/// transcript of some log changes; goldens are then re-recorded in one reviewed change.
pub const NORMALIZER_VERSION: u32 = 5;

/// Normalizes a raw log into its canonical transcript. Pure and deterministic; never panics,
/// whatever the records contain (malformed input becomes findings).
pub fn normalize(log: &RawLog) -> Transcript {
    let index = Index::new(log);
    let order = order::canonical_order(&index);
    let renamer = rename::Renamer::scan(order.iter().map(|&i| index.view(i)));
    let findings = validate::validate(&index, &order, &renamer);
    render::render(NORMALIZER_VERSION, &index, &order, &renamer, findings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::testing::{LogBuilder, fixture, sid, tid};
    use crate::record::{RawRecord, RecordKind};
    use serde_json::{Value, json};

    // Fixtures: real exports of `openai-agents` 0.24.0 (ScriptedModel with emit_traces=True),
    // captured by a recording TracingProcessor, a handler on `openai.agents` and a RunHooks
    // recorder.
    const TOOL_CALL: &str = include_str!("fixtures/python_tool_call.jsonl");
    const MAX_TURNS: &str = include_str!("fixtures/python_max_turns.jsonl");
    const CONCURRENT: &str = include_str!("fixtures/python_concurrent.jsonl");
    /// `tool_call` recorded with openai-agents 0.22.0, which logs raw ids inside messages.
    const TOOL_CALL_0_22: &str = include_str!("fixtures/python_0_22_tool_call.jsonl");

    /// The example run of the design: one agent, max turns exceeded.
    fn weather_run() -> LogBuilder {
        let (t, task, agent) = (tid(0xa1), sid(0xb2), sid(0xc3));
        let mut b = LogBuilder::new();
        b.log("DEBUG", "Creating trace", None, None);
        b.trace_start(&t);
        b.log("DEBUG", "Setting current trace", Some(&t), None);
        b.span_start(&task, &t, None, json!({"type": "custom", "name": "task", "data": {"sdk_span_type": "task", "name": "Agent workflow"}}));
        b.span_start(&agent, &t, Some(&task), json!({"type": "agent", "name": "weather", "handoffs": [], "tools": [], "output_type": "str"}));
        b.log(
            "DEBUG",
            "Running agent weather (turn 1)",
            Some(&t),
            Some(&agent),
        );
        b.hook(
            "run",
            "on_agent_start",
            json!({"agent": "weather"}),
            Some(&t),
            Some(&agent),
        );
        b.span_end_with(&agent, |d| {
            d["span_data"]["tools"] = json!(["get_weather"]);
            d["error"] = json!({"message": "Max turns exceeded", "data": {"max_turns": 1}});
        });
        b.span_end_with(&task, |d| {
            d["span_data"]["data"]["usage"] = json!({"requests": 1, "input_tokens": 0});
        });
        b.trace_end(&t);
        b.log("DEBUG", "Resetting current trace", None, None);
        b.outcome(json!({"status": "raised", "error": "MaxTurnsExceeded", "message": "Max turns (1) exceeded"}));
        b
    }

    #[test]
    fn happy_path_transcript_is_exact() {
        let text = normalize(&weather_run().build()).to_string();
        assert_eq!(
            text,
            r#"normalizer: v5
--- events
log DEBUG "Creating trace"
trace_start trace#1 {"group_id":null,"metadata":null,"workflow_name":"Agent workflow"}
  log DEBUG "Setting current trace" @trace#1
  span_start span#1 parent=- {"data":{"name":"Agent workflow","sdk_span_type":"task"},"name":"task","type":"custom"}
    span_start span#2 parent=span#1 {"handoffs":[],"name":"weather","output_type":"str","tools":[],"type":"agent"}
      log DEBUG "Running agent weather (turn 1)" @span#2
      hook run.on_agent_start {"agent":"weather"} @span#2
    span_end span#2
  span_end span#1
trace_end trace#1
log DEBUG "Resetting current trace"
outcome {"error":"MaxTurnsExceeded","message":"Max turns (1) exceeded","status":"raised"}
--- spans
trace#1 {"group_id":null,"metadata":null,"workflow_name":"Agent workflow"}
  span#1 {"data":{"name":"Agent workflow","sdk_span_type":"task","usage":{"input_tokens":0,"requests":1}},"name":"task","type":"custom"}
    span#2 {"handoffs":[],"name":"weather","output_type":"str","tools":["get_weather"],"type":"agent"} error={"data":{"max_turns":1},"message":"Max turns exceeded"}
--- findings
none
"#
        );
    }

    #[test]
    fn python_tool_call_run() {
        let transcript = normalize(&fixture(TOOL_CALL));
        assert!(transcript.is_clean(), "{transcript}");
        insta::assert_snapshot!("python_tool_call", transcript.to_string());
    }

    #[test]
    fn python_max_turns_run() {
        let transcript = normalize(&fixture(MAX_TURNS));
        assert!(transcript.is_clean(), "{transcript}");
        insta::assert_snapshot!("python_max_turns", transcript.to_string());
    }

    #[test]
    fn python_concurrent_runs() {
        let transcript = normalize(&fixture(CONCURRENT));
        assert!(transcript.is_clean(), "{transcript}");
        insta::assert_snapshot!("python_concurrent", transcript.to_string());
    }

    #[test]
    fn fresh_random_ids_and_timestamps_do_not_change_the_transcript() {
        // Rewrite every id and shift every timestamp consistently: same transcript.
        let log = fixture(TOOL_CALL);
        let text = with_fresh_ids(&log.to_json_lines(), 0xf00);
        let text = text.replace("2026-11-21T08:", "2031-01-02T09:");
        let moved = RawLog::from_json_lines(&text).unwrap();
        assert_ne!(moved, log);
        assert_eq!(normalize(&moved), normalize(&log));
    }

    #[test]
    fn an_older_client_that_logs_raw_ids_gives_a_deterministic_transcript() {
        let log = fixture(TOOL_CALL_0_22);
        let transcript = normalize(&log).to_string();
        assert!(
            transcript.contains(r#"log DEBUG "Creating trace with id trace#1""#),
            "{transcript}"
        );
        assert!(
            transcript.contains(r#"log DEBUG "Setting current trace: trace#1""#),
            "{transcript}"
        );
        assert!(
            ids_in(&transcript).is_empty(),
            "no raw id survives:\n{transcript}"
        );
        // Another run of the same client has other ids: the same transcript.
        let other_run =
            RawLog::from_json_lines(&with_fresh_ids(&log.to_json_lines(), 0xa00)).unwrap();
        assert_eq!(normalize(&other_run).to_string(), transcript);
        insta::assert_snapshot!("python_0_22_tool_call", transcript);
    }

    /// `text` with every id replaced by a fresh one numbered from `base`, consistently.
    fn with_fresh_ids(text: &str, base: u128) -> String {
        let mut text = text.to_owned();
        for (n, id) in ids_in(&text).into_iter().enumerate() {
            let fresh = if id.starts_with("trace_") {
                tid(base + n as u128)
            } else {
                sid(base + n as u128)
            };
            text = text.replace(&id, &fresh);
        }
        text
    }

    fn ids_in(text: &str) -> Vec<String> {
        let re = regex::Regex::new(r"(trace_[0-9a-f]{32}|span_[0-9a-f]{24})").unwrap();
        let mut ids: Vec<String> = re.find_iter(text).map(|m| m.as_str().to_owned()).collect();
        ids.sort();
        ids.dedup();
        ids
    }

    /// One run's records, built with its own clock, ids numbered from `n`.
    fn run_records(agent: &str, n: u128) -> Vec<(RecordKind, Value)> {
        let (t, task, span) = (tid(n), sid(n * 10), sid(n * 10 + 1));
        let mut b = LogBuilder::new();
        b.log("DEBUG", "Creating trace", None, None);
        b.trace_start(&t);
        b.span_start(&task, &t, None, json!({"type": "custom", "name": "task"}));
        b.span_start(
            &span,
            &t,
            Some(&task),
            json!({"type": "agent", "name": agent}),
        );
        b.log(
            "DEBUG",
            &format!("Running agent {agent} (turn 1)"),
            Some(&t),
            Some(&span),
        );
        b.hook(
            "run",
            "on_agent_start",
            json!({"agent": agent}),
            Some(&t),
            Some(&span),
        );
        b.span_end(&span, None);
        b.span_end(&task, None);
        b.trace_end(&t);
        b.outcome(json!({"status": "completed", "final_output": agent}));
        b.build()
            .records
            .into_iter()
            .map(|r| (r.kind, r.data))
            .collect()
    }

    /// Two runs emitted alternately, record by record, `first` starting first. Ids follow
    /// emission (the first-emitted run gets the lower ids), as random ids would not care.
    fn concurrent(first: &str, second: &str) -> RawLog {
        let (a, b) = (run_records(first, 1), run_records(second, 2));
        let records = a
            .into_iter()
            .zip(b)
            .flat_map(|(x, y)| [x, y])
            .enumerate()
            .map(|(seq, (kind, data))| RawRecord {
                seq: seq as u64,
                kind,
                data,
            })
            .collect();
        RawLog { records }
    }

    #[test]
    fn swapped_emission_order_gives_equal_transcripts() {
        let alpha_first = normalize(&concurrent("alpha", "beta"));
        let beta_first = normalize(&concurrent("beta", "alpha"));
        assert!(alpha_first.is_clean(), "{alpha_first}");
        assert_eq!(alpha_first.to_string(), beta_first.to_string());
        // alpha sorts first and is numbered first.
        let text = alpha_first.to_string();
        let alpha = text.find(r#""name":"alpha""#).unwrap();
        let beta = text.find(r#""name":"beta""#).unwrap();
        assert!(alpha < beta, "{text}");
        assert!(
            text.contains("span_start span#2 parent=span#1 {\"name\":\"alpha\""),
            "{text}"
        );
    }

    #[test]
    fn reinterleaving_real_concurrent_runs_gives_the_same_transcript() {
        let log = fixture(CONCURRENT);
        let index = crate::normalize::view::Index::new(&log);
        let traces: Vec<&str> = (0..log.records.len())
            .filter_map(|i| index.trace_key(i))
            .collect();
        let (t1, t2) = (
            traces[0],
            traces.iter().copied().find(|t| *t != traces[0]).unwrap(),
        );
        let of = |trace: &str| -> Vec<RawRecord> {
            (0..log.records.len())
                .filter(|&i| index.trace_key(i) == Some(trace))
                .map(|i| log.records[i].clone())
                .collect()
        };
        let untraced: Vec<RawRecord> = (0..log.records.len())
            .filter(|&i| index.trace_key(i).is_none())
            .map(|i| log.records[i].clone())
            .collect();
        let (logs, mut outcomes): (Vec<RawRecord>, Vec<RawRecord>) = untraced
            .into_iter()
            .partition(|r| r.kind == RecordKind::Log);
        // The second run now starts first, the runs alternate record by record, and the first
        // run finishes first.
        let (mut a, mut b) = (of(t2).into_iter(), of(t1).into_iter());
        let mut records = vec![logs[0].clone(), a.next().unwrap()];
        records.extend(logs[1..].iter().cloned());
        loop {
            let (x, y) = (b.next(), a.next());
            if x.is_none() && y.is_none() {
                break;
            }
            records.extend(x.into_iter().chain(y));
        }
        outcomes.reverse();
        records.extend(outcomes);
        for (seq, record) in records.iter_mut().enumerate() {
            record.seq = seq as u64;
        }
        let reinterleaved = RawLog { records };
        assert_ne!(reinterleaved, log);
        assert_eq!(
            normalize(&reinterleaved).to_string(),
            normalize(&log).to_string()
        );
    }

    #[test]
    fn distinct_ids_stay_distinct_and_references_share_a_placeholder() {
        let (t, root, a, b_) = (tid(1), sid(1), sid(2), sid(3));
        let mut b = LogBuilder::new();
        b.trace_start(&t);
        b.span_start(
            &root,
            &t,
            None,
            json!({"type": "custom", "data": {"peer": b_.clone()}}),
        );
        b.span_start(&a, &t, Some(&root), json!({"type": "custom"}));
        b.span_end_with(&a, |d| {
            d["metadata"] = json!({"linked": a.clone(), "trace": t.clone()})
        });
        b.span_start(&b_, &t, Some(&root), json!({"type": "custom"}));
        b.log("DEBUG", "in b", Some(&t), Some(&b_));
        b.span_end(&b_, None);
        b.span_end(&root, None);
        b.trace_end(&t);
        let transcript = normalize(&b.build());
        assert!(transcript.is_clean(), "{transcript}");
        let text = transcript.to_string();
        assert!(
            text.contains(
                r#"span_start span#1 parent=- {"data":{"peer":"span#3"},"type":"custom"}"#
            ),
            "{text}"
        );
        assert!(text.contains("span_start span#2 parent=span#1 "), "{text}");
        assert!(text.contains("span_start span#3 parent=span#1 "), "{text}");
        assert!(text.contains(r#"log DEBUG "in b" @span#3"#), "{text}");
        assert!(
            text.contains(
                r#"span#2 {"type":"custom"} metadata={"linked":"span#2","trace":"trace#1"}"#
            ),
            "{text}"
        );
        assert!(!text.contains("span_0"), "{text}");
    }

    #[test]
    fn violations_show_up_in_the_findings_section() {
        let mut b = weather_run();
        let mut log = b.build();
        // The agent span (record 7) now ends after the task span (record 8).
        log.records.swap(7, 8);
        log.records[7].seq = 7;
        log.records[8].seq = 8;
        // A .000000 fraction on the task span's end.
        log.records[7].data["ended_at"] = json!("2026-11-21T07:42:11.000000+00:00");
        let text = normalize(&log).to_string();
        assert!(
            text.ends_with(concat!(
                "--- findings\n",
                "span_end span#1: ended_at has a .000000 fraction (Python omits zero microseconds)\n",
                "span_end span#2: ends after its parent span#1 ends\n",
            )),
            "{text}"
        );
        // A span that never ends and a malformed id.
        b.span_start("span_not_hex", &tid(0xa1), None, json!({"type": "custom"}));
        let text = normalize(&b.build()).to_string();
        assert!(
            text.contains(
                "span_start span#3: id \"span_not_hex\" does not match ^span_[0-9a-f]{24}$\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("span_start span#3: span never ends\n"),
            "{text}"
        );
    }

    #[test]
    fn damaged_records_yield_findings_not_panics() {
        let log = fixture(TOOL_CALL);
        // (damage, whether it must be noticed: an object is a valid value for some fields).
        type Damage = fn(&mut serde_json::Map<String, Value>, &str);
        let damages: [(Damage, bool); 4] = [
            (
                |obj, key| {
                    obj.shift_remove(key);
                },
                true,
            ),
            (|obj, key| obj[key] = json!(42), true),
            (|obj, key| obj[key] = json!([]), true),
            (|obj, key| obj[key] = json!({"id": "x"}), false),
        ];
        for (i, record) in log.records.iter().enumerate() {
            let keys: Vec<String> = record.data.as_object().unwrap().keys().cloned().collect();
            for key in keys {
                for (damage, noticeable) in damages {
                    let mut damaged = log.clone();
                    damage(damaged.records[i].data.as_object_mut().unwrap(), &key);
                    let transcript = normalize(&damaged);
                    let is_hook_arg = record.kind == RecordKind::Hook
                        && !["hook", "scope", "trace_id", "span_id"].contains(&key.as_str());
                    let harmless = !noticeable
                        || is_hook_arg
                        || (record.kind == RecordKind::Outcome && key == "final_output");
                    assert!(
                        harmless || !transcript.is_clean(),
                        "damaging {key} of record {i} went unnoticed:\n{transcript}"
                    );
                    assert!(transcript.to_string().ends_with('\n'));
                }
            }
            let mut replaced = log.clone();
            replaced.records[i].data = json!("garbage");
            assert!(!normalize(&replaced).is_clean());
        }
    }

    #[test]
    fn normalization_is_deterministic() {
        for text in [TOOL_CALL, MAX_TURNS, CONCURRENT] {
            let log = fixture(text);
            let first = normalize(&log);
            assert_eq!(first, normalize(&log.clone()));
            assert_eq!(first.to_string(), normalize(&log).to_string());
            assert_eq!(first.normalizer_version(), NORMALIZER_VERSION);
            assert!(first.to_string().starts_with("normalizer: v5\n"));
            assert!(!first.to_string().ends_with("\n\n"));
        }
    }
}

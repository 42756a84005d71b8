//! Reading one scenario file: size and nesting limits, description line, TOML parse, then
//! semantic validation (`validate.rs`).

use std::io::Read;
use std::path::Path;

use crate::errors::{LoadScenarioError, LoadScenarioErrorKind, ParseProblem};

use super::limits::{MAX_DEPTH, MAX_FILE_BYTES, nesting_exceeded};
use super::schema::{Scenario, ScenarioFile};
use super::validate::validate;

/// Longest excerpt of a file line or parser message quoted in an error.
const MAX_EXCERPT_CHARS: usize = 80;

/// Loads and validates the scenario at `path`; its name is the file stem.
pub fn load_scenario(path: &Path) -> Result<Scenario, LoadScenarioError> {
    let fail = |kind| LoadScenarioError {
        path: path.to_path_buf(),
        kind,
    };
    let text = read_bounded(path).map_err(fail)?;
    let Some(name) = path.file_stem().and_then(|s| s.to_str()) else {
        return Err(fail(LoadScenarioErrorKind::NonUtf8Name));
    };
    parse_scenario(name, &text).map_err(fail)
}

/// Reads at most [`MAX_FILE_BYTES`] of UTF-8 text.
fn read_bounded(path: &Path) -> Result<String, LoadScenarioErrorKind> {
    let file = std::fs::File::open(path).map_err(LoadScenarioErrorKind::Read)?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(LoadScenarioErrorKind::Read)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(LoadScenarioErrorKind::TooLarge {
            max_bytes: MAX_FILE_BYTES,
        });
    }
    String::from_utf8(bytes).map_err(|e| LoadScenarioErrorKind::NotUtf8 {
        offset: e.utf8_error().valid_up_to(),
    })
}

/// Parses and validates scenario text; `name` is used for the scenario's identity only.
pub fn parse_scenario(name: &str, text: &str) -> Result<Scenario, LoadScenarioErrorKind> {
    // Editors on some systems save UTF-8 with a byte-order mark; it is not part of the text.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(LoadScenarioErrorKind::TooLarge {
            max_bytes: MAX_FILE_BYTES,
        });
    }
    // Said as such: "the first line must be a comment" would not tell that the file is empty.
    if text.trim().is_empty() {
        return Err(LoadScenarioErrorKind::Empty);
    }
    let description = description_line(text).ok_or(LoadScenarioErrorKind::MissingDescription)?;
    if let Some(line) = nesting_exceeded(text) {
        return Err(LoadScenarioErrorKind::TooDeep {
            line,
            max_depth: MAX_DEPTH,
        });
    }
    let spec: ScenarioFile =
        toml::from_str(text).map_err(|e| LoadScenarioErrorKind::Parse(parse_problem(text, &e)))?;
    let problems = validate(&spec);
    if !problems.is_empty() {
        return Err(LoadScenarioErrorKind::Invalid(problems));
    }
    Ok(Scenario {
        name: name.to_owned(),
        description,
        spec,
    })
}

/// The text of the first line when it is a `# …` comment.
fn description_line(text: &str) -> Option<String> {
    let first = text.lines().next()?.trim();
    let description = first.strip_prefix('#')?.trim();
    (!description.is_empty()).then(|| description.to_owned())
}

/// Where the TOML parser stopped, with a short excerpt of that line: quoting a whole line (or a
/// parser message that quotes a value) could print megabytes.
fn parse_problem(text: &str, error: &toml::de::Error) -> ParseProblem {
    // The text the parser points at tells a date (which serde calls a map) from a table.
    let spanned = error.span().and_then(|span| text.get(span)).unwrap_or("");
    let message = plain_message(error.message(), spanned);
    let Some(span) = error.span() else {
        return ParseProblem {
            location: None,
            message,
        };
    };
    let start = span.start.min(text.len());
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let line = text[..start].matches('\n').count() + 1;
    let column = text[line_start..start].chars().count() + 1;
    let line_text = &text[line_start..line_end];
    // A window of the line around the column, marked with `…` where it was cut.
    let skip = (column - 1).saturating_sub(MAX_EXCERPT_CHARS / 2);
    let shown: String = line_text
        .chars()
        .skip(skip)
        .take(MAX_EXCERPT_CHARS)
        .collect();
    let cut_before = skip > 0;
    let cut_after = line_text.chars().count() > skip + MAX_EXCERPT_CHARS;
    let excerpt = format!(
        "{}{}{}",
        if cut_before { "…" } else { "" },
        shown.trim_end_matches('\r'),
        if cut_after { "…" } else { "" }
    );
    let caret_column = column - skip + usize::from(cut_before);
    let width = (span.end.min(line_end).saturating_sub(start))
        .clamp(1, MAX_EXCERPT_CHARS.saturating_sub(caret_column - 1).max(1));
    ParseProblem {
        location: Some((line, column, excerpt, caret_column, width)),
        message,
    }
}

/// serde's message in the words of the scenario format: an unknown key or value lists every
/// valid one (after the nearest, when the name looks misspelled), and a type is named as TOML
/// writes it, not as Rust does (`u32`). The parts the file wrote (a key, a value) are cut to
/// short excerpts; the lists come from the schema and are short.
fn plain_message(raw: &str, spanned: &str) -> String {
    if let Some(message) = unknown_name(raw).or_else(|| wrong_type(raw, spanned)) {
        return message;
    }
    // toml's words for a number or a list where a named value (an enum) belongs.
    if raw == "wanted string or table" {
        return "wrong type: expected a string naming one of the values docs/scenarios.md lists for this key".into();
    }
    raw.lines()
        .map(|line| truncate_chars(line, 3 * MAX_EXCERPT_CHARS))
        .collect::<Vec<_>>()
        .join("\n")
}

/// serde's `unknown field `x`, expected one of `a`, `b`` (or `unknown variant`), with the
/// valid name nearest to `x` suggested first.
fn unknown_name(raw: &str) -> Option<String> {
    let (what, rest) = ["field", "variant"].into_iter().find_map(|what| {
        raw.strip_prefix("unknown ")?
            .strip_prefix(what)?
            .strip_prefix(" `")
            .map(|rest| (what, rest))
    })?;
    // The valid names (Rust identifiers) never hold this separator; the written name may.
    let at = rest.rfind("`, expected ")?;
    let (name, expected) = (&rest[..at], &rest[at + "`, expected ".len()..]);
    let valid: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    // A quoted key may hold a line break or other control character: shown escaped.
    let printable: String = name
        .chars()
        .map(|c| {
            if c.is_control() {
                c.escape_debug().to_string()
            } else {
                c.to_string()
            }
        })
        .collect();
    let shown = truncate_chars(&printable, MAX_EXCERPT_CHARS);
    Some(match closest(name, &valid) {
        Some(near) => {
            format!("unknown {what} `{shown}`, did you mean `{near}`? expected {expected}")
        }
        None => format!("unknown {what} `{shown}`, expected {expected}"),
    })
}

/// The valid name a misspelling most likely meant: the nearest by edit distance, if it is near.
fn closest<'a>(name: &str, valid: &[&'a str]) -> Option<&'a str> {
    // Long written names are not misspellings of short keys (and cost quadratic time).
    if name.chars().count() > 64 {
        return None;
    }
    valid
        .iter()
        .map(|candidate| (edit_distance(name, candidate), *candidate))
        .filter(|(distance, candidate)| *distance <= (candidate.chars().count() / 3).max(1))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance where swapping two neighbouring characters counts one edit (`inptu`
/// is one edit from `input`).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // rows[i][j]: distance between a[..i] and b[..j]; only three rows are kept.
    let mut before: Vec<usize> = Vec::new();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut current = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            current[j] = (previous[j] + 1)
                .min(current[j - 1] + 1)
                .min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                current[j] = current[j].min(before[j - 2] + 1);
            }
        }
        before = std::mem::replace(&mut previous, current);
    }
    previous[b.len()]
}

/// serde's `invalid type: <found>, expected <Rust type>` (or `invalid value`), in the format's
/// words: `expected u32` becomes `expected a non-negative whole number`. `spanned` is the text
/// the parser points at.
fn wrong_type(raw: &str, spanned: &str) -> Option<String> {
    let (kind, rest) = ["type", "value"].into_iter().find_map(|kind| {
        raw.strip_prefix("invalid ")?
            .strip_prefix(kind)?
            .strip_prefix(": ")
            .map(|rest| (kind, rest))
    })?;
    // The expected part comes from the schema and never holds the separator; a found string may.
    let at = rest.rfind(", expected ")?;
    let (found, expected) = (&rest[..at], &rest[at + ", expected ".len()..]);
    let found = match found {
        // toml hands a date or time to serde as a map.
        "map" if spanned.starts_with(|c: char| c.is_ascii_digit()) => "a date or time".to_owned(),
        "map" => "a table".to_owned(),
        "sequence" => "a list".to_owned(),
        _ => match found.strip_prefix("floating point ") {
            Some(number) => format!("number {number}"),
            None => truncate_chars(found, MAX_EXCERPT_CHARS),
        },
    };
    let expected = match expected {
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" if kind == "value" => {
            // An integer out of range: say the range.
            format!("a whole number from 0 to {}", unsigned_max(expected))
        }
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => "a non-negative whole number".into(),
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "a whole number".into(),
        "f32" | "f64" => "a number".into(),
        "a boolean" => "true or false".into(),
        "a string" | "a borrowed string" | "a character" => "a string".into(),
        "a sequence" => "a list".into(),
        "a map" => "a table".into(),
        _ if expected.starts_with("struct ") => "a table".into(),
        _ => expected.to_owned(),
    };
    Some(format!("invalid {kind}: {found}, expected {expected}"))
}

/// The largest value of an unsigned Rust type named by serde; TOML integers stop at `i64::MAX`.
fn unsigned_max(rust_type: &str) -> u64 {
    match rust_type {
        "u8" => u8::MAX.into(),
        "u16" => u16::MAX.into(),
        "u32" => u32::MAX.into(),
        _ => i64::MAX as u64,
    }
}

fn truncate_chars(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::problems;

    const TOOL_CALL: &str = r#"# One function call, then a text answer.
[run]
agent = "weather"
input = "Weather in Paris?"

[[agents]]
name = "weather"
tools = ["get_weather"]

[[tools]]
name = "get_weather"
parameters = { city = "string" }
returns = "sunny"

[[model.steps]]
output = [{ tool_call = "get_weather", arguments = { city = "Paris" } }]

[[model.steps]]
output = [{ message = "It is sunny." }]
"#;

    #[test]
    fn valid_scenario_loads_with_its_description() {
        let scenario = parse_scenario("tool_call", TOOL_CALL).unwrap();
        assert_eq!(
            scenario.description,
            "One function call, then a text answer."
        );
        assert!(scenario.spec.model.generation_spans);
    }

    #[test]
    fn a_run_trace_id_is_shared_by_copies_only_inside_a_user_trace() {
        // Outside a user trace each copy would make a trace with that id: refused.
        let copies = TOOL_CALL.replace(
            "input = \"Weather in Paris?\"",
            "input = \"Weather in Paris?\"\ncopies = 2\ntrace_id = \"trace_0123456789abcdef0123456789abcdef\"",
        );
        let err = parse_scenario("t", &copies).unwrap_err().to_string();
        assert!(
            err.contains("every concurrent copy would make a trace"),
            "{err}"
        );
        // Inside one the client ignores the id (the runs use the user's trace): it loads.
        let in_trace =
            format!("{copies}\n[trace]\nworkflow_name = \"Outer\"\nbody = [{{ run = true }}]\n");
        parse_scenario("t", &in_trace).unwrap();
    }

    #[test]
    fn misspelled_key_is_a_parse_error_with_line_and_key() {
        let text = TOOL_CALL.replace("input =", "inptu =");
        let err = parse_scenario("t", &text).unwrap_err().to_string();
        assert!(err.contains("inptu"), "{err}");
        assert!(err.contains("line 4"), "{err}");
    }

    #[test]
    fn missing_description_is_reported() {
        let text = TOOL_CALL.lines().skip(1).collect::<Vec<_>>().join("\n");
        assert!(matches!(
            parse_scenario("t", &text),
            Err(LoadScenarioErrorKind::MissingDescription)
        ));
    }

    #[test]
    fn unread_events_need_a_streamed_run() {
        let text = TOOL_CALL.replace(
            "input = \"Weather in Paris?\"",
            "input = \"Weather in Paris?\"\ndrain = false",
        );
        assert_eq!(
            problems(&text),
            [
                "run.drain: only a streamed run has events to leave unread: set `streamed = true` or remove `drain`"
            ]
        );
        let streamed = text.replace("drain = false", "drain = false\nstreamed = true");
        assert!(!parse_scenario("t", &streamed).unwrap().spec.run.drain);
    }

    #[test]
    fn undefined_tool_is_named_with_its_field() {
        let text = TOOL_CALL.replace("tools = [\"get_weather\"]", "tools = [\"get_wether\"]");
        assert_eq!(
            problems(&text),
            vec![
                r#"agents[0].tools[0]: tool "get_wether" is not defined in [[tools]] (defined: "get_weather")"#
            ]
        );
    }

    #[test]
    fn unreachable_step_is_reported() {
        let text = format!("{TOOL_CALL}\n[[model.steps]]\noutput = [{{ message = \"again\" }}]\n");
        assert_eq!(
            problems(&text),
            vec![
                "model.steps[2]: this step can never be used: the last run already ended at model.steps[1] (a final answer, an error, or a call the agent cannot make); remove it"
            ]
        );
    }

    #[test]
    fn item_with_two_kinds_is_reported() {
        let text = TOOL_CALL.replace(
            "{ message = \"It is sunny.\" }",
            "{ message = \"x\", handoff = \"weather\" }",
        );
        assert_eq!(
            problems(&text),
            vec![
                "model.steps[1].output[0]: set exactly one of `message`, `tool_call`, `handoff`, `agent_tool_call`, `missing_tool_call`"
            ]
        );
    }

    #[test]
    fn concurrent_copies_inside_a_user_trace_need_task_spans_and_one_run_action() {
        let copies = TOOL_CALL.replace("[run]\n", "[run]\ncopies = 2\n");
        let one_run =
            copies.clone() + "\n[trace]\nworkflow_name = \"w\"\nbody = [{ run = true }]\n";
        assert!(parse_scenario("t", &one_run).is_ok());
        let untraceable = one_run.replace(
            "copies = 2",
            "copies = 2\ninclude_task_and_turn_spans = false",
        );
        let found = problems(&untraceable);
        assert!(
            found[0].starts_with("run.include_task_and_turn_spans: concurrent copies inside a user [trace] need traced runs with task spans"),
            "{found:?}"
        );
        let two_runs = one_run.replace(
            "body = [{ run = true }]",
            "body = [{ run = true }, { run = true }]",
        );
        let found = problems(&two_runs);
        assert!(
            found.iter().any(|p| p.starts_with(
                "trace.body: with concurrent copies, the trace's body performs the run once"
            )),
            "{found:?}"
        );
    }

    #[test]
    fn trace_without_run_action_but_with_steps_is_reported() {
        // A trace may run nothing (custom spans only), but then its steps are never used.
        let text = format!(
            "{TOOL_CALL}\n[trace]\nworkflow_name = \"w\"\nbody = [{{ custom_span = \"outer\" }}]\n"
        );
        let found = problems(&text);
        assert!(
            found
                .iter()
                .any(|p| p.starts_with("model.steps: no action of the trace runs the scenario")),
            "{found:?}"
        );
    }

    #[test]
    fn a_byte_order_mark_is_not_part_of_the_text() {
        let scenario = parse_scenario("bom", &format!("\u{feff}{TOOL_CALL}")).unwrap();
        assert_eq!(
            scenario.description,
            "One function call, then a text answer."
        );
    }

    #[test]
    fn parse_errors_quote_a_short_excerpt_of_a_long_line() {
        let long = format!("{TOOL_CALL}\nbad = \"{}\" oops\n", "x".repeat(900_000));
        let err = parse_scenario("t", &long).unwrap_err().to_string();
        assert!(err.len() < 1000, "{} bytes: {}", err.len(), &err[..300]);
        assert!(err.contains("line 21"), "{err}");
        assert!(err.contains('…'), "{err}");
    }

    #[test]
    fn a_deeply_nested_file_is_refused_before_parsing() {
        let deep = format!(
            "{TOOL_CALL}\n[trace]\nworkflow_name = \"w\"\nbody = [{{ run = true }}]\nx = {}{}\n",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        let err = parse_scenario("t", &deep).unwrap_err().to_string();
        assert!(err.contains("nested deeper than"), "{err}");
    }

    #[test]
    fn a_structured_agent_that_answers_empty_text_is_run_again() {
        let text = r#"# Structured output: empty text first, then a valid answer.
[run]
agent = "w"
input = "Weather?"

[[agents]]
name = "w"
output_type = { name = "Weather", fields = { city = "string" } }

[[model.steps]]
output = [{ message = "" }]

[[model.steps]]
output = [{ message = '{"city": "Paris"}' }]
"#;
        parse_scenario("t", text).unwrap();
        let third = format!("{text}\n[[model.steps]]\noutput = [{{ message = \"x\" }}]\n");
        assert_eq!(
            problems(&third),
            vec![
                "model.steps[2]: this step can never be used: the last run already ended at model.steps[1] (a final answer, an error, or a call the agent cannot make); remove it"
            ]
        );
    }

    #[test]
    fn a_call_the_current_agent_cannot_make_ends_the_run() {
        // `get_weather` is defined but not given to the agent: the client raises.
        let text = TOOL_CALL.replace("tools = [\"get_weather\"]\n", "");
        let found = problems(&text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("model.steps[1]: this step can never be used"),
            "{found:?}"
        );
    }

    #[test]
    fn a_run_that_raises_inside_a_trace_skips_the_later_runs() {
        let text = r#"# Two runs in a trace; the first raises.
[run]
agent = "a"
input = "Hi."

[[agents]]
name = "a"

[[model.steps]]
error = { name = "Boom", message = "bad" }

[[model.steps]]
output = [{ message = "never" }]

[trace]
workflow_name = "w"
body = [{ run = true }, { run = true }]
"#;
        let found = problems(text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("model.steps[1]: this step can never be used"),
            "{found:?}"
        );
    }

    #[test]
    fn an_agent_that_stops_on_its_first_tool_stops_at_an_agent_tool_too() {
        // The agent tool's nested run takes step 1; its result is the final output, so the
        // outer agent is never called again.
        let text = r#"# Stops at the agent tool's result.
[run]
agent = "front"
input = "Hi."

[[agents]]
name = "front"
agent_tools = ["helper"]
tool_use_behavior = "stop_on_first_tool"

[[agents]]
name = "helper"

[[model.steps]]
output = [{ agent_tool_call = "helper", arguments = { input = "Help." } }]

[[model.steps]]
output = [{ message = "Helped." }]

[[model.steps]]
output = [{ message = "never" }]
"#;
        let found = problems(text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("model.steps[2]: this step can never be used"),
            "{found:?}"
        );
    }

    #[test]
    fn a_nested_run_that_trips_its_input_guardrail_takes_no_step() {
        // The helper's guardrail raises before its model call: step 1 is the outer agent's
        // answer, so step 2 is never used (the walk used to give step 1 to the nested run).
        let text = r#"# A nested run trips its guardrail.
[run]
agent = "front"
input = "Hi."

[[agents]]
name = "front"
agent_tools = ["helper"]

[[agents]]
name = "helper"
input_guardrails = ["screen"]

[[guardrails]]
name = "screen"
kind = "input"
tripwire = true

[[model.steps]]
output = [{ agent_tool_call = "helper", arguments = { input = "Help." } }]

[[model.steps]]
output = [{ message = "Answered without help." }]

[[model.steps]]
output = [{ message = "never" }]
"#;
        let found = problems(text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("model.steps[2]: this step can never be used"),
            "{found:?}"
        );
    }

    #[test]
    fn scripted_errors_name_real_classes_or_clearly_generic_ones() {
        let with_error = |error: &str| {
            TOOL_CALL.replace(
                "output = [{ message = \"It is sunny.\" }]",
                &format!("error = {error}"),
            )
        };
        parse_scenario(
            "t",
            &with_error(r#"{ name = "ModelBehaviorError", message = "m" }"#),
        )
        .unwrap();
        parse_scenario(
            "t",
            &with_error(r#"{ name = "ModelUnavailable", message = "m" }"#),
        )
        .unwrap();
        let found = problems(&with_error(
            r#"{ name = "ModelBehaviourError", message = "m" }"#,
        ));
        assert!(
            found[0].contains("looks like ModelBehaviorError"),
            "{found:?}"
        );
        let found = problems(&with_error(
            r#"{ name = "InputGuardrailTripwireTriggered", message = "m" }"#,
        ));
        assert!(
            found[0].starts_with("model.steps[1].error.name: "),
            "{found:?}"
        );
        let found = problems(&with_error(
            r#"{ name = "APITimeoutError", message = "slow" }"#,
        ));
        assert_eq!(
            found,
            vec![
                r#"model.steps[1].error.message: APITimeoutError always has the message "Request timed out."; write `message = "Request timed out."`"#
            ]
        );
    }

    #[test]
    fn limits_are_named() {
        let text = TOOL_CALL.replace("[run]\n", "[run]\ncopies = 65\n");
        assert_eq!(
            problems(&text),
            vec!["run.copies: 65 copies is over the limit of 64 concurrent copies"]
        );
    }

    #[test]
    fn names_the_client_cannot_build_are_refused() {
        let text = TOOL_CALL
            .replace("{ city = \"string\" }", "{ class = \"string\" }")
            .replace("{ city = \"Paris\" }", "{ class = \"Paris\" }");
        let found = problems(&text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("tools[0].parameters.class: \"class\" is a Python keyword"),
            "{found:?}"
        );
    }

    /// Every key of `[run]`, in the schema's order.
    const RUN_KEYS: &str = "`agent`, `input`, `streamed`, `drain`, `copies`, `repeat`, `trace_id`, `session`, `max_turns`, `workflow_name`, `group_id`, `trace_metadata`, `trace_include_sensitive_data`, `tracing_disabled`, `include_task_and_turn_spans`, `resume`";

    #[test]
    fn an_unknown_key_lists_every_valid_key_after_the_nearest() {
        let err = parse_scenario("t", &TOOL_CALL.replace("input =", "inptu ="))
            .unwrap_err()
            .to_string();
        assert!(err.contains("at line 4, column 1"), "{err}");
        assert!(
            err.ends_with(&format!(
                "unknown field `inptu`, did you mean `input`? expected one of {RUN_KEYS}"
            )),
            "{err}"
        );
        let err = parse_scenario("t", &TOOL_CALL.replace("[run]\n", "[run]\nresum = []\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("did you mean `resume`?"), "{err}");
        // Far from every key: no guess, the whole list still.
        let err = parse_scenario("t", &TOOL_CALL.replace("[run]\n", "[run]\nzzz = 1\n"))
            .unwrap_err()
            .to_string();
        assert!(
            err.ends_with(&format!("unknown field `zzz`, expected one of {RUN_KEYS}")),
            "{err}"
        );
        // A huge key is cut, the list is not.
        let long = TOOL_CALL.replace("[run]\n", &format!("[run]\n{} = 1\n", "k".repeat(100_000)));
        let err = parse_scenario("t", &long).unwrap_err().to_string();
        assert!(err.len() < 1500, "{} bytes", err.len());
        assert!(err.contains("k…`, expected one of `agent`"), "{err}");
        assert!(err.ends_with("`resume`"), "{err}");
        // A quoted key keeps its quotes, and shows a line break escaped.
        let quoted = TOOL_CALL.replace("[run]\n", "[run]\n\"it's\\nx\" = 1\n");
        let err = parse_scenario("t", &quoted).unwrap_err().to_string();
        assert!(err.contains("unknown field `it's\\nx`, expected"), "{err}");
    }

    #[test]
    fn an_unknown_value_suggests_the_nearest() {
        let text = TOOL_CALL.replace(
            "tools = [\"get_weather\"]",
            "tools = [\"get_weather\"]\ntool_use_behavior = \"stop_on_last_tool\"",
        );
        let err = parse_scenario("t", &text).unwrap_err().to_string();
        assert!(err.contains("at line 9,"), "{err}");
        assert!(
            err.ends_with("unknown variant `stop_on_last_tool`, did you mean `stop_on_first_tool`? expected `run_llm_again` or `stop_on_first_tool`"),
            "{err}"
        );
    }

    #[test]
    fn edit_distance_counts_a_swap_as_one_edit() {
        assert_eq!(edit_distance("inptu", "input"), 1);
        assert_eq!(edit_distance("resum", "resume"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
        assert_eq!(closest("agnet", &["agent", "input"]), Some("agent"));
        assert_eq!(closest("xyz", &["agent", "input"]), None);
    }

    #[test]
    fn type_errors_name_the_types_as_the_format_writes_them() {
        let cases = [
            (
                "[run]\n",
                "[run]\ncopies = \"2\"\n",
                3,
                "invalid type: string \"2\", expected a non-negative whole number",
            ),
            (
                "[run]\n",
                "[run]\ncopies = -1\n",
                3,
                "invalid value: integer `-1`, expected a whole number from 0 to 4294967295",
            ),
            (
                "[run]\n",
                "[run]\nmax_turns = 2.5\n",
                3,
                "invalid type: number `2.5`, expected a non-negative whole number",
            ),
            (
                "[run]\n",
                "[run]\nstreamed = \"yes\"\n",
                3,
                "invalid type: string \"yes\", expected true or false",
            ),
            (
                "input = \"Weather in Paris?\"",
                "input = 5",
                4,
                "invalid type: integer `5`, expected a string",
            ),
            (
                "input = \"Weather in Paris?\"",
                "input = 2024-01-01",
                4,
                "invalid type: a date or time, expected a string",
            ),
            (
                "tools = [\"get_weather\"]",
                "tools = \"get_weather\"",
                8,
                "invalid type: string \"get_weather\", expected a list",
            ),
            (
                "tools = [\"get_weather\"]",
                "tools = [{ name = \"get_weather\" }]",
                8,
                "invalid type: a table, expected a string",
            ),
            (
                "{ city = \"string\" }",
                "{ city = 5 }",
                12,
                "wrong type: expected a string naming one of the values docs/scenarios.md lists for this key",
            ),
            (
                "output = [{ message = \"It is sunny.\" }]",
                "output = [{ message = \"It is sunny.\" }]\nusage = 3",
                20,
                "invalid type: integer `3`, expected a table",
            ),
            (
                "output = [{ message = \"It is sunny.\" }]",
                "output = [{ message = \"It is sunny.\" }]\nusage = { input_tokens = 1.5 }",
                20,
                "invalid type: number `1.5`, expected a non-negative whole number",
            ),
        ];
        for (from, to, line, message) in cases {
            let text = TOOL_CALL.replace(from, to);
            let err = parse_scenario("t", &text).unwrap_err().to_string();
            assert!(err.contains(&format!("at line {line},")), "{err}");
            assert!(err.ends_with(message), "{to}: {err}");
        }
        // A long found string is cut, so the expected type stays in view.
        let text = TOOL_CALL.replace(
            "[run]\n",
            &format!("[run]\ncopies = \"{}\"\n", "9".repeat(10_000)),
        );
        let err = parse_scenario("t", &text).unwrap_err().to_string();
        assert!(err.len() < 1000, "{} bytes", err.len());
        assert!(
            err.ends_with("…, expected a non-negative whole number"),
            "{err}"
        );
    }

    #[test]
    fn an_empty_file_is_said_to_be_empty() {
        for text in ["", " \n\t\r\n", "\u{feff}", "\u{feff}\n\n"] {
            let err = parse_scenario("t", text).unwrap_err();
            assert!(
                matches!(err, LoadScenarioErrorKind::Empty),
                "{text:?}: {err:?}"
            );
            assert!(
                err.to_string().starts_with(
                    "the file is empty: a scenario starts with a `# description` line"
                ),
                "{err}"
            );
        }
        // Text without a description line is told so.
        assert!(matches!(
            parse_scenario("t", "\n[run]\n"),
            Err(LoadScenarioErrorKind::MissingDescription)
        ));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blank.toml");
        std::fs::write(&path, "\n").unwrap();
        let err = load_scenario(&path).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("{}: the file is empty:", path.display())),
            "{err}"
        );
    }

    #[test]
    fn a_guardrail_of_another_kind_is_named_as_the_file_spells_its_kind() {
        let text = TOOL_CALL.replace(
            "tools = [\"get_weather\"]",
            "tools = [\"get_weather\"]\ninput_guardrails = [\"check\"]",
        ) + "\n[[guardrails]]\nname = \"check\"\nkind = \"tool_input\"\nbehavior = \"allow\"\n";
        assert_eq!(
            problems(&text),
            [
                r#"agents[0].input_guardrails[0]: guardrail "check" has kind = "tool_input"; use it in a tool's input_guardrails"#
            ]
        );
    }
}

//! The bounds on what a scenario file can ask for (documented in `docs/scenarios.md`).
//!
//! A scenario comes from anywhere (`--scenarios DIR`), and each subject spends threads, stack and
//! memory on what it says, so every resource it can ask for has a limit. Exceeding one is bad
//! input (exit 2) naming the limit and the field.

use serde_json::Value;

use crate::errors::Problem;

/// Largest scenario file, in bytes.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;
/// Most concurrent copies of a run (`run.copies`): each is a task with its own trace.
pub const MAX_COPIES: u32 = 64;
/// The most runs one after another (`run.repeat`).
pub const MAX_REPEAT: u32 = 16;
/// `[[run.resume]]` entries: each resumes the run once more.
pub const MAX_RESUMES: usize = 16;
/// Deepest nesting of arrays and tables, in the file and in any value (tool results, arguments,
/// metadata, span data); also bounds nested `custom_span` actions.
pub const MAX_DEPTH: usize = 32;
/// Longest string value, in bytes (messages, inputs, tool results).
pub const MAX_STRING_BYTES: usize = 64 * 1024;
/// Longest name (agents, tools, guardrails, parameters, fields, call ids, error names), in bytes.
pub const MAX_NAME_BYTES: usize = 256;
/// Most model steps in one script.
pub const MAX_STEPS: usize = 1000;

/// Checks the nesting of arrays and inline tables in raw TOML text before it is parsed, so a
/// pathologically deep file is refused before the parser recurses into it. Returns the 1-based
/// line where the limit is first exceeded.
pub(crate) fn nesting_exceeded(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut line = 1;
    let mut i = 0;
    // Table headers (`[run]`, `[[model.steps]]`) open and close on one line at depth 0.
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => line += 1,
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            quote @ (b'"' | b'\'') => {
                let triple = bytes[i..].starts_with(if quote == b'"' { b"\"\"\"" } else { b"'''" });
                i += if triple { 3 } else { 1 };
                while i < bytes.len() {
                    if bytes[i] == b'\n' {
                        line += 1;
                    }
                    if quote == b'"' && bytes[i] == b'\\' {
                        i += 2;
                        continue;
                    }
                    let closes = if triple {
                        bytes[i..].starts_with(if quote == b'"' { b"\"\"\"" } else { b"'''" })
                    } else {
                        bytes[i] == quote || bytes[i] == b'\n'
                    };
                    if closes {
                        i += if triple { 3 } else { 1 };
                        break;
                    }
                    i += 1;
                }
                continue;
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Some(line);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    None
}

/// Checks string lengths and value depth of a parsed scenario, given as its JSON form (field
/// names are the file's keys). Names are the values under keys that name something.
pub(crate) fn check_values(value: &Value, problems: &mut Vec<Problem>) {
    walk(value, String::new(), 0, None, problems);
}

fn walk(value: &Value, path: String, depth: usize, key: Option<&str>, problems: &mut Vec<Problem>) {
    if depth > MAX_DEPTH {
        problems.push(Problem {
            field: path,
            message: format!("nested deeper than the limit of {MAX_DEPTH} levels; flatten it"),
        });
        return;
    }
    match value {
        Value::String(text) => {
            let is_name = key.is_some_and(is_name_key);
            let limit = if is_name {
                MAX_NAME_BYTES
            } else {
                MAX_STRING_BYTES
            };
            if text.len() > limit {
                problems.push(Problem {
                    field: path,
                    message: format!(
                        "{} is {} bytes long, over the limit of {limit} bytes for {}",
                        if is_name { "the name" } else { "the string" },
                        text.len(),
                        if is_name { "names" } else { "strings" },
                    ),
                });
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                // Lists of names (an agent's `tools`, `handoffs`, guardrails) hold names too.
                walk(item, format!("{path}[{i}]"), depth + 1, key, problems);
            }
        }
        Value::Object(map) => {
            for (name, item) in map {
                if name.len() > MAX_NAME_BYTES {
                    problems.push(Problem {
                        field: path.clone(),
                        message: format!(
                            "a key is {} bytes long, over the limit of {MAX_NAME_BYTES} bytes for names",
                            name.len()
                        ),
                    });
                    continue;
                }
                let field = if path.is_empty() {
                    name.clone()
                } else {
                    format!("{path}.{name}")
                };
                walk(item, field, depth + 1, Some(name), problems);
            }
        }
        _ => {}
    }
}

fn is_name_key(key: &str) -> bool {
    matches!(
        key,
        "name"
            | "agent"
            | "tools"
            | "handoffs"
            | "input_guardrails"
            | "output_guardrails"
            | "tool_call"
            | "handoff"
            | "missing_tool_call"
            | "call_id"
            | "custom_span"
            // Call ids: a tool's per-call approval policy, and the decisions of a resume.
            | "needs_approval"
            | "approve"
            | "reject"
            | "always"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_is_counted_outside_strings_and_comments() {
        assert_eq!(nesting_exceeded("[run]\nx = [[1], {a = 2}]\n"), None);
        let deep = format!(
            "x = {}{}\n",
            "[".repeat(MAX_DEPTH + 1),
            "]".repeat(MAX_DEPTH + 1)
        );
        assert_eq!(nesting_exceeded(&format!("[run]\n{deep}")), Some(2));
        let quoted = format!(
            "x = \"{}\" # {}\ny = '''\n{}'''\n",
            "[".repeat(99),
            "{".repeat(99),
            "[".repeat(99)
        );
        assert_eq!(nesting_exceeded(&quoted), None);
    }

    #[test]
    fn long_names_and_strings_are_named_with_their_limit() {
        let value = serde_json::json!({
            "agents": [{"name": "a".repeat(MAX_NAME_BYTES + 1)}],
            "run": {"input": "x".repeat(MAX_STRING_BYTES + 1)},
        });
        let mut problems = Vec::new();
        check_values(&value, &mut problems);
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["agents[0].name", "run.input"]);
        assert!(problems[0].message.contains("limit of 256 bytes for names"));
    }
}

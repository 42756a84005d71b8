//! The canonical transcript: what a subject did, independent of run-to-run randomness.
//!
//! A [`Transcript`] is a plain value, built by the normalizer (`normalize/`, the layer above
//! this one: it imports this module, never the other way). Its
//! [`Display`](fmt::Display) form is the golden text, the thing that goldens store and that
//! subjects are compared on:
//!
//! ```text
//! normalizer: v5
//! --- events
//! log DEBUG "Creating trace"
//! trace_start trace#1 {"group_id":null,"metadata":null,"workflow_name":"Agent workflow"}
//!   span_start span#1 parent=- {"data":{"name":"Agent workflow","sdk_span_type":"task"},"name":"task","type":"custom"}
//!     log DEBUG "Running agent weather (turn 1)" @span#1
//!   span_end span#1
//! trace_end trace#1
//! outcome {"final_output":"Sunny.","status":"completed"}
//! --- spans
//! trace#1 {"group_id":null,"metadata":null,"workflow_name":"Agent workflow"}
//!   span#1 {"data":{"name":"Agent workflow","sdk_span_type":"task"},"name":"task","type":"custom"}
//! --- findings
//! none
//! ```
//!
//! The first line carries the normalizer version; each section lists its lines, or `none` when it
//! is empty; lines are indented two spaces per depth; the text ends with one newline.

use std::fmt;

use crate::record::RecordKind;

/// A normalized transcript (see the [module docs](self) for its text form).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transcript {
    normalizer_version: u32,
    events: Vec<Event>,
    traces: Vec<TraceNode>,
    findings: Vec<Finding>,
}

/// # Construction and access
impl Transcript {
    /// Assembles a transcript from its parts, in canonical order.
    pub fn new(
        normalizer_version: u32,
        events: Vec<Event>,
        traces: Vec<TraceNode>,
        findings: Vec<Finding>,
    ) -> Transcript {
        Transcript {
            normalizer_version,
            events,
            traces,
            findings,
        }
    }

    /// The version of the normalizer that produced this transcript.
    pub fn normalizer_version(&self) -> u32 {
        self.normalizer_version
    }

    /// The event lines, in canonical order.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// The final span trees, one per trace, in placeholder order.
    pub fn traces(&self) -> &[TraceNode] {
        &self.traces
    }

    /// Validation findings, in canonical record order; empty for a well-formed log.
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// Whether validation found nothing.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }
}

/// One line of the `--- events` section: a record after normalization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Nesting depth; the line is indented by two spaces per level.
    pub depth: usize,
    /// The kind of the record the line renders.
    pub kind: RecordKind,
    /// The line without its indentation, e.g. `span_end span#2`.
    pub text: String,
}

/// A trace of the `--- spans` section with its span tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceNode {
    /// `trace#N`, or `<no trace>` for spans whose trace id is missing.
    pub label: String,
    /// The trace export (without `object` and `id`) as canonical JSON; may be empty.
    pub payload: String,
    /// Root spans in start order.
    pub spans: Vec<SpanNode>,
}

/// A span of the `--- spans` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpanNode {
    /// `span#N`.
    pub label: String,
    /// The end payload: `span_data` JSON, then ` error=…`, ` metadata=…` and extra fields.
    pub payload: String,
    /// Child spans in start order.
    pub children: Vec<SpanNode>,
}

/// A validation finding: the log broke a rule of the raw record schema (DESIGN §4, §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// One line naming the record and the problem, with ids as placeholders, e.g.
    /// `span_end span#3: ends after its parent span#1 ends`.
    pub message: String,
}

fn indent(f: &mut fmt::Formatter<'_>, depth: usize) -> fmt::Result {
    for _ in 0..depth {
        f.write_str("  ")?;
    }
    Ok(())
}

fn labelled(f: &mut fmt::Formatter<'_>, label: &str, payload: &str) -> fmt::Result {
    f.write_str(label)?;
    if !payload.is_empty() {
        write!(f, " {payload}")?;
    }
    Ok(())
}

/// The event line with its indentation, without a newline.
impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        indent(f, self.depth)?;
        f.write_str(&self.text)
    }
}

impl SpanNode {
    fn write(&self, f: &mut fmt::Formatter<'_>, depth: usize) -> fmt::Result {
        indent(f, depth)?;
        labelled(f, &self.label, &self.payload)?;
        f.write_str("\n")?;
        self.children
            .iter()
            .try_for_each(|child| child.write(f, depth + 1))
    }
}

/// The trace line and its span tree, one line each, every line ending in a newline.
impl fmt::Display for TraceNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        labelled(f, &self.label, &self.payload)?;
        f.write_str("\n")?;
        self.spans.iter().try_for_each(|span| span.write(f, 1))
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The golden text.
impl fmt::Display for Transcript {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "normalizer: v{}", self.normalizer_version)?;
        f.write_str("--- events\n")?;
        if self.events.is_empty() {
            f.write_str("none\n")?;
        }
        for event in &self.events {
            writeln!(f, "{event}")?;
        }
        f.write_str("--- spans\n")?;
        if self.traces.is_empty() {
            f.write_str("none\n")?;
        }
        for trace in &self.traces {
            write!(f, "{trace}")?;
        }
        f.write_str("--- findings\n")?;
        if self.findings.is_empty() {
            f.write_str("none\n")?;
        }
        for finding in &self.findings {
            writeln!(f, "{finding}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(findings: Vec<Finding>) -> Transcript {
        let event = |depth, kind, text: &str| Event {
            depth,
            kind,
            text: text.to_owned(),
        };
        Transcript::new(
            1,
            vec![
                event(0, RecordKind::TraceStart, "trace_start trace#1 {}"),
                event(
                    1,
                    RecordKind::SpanStart,
                    "span_start span#1 parent=- {\"type\":\"agent\"}",
                ),
                event(2, RecordKind::Log, "log DEBUG \"x\" @span#1"),
                event(1, RecordKind::SpanEnd, "span_end span#1"),
                event(0, RecordKind::TraceEnd, "trace_end trace#1"),
            ],
            vec![TraceNode {
                label: "trace#1".into(),
                payload: "{}".into(),
                spans: vec![SpanNode {
                    label: "span#1".into(),
                    payload: "{\"type\":\"agent\"}".into(),
                    children: vec![SpanNode {
                        label: "span#2".into(),
                        payload: "{\"type\":\"function\"}".into(),
                        children: vec![],
                    }],
                }],
            }],
            findings,
        )
    }

    #[test]
    fn renders_sections_with_indentation_and_one_trailing_newline() {
        let text = sample(vec![]).to_string();
        assert_eq!(
            text,
            concat!(
                "normalizer: v1\n",
                "--- events\n",
                "trace_start trace#1 {}\n",
                "  span_start span#1 parent=- {\"type\":\"agent\"}\n",
                "    log DEBUG \"x\" @span#1\n",
                "  span_end span#1\n",
                "trace_end trace#1\n",
                "--- spans\n",
                "trace#1 {}\n",
                "  span#1 {\"type\":\"agent\"}\n",
                "    span#2 {\"type\":\"function\"}\n",
                "--- findings\n",
                "none\n",
            )
        );
    }

    #[test]
    fn findings_are_listed_one_per_line() {
        let transcript = sample(vec![
            Finding {
                message: "span_start span#1: span never ends".into(),
            },
            Finding {
                message: "trace_start trace#1: trace never ends".into(),
            },
        ]);
        assert!(!transcript.is_clean());
        assert!(transcript.to_string().ends_with(
            "--- findings\nspan_start span#1: span never ends\ntrace_start trace#1: trace never ends\n"
        ));
    }

    #[test]
    fn empty_sections_say_none() {
        let transcript = Transcript::new(1, vec![], vec![], vec![]);
        assert!(transcript.is_clean());
        assert_eq!(
            transcript.to_string(),
            "normalizer: v1\n--- events\nnone\n--- spans\nnone\n--- findings\nnone\n"
        );
    }
}

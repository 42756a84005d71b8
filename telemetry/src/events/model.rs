//! What a Codex lifecycle event is: its namespace and phase (which make its name), who
//! originated it, and the payload fields an event of each namespace carries.

use std::fmt;

/// The `tracing` target of every Codex lifecycle event. Filter on it to route the events (a
/// subscriber that does not enable it makes them cost a callsite check).
pub const EVENT_TARGET: &str = "codex.events";

/// What an event is about: the first part of its name (`codex.<namespace>.<phase>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Namespace {
    /// One run of an agent conversation (`Runner::start_run` to `finish` / `interrupt`).
    Thread,
    /// One turn of the agent loop.
    Turn,
    /// One tool call.
    Tool,
    /// A tool call waiting for a human decision, from the interruption to the decision.
    Approval,
    /// Releasing what a run attached (files, server connections, sandboxes): reported by the
    /// SDK through [`Events::attachment_cleanup`](super::Events::attachment_cleanup).
    AttachmentCleanup,
}

impl Namespace {
    /// The namespace as it appears in event names.
    pub fn as_str(self) -> &'static str {
        match self {
            Namespace::Thread => "thread",
            Namespace::Turn => "turn",
            Namespace::Tool => "tool",
            Namespace::Approval => "approval",
            Namespace::AttachmentCleanup => "attachment_cleanup",
        }
    }
}

/// Where in its lifetime the event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// It began.
    Start,
    /// It ended normally (`duration_ms` set).
    Stop,
    /// It ended with an error (`duration_ms` and `error.type` set).
    Exception,
}

impl Phase {
    /// The phase as it appears in event names.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Start => "start",
            Phase::Stop => "stop",
            Phase::Exception => "exception",
        }
    }
}

/// The event name `codex.<namespace>.<phase>`, e.g. `codex.turn.stop`.
///
/// ```
/// use codex_telemetry::events::{event_name, Namespace, Phase};
///
/// assert_eq!(event_name(Namespace::AttachmentCleanup, Phase::Exception), "codex.attachment_cleanup.exception");
/// ```
pub fn event_name(namespace: Namespace, phase: Phase) -> &'static str {
    use Namespace::*;
    use Phase::*;
    match (namespace, phase) {
        (Thread, Start) => "codex.thread.start",
        (Thread, Stop) => "codex.thread.stop",
        (Thread, Exception) => "codex.thread.exception",
        (Turn, Start) => "codex.turn.start",
        (Turn, Stop) => "codex.turn.stop",
        (Turn, Exception) => "codex.turn.exception",
        (Tool, Start) => "codex.tool.start",
        (Tool, Stop) => "codex.tool.stop",
        (Tool, Exception) => "codex.tool.exception",
        (Approval, Start) => "codex.approval.start",
        (Approval, Stop) => "codex.approval.stop",
        (Approval, Exception) => "codex.approval.exception",
        (AttachmentCleanup, Start) => "codex.attachment_cleanup.start",
        (AttachmentCleanup, Stop) => "codex.attachment_cleanup.stop",
        (AttachmentCleanup, Exception) => "codex.attachment_cleanup.exception",
    }
}

/// Who drives the agents: an SDK embedded in an application, or a command-line tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Originator {
    /// An application using the SDK (the default).
    Sdk,
    /// A command-line tool.
    Cli,
}

impl Originator {
    /// `sdk` or `cli`.
    pub fn as_str(self) -> &'static str {
        match self {
            Originator::Sdk => "sdk",
            Originator::Cli => "cli",
        }
    }

    /// `sdk` / `cli` (ASCII case and surrounding whitespace ignored).
    ///
    /// ```
    /// use codex_telemetry::events::Originator;
    ///
    /// assert_eq!(Originator::parse(" CLI "), Some(Originator::Cli));
    /// assert_eq!(Originator::parse("app"), None);
    /// ```
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "sdk" => Some(Originator::Sdk),
            "cli" => Some(Originator::Cli),
            _ => None,
        }
    }
}

impl fmt::Display for Originator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The payload of an event beyond the fields every event has; each is present only on the
/// events that document it (`docs/telemetry-events.md`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EventFields {
    /// `agent.name`: the agent (turn, tool, approval events).
    pub agent: Option<String>,
    /// `workflow.name`: the run's workflow (thread events).
    pub workflow: Option<String>,
    /// `streamed`: whether the run is streamed (`codex.thread.start`).
    pub streamed: Option<bool>,
    /// `resumed`: whether the run resumes an interrupted one (`codex.thread.start`).
    pub resumed: Option<bool>,
    /// `turn.number`: the turn (turn events).
    pub turn: Option<u32>,
    /// `tool.name` (tool and approval events).
    pub tool: Option<String>,
    /// `tool.kind`: `function`, `agent` or `mcp` (`codex.tool.start`).
    pub tool_kind: Option<&'static str>,
    /// `call.id` (tool and approval events).
    pub call_id: Option<String>,
    /// `outcome`: how it ended (`codex.thread.stop`, `codex.tool.stop`).
    pub outcome: Option<&'static str>,
    /// `next_step`: what the turn led to (`codex.turn.stop`).
    pub next_step: Option<&'static str>,
    /// `decision`: `approved` or `rejected` (`codex.approval.stop`).
    pub decision: Option<&'static str>,
    /// `attachment`: what was cleaned up (attachment cleanup events).
    pub attachment: Option<String>,
    /// `error.type`: the error's kind (exception events).
    pub error_type: Option<String>,
    /// `error.message`: the error's message, redacted without sensitive data (exception
    /// events).
    pub error_message: Option<String>,
    /// `dropped.kind`: the event name whose drops are reported (`codex.telemetry.dropped`).
    pub dropped_kind: Option<String>,
    /// `dropped.count`: how many were dropped since the last report.
    pub dropped_count: Option<u64>,
}

impl EventFields {
    /// No fields.
    pub fn new() -> Self {
        Self::default()
    }

    /// With `agent.name`.
    pub fn agent(mut self, agent: impl Into<String>) -> Self {
        self.agent = Some(agent.into());
        self
    }

    /// With `tool.name` and `call.id`.
    pub fn call(mut self, tool: impl Into<String>, call_id: impl Into<String>) -> Self {
        self.tool = Some(tool.into());
        self.call_id = Some(call_id.into());
        self
    }

    /// With `outcome`.
    pub fn outcome(mut self, outcome: &'static str) -> Self {
        self.outcome = Some(outcome);
        self
    }

    /// With `error.type` and `error.message`.
    pub fn error(mut self, error_type: impl Into<String>, message: impl Into<String>) -> Self {
        self.error_type = Some(error_type.into());
        self.error_message = Some(message.into());
        self
    }
}

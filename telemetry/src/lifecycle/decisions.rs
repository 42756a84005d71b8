//! Human decisions on tool calls that needed approval: [`Approval`], the standing decisions
//! that cover a tool's later calls (`always_approve` / `always_reject`), and how a run finds
//! the decision for a call. Plain data, below the run's state; how a run is interrupted and
//! resumed with them is in `approvals.rs`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Python's `DEFAULT_APPROVAL_REJECTION_MESSAGE`: what the model gets for a rejected call
/// without a message of its own.
pub const DEFAULT_REJECTION_MESSAGE: &str = "Tool execution was not approved.";

/// A decision on a call that needed approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Approval {
    /// The call runs.
    Approved,
    /// The call does not run; the model gets `message` (or [`DEFAULT_REJECTION_MESSAGE`]).
    Rejected {
        /// Python's `rejection_message`.
        message: Option<String>,
    },
}

impl Approval {
    /// The text the model gets for a rejected call; `None` for an approved one.
    pub(crate) fn rejection_text(&self) -> Option<&str> {
        match self {
            Approval::Approved => None,
            Approval::Rejected { message } => {
                Some(message.as_deref().unwrap_or(DEFAULT_REJECTION_MESSAGE))
            }
        }
    }
}

/// A decision that also covers the tool's later calls by the same agent
/// (`always_approve` / `always_reject`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StandingDecision {
    agent: String,
    tool: String,
    approval: Approval,
}

impl StandingDecision {
    /// `approval` for every later call of `agent`'s `tool`.
    pub(crate) fn new(agent: String, tool: String, approval: Approval) -> Self {
        Self {
            agent,
            tool,
            approval,
        }
    }
}

/// The decisions a run was resumed with: each call's own, by call id, and the standing ones,
/// carried from run to run.
#[derive(Debug, Clone, Default)]
pub(crate) struct Decisions {
    by_call: BTreeMap<String, Approval>,
    standing: Vec<StandingDecision>,
}

impl Decisions {
    pub(crate) fn new(
        by_call: BTreeMap<String, Approval>,
        standing: Vec<StandingDecision>,
    ) -> Self {
        Self { by_call, standing }
    }

    /// The decision taken on the call `call_id` itself.
    pub(crate) fn for_call_id(&self, call_id: &str) -> Option<&Approval> {
        self.by_call.get(call_id)
    }

    /// The latest standing decision on `agent`'s calls of `tool`.
    pub(crate) fn standing(&self, agent: &str, tool: &str) -> Option<&Approval> {
        self.standing
            .iter()
            .rev()
            .find(|decision| decision.agent == agent && decision.tool == tool)
            .map(|decision| &decision.approval)
    }

    /// The call's own decision, or a standing one of `agent` for `tool`.
    pub(crate) fn for_call(&self, agent: &str, tool: &str, call_id: &str) -> Option<&Approval> {
        self.for_call_id(call_id)
            .or_else(|| self.standing(agent, tool))
    }

    /// The standing decisions, taken to carry to the run that resumes this one.
    pub(crate) fn take_standing(&mut self) -> Vec<StandingDecision> {
        std::mem::take(&mut self.standing)
    }
}

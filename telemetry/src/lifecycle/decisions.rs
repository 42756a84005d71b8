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

/// Who a record grants (or denies): every call of the tool (`True` in Python's record) or the
/// listed calls only (a list, or `False`: none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Grant {
    Calls(Vec<String>),
    Always,
}

impl Default for Grant {
    fn default() -> Self {
        Grant::Calls(Vec::new())
    }
}

impl Grant {
    fn lists(&self, call_id: &str) -> bool {
        matches!(self, Grant::Calls(ids) if ids.iter().any(|id| id == call_id))
    }

    fn add(&mut self, call_id: &str) {
        if let Grant::Calls(ids) = self
            && !ids.iter().any(|id| id == call_id)
        {
            ids.push(call_id.to_owned());
        }
    }

    fn remove(&mut self, call_id: &str) {
        if let Grant::Calls(ids) = self {
            ids.retain(|id| id != call_id);
        }
    }
}

/// What was decided on one agent's calls of one tool (Python's `_ApprovalRecord`). Decisions
/// apply in the order they are taken: a standing one (`always_*`) resets the record, so a
/// later `always_reject` cancels an earlier approval of another pending call, while a
/// per-call decision taken after it still stands.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct ApprovalRecord {
    agent: String,
    tool: String,
    approved: Grant,
    rejected: Grant,
    /// Per-call rejection messages.
    messages: BTreeMap<String, String>,
    /// The message of a standing rejection.
    standing_message: Option<String>,
}

impl ApprovalRecord {
    /// Python's `_apply_approval_decision` on this record.
    fn decide(&mut self, call_id: &str, always: bool, approval: &Approval) {
        match (approval, always) {
            (Approval::Approved, true) => {
                self.approved = Grant::Always;
                self.rejected = Grant::default();
                self.messages.clear();
                self.standing_message = None;
            }
            (Approval::Rejected { message }, true) => {
                self.approved = Grant::default();
                self.rejected = Grant::Always;
                match message {
                    Some(message) => self.messages.insert(call_id.to_owned(), message.clone()),
                    None => self.messages.remove(call_id),
                };
                self.standing_message = message.clone();
            }
            (Approval::Approved, false) => {
                self.rejected.remove(call_id);
                self.approved.add(call_id);
                self.messages.remove(call_id);
            }
            (Approval::Rejected { message }, false) => {
                self.approved.remove(call_id);
                self.rejected.add(call_id);
                match message {
                    Some(message) => self.messages.insert(call_id.to_owned(), message.clone()),
                    None => self.messages.remove(call_id),
                };
            }
        }
    }

    /// Python's `_get_approval_status_for_record` and `_get_rejection_message_for_key`.
    fn status(&self, call_id: &str) -> Option<Approval> {
        let rejected = |message: Option<&String>| Approval::Rejected {
            message: message.cloned(),
        };
        if self.approved.lists(call_id) {
            return Some(Approval::Approved);
        }
        if self.rejected.lists(call_id) {
            return Some(rejected(self.messages.get(call_id)));
        }
        match (&self.approved, &self.rejected) {
            // Approval wins when standing decisions conflict.
            (Grant::Always, _) => Some(Approval::Approved),
            (_, Grant::Always) => Some(rejected(
                self.messages
                    .get(call_id)
                    .or(self.standing_message.as_ref()),
            )),
            _ => None,
        }
    }
}

/// Every decision taken in a run and the runs it resumes, one record per agent and tool
/// (Python's `RunContextWrapper._approvals`, carried in the `RunState`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct Decisions {
    records: Vec<ApprovalRecord>,
}

impl Decisions {
    /// Records a decision on `agent`'s call `call_id` of `tool` (with `always`, the tool's
    /// other calls by the agent too), after the ones taken before it.
    pub(crate) fn decide(
        &mut self,
        agent: &str,
        tool: &str,
        call_id: &str,
        always: bool,
        approval: &Approval,
    ) {
        let index = match self
            .records
            .iter()
            .position(|r| r.agent == agent && r.tool == tool)
        {
            Some(index) => index,
            None => {
                self.records.push(ApprovalRecord {
                    agent: agent.to_owned(),
                    tool: tool.to_owned(),
                    ..ApprovalRecord::default()
                });
                self.records.len() - 1
            }
        };
        self.records[index].decide(call_id, always, approval);
    }

    /// The decision on `agent`'s call `call_id` of `tool`, if any covers it.
    pub(crate) fn for_call(&self, agent: &str, tool: &str, call_id: &str) -> Option<Approval> {
        self.records
            .iter()
            .find(|r| r.agent == agent && r.tool == tool)
            .and_then(|record| record.status(call_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(message: Option<&str>) -> Approval {
        Approval::Rejected {
            message: message.map(str::to_owned),
        }
    }

    #[test]
    fn a_standing_rejection_cancels_an_earlier_approval_but_not_a_later_one() {
        let mut decisions = Decisions::default();
        decisions.decide("ops", "restart", "call_1", false, &Approval::Approved);
        decisions.decide("ops", "restart", "call_2", true, &rejected(None));
        assert_eq!(
            decisions.for_call("ops", "restart", "call_1"),
            Some(rejected(None))
        );
        decisions.decide("ops", "restart", "call_3", false, &Approval::Approved);
        assert_eq!(
            decisions.for_call("ops", "restart", "call_3"),
            Some(Approval::Approved)
        );
        assert_eq!(
            decisions.for_call("ops", "restart", "call_9"),
            Some(rejected(None))
        );
        // Another agent's calls of the tool are not covered.
        assert_eq!(decisions.for_call("triage", "restart", "call_9"), None);
    }

    #[test]
    fn a_standing_approval_clears_earlier_rejections_and_their_messages() {
        let mut decisions = Decisions::default();
        decisions.decide("ops", "purge", "call_1", false, &rejected(Some("No.")));
        assert_eq!(
            decisions.for_call("ops", "purge", "call_1"),
            Some(rejected(Some("No.")))
        );
        decisions.decide("ops", "purge", "call_2", true, &Approval::Approved);
        assert_eq!(
            decisions.for_call("ops", "purge", "call_1"),
            Some(Approval::Approved)
        );
        decisions.decide("ops", "purge", "call_3", false, &rejected(None));
        assert_eq!(
            decisions.for_call("ops", "purge", "call_3"),
            Some(rejected(None))
        );
    }

    #[test]
    fn a_standing_rejection_message_covers_later_calls() {
        let mut decisions = Decisions::default();
        decisions.decide("ops", "purge", "call_1", true, &rejected(Some("Frozen.")));
        assert_eq!(
            decisions.for_call("ops", "purge", "call_7"),
            Some(rejected(Some("Frozen.")))
        );
        assert_eq!(
            decisions.for_call("ops", "purge", "call_1"),
            Some(rejected(Some("Frozen.")))
        );
    }
}

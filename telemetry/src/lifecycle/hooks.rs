//! Lifecycle callbacks: Python's `RunHooks` and `AgentHooks`.
//!
//! A [`RunHooks`] object is given to a run ([`RunOptions::with_hooks`](crate::lifecycle::RunOptions::with_hooks))
//! and sees every agent of it; an [`AgentHooks`] object belongs to one agent
//! ([`AgentInfo::with_hooks`](crate::lifecycle::AgentInfo::with_hooks)). The
//! [lifecycle](crate::lifecycle) API calls them at Python's points, in Python's order, with
//! the current span set as Python has it: the turn span (the agent span without task and turn
//! spans), except the tool's function span for tool callbacks and the handoff span for
//! handoff callbacks:
//!
//! | moment | calls, in order |
//! |---|---|
//! | first turn of an agent stint | `run.on_agent_start(agent)`, `agent.on_start(agent)` |
//! | before a model call | `run.on_llm_start(agent, system_prompt, input_items)`, `agent.on_llm_start(…)` |
//! | after a model call | `agent.on_llm_end(agent, response)`, `run.on_llm_end(…)` (agent hook **first**) |
//! | tool starts | `run.on_tool_start(agent, tool)`, `agent.on_tool_start(…)` |
//! | tool ends | `run.on_tool_end(agent, tool, result)`, `agent.on_tool_end(…)` |
//! | handoff | `run.on_handoff(from_agent, to_agent)`, then the **source** agent's `on_handoff(agent = target, source = source)` |
//! | final output | `run.on_agent_end(agent, output)`, `agent.on_end(agent, output)`, before the turn span ends |
//!
//! Every method has an empty default, so an implementation overrides only what it needs.
//! Hooks are synchronous: they run inline, on the thread making the lifecycle call, with
//! the run's context current.
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use codex_telemetry::hooks::{RunContext, RunHooks};
//! use codex_telemetry::lifecycle::{AgentInfo, ToolInfo};
//!
//! #[derive(Default)]
//! struct CountTools(Mutex<Vec<String>>);
//! impl RunHooks for CountTools {
//!     fn on_tool_end(&self, _: &RunContext, _: &AgentInfo, tool: &ToolInfo, result: &str) {
//!         self.0.lock().unwrap().push(format!("{} -> {result}", tool.name()));
//!     }
//! }
//! let hooks: Arc<dyn RunHooks> = Arc::new(CountTools::default());
//! # let _ = hooks;
//! ```

use serde_json::Value;

pub use super::agent::AgentHooks;
use super::agent::AgentInfo;
use super::items::{Item, ModelResponse};
pub use super::run_context::RunContext;
use super::tool_info::ToolInfo;

/// Callbacks for every agent of a run (Python's `RunHooks`; parameter names as in Python).
///
/// # Examples
///
/// ```
/// use codex_telemetry::hooks::{RunContext, RunHooks};
/// use codex_telemetry::lifecycle::AgentInfo;
///
/// struct Log;
/// impl RunHooks for Log {
///     fn on_handoff(&self, _: &RunContext, from_agent: &AgentInfo, to_agent: &AgentInfo) {
///         assert_ne!(from_agent.name(), to_agent.name());
///     }
/// }
/// Log.on_handoff(&RunContext::default(), &AgentInfo::new("A"), &AgentInfo::new("B"));
/// ```
pub trait RunHooks: Send + Sync {
    /// An agent starts its first turn of a stint.
    fn on_agent_start(&self, context: &RunContext, agent: &AgentInfo) {
        let _ = (context, agent);
    }

    /// An agent produced the run's final output.
    fn on_agent_end(&self, context: &RunContext, agent: &AgentInfo, output: &Value) {
        let _ = (context, agent, output);
    }

    /// A model call is about to be made.
    fn on_llm_start(
        &self,
        context: &RunContext,
        agent: &AgentInfo,
        system_prompt: Option<&str>,
        input_items: &[Item],
    ) {
        let _ = (context, agent, system_prompt, input_items);
    }

    /// A model call returned.
    fn on_llm_end(&self, context: &RunContext, agent: &AgentInfo, response: &ModelResponse) {
        let _ = (context, agent, response);
    }

    /// Control passes from `from_agent` to `to_agent`.
    fn on_handoff(&self, context: &RunContext, from_agent: &AgentInfo, to_agent: &AgentInfo) {
        let _ = (context, from_agent, to_agent);
    }

    /// A tool is about to run.
    fn on_tool_start(&self, context: &RunContext, agent: &AgentInfo, tool: &ToolInfo) {
        let _ = (context, agent, tool);
    }

    /// A tool finished; `result` is Python's `str()` of its output (or the failure
    /// message the model sees).
    fn on_tool_end(&self, context: &RunContext, agent: &AgentInfo, tool: &ToolInfo, result: &str) {
        let _ = (context, agent, tool, result);
    }
}

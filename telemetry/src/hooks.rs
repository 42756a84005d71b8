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

use crate::lifecycle::{AgentInfo, Item, ModelResponse, ToolInfo};
use crate::usage::Usage;

/// What every callback receives first: Python's `RunContextWrapper`, reduced to what the
/// telemetry knows (the run's accumulated usage at the call).
///
/// # Examples
///
/// ```
/// use codex_telemetry::hooks::RunContext;
/// use codex_telemetry::usage::Usage;
///
/// let context = RunContext::new(Usage { requests: 1, ..Usage::default() });
/// assert_eq!(context.usage().requests, 1);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunContext {
    usage: Usage,
}

impl RunContext {
    /// A context carrying `usage`.
    ///
    /// ```
    /// use codex_telemetry::hooks::RunContext;
    ///
    /// assert!(RunContext::new(Default::default()).usage().is_zero());
    /// ```
    pub fn new(usage: Usage) -> Self {
        Self { usage }
    }

    /// The run's usage so far.
    ///
    /// ```
    /// use codex_telemetry::hooks::RunContext;
    ///
    /// assert!(RunContext::default().usage().is_zero());
    /// ```
    pub fn usage(&self) -> &Usage {
        &self.usage
    }
}

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

/// Callbacks for one agent (Python's `AgentHooks`; parameter names as in Python).
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use codex_telemetry::hooks::{AgentHooks, RunContext};
/// use codex_telemetry::lifecycle::AgentInfo;
///
/// struct Greeter;
/// impl AgentHooks for Greeter {
///     fn on_start(&self, _: &RunContext, agent: &AgentInfo) {
///         assert_eq!(agent.name(), "assistant");
///     }
/// }
/// let agent = AgentInfo::new("assistant").with_hooks(Arc::new(Greeter));
/// agent.hooks().unwrap().on_start(&RunContext::default(), &agent);
/// ```
pub trait AgentHooks: Send + Sync {
    /// The agent starts its first turn of a stint.
    fn on_start(&self, context: &RunContext, agent: &AgentInfo) {
        let _ = (context, agent);
    }

    /// The agent produced the run's final output.
    fn on_end(&self, context: &RunContext, agent: &AgentInfo, output: &Value) {
        let _ = (context, agent, output);
    }

    /// This agent hands off: `agent` is the **target**, `source` this agent.
    fn on_handoff(&self, context: &RunContext, agent: &AgentInfo, source: &AgentInfo) {
        let _ = (context, agent, source);
    }

    /// One of the agent's tools is about to run.
    fn on_tool_start(&self, context: &RunContext, agent: &AgentInfo, tool: &ToolInfo) {
        let _ = (context, agent, tool);
    }

    /// One of the agent's tools finished; `result` as in [`RunHooks::on_tool_end`].
    fn on_tool_end(&self, context: &RunContext, agent: &AgentInfo, tool: &ToolInfo, result: &str) {
        let _ = (context, agent, tool, result);
    }

    /// The agent is about to call the model.
    fn on_llm_start(
        &self,
        context: &RunContext,
        agent: &AgentInfo,
        system_prompt: Option<&str>,
        input_items: &[Item],
    ) {
        let _ = (context, agent, system_prompt, input_items);
    }

    /// The agent's model call returned.
    fn on_llm_end(&self, context: &RunContext, agent: &AgentInfo, response: &ModelResponse) {
        let _ = (context, agent, response);
    }
}

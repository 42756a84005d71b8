//! The run: trace, task span, agent stints and the run's end.

use std::fmt;
use std::sync::Arc;

use serde_json::{Value, json};

use super::agent::AgentInfo;
use super::errors::RunAgentError;
use super::guardrails;
use super::hooks::RunHooks;
use super::items::Item;
use super::state::{RunCore, RunSetup};
use super::tool_info::McpListing;
use super::turn::Turn;
use super::usage::Usage;
use crate::events::{EventFields, EventTimer, Events, Namespace, Originator};
use crate::model::config::{EnvConfig, RunConfig};
use crate::model::span_data::{CustomSpanData, JsonMap, TaskSpanData};
use crate::model::span_error::SpanError;
use crate::sdk::context::{Context, FrameId, OwnedContext, current_trace};
use crate::sdk::log::agents_debug;
use crate::sdk::provider::TraceProvider;
use crate::sdk::span::{Span, SpanOptions, TypedSpan};
use crate::sdk::trace::{Trace, TraceOptions};

/// Python's `DEFAULT_MAX_TURNS`.
pub const DEFAULT_MAX_TURNS: u32 = 10;

/// Starts runs: holds the provider their traces and spans go to and the environment
/// snapshot that shapes their logs (Python's `Runner` together with its process state).
///
/// # Examples
///
/// ```
/// use codex_telemetry::config::EnvConfig;
/// use codex_telemetry::lifecycle::{AgentInfo, Item, ModelResponse, RunOptions, Runner};
/// use codex_telemetry::{InMemoryProcessor, TraceProvider};
///
/// let memory = InMemoryProcessor::new();
/// let provider = TraceProvider::builder().with_processor(memory.clone()).build();
/// let runner = Runner::new(provider, EnvConfig::default());
///
/// let mut run = runner.start_run(RunOptions::new().with_input(vec![Item::user_message("Hi")]));
/// let agent = AgentInfo::new("assistant");
/// run.start_agent(&agent);
/// let outcome = (|| {
///     let mut turn = run.start_turn()?;
///     let call = turn.start_model_call(Default::default());
///     let processed = call.finish(ModelResponse::new(vec![Item::assistant_message("Hello.")]))?;
///     let output = serde_json::json!(processed.final_text().unwrap_or(""));
///     turn.final_output(&output);
///     turn.end();
///     Ok(output)
/// })();
/// assert_eq!(run.finish(outcome).unwrap(), "Hello.");
/// // trace, task, agent, turn, generation: 1 trace + 4 spans, each started and ended
/// assert_eq!(memory.events().len(), 10);
/// ```
#[derive(Debug, Clone)]
pub struct Runner {
    provider: TraceProvider,
    env: EnvConfig,
    events: Events,
}

impl Runner {
    /// A runner recording to `provider`, with `env` for its log and metadata switches.
    ///
    /// `env` is not applied to the provider: build it with
    /// [`with_disabled(env.tracing_disabled())`](crate::TraceProviderBuilder::with_disabled)
    /// to honour `OPENAI_AGENTS_DISABLE_TRACING`.
    ///
    /// ```
    /// use codex_telemetry::config::EnvConfig;
    /// use codex_telemetry::lifecycle::Runner;
    /// use codex_telemetry::TraceProvider;
    ///
    /// let runner = Runner::new(TraceProvider::new(), EnvConfig::default());
    /// assert!(!runner.provider().is_disabled());
    /// ```
    pub fn new(provider: TraceProvider, env: EnvConfig) -> Self {
        let events = Events::new(provider.clone());
        Self {
            provider,
            env,
            events,
        }
    }

    /// Emits [Codex lifecycle events](crate::events) through `events` (for instance
    /// [`Events::disabled`], or another originator) instead of the default: the provider's
    /// clock and ids, the process's originator.
    ///
    /// ```
    /// use codex_telemetry::config::EnvConfig;
    /// use codex_telemetry::events::Events;
    /// use codex_telemetry::lifecycle::Runner;
    /// use codex_telemetry::TraceProvider;
    ///
    /// let _quiet = Runner::new(TraceProvider::new(), EnvConfig::default()).with_events(Events::disabled());
    /// ```
    pub fn with_events(mut self, events: Events) -> Self {
        self.events = events;
        self
    }

    /// The provider runs record to.
    ///
    /// ```
    /// use codex_telemetry::config::EnvConfig;
    /// use codex_telemetry::lifecycle::Runner;
    /// use codex_telemetry::TraceProvider;
    ///
    /// let runner = Runner::new(TraceProvider::builder().with_disabled(true).build(), EnvConfig::default());
    /// assert!(runner.provider().is_disabled());
    /// ```
    pub fn provider(&self) -> &TraceProvider {
        &self.provider
    }

    /// The environment snapshot.
    ///
    /// ```
    /// use codex_telemetry::config::EnvConfig;
    /// use codex_telemetry::lifecycle::Runner;
    /// use codex_telemetry::TraceProvider;
    ///
    /// assert!(Runner::new(TraceProvider::new(), EnvConfig::default()).env().dont_log_tool_data());
    /// ```
    pub fn env(&self) -> &EnvConfig {
        &self.env
    }

    /// Starts a run (Python's `Runner.run` / `Runner.run_streamed` up to the first agent),
    /// in the caller's current context, which the run's own context starts from (see
    /// [`Run`]):
    ///
    /// * With [`RunConfig::tracing_disabled`]: a no-op trace becomes current in the run and
    ///   a disabled `Agent run` span masks whatever span was current (DEBUG `Tracing is
    ///   disabled. Not creating trace`, `Setting current trace`, `Tracing is disabled. Not
    ///   creating span`; a streamed run logs Python's longer sequence).
    /// * Otherwise, when no trace is current: a trace named by the workflow name, with the
    ///   config's trace id, group id and metadata (plus `agent_harness_id` from the
    ///   environment), started and made current in the run. Inside a current trace (a user
    ///   `trace()`, or an outer run's context): no trace and no trace events.
    /// * Then, unless task and turn spans are off, the task span (`custom` span `task`
    ///   named by the workflow name) is started, the run's current span.
    ///
    /// When it returns, the caller's context is what it was: the run's trace and spans are
    /// current only inside the run's calls and the contexts it gives out.
    ///
    /// ```
    /// use codex_telemetry::config::{EnvConfig, RunConfig};
    /// use codex_telemetry::lifecycle::{RunOptions, Runner};
    /// use codex_telemetry::{EventKind, InMemoryProcessor, TraceProvider};
    ///
    /// let memory = InMemoryProcessor::new();
    /// let runner = Runner::new(TraceProvider::builder().with_processor(memory.clone()).build(), EnvConfig::default());
    /// let run = runner.start_run(RunOptions::new().with_config(RunConfig::new().with_workflow_name("Support chat")));
    /// let events = memory.events();
    /// assert_eq!(events[0].kind, EventKind::TraceStart);
    /// assert_eq!(events[1].data["span_data"]["data"]["name"], "Support chat");
    /// drop(run);
    /// ```
    pub fn start_run(&self, options: RunOptions) -> Run {
        Run::start_with(self.clone(), options, false, false)
    }

    /// Lists an MCP server's tools outside any run, in the current context: Python's
    /// `RunState.from_json` lists the current agent's MCP tools while it rebuilds the state
    /// (outside a trace the provider logs that it returns a no-op span).
    ///
    /// ```
    /// use codex_telemetry::config::EnvConfig;
    /// use codex_telemetry::lifecycle::{McpListing, Runner};
    /// use codex_telemetry::{InMemoryProcessor, TraceProvider};
    ///
    /// let memory = InMemoryProcessor::new();
    /// let runner = Runner::new(TraceProvider::builder().with_processor(memory.clone()).build(), EnvConfig::default());
    /// runner.list_mcp_tools(&McpListing::new("files", Some(vec!["read_file".into()])));
    /// assert!(memory.events().is_empty(), "no trace, no span");
    /// ```
    pub fn list_mcp_tools(&self, listing: &McpListing) {
        listing.emit(&self.provider);
    }
}

/// How to run: the [`RunConfig`], the input items, the turn limit, streamed or not, and the
/// run hooks.
///
/// # Examples
///
/// ```
/// use codex_telemetry::lifecycle::{Item, RunOptions};
///
/// let options = RunOptions::new()
///     .with_input(vec![Item::user_message("Hi")])
///     .with_max_turns(Some(2))
///     .with_streamed(true);
/// # let _ = options;
/// ```
#[derive(Clone)]
pub struct RunOptions {
    config: RunConfig,
    input: Vec<Item>,
    max_turns: Option<u32>,
    streamed: bool,
    drained: bool,
    session: bool,
    hooks: Option<Arc<dyn RunHooks>>,
    thread_id: Option<String>,
    originator: Option<Originator>,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl RunOptions {
    pub(super) fn streamed(&self) -> bool {
        self.streamed
    }

    pub(super) fn config(&self) -> &RunConfig {
        &self.config
    }

    pub(super) fn config_mut(&mut self) -> &mut RunConfig {
        &mut self.config
    }

    /// [`RunConfig::new`], no input, [`DEFAULT_MAX_TURNS`], not streamed, no hooks.
    ///
    /// ```
    /// use codex_telemetry::lifecycle::RunOptions;
    ///
    /// let _options = RunOptions::new();
    /// ```
    pub fn new() -> Self {
        Self {
            config: RunConfig::new(),
            input: Vec::new(),
            max_turns: Some(DEFAULT_MAX_TURNS),
            streamed: false,
            drained: true,
            session: false,
            hooks: None,
            thread_id: None,
            originator: None,
        }
    }

    /// Uses `config`.
    ///
    /// ```
    /// use codex_telemetry::config::RunConfig;
    /// use codex_telemetry::lifecycle::RunOptions;
    ///
    /// let _options = RunOptions::new().with_config(RunConfig::new().with_group_id("g"));
    /// ```
    pub fn with_config(mut self, config: RunConfig) -> Self {
        self.config = config;
        self
    }

    /// The run's input items (the first model call's `input_items`).
    ///
    /// ```
    /// use codex_telemetry::lifecycle::{Item, RunOptions};
    ///
    /// let _options = RunOptions::new().with_input(vec![Item::user_message("Hi")]);
    /// ```
    pub fn with_input(mut self, input: Vec<Item>) -> Self {
        self.input = input;
        self
    }

    /// The turn limit; `None` for none.
    ///
    /// ```
    /// use codex_telemetry::lifecycle::RunOptions;
    ///
    /// let _options = RunOptions::new().with_max_turns(None);
    /// ```
    pub fn with_max_turns(mut self, max_turns: Option<u32>) -> Self {
        self.max_turns = max_turns;
        self
    }

    /// Streamed (`Runner.run_streamed`) instead of a plain run: different turn log lines,
    /// input guardrails under the agent span, and Python's streamed no-op sequence.
    ///
    /// ```
    /// use codex_telemetry::lifecycle::RunOptions;
    ///
    /// let _options = RunOptions::new().with_streamed(true);
    /// ```
    pub fn with_streamed(mut self, streamed: bool) -> Self {
        self.streamed = streamed;
        self
    }

    /// The thread (conversation, session) the run belongs to: the `thread.id` of its
    /// [Codex events](crate::events). A fresh `thread_…` id when not given (a resumed run
    /// keeps its state's).
    ///
    /// ```
    /// use codex_telemetry::lifecycle::RunOptions;
    ///
    /// let _options = RunOptions::new().with_thread_id("thread_support_42");
    /// ```
    pub fn with_thread_id(mut self, thread_id: impl Into<String>) -> Self {
        self.thread_id = Some(thread_id.into());
        self
    }

    /// The `originator` of the run's Codex events, instead of the runner's.
    ///
    /// ```
    /// use codex_telemetry::events::Originator;
    /// use codex_telemetry::lifecycle::RunOptions;
    ///
    /// let _options = RunOptions::new().with_originator(Originator::Cli);
    /// ```
    pub fn with_originator(mut self, originator: Originator) -> Self {
        self.originator = Some(originator);
        self
    }

    pub(super) fn thread_id_mut(&mut self) -> &mut Option<String> {
        &mut self.thread_id
    }

    /// Whether a streamed run's events are read (the default). When nobody reads them (the
    /// caller awaits the run's task instead), no consumer logs `Breaking due to stored
    /// exception` when the run stores an error, and a run that exceeds its turn limit ends
    /// without raising ([`Run::finish`] returns `Ok(null)`: only the events carry
    /// `MaxTurnsExceeded`); everything else is the same.
    ///
    /// ```
    /// use codex_telemetry::lifecycle::RunOptions;
    ///
    /// let _options = RunOptions::new().with_streamed(true).with_events_drained(false);
    /// ```
    pub fn with_events_drained(mut self, drained: bool) -> Self {
        self.drained = drained;
        self
    }

    /// The run persists its items to a session (Python's `session=`): in a run that is not
    /// streamed, each turn that does not end the run logs `Persisting turn items (types=[…])`
    /// with the Python item types of the turn's new items. Loading the session's history is the SDK's: pass it in
    /// [`with_input`](RunOptions::with_input) before the new input.
    ///
    /// ```
    /// use codex_telemetry::lifecycle::RunOptions;
    ///
    /// let _options = RunOptions::new().with_session(true);
    /// ```
    pub fn with_session(mut self, session: bool) -> Self {
        self.session = session;
        self
    }

    /// The run hooks.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use codex_telemetry::hooks::RunHooks;
    /// use codex_telemetry::lifecycle::RunOptions;
    ///
    /// struct Quiet;
    /// impl RunHooks for Quiet {}
    /// let _options = RunOptions::new().with_hooks(Arc::new(Quiet));
    /// ```
    pub fn with_hooks(mut self, hooks: Arc<dyn RunHooks>) -> Self {
        self.hooks = Some(hooks);
        self
    }
}

impl fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunOptions")
            .field("config", &self.config)
            .field("input", &self.input)
            .field("max_turns", &self.max_turns)
            .field("streamed", &self.streamed)
            .field("session", &self.session)
            .field("hooks", &self.hooks.is_some())
            .finish()
    }
}

/// A running agent run: owns its trace (if it made one), task span and current agent
/// span, counts turns and usage, and keeps the conversation items.
///
/// Drive it with [`start_agent`](Run::start_agent), [`start_turn`](Run::start_turn) (one
/// [`Turn`] at a time), [`run_output_guardrails`](Run::run_output_guardrails), and end it
/// with [`finish`](Run::finish), which applies Python's error placement. Dropping an
/// unfinished run ends its spans and trace without any error.
///
/// # Context, threads and async
///
/// A run keeps its own [`Context`]: the caller's context when it started, with the run's
/// trace and its open spans (task, agent, turn, generation) on top, the way Python keeps
/// them in the run task's context variables. Each lifecycle call makes that context current
/// on the calling thread for the duration of the call, so the spans it creates, the log
/// lines it emits and the hooks it calls see the run's current trace and span; when the
/// call returns, the thread's context is the caller's again. The run holds no thread-local
/// guard, so `Run` (like [`Turn`], [`ModelCall`](super::ModelCall) and
/// [`ToolBatch`](super::ToolBatch)) is `Send` and `Sync`: it can be held across `.await`s
/// in a spawned task and move between worker threads.
///
/// Work the SDK does between calls runs in the context it attaches: [`Run::context`],
/// [`Turn::context`], [`ModelCall::context`](super::ModelCall::context) and
/// [`ToolBatch::context`](super::ToolBatch::context) return it, to
/// [`attach`](Context::attach), [`run`](Context::run) or give to a future with
/// [`in_context`](crate::context::InContextExt::in_context).
///
/// ```
/// use codex_telemetry::config::EnvConfig;
/// use codex_telemetry::lifecycle::{AgentInfo, RunOptions, Runner};
/// use codex_telemetry::{current_span, current_trace, TraceProvider};
///
/// fn assert_send_sync<T: Send + Sync>(_: &T) {}
///
/// let runner = Runner::new(TraceProvider::new(), EnvConfig::default());
/// let mut run = runner.start_run(RunOptions::new());
/// assert_send_sync(&run);
/// assert!(current_trace().is_none(), "the caller's context is unchanged");
/// run.start_agent(&AgentInfo::new("assistant"));
/// // The run's current span (its agent span), for the SDK's own work:
/// let span_type = run.context().run(|| current_span().unwrap().data().unwrap().span_type());
/// assert_eq!(span_type, "agent");
/// // Moving to another thread in the middle of the run:
/// let run = std::thread::spawn(move || {
///     run.start_turn().unwrap().end();
///     run
/// })
/// .join()
/// .unwrap();
/// run.finish(Ok(serde_json::json!("done"))).unwrap();
/// ```
pub struct Run {
    /// What the run shares with its turns, model calls, tool batches and guardrails.
    core: RunCore,
    max_turns: Option<u32>,
    task: Option<(TypedSpan<TaskSpanData>, Option<FrameId>)>,
    /// `codex.thread.start`'s timer, ended by `finish` or `interrupt`.
    thread_event: Option<EventTimer>,
    mask: Option<SpanFrame>,
    trace: Option<TraceFrame>,
    closed: bool,
}

/// A trace the run started, and its frame in the run's context (if it was made current).
type TraceFrame = (Trace, Option<FrameId>);

/// A span the run started, and its frame in the run's context (if it was made current).
type SpanFrame = (Span, Option<FrameId>);

// === impl Run ===

/// # Starting
impl Run {
    /// Starts a run; `reattach`: its trace is the one its config names, which this
    /// provider already started (a resumed run).
    pub(super) fn start_with(
        runner: Runner,
        options: RunOptions,
        reattach: bool,
        resumed: bool,
    ) -> Self {
        let RunOptions {
            config,
            input,
            max_turns,
            streamed,
            drained,
            session,
            hooks,
            thread_id,
            originator,
        } = options;
        let mut scope = OwnedContext::new(Context::current());
        let _attached = scope.attach();
        let provider = runner.provider.clone();
        let (trace, mask) = if config.tracing_disabled {
            Self::mask_tracing(&mut scope, &provider, &config, streamed, resumed)
        } else if current_trace().is_none() {
            let metadata = runner
                .env
                .metadata_with_harness_id(config.trace_metadata.clone());
            let mut options = TraceOptions::new(config.workflow_name.clone());
            if let Some(trace_id) = &config.trace_id {
                options = options.with_trace_id(trace_id.clone());
            }
            if let Some(group_id) = &config.group_id {
                options = options.with_group_id(group_id.clone());
            }
            if let Some(metadata) = metadata {
                options = options.with_metadata(metadata);
            }
            let trace = if reattach {
                provider.reattach_trace(options)
            } else {
                provider.trace(options)
            };
            let frame = scope.start_trace(&trace);
            (Some((trace, frame)), None)
        } else {
            (None, None)
        };
        let task = config.include_task_and_turn_spans.then(|| {
            let span = provider.span(TaskSpanData::new(config.workflow_name.clone()));
            let frame = scope.start_span(&span);
            (span, frame)
        });
        let mut events = runner.events.clone();
        if let Some(originator) = originator {
            events = events.with_originator(originator);
        }
        // A given thread id is always kept (a resumed run's state carries it); a fresh one only
        // for events that go out.
        match thread_id {
            Some(thread_id) => events = events.with_thread_id(thread_id),
            None if events.is_enabled() => events = events.with_thread_id(events.new_thread_id()),
            None => {}
        }
        let thread_event = events.is_recording().then(|| {
            let fields = EventFields {
                workflow: Some(config.workflow_name.clone()),
                streamed: Some(streamed),
                resumed: Some(resumed),
                ..EventFields::default()
            };
            events.start(Namespace::Thread, fields)
        });
        let core = RunCore::new(RunSetup {
            provider,
            env: runner.env,
            config,
            streamed,
            session,
            drained,
            hooks,
            scope,
            input,
            events,
        });
        Self {
            core,
            max_turns,
            task,
            thread_event,
            mask,
            trace,
            closed: false,
        }
    }

    /// `RunConfig.tracing_disabled`: Python's `TraceCtxManager(disabled=True)`, which makes
    /// a no-op trace current and masks the current span with a disabled `Agent run` span.
    fn mask_tracing(
        scope: &mut OwnedContext,
        provider: &TraceProvider,
        config: &RunConfig,
        streamed: bool,
        resumed: bool,
    ) -> (Option<TraceFrame>, Option<SpanFrame>) {
        let disabled_trace = || {
            provider
                .create_trace(TraceOptions::new(config.workflow_name.clone()).with_disabled(true))
        };
        let masking_span = |scope: &mut OwnedContext| {
            let span = provider
                .create_span(
                    CustomSpanData::new("Agent run"),
                    SpanOptions::new().with_disabled(true),
                )
                .into_span();
            let frame = scope.start_span(&span);
            (span, frame)
        };
        if streamed {
            // `run_streamed` masks the caller during its synchronous setup, where it also
            // creates the run's (no-op) trace; the background task then masks again and
            // starts that trace.
            let setup_trace = disabled_trace();
            let setup_trace_frame = scope.start_trace(&setup_trace);
            let (setup_mask, setup_mask_frame) = masking_span(scope);
            if resumed {
                // A resumed state is read inside the masked setup.
                agents_debug!("Resuming from RunState in run_streaming()");
            }
            let run_trace = disabled_trace();
            scope.end_span(&setup_mask, setup_mask_frame);
            scope.end_trace(&setup_trace, setup_trace_frame);
            let mask = masking_span(scope);
            let frame = scope.start_trace(&run_trace);
            (Some((run_trace, frame)), Some(mask))
        } else {
            let trace = disabled_trace();
            let frame = scope.start_trace(&trace);
            (Some((trace, frame)), Some(masking_span(scope)))
        }
    }
}

/// # Agents and turns
impl Run {
    /// Starts a stint of `agent`: ends the current agent span, if any (after a handoff),
    /// and starts a new one, the run's current span, with `handoffs`/`tools` `[]` (filled in at its model
    /// call) and its output type. Its first turn calls the agent-start hooks.
    ///
    /// ```
    /// use codex_telemetry::config::EnvConfig;
    /// use codex_telemetry::lifecycle::{AgentInfo, RunOptions, Runner};
    /// use codex_telemetry::{InMemoryProcessor, TraceProvider};
    ///
    /// let memory = InMemoryProcessor::new();
    /// let runner = Runner::new(TraceProvider::builder().with_processor(memory.clone()).build(), EnvConfig::default());
    /// let mut run = runner.start_run(RunOptions::new());
    /// run.start_agent(&AgentInfo::new("triage"));
    /// let agent = &memory.events()[2].data["span_data"];
    /// assert_eq!(agent["name"], "triage");
    /// assert_eq!(agent["tools"], serde_json::json!([]));
    /// ```
    pub fn start_agent(&mut self, agent: &AgentInfo) {
        let _attached = self.core.attach();
        self.core.start_stint(agent);
    }

    /// Starts the next turn of the current agent (turn numbers count across agents).
    ///
    /// Past the turn limit it puts `Max turns exceeded` `{"max_turns": N}` on the agent span
    /// and returns `MaxTurnsExceeded`. Otherwise it logs `Running agent X (turn N)`
    /// (streamed: `Starting turn N, current_agent=X`) and starts the turn span (current). On
    /// the stint's first turn, `on_agent_start` (run hooks, then agent hooks) follows at the
    /// turn's first call other than [`Turn::run_blocking_input_guardrails`].
    ///
    /// # Panics
    ///
    /// If no agent was started ([`start_agent`](Run::start_agent)).
    ///
    /// ```
    /// use codex_telemetry::config::EnvConfig;
    /// use codex_telemetry::lifecycle::{AgentInfo, RunOptions, Runner};
    /// use codex_telemetry::TraceProvider;
    ///
    /// let runner = Runner::new(TraceProvider::new(), EnvConfig::default());
    /// let mut run = runner.start_run(RunOptions::new().with_max_turns(Some(1)));
    /// run.start_agent(&AgentInfo::new("looper"));
    /// run.start_turn().unwrap().end();
    /// let error = run.start_turn().unwrap_err();
    /// assert_eq!((error.name(), error.message()), ("MaxTurnsExceeded", "Max turns (1) exceeded"));
    /// ```
    pub fn start_turn(&mut self) -> Result<Turn<'_>, RunAgentError> {
        let _attached = self.core.attach();
        assert!(
            self.core.current_stint().is_some(),
            "Run::start_turn called before Run::start_agent"
        );
        let number = self.core.next_turn();
        if let Some(max_turns) = self.max_turns
            && number > max_turns
        {
            self.core.max_turns_exceeded(max_turns);
            return Err(RunAgentError::max_turns_exceeded(max_turns));
        }
        Ok(Turn::start(&mut self.core))
    }

    /// Runs blocking input guardrails (Python's `run_in_parallel=False`) of a streamed run,
    /// before its first turn: one `guardrail` span each under the agent span, before the
    /// `Starting turn` line. The first tripped one puts `Guardrail tripwire triggered`
    /// `{"guardrail": name, "type": "input_guardrail"}` on the agent span and this returns
    /// `InputGuardrailTripwireTriggered`: no turn starts.
    ///
    /// # Panics
    ///
    /// In a run that is not streamed (use [`Turn::run_blocking_input_guardrails`] there),
    /// before [`start_agent`](Run::start_agent), or once a turn has started.
    ///
    /// ```
    /// use codex_telemetry::config::EnvConfig;
    /// use codex_telemetry::lifecycle::{AgentInfo, RunOptions, Runner};
    /// use codex_telemetry::TraceProvider;
    ///
    /// let runner = Runner::new(TraceProvider::new(), EnvConfig::default());
    /// let mut run = runner.start_run(RunOptions::new().with_streamed(true));
    /// run.start_agent(&AgentInfo::new("assistant"));
    /// assert!(run.run_blocking_input_guardrails(["polite"], |_| false).is_ok());
    /// assert!(run.start_turn().is_ok());
    /// ```
    pub fn run_blocking_input_guardrails<I, S>(
        &mut self,
        guardrails: I,
        check: impl FnMut(&str) -> bool,
    ) -> Result<(), RunAgentError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        assert!(
            self.core.is_streamed(),
            "Run::run_blocking_input_guardrails in a run that is not streamed: call Turn::run_blocking_input_guardrails in the first turn"
        );
        assert!(
            self.core.current_turn() == 0,
            "Run::run_blocking_input_guardrails after a turn started: Python runs them before the first turn"
        );
        let _attached = self.core.attach();
        match guardrails::run_under_agent_span(&self.core, guardrails, check) {
            Some(name) => Err(RunAgentError::input_guardrail_tripwire(name)),
            None => Ok(()),
        }
    }

    /// Runs the current agent's output guardrails on its final output, after the last turn
    /// ended: one `guardrail` span each (children of the agent span), `triggered` set from
    /// `check`. The first tripped guardrail puts `Guardrail tripwire triggered`
    /// `{"guardrail": name}` on the agent span and returns `OutputGuardrailTripwireTriggered`.
    ///
    /// ```
    /// use codex_telemetry::config::EnvConfig;
    /// use codex_telemetry::lifecycle::{AgentInfo, RunOptions, Runner};
    /// use codex_telemetry::TraceProvider;
    ///
    /// let runner = Runner::new(TraceProvider::new(), EnvConfig::default());
    /// let mut run = runner.start_run(RunOptions::new());
    /// run.start_agent(&AgentInfo::new("assistant"));
    /// let error = run.run_output_guardrails(["no_secrets"], |_| true).unwrap_err();
    /// assert_eq!(error.name(), "OutputGuardrailTripwireTriggered");
    /// assert_eq!(error.guardrail(), Some("no_secrets"));
    /// ```
    pub fn run_output_guardrails<I, S>(
        &mut self,
        guardrails: I,
        check: impl FnMut(&str) -> bool,
    ) -> Result<(), RunAgentError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let _attached = self.core.attach();
        guardrails::run_under_current_span(
            &self.core,
            guardrails,
            check,
            RunAgentError::output_guardrail_tripwire,
        )
    }
}

/// # State
impl Run {
    /// What the session holds of this run's conversation (with
    /// [`RunOptions::with_session`]): the input, then the items of each turn that ended
    /// (of a turn interrupted for approvals, what ran: not the calls waiting). A run that
    /// fails keeps the turns before the failing one; a completed run keeps everything. The
    /// next run's input starts with it.
    ///
    /// ```
    /// use codex_telemetry::config::EnvConfig;
    /// use codex_telemetry::lifecycle::{AgentInfo, Item, RunOptions, Runner};
    /// use codex_telemetry::TraceProvider;
    ///
    /// let runner = Runner::new(TraceProvider::new(), EnvConfig::default());
    /// let mut run = runner.start_run(
    ///     RunOptions::new().with_session(true).with_input(vec![Item::user_message("Hi")]),
    /// );
    /// run.start_agent(&AgentInfo::new("a"));
    /// assert_eq!(run.session_items(), [Item::user_message("Hi")]);
    /// ```
    pub fn session_items(&self) -> &[Item] {
        self.core.persisted_items()
    }

    /// The conversation so far: the input, then every model output item and tool or
    /// handoff result, in Python's order.
    ///
    /// ```
    /// use codex_telemetry::config::EnvConfig;
    /// use codex_telemetry::lifecycle::{Item, RunOptions, Runner};
    /// use codex_telemetry::TraceProvider;
    ///
    /// let runner = Runner::new(TraceProvider::new(), EnvConfig::default());
    /// let run = runner.start_run(RunOptions::new().with_input(vec![Item::user_message("Hi")]));
    /// assert_eq!(run.items().len(), 1);
    /// ```
    pub fn items(&self) -> &[Item] {
        self.core.items()
    }

    /// The usage of the run's model calls so far.
    ///
    /// ```
    /// use codex_telemetry::config::EnvConfig;
    /// use codex_telemetry::lifecycle::{RunOptions, Runner};
    /// use codex_telemetry::TraceProvider;
    ///
    /// let run = Runner::new(TraceProvider::new(), EnvConfig::default()).start_run(RunOptions::new());
    /// assert!(run.usage().is_zero());
    /// ```
    pub fn usage(&self) -> &Usage {
        self.core.usage()
    }

    /// The number of the last turn started (0 before the first).
    ///
    /// ```
    /// use codex_telemetry::config::EnvConfig;
    /// use codex_telemetry::lifecycle::{RunOptions, Runner};
    /// use codex_telemetry::TraceProvider;
    ///
    /// let run = Runner::new(TraceProvider::new(), EnvConfig::default()).start_run(RunOptions::new());
    /// assert_eq!(run.current_turn(), 0);
    /// ```
    pub fn current_turn(&self) -> u32 {
        self.core.current_turn()
    }

    /// The current agent, if one was started.
    ///
    /// ```
    /// use codex_telemetry::config::EnvConfig;
    /// use codex_telemetry::lifecycle::{AgentInfo, RunOptions, Runner};
    /// use codex_telemetry::TraceProvider;
    ///
    /// let mut run = Runner::new(TraceProvider::new(), EnvConfig::default()).start_run(RunOptions::new());
    /// run.start_agent(&AgentInfo::new("a"));
    /// assert_eq!(run.current_agent().unwrap().name(), "a");
    /// ```
    pub fn current_agent(&self) -> Option<&AgentInfo> {
        self.core.current_stint().map(|stint| stint.agent())
    }

    /// The run's current context: its trace (or the caller's, inside a current trace)
    /// and its innermost open span (the agent span between turns, the task span before the
    /// first agent; the caller's span without task and turn spans). Attach it to run the
    /// SDK's own work "inside" the run: spans created there become children of that span,
    /// and log lines and hooks see its ids.
    ///
    /// It is a snapshot: it does not follow the run's later steps. While a [`Turn`] is
    /// open, use [`Turn::context`] and the contexts of its model call and tool calls.
    ///
    /// ```
    /// use codex_telemetry::config::EnvConfig;
    /// use codex_telemetry::lifecycle::{AgentInfo, RunOptions, Runner};
    /// use codex_telemetry::{current_span, CustomSpanData, TraceProvider};
    ///
    /// let provider = TraceProvider::new();
    /// let mut run = Runner::new(provider.clone(), EnvConfig::default()).start_run(RunOptions::new());
    /// run.start_agent(&AgentInfo::new("a"));
    /// let context = run.context();
    /// let agent_id = context.span().unwrap().id().to_owned();
    /// let child = context.run(|| provider.span(CustomSpanData::new("lookup")));
    /// assert_eq!(child.parent_id(), Some(agent_id.as_str()));
    /// assert!(current_span().is_none()); // nothing is current outside the run's calls
    /// ```
    pub fn context(&self) -> Context {
        self.core.context()
    }

    /// The state the run shares with its handles (for the approvals' interrupt and resume).
    pub(super) fn core(&self) -> &RunCore {
        &self.core
    }

    /// [`core`](Run::core), mutably.
    pub(super) fn core_mut(&mut self) -> &mut RunCore {
        &mut self.core
    }
}

/// # Finishing
impl Run {
    /// Ends the run with its outcome and returns it.
    ///
    /// On an error that is not a tripwire or model misbehaviour (a model error, max turns),
    /// the agent span gets `Error in agent run` `{"error": message}` (`"Error details are
    /// redacted."` without sensitive data) unless it already has an error. A streamed run
    /// whose input guardrail tripped logs `Error finalizing streamed result` and returns
    /// that tripwire. Then the agent span ends, the task span ends with the run's usage
    /// (when non-zero), and the run's trace (if it made one) ends.
    ///
    /// ```
    /// use codex_telemetry::config::EnvConfig;
    /// use codex_telemetry::lifecycle::{AgentInfo, RunOptions, Runner};
    /// use codex_telemetry::{InMemoryProcessor, CallModelError, TraceProvider};
    ///
    /// let memory = InMemoryProcessor::new();
    /// let runner = Runner::new(TraceProvider::builder().with_processor(memory.clone()).build(), EnvConfig::default());
    /// let mut run = runner.start_run(RunOptions::new());
    /// run.start_agent(&AgentInfo::new("assistant"));
    /// let error = run.finish(Err(CallModelError::new("ModelUnavailable", "503").into())).unwrap_err();
    /// assert_eq!(error.name(), "ModelUnavailable");
    /// let agent_end = &memory.events()[3].data;
    /// assert_eq!(agent_end["error"], serde_json::json!({"message": "Error in agent run", "data": {"error": "503"}}));
    /// ```
    pub fn finish(mut self, outcome: Result<Value, RunAgentError>) -> Result<Value, RunAgentError> {
        let _attached = self.core.attach();
        let stored_error = self.core.take_stored_error();
        let finalizing_failed = self.core.is_streamed() && stored_error.is_some();
        let outcome = match (outcome, stored_error) {
            (Ok(_), Some(stored)) => Err(stored),
            (outcome, _) => outcome,
        };
        if let (Err(error), Some(stint)) = (&outcome, self.core.current_stint())
            && error.is_generic_agent_error()
            && stint.span().error().is_none()
        {
            let detail = self.core.error_detail(error.message());
            stint.span().set_error(
                SpanError::new("Error in agent run")
                    .with_data(JsonMap::from_iter([("error".into(), json!(detail))])),
            );
        }
        if finalizing_failed {
            // Python logs the error only when it logs both model and tool data.
            match &outcome {
                Err(error) if self.core.env().logs_span_data() => {
                    agents_debug!("Error finalizing streamed result: {}", error.message());
                }
                _ => agents_debug!("Error finalizing streamed result"),
            }
        }
        self.end_events(&outcome);
        self.close();
        if self.core.breaks_after_close() {
            self.core
                .log_in_caller_context(|| agents_debug!("Breaking due to stored exception"));
        }
        match outcome {
            // Python's streamed loop ends the stream at the turn limit without raising: only a
            // consumer of the events gets `MaxTurnsExceeded`. Awaiting the run's task instead
            // gives a completed run with no final output.
            Err(error)
                if self.core.is_streamed()
                    && !self.core.is_drained()
                    && error.is_max_turns_exceeded() =>
            {
                Ok(Value::Null)
            }
            outcome => outcome,
        }
    }

    /// Ends the run's Codex events: the failed turn's exception, then the thread's stop or
    /// exception.
    fn end_events(&mut self, outcome: &Result<Value, RunAgentError>) {
        let error = |core: &RunCore, error: &RunAgentError| {
            (error.name().to_owned(), core.error_detail(error.message()))
        };
        if let Some(turn) = self.core.take_failed_turn() {
            let (kind, message) = match outcome {
                Err(e) => error(&self.core, e),
                Ok(_) => ("unknown".to_owned(), String::new()),
            };
            turn.exception(kind, message, EventFields::new());
        }
        if let Some(thread) = self.thread_event.take() {
            match outcome {
                Ok(_) => thread.stop(EventFields::new().outcome("completed")),
                Err(e) => {
                    let (kind, message) = error(&self.core, e);
                    thread.exception(kind, message, EventFields::new());
                }
            }
        }
    }

    /// Ends `codex.thread` for an interruption.
    pub(super) fn end_thread_interrupted(&mut self) {
        if let Some(thread) = self.thread_event.take() {
            thread.stop(EventFields::new().outcome("interrupted"));
        }
    }

    /// Ends what is still open, innermost first (in the run's context: the caller
    /// attaches it).
    pub(super) fn close(&mut self) {
        if self.closed {
            return;
        }
        self.closed = true;
        self.core.end_stint();
        if let Some((span, frame)) = self.task.take() {
            // The task span's usage is this run's, not that of the runs it resumes.
            if let Some(usage) = self.core.own_usage().task_span_data() {
                span.update(|task| task.usage = Some(usage));
            }
            self.core.end_span(&span, frame);
        }
        if let Some((mask, frame)) = self.mask.take() {
            self.core.end_span(&mask, frame);
        }
        if let Some((trace, frame)) = self.trace.take() {
            self.core.end_trace(&trace, frame);
        }
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        if !self.closed {
            let _attached = self.core.attach();
            self.close();
        }
    }
}

impl fmt::Debug for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Run")
            .field("config", self.core.config())
            .field("max_turns", &self.max_turns)
            .field("streamed", &self.core.is_streamed())
            .field("current_turn", &self.core.current_turn())
            .field(
                "agent",
                &self
                    .core
                    .current_stint()
                    .map(|stint| stint.agent().name().to_owned()),
            )
            .field("usage", self.core.usage())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::AgentInfo;
    use crate::lifecycle::errors::CallModelError;
    use crate::model::config::EnvConfig;

    fn undrained_run() -> Run {
        let runner = Runner::new(TraceProvider::new(), EnvConfig::default());
        let mut run = runner.start_run(
            RunOptions::new()
                .with_streamed(true)
                .with_events_drained(false),
        );
        run.start_agent(&AgentInfo::new("a"));
        run
    }

    #[test]
    fn an_undrained_stream_past_its_turn_limit_completes_without_output() {
        let outcome = undrained_run().finish(Err(RunAgentError::max_turns_exceeded(1)));
        assert_eq!(outcome, Ok(Value::Null));
    }

    #[test]
    fn a_model_error_named_like_the_turn_limit_still_raises_from_an_undrained_stream() {
        let error = CallModelError::new("MaxTurnsExceeded", "from the provider").into();
        let outcome = undrained_run().finish(Err(error));
        assert_eq!(outcome.unwrap_err().message(), "from the provider");
    }
}

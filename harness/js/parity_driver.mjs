// The js subject's driver (issue 13): speaks the exec protocol
// (docs/exec-protocol.md) with OpenAI's JS Agents SDK behind it. It builds each scenario with
// the SDK's ScriptedModel, records traces and spans through the only trace processor, the SDK's
// log lines (the `debug` namespace `openai-agents:*`, console.warn and console.error) with the
// trace and span current at emission, the run and agent hooks, and the outcome, and writes them
// as raw records (JSON lines) on stdout.
//
// Two modes. One-shot (the protocol's default): one scenario document on stdin, its records on
// stdout, exit 0 (3 with `unsupported: …` on stderr for a feature the driver cannot build).
// Serve (`PARITY_EXEC_MODE=serve`, what the harness uses): a hello line, then one document per
// stdin line, each answered with its records and an end line carrying that status, so Node.js
// and the SDK load once for many scenarios. A scenario's `[env]` is set around its run, except
// that one setting a variable the SDK reads only once (whether tracing is disabled, when its
// trace provider is created) is run by a one-shot child process, the only way to give it that.
//
// Mapped here because they are representation, not behaviour: the logger name (`openai.agents`
// for every `openai-agents:*` namespace), timestamps (JS has milliseconds; written in Python's
// isoformat with the microseconds zero), hook and exception names of the same meaning.
//
// The SDK is loaded from PARITY_JS_MODULES (the `node_modules` that `parity setup --js`
// installs), through require, so that the driver and the SDK share one `debug` instance.

import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { constants as osConstants } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { format } from 'node:util';

const PROTOCOL = 'parity-exec/1';
const UNSUPPORTED_EXIT = 3;
const FAILED_EXIT = 1;
const BAD_REQUEST_EXIT = 2;

/** The records of the scenario being run; `emit` drops what arrives while none runs. */
let records = [];
let recording = false;

function emit(kind, data) {
  if (!recording) return;
  records.push({ seq: records.length, kind, data });
}

/** A feature the driver cannot build: the scenario ends with status 3. */
class Unsupported extends Error {}

function unsupported(feature) {
  throw new Unsupported(feature);
}

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/** Removes the SDK's switches inherited from the caller's shell (NODE_ENV=test alone turns tracing off). */
function clearInheritedEnv() {
  for (const name of Object.keys(process.env)) {
    if (name.startsWith('OPENAI_') || name === 'NODE_ENV' || name === 'DEBUG') delete process.env[name];
  }
}

/**
 * `2026-11-30T09:44:54.557Z` → `2026-11-30T09:44:54.557000+00:00`, `…:54.000Z` → `…:54+00:00`
 * (Python's isoformat).
 */
function pythonTimestamp(value) {
  if (typeof value !== 'string') return value;
  const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?Z$/.exec(value);
  if (!match) return value;
  const fraction = (match[2] ?? '').padEnd(6, '0');
  // isoformat() leaves out a zero fraction.
  return /^0+$/.test(fraction) ? `${match[1]}+00:00` : `${match[1]}.${fraction}+00:00`;
}

function exported(item) {
  const json = JSON.parse(JSON.stringify(item.toJSON()));
  if (json && typeof json === 'object') {
    for (const key of ['started_at', 'ended_at']) {
      if (key in json) json[key] = pythonTimestamp(json[key]);
    }
  }
  return json;
}

/** The JS error classes with a Python counterpart of the same meaning. */
const PYTHON_ERROR_NAMES = {
  MaxTurnsExceededError: 'MaxTurnsExceeded',
  ModelBehaviorError: 'ModelBehaviorError',
  UserError: 'UserError',
  InputGuardrailTripwireTriggered: 'InputGuardrailTripwireTriggered',
  OutputGuardrailTripwireTriggered: 'OutputGuardrailTripwireTriggered',
  AgentsError: 'AgentsException',
};

function checkSupported(scenario) {
  const run = scenario.run;
  if ((run.resume ?? []).length) unsupported('run.resume (approvals)');
  if (scenario.trace?.disabled) unsupported('trace.disabled (the JS SDK has no per-trace switch)');
  if ((scenario.mcp_servers ?? []).length) unsupported('[[mcp_servers]]');
  for (const agent of scenario.agents) {
    if ((agent.mcp_servers ?? []).length) unsupported('agents.mcp_servers');
  }
  for (const tool of scenario.tools ?? []) {
    for (const key of ['needs_approval']) {
      if (tool[key] !== undefined && tool[key] !== null && tool[key] !== false) unsupported(`tools.${key}`);
    }
  }
  for (const step of scenario.model?.steps ?? []) {
  }
}

/** The SDK, loaded once per process, with the recorders installed (they write to `records`). */
let sdk;

function loadSdk() {
  if (sdk) return sdk;
  const modules = resolve(process.env.PARITY_JS_MODULES ?? '.parity/js/node_modules');
  const require = createRequire(join(modules, 'noop.js'));
  const agents = require('@openai/agents');
  const core = require('@openai/agents-core');
  const testing = require('@openai/agents-core/testing');
  const { z } = require('zod');
  const createDebug = require('debug');

  const currentIds = () => {
    const trace = core.getCurrentTrace();
    const span = core.getCurrentSpan();
    // No-op traces and spans (tracing disabled) carry the SDK's marker id `no-op`: no context.
    const live = (x, id) => x && id && id !== 'no-op' && !/NoopTrace|NoopSpan/.test(x.constructor?.name ?? '');
    return {
      trace_id: live(trace, trace?.traceId) ? trace.traceId : null,
      span_id: live(span, span?.spanId) ? span.spanId : null,
    };
  };
  const log = (level, message) => emit('log', { logger: 'openai.agents', level, message, ...currentIds() });

  // Logs: the debug namespace, and console.warn / console.error (what the SDK's logger uses).
  createDebug.enable('openai-agents:*');
  createDebug.formatArgs = function formatArgs() {};
  createDebug.log = (...args) => log('DEBUG', format(...args));
  console.warn = (...args) => log('WARNING', format(...args));
  console.error = (...args) => log('ERROR', format(...args));
  console.log = (...args) => process.stderr.write(`${format(...args)}\n`);

  agents.setTraceProcessors([
    {
      onTraceStart: async (trace) => emit('trace_start', exported(trace)),
      onTraceEnd: async (trace) => emit('trace_end', exported(trace)),
      onSpanStart: async (span) => emit('span_start', exported(span)),
      onSpanEnd: async (span) => emit('span_end', exported(span)),
      shutdown: async () => {},
      forceFlush: async () => {},
    },
  ]);
  sdk = { agents, core, testing, z, currentIds };
  return sdk;
}

/** Runs one scenario (its `[env]` already applied) and returns its records. */
async function runScenario(scenario) {
  checkSupported(scenario);
  const { agents, core, testing, z, currentIds } = loadSdk();
  records = [];

  // Guardrails: they decide what the scenario says, whatever they check.
  const guardrails = new Map();
  for (const spec of scenario.guardrails ?? []) {
    const tripwire = Boolean(spec.tripwire);
    const check = async () => ({ tripwireTriggered: tripwire, outputInfo: null });
    let guardrail;
    if (spec.kind === 'input') {
      guardrail = { name: spec.name, execute: check, runInParallel: spec.run_in_parallel ?? true };
    } else if (spec.kind === 'output') {
      guardrail = { name: spec.name, execute: check };
    } else {
      const decide = async () => {
        if (spec.behavior === 'reject_content') return core.ToolGuardrailFunctionOutputFactory.rejectContent(spec.message);
        if (spec.behavior === 'raise_exception') return core.ToolGuardrailFunctionOutputFactory.throwException();
        return core.ToolGuardrailFunctionOutputFactory.allow();
      };
      guardrail =
        spec.kind === 'tool_input'
          ? core.defineToolInputGuardrail({ name: spec.name, run: decide })
          : core.defineToolOutputGuardrail({ name: spec.name, run: decide });
    }
    guardrails.set(spec.name, guardrail);
  }
  const pick = (names) => (names ?? []).map((name) => guardrails.get(name));

  /** The agents, tools and scripted model of one copy of the run (copies share nothing). */
  const build = () => {
    // Tools.
    const zodType = { string: z.string(), integer: z.number().int(), number: z.number(), boolean: z.boolean() };
    const tools = new Map();
    for (const spec of scenario.tools ?? []) {
      const shape = {};
      for (const [name, type] of Object.entries(spec.parameters ?? {})) shape[name] = zodType[type];
      tools.set(
        spec.name,
        agents.tool({
          name: spec.name,
          description: spec.description ?? '',
          parameters: z.object(shape),
          inputGuardrails: pick(spec.input_guardrails),
          outputGuardrails: pick(spec.output_guardrails),
          // failure_error_function = "none": failures are not handled (they end the run);
          // failure_message: the model gets the message, `{error}` replaced by the error text.
          ...(spec.failure_error_function === 'none' ? { errorFunction: null } : {}),
          ...(typeof spec.failure_message === 'string'
            ? { errorFunction: (_ctx, error) => spec.failure_message.replaceAll('{error}', String(error?.message ?? error)) }
            : {}),
          execute: async () => {
            if (spec.raises != null) throw new Error(spec.raises);
            return typeof spec.returns === 'string' ? spec.returns : JSON.stringify(spec.returns);
          },
        }),
      );
    }

    // The scripted model (its steps are built once the agents exist: handoffs name them), opening
    // a generation span per call as Python's ScriptedModel(emit_traces=True) does.
    let scripted;
    const emitSpans = scenario.model?.generation_spans !== false;
    const model = {
      getResponse: (request) =>
        emitSpans ? core.withGenerationSpan(async () => scripted.getResponse(request)) : scripted.getResponse(request),
      getStreamedResponse: async function* (request) {
        if (!emitSpans) {
          yield* scripted.getStreamedResponse(request);
          return;
        }
        const span = core.createGenerationSpan();
        span.start();
        core.setCurrentSpan(span);
        try {
          yield* scripted.getStreamedResponse(request);
        } catch (error) {
          // As the SDK's own span helpers (withGenerationSpan) record an error.
          span.setError({ message: typeof error?.message === 'string' ? error.message : String(error), data: error?.data });
          throw error;
        } finally {
          span.end();
          core.resetCurrentSpan();
        }
      },
    };

    /** Structured output: a zod object of the declared fields. */
    const outputType = (spec) => {
      const shape = {};
      for (const [name, type] of Object.entries(spec.fields ?? {})) shape[name] = zodType[type];
      return z.object(shape);
    };
    const toolUseBehavior = (spec) => {
      if ((spec.stop_at_tool_names ?? []).length) return { toolUseBehavior: { stopAtToolNames: spec.stop_at_tool_names } };
      if (typeof spec.tools_final_output === 'string') {
        return { toolUseBehavior: async () => ({ isFinalOutput: true, isInterrupted: undefined, finalOutput: spec.tools_final_output }) };
      }
      if (spec.tool_use_behavior === 'stop_on_first_tool') return { toolUseBehavior: 'stop_on_first_tool' };
      return {};
    };

    // Agents, then their handoffs (they may refer to each other), with agent hooks.
    const agentsByName = new Map();
    for (const spec of scenario.agents) {
      const agent = new agents.Agent({
        name: spec.name,
        instructions: spec.instructions ?? undefined,
        model,
        tools: (spec.tools ?? []).map((name) => tools.get(name)),
        inputGuardrails: pick(spec.input_guardrails),
        outputGuardrails: pick(spec.output_guardrails),
        ...(spec.output_type ? { outputType: outputType(spec.output_type) } : {}),
        ...toolUseBehavior(spec),
      });
      agentsByName.set(spec.name, agent);
    }
    for (const spec of scenario.agents) {
      const agent = agentsByName.get(spec.name);
      agent.handoffs = (spec.handoffs ?? []).map((name) => agentsByName.get(name));
      const hook = (name, data) => emit('hook', { hook: name, scope: 'agent', ...data, ...currentIds() });
      agent.on('agent_start', (_ctx, started) => hook('on_start', { agent: started.name }));
      agent.on('agent_end', (_ctx, output) => hook('on_end', { agent: agent.name, output }));
      agent.on('agent_handoff', (_ctx, next) => hook('agent_handoff', { agent: agent.name, next_agent: next.name }));
      agent.on('agent_tool_start', (_ctx, tool) => hook('on_tool_start', { agent: agent.name, tool: tool.name }));
      agent.on('agent_tool_end', (_ctx, tool, result) =>
        hook('on_tool_end', { agent: agent.name, tool: tool.name, result: String(result) }),
      );
    }

    // Agents as tools (Agent.asTool with the SDK's default name and description), added after
    // the agent's own tools as Python's scenario builder does.
    const agentToolNames = new Map();
    for (const spec of scenario.agents) {
      const agent = agentsByName.get(spec.name);
      for (const name of spec.agent_tools ?? []) {
        const agentTool = agentsByName.get(name).asTool({});
        agentToolNames.set(name, agentTool.name);
        agent.tools = [...agent.tools, agentTool];
      }
    }

    let callIndex = 0;
    const steps = (scenario.model?.steps ?? []).map((step) => {
      if (step.error) {
        const error = new Error(step.error.message);
        error.name = step.error.name;
        return testing.modelError(error);
      }
      const output = (step.output ?? []).map((item) => {
        if (item.message != null) return testing.assistantMessage(item.message);
        callIndex += 1;
        const callId = item.call_id ?? `call_${callIndex}`;
        // A missing tool is called like any other: the SDK finds that the agent has none.
        const toolName = item.tool_call ?? item.missing_tool_call ?? agentToolNames.get(item.agent_tool_call);
        if (toolName != null) {
          const args = item.raw_arguments ?? JSON.stringify(item.arguments ?? {});
          return testing.functionCall(toolName, args, { callId });
        }
        if (item.handoff != null) {
          const target = agentsByName.get(item.handoff);
          return testing.functionCall(agents.handoff(target).toolName, '{}', { callId });
        }
        unsupported(`model.steps.output ${Object.keys(item).filter((k) => item[k] != null).join(',')}`);
        return null;
      });
      if (!step.usage) return output;
      const u = step.usage;
      return testing.modelResponse({
        output,
        usage: new core.Usage({
          requests: u.requests ?? 0,
          input_tokens: u.input_tokens ?? 0,
          output_tokens: u.output_tokens ?? 0,
          total_tokens: u.total_tokens ?? 0,
          input_tokens_details: {
            cached_tokens: u.cached_input_tokens ?? 0,
            cache_write_tokens: u.cache_write_input_tokens ?? 0,
          },
          output_tokens_details: { reasoning_tokens: u.reasoning_tokens ?? 0 },
        }),
      });
    });
    scripted = new testing.ScriptedModel(steps);
    return agentsByName;
  };
  const builds = Array.from({ length: scenario.run.copies ?? 1 }, build);

  const run = scenario.run;
  const runner = new agents.Runner({
    workflowName: run.workflow_name ?? undefined,
    groupId: run.group_id ?? undefined,
    traceMetadata: run.trace_metadata ?? undefined,
    traceId: run.trace_id ?? undefined,
    tracingDisabled: run.tracing_disabled ?? undefined,
    traceIncludeSensitiveData: run.trace_include_sensitive_data ?? undefined,
  });
  const runHook = (name, data) => emit('hook', { hook: name, scope: 'run', ...data, ...currentIds() });
  runner.on('agent_start', (_ctx, agent) => runHook('on_agent_start', { agent: agent.name }));
  runner.on('agent_end', (_ctx, agent, output) => runHook('on_agent_end', { agent: agent.name, output }));
  runner.on('agent_handoff', (_ctx, from, to) => runHook('on_handoff', { from_agent: from.name, to_agent: to.name }));
  runner.on('agent_tool_start', (_ctx, agent, tool) => runHook('on_tool_start', { agent: agent.name, tool: tool.name }));
  runner.on('agent_tool_end', (_ctx, agent, tool, result) =>
    runHook('on_tool_end', { agent: agent.name, tool: tool.name, result: String(result) }),
  );

  const options = {
    maxTurns: run.max_turns ?? undefined,
    ...(run.include_task_and_turn_spans != null
      ? { tracing: { includeTaskAndTurnSpans: run.include_task_and_turn_spans } }
      : {}),
  };
  /** One run: its outcome record; whether it raised. */
  const session = run.session ? new core.MemorySession() : undefined;
  const runOnce = async (agentsByName = builds[0]) => {
    try {
      let result;
      if (run.streamed) {
        result = await runner.run(agentsByName.get(run.agent), run.input, { ...options, session, stream: true });
        // drain = false: the events are never read; the caller only awaits the run.
        if (run.drain !== false) {
          for await (const _event of result) {
            // drained
          }
        }
        await result.completed;
        if (result.error) throw result.error;
      } else {
        result = await runner.run(agentsByName.get(run.agent), run.input, { ...options, session });
      }
      emit('outcome', { status: 'completed', final_output: result.finalOutput ?? null });
      return false;
    } catch (error) {
      const name = PYTHON_ERROR_NAMES[error?.constructor?.name] ?? error?.name ?? 'Error';
      emit('outcome', { status: 'raised', error: name, message: String(error?.message ?? error) });
      return true;
    }
  };
  /** The actions of a user trace's body; false once a run raised and the rest is skipped. */
  const actions = async (body) => {
    for (const action of body ?? []) {
      if (action.run) {
        // Every copy's run at once, all inside the user trace and the enclosing custom spans.
        const raised = (await Promise.all(builds.map((agentsByName) => runOnce(agentsByName)))).some(Boolean);
        if (raised && action.on_error !== 'continue') return false;
      } else if (action.custom_span != null) {
        const keepGoing = await core.withCustomSpan(async () => actions(action.body), {
          data: { name: action.custom_span, data: action.data ?? {} },
        });
        if (!keepGoing) return false;
      }
    }
    return true;
  };

  recording = true;
  if (scenario.trace) {
    const trace = scenario.trace;
    const userTrace = core.getGlobalTraceProvider().createTrace({
      name: trace.workflow_name ?? 'Agent workflow',
      groupId: trace.group_id ?? undefined,
      metadata: trace.metadata ?? undefined,
      traceId: trace.trace_id ?? undefined,
    });
    await core.withTrace(userTrace, async () => actions(trace.body));
  } else if (builds.length > 1) {
    // Concurrent copies, each with its own agents and script, as separate requests would be.
    await Promise.all(builds.map((agentsByName) => runOnce(agentsByName)));
  } else {
    for (let i = 0; i < (run.repeat ?? 1); i += 1) {
      if (await runOnce()) break;
    }
  }
  await core.getGlobalTraceProvider?.().forceFlush?.();
  recording = false;
  return records;
}

const asLines = (list) => list.map((record) => `${JSON.stringify(record)}\n`).join('');

/** The protocol document's scenario, or a `{status, stderr}` answer refusing it. */
function scenarioOf(request) {
  if (request?.protocol !== PROTOCOL) {
    return { refused: { status: BAD_REQUEST_EXIT, stderr: `this driver speaks ${PROTOCOL}, not ${request?.protocol}` } };
  }
  return { scenario: request.scenario };
}

/** Runs a scenario in this process: its records (as lines) and what a one-shot run would exit with. */
async function answerHere(scenario) {
  try {
    return { lines: asLines(await runScenario(scenario)), status: 0, stderr: '' };
  } catch (error) {
    recording = false;
    if (error instanceof Unsupported) return { lines: '', status: UNSUPPORTED_EXIT, stderr: `unsupported: ${error.message}` };
    return { lines: '', status: FAILED_EXIT, stderr: `the js driver failed: ${error?.stack ?? error}` };
  }
}

/**
 * The variables the SDK reads once, when the process starts using it: `OPENAI_AGENTS_DISABLE_TRACING`
 * and `NODE_ENV` when its trace provider is created (`tracing.disabled` in agents-core's
 * config.js, read by the TraceProvider constructor), `DEBUG` when `debug` loads. Every other
 * variable it reads when it uses it (the `logging` getters of config.js call `loadEnv()`).
 */
const LOAD_TIME_VARIABLES = new Set(['OPENAI_AGENTS_DISABLE_TRACING', 'NODE_ENV', 'DEBUG']);

/** Runs `body` with the scenario's variables set, then puts the previous values back. */
async function withEnv(env, body) {
  const saved = new Map(Object.keys(env).map((name) => [name, process.env[name]]));
  Object.assign(process.env, env);
  try {
    return await body();
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

/**
 * Runs a scenario in a one-shot child process (one whose `[env]` sets a load-time variable):
 * its stdout and how it exited. Only a fresh process gives the SDK those variables.
 */
function answerInChild(line) {
  return new Promise((done) => {
    const env = { ...process.env };
    delete env.PARITY_EXEC_MODE;
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url)], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out = [];
    let err = '';
    child.stdout.on('data', (chunk) => out.push(chunk));
    child.stderr.on('data', (chunk) => {
      err = (err + chunk.toString('utf8')).slice(-4096);
    });
    child.on('close', (code, signal) => {
      // A child killed by a signal: 128 + its number, as a shell reports it.
      const status = code ?? 128 + (osConstants.signals[signal] ?? 0);
      done({ lines: Buffer.concat(out).toString('utf8'), status, stderr: err.trimEnd() });
    });
    child.stdin.end(line);
  });
}

/** Serve mode: a hello line, then one answer per request line, in order. */
async function serve() {
  clearInheritedEnv();
  process.stdout.write(`${JSON.stringify({ serve: PROTOCOL })}\n`);
  const input = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of input) {
    if (!line.trim()) continue;
    let answer;
    let request;
    try {
      request = JSON.parse(line);
    } catch (error) {
      request = { protocol: `not JSON (${error.message})` };
    }
    const { scenario, refused } = scenarioOf(request);
    if (refused) answer = { lines: '', ...refused };
    else if (Object.keys(scenario.env ?? {}).some((name) => LOAD_TIME_VARIABLES.has(name))) answer = await answerInChild(line);
    else answer = await withEnv(scenario.env ?? {}, () => answerHere(scenario));
    // Callbacks the run left queued finish before the next scenario records anything.
    await new Promise((next) => setImmediate(next));
    process.stdout.write(`${answer.lines}${JSON.stringify({ end: { status: answer.status, stderr: answer.stderr } })}\n`);
  }
}

/** One-shot mode: one document on stdin, its records on stdout, the status as the exit code. */
async function once() {
  let request;
  try {
    request = JSON.parse(await readStdin());
  } catch (error) {
    request = { protocol: `not JSON (${error.message})` };
  }
  const { scenario, refused } = scenarioOf(request);
  if (refused) {
    process.stderr.write(`${refused.stderr}\n`);
    process.exit(refused.status);
  }
  // Only the scenario's variables, set before the SDK reads them.
  clearInheritedEnv();
  Object.assign(process.env, scenario.env ?? {});
  const answer = await answerHere(scenario);
  process.stdout.write(answer.lines);
  if (answer.stderr) process.stderr.write(`${answer.stderr}\n`);
  process.exitCode = answer.status;
}

(process.env.PARITY_EXEC_MODE === 'serve' ? serve() : once()).catch((error) => {
  process.stderr.write(`the js driver failed: ${error?.stack ?? error}\n`);
  process.exit(FAILED_EXIT);
});

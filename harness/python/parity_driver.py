"""Parity driver: runs one scenario with the real Python client and returns its raw records.

The Rust harness embeds CPython, loads this module from source (module name ``parity_driver``)
and calls two functions:

* ``client_version() -> str``: the installed ``openai-agents`` version.
* ``run_scenario(scenario_json: str) -> str``: builds the scenario with the real SDK (agents,
  function tools, guardrails, one ``agents.testing.ScriptedModel``), runs it and returns a JSON
  list of raw records ``[{"seq": 0, "kind": ..., "data": {...}}, ...]`` in emission order.

The input is the serde serialization of the harness ``Scenario`` type (``scenario/schema.rs``),
already validated by the Rust side. The output follows the raw record schema of DESIGN §4, a
contract shared by every subject:

* ``trace_start`` / ``trace_end``: ``data`` is ``trace.export()``.
* ``span_start`` / ``span_end``: ``data`` is ``span.export()`` snapshotted at the event.
* ``log``: a record of the ``openai.agents`` logger (or a child): ``logger``, ``level``,
  ``message``, and the ``trace_id`` / ``span_id`` current at emission (null when none or no-op).
* ``hook``: a ``RunHooks`` (``scope: "run"``) or ``AgentHooks`` (``scope: "agent"``) callback with
  its arguments by their Python parameter names, plus the current ``trace_id`` / ``span_id``.
* ``outcome``: one per run, right after it: ``completed`` with ``final_output``, or ``raised``
  with the exception's class name and message.

The interpreter lives for the whole harness process and runs many scenarios one after another,
so every call installs its own global state (trace processors, logging handler, environment,
state the SDK caches per process) and restores what was there before, even when it fails.
Failures of the driver itself (a spec that cannot be built, a bug here) raise ``DriverError``;
failures of the run are data and become an ``outcome`` record.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import inspect
import json
import logging
import os
import subprocess
import tempfile
import threading
import warnings
from typing import Any, Callable, Iterator

import pydantic

import agents
import agents.mcp
from agents.util import _transforms
from agents import _debug
from agents.handoffs import Handoff
from agents.testing import ModelStep, ScriptedModel, assistant_message, function_call
from agents.tracing import get_current_span, get_current_trace
from agents.tracing.setup import get_trace_provider
from agents.usage import Usage
from openai.types.responses.response_usage import InputTokensDetails, OutputTokensDetails

CLIENT_DISTRIBUTION = "openai-agents"
SDK_LOGGER_NAME = "openai.agents"

_FIELD_TYPES: dict[str, type] = {
    "string": str,
    "integer": int,
    "number": float,
    "boolean": bool,
}


class DriverError(Exception):
    """The driver could not build or run a scenario (as opposed to the run raising)."""


def client_version() -> str:
    """The version of the installed Python client."""
    return importlib.metadata.version(CLIENT_DISTRIBUTION)


def run_scenario(scenario_json: str, otlp_endpoint: str | None = None) -> str:
    """Runs one scenario with the real SDK and returns its raw records as a JSON list.

    With `otlp_endpoint` (an OTLP/HTTP receiver's base URL), the OpenTelemetry contrib
    instrumentation of the SDK also runs, exporting every span there (the OTLP parity layer).
    """
    try:
        scenario = json.loads(scenario_json)
    except ValueError as e:
        raise DriverError(f"scenario JSON does not parse: {e}") from e
    if not isinstance(scenario, dict):
        raise DriverError("scenario JSON is not an object")
    name = scenario.get("name", "<unnamed>")

    try:
        return _run_scenario(scenario, name, otlp_endpoint)
    except DriverError:
        raise
    except Exception as e:
        # Setting up or restoring the process state failed: still the driver's fault.
        raise DriverError(f"scenario {name!r}: {_describe(e)}") from e


def _run_scenario(scenario: dict[str, Any], name: str, otlp_endpoint: str | None) -> str:
    recorder = _Recorder()
    # record=True collects Python warnings instead of printing them (pydantic warns on stderr when
    # an output field shadows a BaseModel attribute); they are not telemetry of the client.
    with warnings.catch_warnings(record=True), _isolated_process_state(
        scenario.get("env") or {}, recorder
    ), _otlp_export(otlp_endpoint):
        try:
            # Concurrent copies each get their own agents and model script, as separate requests
            # to a service would.
            builds = [_Build(scenario, recorder) for _ in range(scenario["run"]["copies"])]
        except DriverError:
            raise
        except Exception as e:
            raise DriverError(
                f"scenario {name!r}: building the scenario failed: {_describe(e)}"
            ) from e
        # Logs emitted while building (e.g. the SDK's tool-name warnings) are not part of a run;
        # the handler swallowed them so nothing reached stderr, and recording starts here.
        recorder.enabled = True
        try:
            asyncio.run(_execute(scenario, builds, recorder))
        except DriverError:
            raise
        except Exception as e:
            raise DriverError(
                f"scenario {name!r}: executing the scenario failed: {_describe(e)}"
            ) from e
        finally:
            recorder.enabled = False
        if recorder.internal_errors:
            raise DriverError(
                f"scenario {name!r}: the driver's recorders failed during the run: "
                + "; ".join(recorder.internal_errors)
            )
    try:
        return json.dumps(recorder.records)
    except (TypeError, ValueError) as e:
        raise DriverError(f"scenario {name!r}: records are not serializable: {e}") from e


# --------------------------------------------------------------------------------------------
# Recording


def _describe(e: BaseException) -> str:
    if isinstance(e, KeyError):
        return f"missing key {e.args[0]!r} (KeyError)" if e.args else "KeyError"
    return f"{type(e).__name__}: {e}"


def _jsonable(value: Any) -> Any:
    """A detached, JSON-serializable copy: snapshots mutable SDK objects at the event."""
    return json.loads(json.dumps(value, default=str))


def _current_ids() -> tuple[str | None, str | None]:
    """The trace and span current in the caller's context; no-op ones count as none."""
    trace = get_current_trace()
    trace_id = None
    if trace is not None and trace.trace_id != "no-op" and trace.export() is not None:
        trace_id = trace.trace_id
    span = get_current_span()
    span_id = None
    if (
        span is not None
        and span.span_id != "no-op"
        and span.trace_id != "no-op"
        and span.export() is not None
    ):
        span_id = span.span_id
    return trace_id, span_id


def _output_value(output: Any) -> Any:
    if isinstance(output, pydantic.BaseModel):
        return output.model_dump(mode="json")
    return _jsonable(output)


class _Recorder:
    """Collects records from every source in one ordered list."""

    def __init__(self) -> None:
        # Appends come from the event loop, but user code may log from other threads.
        self._lock = threading.Lock()
        self.records: list[dict[str, Any]] = []
        self.enabled = False
        self.internal_errors: list[str] = []

    def add(self, kind: str, data: dict[str, Any]) -> None:
        if not self.enabled:
            return
        with self._lock:
            self.records.append({"seq": len(self.records), "kind": kind, "data": data})

    def guarded(self, where: str, fn: Callable[[], None]) -> None:
        """Runs a recording callback; a failure is kept for run_scenario to raise.

        The SDK swallows processor exceptions (it logs them) and turns hook exceptions into run
        failures, so a bug here would otherwise look like client behaviour.
        """
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - reported as a DriverError after the run
            self.internal_errors.append(f"{where}: {_describe(e)}")


class _RecordingProcessor(agents.TracingProcessor):
    def __init__(self, recorder: _Recorder) -> None:
        self._recorder = recorder

    def _export(self, kind: str, trace_or_span: Any) -> None:
        # Spans are mutable and custom span data is the very dict the user holds: copy now.
        exported = trace_or_span.export()
        if exported is not None:
            self._recorder.add(kind, _jsonable(exported))

    def on_trace_start(self, trace: Any) -> None:
        self._recorder.guarded("on_trace_start", lambda: self._export("trace_start", trace))

    def on_trace_end(self, trace: Any) -> None:
        self._recorder.guarded("on_trace_end", lambda: self._export("trace_end", trace))

    def on_span_start(self, span: Any) -> None:
        self._recorder.guarded("on_span_start", lambda: self._export("span_start", span))

    def on_span_end(self, span: Any) -> None:
        self._recorder.guarded("on_span_end", lambda: self._export("span_end", span))

    def shutdown(self) -> None:
        pass

    def force_flush(self) -> None:
        pass


class _RecordingLogHandler(logging.Handler):
    def __init__(self, recorder: _Recorder) -> None:
        super().__init__(level=logging.NOTSET)
        self._recorder = recorder

    def emit(self, record: logging.LogRecord) -> None:
        def add() -> None:
            trace_id, span_id = _current_ids()
            # getMessage() only: exc_info (tracebacks) never goes into a record.
            self._recorder.add(
                "log",
                {
                    "logger": record.name,
                    "level": record.levelname,
                    "message": record.getMessage(),
                    "trace_id": trace_id,
                    "span_id": span_id,
                },
            )

        self._recorder.guarded("log handler", add)

    def handleError(self, record: logging.LogRecord) -> None:
        # logging's default prints a traceback to stderr; failures are reported by `guarded`.
        pass


def _input_item_types(input_items: Any) -> list[str]:
    if isinstance(input_items, str):
        return ["message"]
    types = []
    for item in input_items or []:
        if isinstance(item, dict):
            types.append(str(item.get("type", "message")))
        else:
            types.append(str(getattr(item, "type", "message")))
    return types


def _response_item_types(response: Any) -> list[str]:
    return [
        str(item.get("type") if isinstance(item, dict) else getattr(item, "type", None))
        for item in (response.output or [])
    ]


def _hook_data(hook: str, scope: str, args: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {"hook": hook, "scope": scope}
    data.update(args)
    data["trace_id"], data["span_id"] = _current_ids()
    return data


# Parameter names below are the SDK's (agents/lifecycle.py): the runner passes some of them as
# keywords (RunHooks.on_handoff gets from_agent=/to_agent=), and the record names arguments by them.
class _HookRecording:
    """The recording and the callbacks RunHooks and AgentHooks share (same names and args)."""

    scope = ""

    def __init__(self, recorder: _Recorder) -> None:
        self._recorder = recorder

    def _add(self, hook: str, args: Callable[[], dict[str, Any]]) -> None:
        self._recorder.guarded(
            f"{type(self).__name__}.{hook}",
            lambda: self._recorder.add("hook", _hook_data(hook, self.scope, args())),
        )

    async def on_llm_start(self, context, agent, system_prompt, input_items) -> None:
        self._add(
            "on_llm_start",
            lambda: {
                "agent": agent.name,
                "system_prompt": system_prompt,
                "input_items": _input_item_types(input_items),
            },
        )

    async def on_llm_end(self, context, agent, response) -> None:
        self._add(
            "on_llm_end",
            lambda: {"agent": agent.name, "response": _response_item_types(response)},
        )

    async def on_tool_start(self, context, agent, tool) -> None:
        self._add("on_tool_start", lambda: {"agent": agent.name, "tool": tool.name})

    async def on_tool_end(self, context, agent, tool, result) -> None:
        self._add(
            "on_tool_end",
            lambda: {"agent": agent.name, "tool": tool.name, "result": str(result)},
        )


class _RunHooksRecorder(_HookRecording, agents.RunHooks):
    scope = "run"

    async def on_agent_start(self, context, agent) -> None:
        self._add("on_agent_start", lambda: {"agent": agent.name})

    async def on_agent_end(self, context, agent, output) -> None:
        self._add("on_agent_end", lambda: {"agent": agent.name, "output": _output_value(output)})

    async def on_handoff(self, context, from_agent, to_agent) -> None:
        self._add("on_handoff", lambda: {"from_agent": from_agent.name, "to_agent": to_agent.name})


class _AgentHooksRecorder(_HookRecording, agents.AgentHooks):
    scope = "agent"

    async def on_start(self, context, agent) -> None:
        self._add("on_start", lambda: {"agent": agent.name})

    async def on_end(self, context, agent, output) -> None:
        self._add("on_end", lambda: {"agent": agent.name, "output": _output_value(output)})

    async def on_handoff(self, context, agent, source) -> None:
        self._add("on_handoff", lambda: {"agent": agent.name, "source": source.name})


# --------------------------------------------------------------------------------------------
# Per-call global state


@contextlib.contextmanager
def _isolated_process_state(env: dict[str, str], recorder: _Recorder) -> Iterator[None]:
    """Makes the call behave like a fresh process started with `env`, then restores everything."""
    provider = get_trace_provider()
    # The SDK has no public getter for the installed processors.
    multi = getattr(provider, "_multi_processor", None)
    saved_processors = tuple(getattr(multi, "_processors", ()))
    saved_provider_flags = {
        attr: getattr(provider, attr)
        for attr in ("_env_disabled", "_manual_disabled", "_disabled")
        if hasattr(provider, attr)
    }
    real_environ = os.environ
    saved_debug = (_debug.DONT_LOG_MODEL_DATA, _debug.DONT_LOG_TOOL_DATA)
    started_trace_ids = _started_trace_ids()
    saved_started_trace_ids = dict(started_trace_ids)

    sdk_logger = logging.getLogger(SDK_LOGGER_NAME)
    saved_logger = (sdk_logger.level, list(sdk_logger.handlers), sdk_logger.disabled)
    handler = _RecordingLogHandler(recorder)

    try:
        # The scenario's variables are shown to Python code only, through an overlay that
        # replaces os.environ (os.getenv reads it too): the process environment is shared with
        # the harness's other threads, which may be running another subject, and is never written.
        overlay = dict(real_environ)
        overlay.update(env)
        os.environ = overlay  # type: ignore[assignment]
        # agents._debug reads OPENAI_AGENTS_DONT_LOG_{MODEL,TOOL}_DATA once, at import time;
        # a fresh process started with `env` would have computed them from it.
        _debug.DONT_LOG_MODEL_DATA = _debug._load_dont_log_model_data()
        _debug.DONT_LOG_TOOL_DATA = _debug._load_dont_log_tool_data()
        # DefaultTraceProvider reads OPENAI_AGENTS_DISABLE_TRACING lazily, once per process, at its
        # first create_trace/create_span (_env_disabled caches it, _refresh_disabled_flag fills
        # it); a fresh process has neither that cache nor a set_tracing_disabled() override.
        if "_env_disabled" in saved_provider_flags:
            provider._env_disabled = None
        if "_manual_disabled" in saved_provider_flags:
            provider._manual_disabled = None
        if "_disabled" in saved_provider_flags:
            provider._disabled = False
        # The recorder is the only processor: the default backend exporter would otherwise queue
        # the spans and warn at exit that OPENAI_API_KEY is not set.
        agents.set_trace_processors([_RecordingProcessor(recorder)])
        # A fresh process has started no trace: a resumed run reattaches only to the traces of
        # this scenario, never to an id an earlier scenario happened to use.
        started_trace_ids.clear()
        # Only our handler, so no configured handler and no lastResort (which prints WARNINGs to
        # stderr when a logger has none) writes anything during the call.
        for existing in saved_logger[1]:
            sdk_logger.removeHandler(existing)
        sdk_logger.addHandler(handler)
        sdk_logger.setLevel(logging.DEBUG)
        sdk_logger.disabled = False
        yield
    finally:
        sdk_logger.removeHandler(handler)
        for existing in saved_logger[1]:
            sdk_logger.addHandler(existing)
        sdk_logger.setLevel(saved_logger[0])
        sdk_logger.disabled = saved_logger[2]
        agents.set_trace_processors(list(saved_processors))
        started_trace_ids.clear()
        started_trace_ids.update(saved_started_trace_ids)
        for attr, value in saved_provider_flags.items():
            setattr(provider, attr, value)
        _debug.DONT_LOG_MODEL_DATA, _debug.DONT_LOG_TOOL_DATA = saved_debug
        os.environ = real_environ


@contextlib.contextmanager
def _otlp_export(endpoint: str | None) -> Iterator[None]:
    """With an endpoint: the contrib GenAI instrumentation, as a user would install it (message
    content off, metrics off), exporting each span over OTLP/HTTP as it ends; on exit it is
    uninstrumented (ending what is still open, as at shutdown) and the exporter flushed."""
    if endpoint is None:
        yield
        return
    # Imported here: only the OTLP layer needs them (a drift venv may not have them).
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.openai_agents import OpenAIAgentsInstrumentor
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(
        SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces", timeout=10))
    )
    instrumentor = OpenAIAgentsInstrumentor()
    instrumentor.instrument(
        tracer_provider=tracer_provider, capture_message_content=False, capture_metrics=False
    )
    try:
        yield
    finally:
        instrumentor.uninstrument()
        tracer_provider.shutdown()


# --------------------------------------------------------------------------------------------
# Building the scenario


def _field_type(type_name: str, where: str) -> type:
    try:
        return _FIELD_TYPES[type_name]
    except KeyError:
        raise DriverError(f"{where}: unknown field type {type_name!r}") from None


def _make_tool(
    spec: dict[str, Any], scenario_name: str, guardrails: dict[str, Any] | None = None
) -> Any:
    name = spec["name"]
    returns = spec.get("returns")
    raises = spec.get("raises")
    if (returns is None) == (raises is None):
        raise DriverError(
            f"scenario {scenario_name!r}: tool {name!r} needs exactly one of `returns` / `raises`"
        )

    # An `async def`, not a sync `def`: the SDK runs sync tools through asyncio.to_thread, and
    # when a step calls several tools their completions (`Tool X completed.`, on_tool_end, the
    # function span ends) then follow thread scheduling, which differed in ~5% of identical runs.
    # A coroutine that never suspends completes in the order the SDK scheduled the calls. Spans,
    # logs and hooks of a single tool call are the same either way.
    async def scripted_tool(*args: Any, **kwargs: Any) -> Any:
        if raises is not None:
            # The class is irrelevant to telemetry: the default failure formatter redacts the
            # error on the span, and failure logs show only str(error).
            raise Exception(raises)
        return _jsonable(returns)

    if spec.get("sync"):
        # `sync = true`: a plain function, which the client runs with asyncio.to_thread (the
        # loader keeps such a call alone in its step, where the order is the same).
        def scripted_sync_tool(*args: Any, **kwargs: Any) -> Any:
            if raises is not None:
                raise Exception(raises)
            return _jsonable(returns)

        scripted_tool = scripted_sync_tool  # type: ignore[assignment]

    parameters = []
    annotations: dict[str, Any] = {}
    for param_name, type_name in (spec.get("parameters") or {}).items():
        annotation = _field_type(type_name, f"scenario {scenario_name!r}: tool {name!r}")
        parameters.append(
            inspect.Parameter(
                param_name, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=annotation
            )
        )
        annotations[param_name] = annotation
    # function_schema reads the signature and type hints, so they must describe the parameters,
    # not the catch-all *args/**kwargs of the implementation.
    scripted_tool.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    scripted_tool.__annotations__ = annotations
    scripted_tool.__doc__ = None
    description = spec.get("description")
    options: dict[str, Any] = {}
    guardrails = guardrails or {}
    if spec.get("input_guardrails"):
        options["tool_input_guardrails"] = [guardrails[n] for n in spec["input_guardrails"]]
    if spec.get("output_guardrails"):
        options["tool_output_guardrails"] = [guardrails[n] for n in spec["output_guardrails"]]
    if spec.get("failure_error_function") == "none":
        options["failure_error_function"] = None
    elif spec.get("failure_message") is not None:
        template = spec["failure_message"]

        def failure_error_function(ctx: Any, error: Exception) -> str:
            return template.replace("{error}", str(error))

        options["failure_error_function"] = failure_error_function
    needs_approval = spec.get("needs_approval")
    if isinstance(needs_approval, bool):
        options["needs_approval"] = needs_approval
    elif isinstance(needs_approval, list):
        pending_ids = frozenset(needs_approval)

        # A per-call policy: the client calls it with the parsed arguments and the call id.
        async def approval_policy(ctx: Any, params: Any, call_id: str) -> bool:
            return call_id in pending_ids

        options["needs_approval"] = approval_policy
    return agents.function_tool(
        scripted_tool,
        name_override=name,
        description_override=description if description is not None else f"Scripted tool {name}.",
        **options,
    )


# Set by the harness after loading the driver (harness/src/subject/python/embed.rs): the venv's
# python and the scripted MCP server's file. The embedded interpreter's sys.executable is the
# harness itself, and the driver is loaded from source, without a __file__ to locate files by.
VENV_PYTHON: str | None = None
MCP_SERVER_SCRIPT: str | None = None

# The MCP fork server of this process (parity_mcp_server.py --forkserver) and its socket, started
# on first use: each scenario's servers are still fresh processes, forked from it in
# milliseconds instead of importing the mcp package anew (about 0.8 s each).
_FORKSERVER: tuple[subprocess.Popen, str] | None = None


def _mcp_forkserver(scenario_name: str) -> str:
    """The socket of a running MCP fork server, starting one when there is none."""
    global _FORKSERVER
    if _FORKSERVER is not None and _FORKSERVER[0].poll() is None:
        return _FORKSERVER[1]
    path = os.path.join(tempfile.mkdtemp(prefix="parity-mcp-"), "forkserver.sock")
    # Its stdin stays open for as long as this process lives: it exits when it closes.
    process = subprocess.Popen(
        [VENV_PYTHON, MCP_SERVER_SCRIPT, "--forkserver", path],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    ready = process.stdout.readline()
    if ready.strip() != b"ready":
        process.kill()
        raise DriverError(
            f"scenario {scenario_name!r}: the MCP fork server ({MCP_SERVER_SCRIPT} --forkserver) "
            f"did not start (it printed {ready!r}; its stderr is above)"
        )
    _FORKSERVER = (process, path)
    return path


def _make_mcp_server(spec: dict[str, Any], scenario_name: str) -> Any:
    """`MCPServerStdio` running harness/python/parity_mcp_server.py with the server's spec."""
    if VENV_PYTHON is None or MCP_SERVER_SCRIPT is None:
        raise DriverError(
            f"scenario {scenario_name!r}: MCP servers need parity_driver.VENV_PYTHON and "
            "MCP_SERVER_SCRIPT, which the harness sets when it loads the driver"
        )
    server_spec = {
        "name": spec["name"],
        "tools": [
            {
                "name": tool["name"],
                "description": tool.get("description"),
                "parameters": tool.get("parameters") or {},
                "content": tool.get("content") or [],
                "is_error": bool(tool.get("is_error")),
                "error": tool.get("error"),
            }
            for tool in spec.get("tools") or []
        ],
    }
    options: dict[str, Any] = {}
    if spec.get("allowed_tools") is not None:
        options["tool_filter"] = {"allowed_tool_names": list(spec["allowed_tools"])}
    if spec.get("failure_error_function") == "none":
        options["failure_error_function"] = None
    launcher = os.path.join(os.path.dirname(MCP_SERVER_SCRIPT), "parity_mcp_launch.py")
    socket_path = _mcp_forkserver(scenario_name)
    return agents.mcp.MCPServerStdio(
        # -I -S: the launcher needs only the standard library, and starts in milliseconds.
        params={
            "command": VENV_PYTHON,
            "args": ["-I", "-S", launcher, socket_path, json.dumps(server_spec)],
        },
        # Always named: the default name is built from the command, a machine path.
        name=spec["name"],
        cache_tools_list=False,
        **options,
    )


def _make_guardrail(spec: dict[str, Any], scenario_name: str) -> Any:
    name = spec["name"]
    tripwire = bool(spec.get("tripwire", False))

    def check(context: Any, agent: Any, checked: Any) -> Any:
        return agents.GuardrailFunctionOutput(output_info=None, tripwire_triggered=tripwire)

    kind = spec.get("kind")
    if kind in ("tool_input", "tool_output"):
        behavior = spec.get("behavior")

        def decide(data: Any) -> Any:
            if behavior == "reject_content":
                return agents.ToolGuardrailFunctionOutput.reject_content(spec["message"])
            if behavior == "raise_exception":
                return agents.ToolGuardrailFunctionOutput.raise_exception()
            return agents.ToolGuardrailFunctionOutput.allow()

        guardrail_class = (
            agents.ToolInputGuardrail if kind == "tool_input" else agents.ToolOutputGuardrail
        )
        return guardrail_class(guardrail_function=decide, name=name)
    if kind == "input":
        run_in_parallel = spec.get("run_in_parallel")
        return agents.InputGuardrail(
            guardrail_function=check,
            name=name,
            run_in_parallel=True if run_in_parallel is None else bool(run_in_parallel),
        )
    if kind == "output":
        return agents.OutputGuardrail(guardrail_function=check, name=name)
    raise DriverError(f"scenario {scenario_name!r}: guardrail {name!r} has unknown kind {kind!r}")


def _make_output_type(spec: dict[str, Any] | None, where: str) -> Any:
    if spec is None:
        return None
    fields = {
        field: (_field_type(type_name, f"{where}: output_type field {field!r}"), ...)
        for field, type_name in spec["fields"].items()
    }
    return pydantic.create_model(spec["name"], **fields)


def _make_usage(spec: dict[str, Any] | None) -> Usage | None:
    if spec is None:
        return None
    return Usage(
        requests=spec.get("requests", 0),
        input_tokens=spec.get("input_tokens", 0),
        output_tokens=spec.get("output_tokens", 0),
        total_tokens=spec.get("total_tokens", 0),
        # 0.24.0 keeps cache writes next to cached tokens in the Responses InputTokensDetails
        # (`cache_write_tokens`), built the way agents.usage._make_input_tokens_details does.
        input_tokens_details=InputTokensDetails.model_validate(
            {
                "cached_tokens": spec.get("cached_input_tokens", 0),
                "cache_write_tokens": spec.get("cache_write_input_tokens", 0),
            }
        ),
        output_tokens_details=OutputTokensDetails(reasoning_tokens=spec.get("reasoning_tokens", 0)),
    )


class ScriptedError(Exception):
    """Base of the generic exceptions a scripted model step raises for a name that is no class of
    the client, of ``openai`` or of Python (``ModelUnavailable``): the client treats them like any
    exception it does not know."""


# openai's status errors, with the HTTP status of the response they are built with.
_OPENAI_STATUS_ERRORS = {
    "BadRequestError": 400,
    "AuthenticationError": 401,
    "PermissionDeniedError": 403,
    "NotFoundError": 404,
    "ConflictError": 409,
    "UnprocessableEntityError": 422,
    "RateLimitError": 429,
    "InternalServerError": 500,
}
_AGENTS_MESSAGE_ERRORS = (
    "AgentsException",
    "MaxTurnsExceeded",
    "ModelBehaviorError",
    "UserError",
    "MCPToolCancellationError",
)


def _scripted_exception(name: str, message: str) -> Exception:
    """The exception a scripted model step raises: the real class where one has that name (the
    client treats its own classes differently, e.g. ModelBehaviorError), a ScriptedError subclass
    otherwise. The harness loader (scenario/exceptions.rs) accepts exactly the names resolved here.
    """
    import builtins

    import openai

    from agents import exceptions as agents_exceptions

    error: Exception
    if name in _AGENTS_MESSAGE_ERRORS:
        error = getattr(agents_exceptions, name)(message)
    elif name in _OPENAI_STATUS_ERRORS:
        request = _provider_request()
        response = _httpx().Response(_OPENAI_STATUS_ERRORS[name], request=request)
        error = getattr(openai, name)(message, response=response, body=None)
    elif name == "APIConnectionError":
        error = openai.APIConnectionError(message=message, request=_provider_request())
    elif name == "APITimeoutError":
        error = openai.APITimeoutError(request=_provider_request())
    elif name == "OpenAIError":
        error = openai.OpenAIError(message)
    elif _exception_class(agents_exceptions, name) or _exception_class(openai, name):
        raise DriverError(f"{name} is a real class that a scripted model step cannot raise")
    elif _exception_class(builtins, name):
        error = getattr(builtins, name)(message)
    else:
        error = type(name, (ScriptedError,), {"__module__": __name__})(message)
    if type(error).__name__ != name or str(error) != message:
        raise DriverError(
            f"scripted error {name}: built {type(error).__name__} with message {str(error)!r}, "
            f"not {name} with {message!r}"
        )
    return error


def _exception_class(module: Any, name: str) -> bool:
    value = getattr(module, name, None)
    return isinstance(value, type) and issubclass(value, BaseException)


def _httpx() -> Any:
    # openai is built on httpx2 from version 3 on (httpx before); its errors take its types.
    try:
        import httpx2 as httpx
    except ImportError:  # pragma: no cover - older openai
        import httpx  # type: ignore[no-redef]
    return httpx


def _provider_request() -> Any:
    return _httpx().Request("POST", "https://api.openai.com/v1/responses")


def _tool_use_behavior(spec: dict[str, Any]) -> Any:
    """`Agent.tool_use_behavior` from the agent's `tool_use_behavior` or
    `stop_at_tool_names` (the loader allows at most one)."""
    stop_at = spec.get("stop_at_tool_names")
    if stop_at is not None:
        return {"stop_at_tool_names": list(stop_at)}
    final_output = spec.get("tools_final_output")
    if final_output is not None:

        def tools_to_final_output(context: Any, tool_results: Any) -> Any:
            return agents.ToolsToFinalOutputResult(is_final_output=True, final_output=final_output)

        return tools_to_final_output
    return spec.get("tool_use_behavior") or "run_llm_again"


class _Build:
    """The SDK objects of one scenario: agents, the scripted model, run settings."""

    def __init__(self, scenario: dict[str, Any], recorder: _Recorder) -> None:
        self.name = scenario.get("name", "<unnamed>")
        where = f"scenario {self.name!r}"

        guardrails = {
            g["name"]: _make_guardrail(g, self.name) for g in scenario.get("guardrails") or []
        }
        tools = {
            t["name"]: _make_tool(t, self.name, guardrails) for t in scenario.get("tools") or []
        }

        def resolve(kind: str, names: list[str], table: dict[str, Any], owner: str) -> list[Any]:
            missing = [n for n in names if n not in table]
            if missing:
                raise DriverError(
                    f"{where}: agent {owner!r} refers to undefined {kind} {missing} "
                    f"(defined: {sorted(table)})"
                )
            return [table[n] for n in names]

        # Scripted MCP servers, one process each per copy of the scenario; connected around
        # the runs by _execute.
        self.mcp_servers = {
            server["name"]: _make_mcp_server(server, self.name)
            for server in scenario.get("mcp_servers") or []
        }

        # Every agent is created before handoffs are wired: handoff graphs may be cyclic.
        self.agents: dict[str, Any] = {}
        agent_specs = scenario.get("agents") or []
        for spec in agent_specs:
            agent_name = spec["name"]
            self.agents[agent_name] = agents.Agent(
                name=agent_name,
                instructions=spec.get("instructions"),
                tools=resolve("tools", spec.get("tools") or [], tools, agent_name),
                output_type=_make_output_type(
                    spec.get("output_type"), f"{where}: agent {agent_name!r}"
                ),
                input_guardrails=resolve(
                    "input guardrails", spec.get("input_guardrails") or [], guardrails, agent_name
                ),
                output_guardrails=resolve(
                    "output guardrails", spec.get("output_guardrails") or [], guardrails, agent_name
                ),
                hooks=_AgentHooksRecorder(recorder),
                tool_use_behavior=_tool_use_behavior(spec),
                mcp_servers=resolve(
                    "MCP servers", spec.get("mcp_servers") or [], self.mcp_servers, agent_name
                ),
            )
        for spec in agent_specs:
            self.agents[spec["name"]].handoffs = resolve(
                "handoff agents", spec.get("handoffs") or [], self.agents, spec["name"]
            )
            # `agent_tools`: other agents as tools, after the function tools.
            for agent_name in spec.get("agent_tools") or []:
                target = resolve("agent tools", [agent_name], self.agents, spec["name"])[0]
                self.agents[spec["name"]].tools.append(
                    target.as_tool(tool_name=None, tool_description=None)
                )

        model_spec = scenario.get("model") or {}
        self.model = ScriptedModel(
            self._steps(model_spec.get("steps") or [], where),
            emit_traces=bool(model_spec.get("generation_spans", True)),
        )
        # One model for all agents, so steps are consumed in call order whichever agent calls.
        for agent in self.agents.values():
            agent.model = self.model

        run = scenario["run"]
        if run["agent"] not in self.agents:
            raise DriverError(
                f"{where}: run.agent {run['agent']!r} is not defined "
                f"(defined: {sorted(self.agents)})"
            )
        self.run = run
        # One in-memory session shared by every run of the scenario (`run.session`).
        self.session = agents.SQLiteSession(f"parity-{self.name}") if run.get("session") else None
        self.starting_agent = self.agents[run["agent"]]
        self.run_hooks = _RunHooksRecorder(recorder)

    def _steps(self, steps: list[dict[str, Any]], where: str) -> list[ModelStep]:
        built = []
        call_number = 0
        for i, step in enumerate(steps):
            error = step.get("error")
            if error is not None:
                built.append(
                    ModelStep.raise_error(_scripted_exception(error["name"], error["message"]))
                )
                continue
            output = []
            for j, item in enumerate(step.get("output") or []):
                item_where = f"{where}: model.steps[{i}].output[{j}]"
                if item.get("message") is not None:
                    output.append(assistant_message(item["message"]))
                    continue
                # Default call ids number every call item of the script, from 1.
                call_number += 1
                call_id = item.get("call_id") or f"call_{call_number}"
                if item.get("handoff") is not None:
                    target = item["handoff"]
                    if target not in self.agents:
                        raise DriverError(
                            f"{item_where}: handoff to undefined agent {target!r} "
                            f"(defined: {sorted(self.agents)})"
                        )
                    # The SDK's own name for the default handoff tool of that agent.
                    tool_name = Handoff.default_tool_name(self.agents[target])
                elif item.get("tool_call") is not None:
                    tool_name = item["tool_call"]
                elif item.get("missing_tool_call") is not None:
                    tool_name = item["missing_tool_call"]
                elif item.get("agent_tool_call") is not None:
                    target = item["agent_tool_call"]
                    if target not in self.agents:
                        raise DriverError(f"{item_where}: agent tool of undefined agent {target!r}")
                    # The SDK's own default name of the agent as a tool.
                    tool_name = _transforms.transform_string_function_style(
                        self.agents[target].name
                    )
                else:
                    raise DriverError(f"{item_where}: the item is neither a message nor a call")
                if item.get("raw_arguments") is not None:
                    arguments: Any = item["raw_arguments"]
                else:
                    arguments = item.get("arguments") or {}
                output.append(function_call(tool_name, arguments, call_id=call_id))
            usage = _make_usage(step.get("usage"))
            if usage is None:
                # ScriptedModel's own default usage applies (Usage(requests=1)).
                built.append(ModelStep(output=output))
            else:
                built.append(ModelStep(output=output, usage=usage))
        return built

    def run_config(self) -> agents.RunConfig:
        run = self.run
        kwargs: dict[str, Any] = {}
        if run.get("workflow_name") is not None:
            kwargs["workflow_name"] = run["workflow_name"]
        if run.get("group_id") is not None:
            kwargs["group_id"] = run["group_id"]
        if run.get("trace_metadata") is not None:
            kwargs["trace_metadata"] = dict(run["trace_metadata"])
        if run.get("trace_id") is not None:
            kwargs["trace_id"] = run["trace_id"]
        # Left out when absent so RunConfig's default factory reads
        # OPENAI_AGENTS_TRACE_INCLUDE_SENSITIVE_DATA, as it does for users.
        if run.get("trace_include_sensitive_data") is not None:
            kwargs["trace_include_sensitive_data"] = run["trace_include_sensitive_data"]
        if run.get("tracing_disabled") is not None:
            kwargs["tracing_disabled"] = run["tracing_disabled"]
        if run.get("include_task_and_turn_spans") is not None:
            kwargs["tracing"] = {"include_task_and_turn_spans": run["include_task_and_turn_spans"]}
        return agents.RunConfig(**kwargs)


# --------------------------------------------------------------------------------------------
# Executing the scenario


async def _execute(scenario: dict[str, Any], builds: list[_Build], recorder: _Recorder) -> None:
    # MCP servers are connected for the scenario's runs and closed after them, inside this event
    # loop (an MCP connection belongs to the loop that made it). Connecting records nothing.
    async with contextlib.AsyncExitStack() as servers:
        for built in builds:
            for server in built.mcp_servers.values():
                await servers.enter_async_context(server)
        await _execute_runs(scenario, builds, recorder)


async def _execute_runs(
    scenario: dict[str, Any], builds: list[_Build], recorder: _Recorder
) -> None:
    user_trace = scenario.get("trace")
    if user_trace is None:
        if len(builds) > 1:
            # Copies run as concurrent tasks, each in its own copied context (as
            # asyncio.gather does for users), so each makes its own trace; their events
            # interleave.
            await asyncio.gather(*(_run_once(built, recorder) for built in builds))
            return
        (built,) = builds
        # `repeat`: runs one after another, each making its own trace, until one raises.
        for _ in range(built.run.get("repeat") or 1):
            if not await _run_once(built, recorder):
                return
        return
    with agents.trace(
        user_trace["workflow_name"],
        group_id=user_trace.get("group_id"),
        metadata=dict(user_trace["metadata"]) if user_trace.get("metadata") is not None else None,
        disabled=bool(user_trace.get("disabled")),
    ):
        await _run_actions(user_trace.get("body") or [], builds, recorder)


async def _run_actions(
    actions: list[dict[str, Any]], builds: list[_Build], recorder: _Recorder
) -> bool:
    """Performs actions in order; False once a run raised, so later actions are skipped.

    A `run` action performs every copy's run at once (`asyncio.gather`, each in a copy of the
    current context, so all run inside the user trace and the enclosing custom spans).

    The exception itself is not re-raised: the enclosing `with` blocks exit normally, so their
    span and trace ends are recorded as a user's code that handled the error would produce them.
    """
    for action in actions:
        if action.get("run"):
            if len(builds) == 1:
                completed = [await _run_once(builds[0], recorder)]
            else:
                completed = await asyncio.gather(*(_run_once(b, recorder) for b in builds))
            # `on_error = "continue"`: the user's code catches the run's error and goes on.
            if not all(completed) and action.get("on_error") != "continue":
                return False
        elif action.get("custom_span") is not None:
            data = dict(action["data"]) if action.get("data") is not None else {}
            with agents.custom_span(action["custom_span"], data=data):
                if not await _run_actions(action.get("body") or [], builds, recorder):
                    return False
        else:
            raise DriverError(
                f"scenario {builds[0].name!r}: a trace action is neither `run` nor `custom_span`"
            )
    return True


async def _run_once(built: _Build, recorder: _Recorder) -> bool:
    """Performs the scenario's run and records its outcome; True when it completed.

    A run interrupted by tool calls that need approval records an `interrupted` outcome; each
    `[[run.resume]]` entry then decides on the pending calls and resumes the run from its state
    (another run, with its own outcome).
    """
    run = built.run
    kwargs: dict[str, Any] = {"run_config": built.run_config(), "hooks": built.run_hooks}
    if built.session is not None:
        kwargs["session"] = built.session
    if run.get("max_turns") is not None:
        kwargs["max_turns"] = run["max_turns"]
    run_input: Any = run["input"]
    resumes = list(run.get("resume") or [])
    while True:
        try:
            if run.get("streamed") and run.get("drain") is False:
                # The events are never read: the caller waits for the run's background task
                # (a defined point: without a consumer the run does not wait for one), then
                # reads its outcome from the result.
                result = agents.Runner.run_streamed(built.starting_agent, run_input, **kwargs)
                await asyncio.wait([result.run_loop_task])
                if result.run_loop_exception is not None:
                    raise result.run_loop_exception
            elif run.get("streamed"):
                result = agents.Runner.run_streamed(built.starting_agent, run_input, **kwargs)
                async for _ in result.stream_events():
                    pass
            else:
                result = await agents.Runner.run(built.starting_agent, run_input, **kwargs)
        except Exception as e:  # noqa: BLE001 - any exception of the run is its outcome
            recorder.add(
                "outcome", {"status": "raised", "error": type(e).__name__, "message": str(e)}
            )
            return False
        if not result.interruptions:
            recorder.add(
                "outcome",
                {"status": "completed", "final_output": _output_value(result.final_output)},
            )
            return True
        recorder.add(
            "outcome",
            {
                "status": "interrupted",
                "interruptions": [
                    {
                        "agent": item.agent.name,
                        "tool": item.tool_name,
                        "call_id": item.call_id,
                        "arguments": item.arguments,
                    }
                    for item in result.interruptions
                ],
            },
        )
        if not resumes:
            return True
        run_input = await _resumed_state(built, result, resumes.pop(0))


async def _resumed_state(built: _Build, result: Any, resume: dict[str, Any]) -> Any:
    """The state a `[[run.resume]]` entry resumes from, with its decisions applied."""
    state = result.to_state()
    source = resume.get("from") or "state"
    if source != "state":
        saved = state.to_json()
        if source == "json_new_process":
            # A new process has started no trace yet: the client reattaches to the saved trace
            # only if this process started it (agents.tracing.traces keeps those ids).
            _started_trace_ids().clear()
        state = await agents.RunState.from_json(built.starting_agent, saved)
    always = set(resume.get("always") or [])
    approve = set(resume.get("approve") or [])
    reject = set(resume.get("reject") or [])
    interruptions = {item.call_id: item for item in state.get_interruptions()}
    # The entry's `order`, else the order of the pending calls (the loader checked `order`).
    for call_id in resume.get("order") or list(interruptions):
        item = interruptions.get(call_id)
        if item is None:
            continue
        if item.call_id in approve:
            state.approve(item, always_approve=item.call_id in always)
        elif item.call_id in reject:
            state.reject(
                item,
                always_reject=item.call_id in always,
                rejection_message=resume.get("rejection_message"),
            )
    return state


def _started_trace_ids() -> Any:
    """The client's per-process record of started trace ids (no public accessor)."""
    from agents.tracing import traces

    return traces._started_trace_ids

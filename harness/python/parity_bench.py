"""Micro-benchmarks of the Python client for `cargo bench -p parity-harness` (harness/benches).

Timed inside Python with `time.perf_counter_ns`, so the pyo3 call around a batch of iterations
is not counted. Each function takes a configuration and an iteration count, installs the
configuration, runs, restores the process state it changed, and returns the elapsed
nanoseconds of the timed loop.

Configurations (one custom span started and ended inside a trace, per iteration):

* ``recording``: the only processor serializes every start and end export to JSON text, as
  the Rust benchmark ``span/recording_to_bytes`` does;
* ``no_processor``: no processor installed;
* ``disabled``: tracing disabled (``set_tracing_disabled(True)``).
"""

from __future__ import annotations

import contextlib
import json
import time
from typing import Any, Iterator

import agents
from agents.tracing.setup import get_trace_provider


class _SerializingProcessor(agents.TracingProcessor):
    def on_trace_start(self, trace: Any) -> None:
        json.dumps(trace.export())

    def on_trace_end(self, trace: Any) -> None:
        json.dumps(trace.export())

    def on_span_start(self, span: Any) -> None:
        json.dumps(span.export())

    def on_span_end(self, span: Any) -> None:
        json.dumps(span.export())

    def shutdown(self) -> None:
        pass

    def force_flush(self) -> None:
        pass


@contextlib.contextmanager
def _configured(config: str) -> Iterator[None]:
    """Installs `config` (see the module docs) and restores the provider's processors and
    disabled flags afterwards."""
    provider = get_trace_provider()
    multi = getattr(provider, "_multi_processor", None)
    saved_processors = tuple(getattr(multi, "_processors", ()))
    saved_disabled = {
        attr: getattr(provider, attr)
        for attr in ("_env_disabled", "_manual_disabled", "_disabled")
        if hasattr(provider, attr)
    }
    processors = {"recording": [_SerializingProcessor()], "no_processor": [], "disabled": []}
    if config not in processors:
        raise ValueError(f"unknown configuration {config!r}")
    try:
        agents.set_trace_processors(processors[config])
        agents.set_tracing_disabled(config == "disabled")
        yield
    finally:
        agents.set_trace_processors(list(saved_processors))
        for attr, value in saved_disabled.items():
            setattr(provider, attr, value)


def custom_spans(config: str, iterations: int) -> int:
    """Elapsed ns of `iterations` custom spans in one trace under `config`."""
    with _configured(config), agents.trace("bench"):
        start = time.perf_counter_ns()
        for _ in range(iterations):
            with agents.custom_span("step"):
                pass
        return time.perf_counter_ns() - start


def _tool_call_run() -> Any:
    """A coroutine function running the `tool_call` scenario once (one tool call, then an
    answer, generation spans on); the agent and its scripted model are built untimed."""
    from agents.testing import ModelStep, ScriptedModel, assistant_message, function_call

    async def get_weather(city: str) -> str:
        return "sunny in Paris"

    tool = agents.function_tool(get_weather)

    async def timed_run() -> int:
        model = ScriptedModel(
            [
                ModelStep(output=[function_call("get_weather", {"city": "Paris"}, call_id="call_1")]),
                ModelStep(output=[assistant_message("It is sunny in Paris.")]),
            ],
            emit_traces=True,
        )
        agent = agents.Agent(name="weather", tools=[tool], model=model)
        start = time.perf_counter_ns()
        await agents.Runner.run(agent, "What is the weather in Paris?")
        return time.perf_counter_ns() - start

    return timed_run


def tool_call_runs(config: str, iterations: int) -> int:
    """Elapsed ns of `iterations` runs of the `tool_call` scenario, each `await
    Runner.run(...)` timed on its own inside one event loop; `config` as for
    `custom_spans`."""
    import asyncio

    timed_run = _tool_call_run()

    async def runs() -> int:
        return sum([await timed_run() for _ in range(iterations)])

    with _configured(config):
        return asyncio.run(runs())


def tool_call_share(config: str, iterations: int) -> int:
    """The telemetry share of `iterations` `tool_call` runs: each iteration times one run
    recording (serializing every export) and one with tracing disabled, back to back in the
    same event loop, and adds the differences. Alternating keeps drift (heap growth, caches)
    out of the difference. A total below zero (the share drowned in the runs' own variation)
    is returned as 1 ns, which criterion accepts and the report shows as implausibly small.
    `config` must be ``share``."""
    import asyncio

    if config != "share":
        raise ValueError(f"unknown configuration {config!r}")
    timed_run = _tool_call_run()

    async def runs() -> int:
        difference = 0
        for _ in range(iterations):
            with _configured("recording"):
                difference += await timed_run()
            with _configured("disabled"):
                difference -= await timed_run()
        return max(difference, 1)

    return asyncio.run(runs())

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


def tool_call_runs(config: str, iterations: int) -> int:
    """Elapsed ns of `iterations` runs of the `tool_call` scenario (one tool call, then an
    answer, with generation spans), each `await Runner.run(...)` timed on its own inside one
    event loop; `config` as for `custom_spans`."""
    import asyncio

    from agents.testing import ModelStep, ScriptedModel, assistant_message, function_call

    async def get_weather(city: str) -> str:
        return "sunny in Paris"

    tool = agents.function_tool(get_weather)

    async def runs() -> int:
        total = 0
        for _ in range(iterations):
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
            total += time.perf_counter_ns() - start
        return total

    with _configured(config):
        return asyncio.run(runs())

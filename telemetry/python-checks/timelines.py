"""Record what openai-agents (0.24.0) emits for small tracing scenarios.

For each scenario, in a fresh interpreter, this records one interleaved timeline of
  * processor events: [event, export()] where event is trace_start/trace_end/span_start/span_end
  * log records of the `openai.agents` logger: ["log", LEVEL, message]
then normalizes it (ids -> trace#N/span#N by first appearance, timestamps -> "<ts>" after
checking their shape) and prints {scenario: timeline} as JSON.

The Rust side (tests/integration/python_timelines.rs) runs the same scenarios and compares
with the stored output:

    (from telemetry/) ../.parity/venv/bin/python python-checks/timelines.py > tests/integration/fixtures/python_timelines.json
"""

import json
import logging
import re
import subprocess
import sys

SCENARIOS = [
    "basic", "nested", "no_trace", "disabled_trace", "provider_disabled", "twice",
    "panicking_processor", "harness_metadata", "span_types", "trace_inside_span",
    "disabled_span_masks", "explicit_ids", "noop_span_id", "explicit_parents",
    "restart_started_trace", "double_trace_finish", "finish_inside_with",
]

ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?\+00:00$")


def normalize(timeline):
    names = {}

    def rename(value, prefix):
        if value is None:
            return None
        if value not in names:
            count = sum(1 for v in names.values() if v.startswith(prefix + "#"))
            names[value] = f"{prefix}#{count + 1}"
        return names[value]

    def walk(obj):
        if isinstance(obj, dict):
            out = {}
            for key, value in obj.items():
                if key == "id" and obj.get("object") == "trace":
                    out[key] = rename(value, "trace")
                elif key == "id" and obj.get("object") == "trace.span":
                    out[key] = rename(value, "span")
                elif key == "trace_id":
                    out[key] = rename(value, "trace")
                elif key == "parent_id":
                    out[key] = rename(value, "span")
                elif key in ("started_at", "ended_at") and value is not None:
                    assert ISO.match(value), value
                    out[key] = "<ts>"
                else:
                    out[key] = walk(value)
            return out
        if isinstance(obj, list):
            return [walk(v) for v in obj]
        return obj

    return [walk(entry) for entry in timeline]


def run(scenario):
    from agents.tracing import (
        TracingProcessor, agent_span, custom_span, function_span, generation_span,
        guardrail_span, handoff_span, mcp_tools_span, response_span, set_trace_processors,
        set_tracing_disabled, trace,
    )
    from agents.tracing.create import task_span, turn_span

    timeline = []

    class Handler(logging.Handler):
        def emit(self, record):
            timeline.append(["log", record.levelname, record.getMessage()])

    logger = logging.getLogger("openai.agents")
    logger.addHandler(Handler())
    logger.setLevel(logging.DEBUG)
    logger.propagate = False

    class Recorder(TracingProcessor):
        def on_trace_start(self, t): timeline.append(["trace_start", t.export()])
        def on_trace_end(self, t): timeline.append(["trace_end", t.export()])
        def on_span_start(self, s): timeline.append(["span_start", s.export()])
        def on_span_end(self, s): timeline.append(["span_end", s.export()])
        def shutdown(self): pass
        def force_flush(self): pass

    class Panicking(Recorder):
        def on_span_start(self, s): raise RuntimeError("processor bug")
        def on_trace_start(self, t): pass
        def on_trace_end(self, t): pass
        def on_span_end(self, s): pass

    set_trace_processors([Recorder()])

    if scenario == "basic":
        with trace("wf", group_id="g", metadata={"k": "v"}):
            with custom_span("outer", {"a": 1}) as outer:
                outer.set_error({"message": "m", "data": {"x": 1}})
                with agent_span("A") as agent:
                    agent.span_data.tools = ["t"]
    elif scenario == "nested":
        with trace("one"):
            with trace("two"):
                with custom_span("c"):
                    pass
            with custom_span("d"):
                pass
    elif scenario == "no_trace":
        with custom_span("x"):
            pass
    elif scenario == "disabled_trace":
        with trace("d", disabled=True):
            with custom_span("x"):
                pass
    elif scenario == "provider_disabled":
        set_tracing_disabled(True)
        with trace("d"):
            with custom_span("x"):
                pass
    elif scenario == "twice":
        with trace("w"):
            span = custom_span("x")
            span.start()
            span.start()
            span.finish()
            span.finish()
    elif scenario == "panicking_processor":
        set_trace_processors([Panicking(), Recorder()])
        with trace("w"):
            with custom_span("x"):
                pass
    elif scenario == "harness_metadata":
        with trace("w", metadata={"agent_harness_id": "h1", "other": 2}):
            with agent_span("A") as agent:
                agent.span_data.metadata = {"usage": {"requests": 1}, "agent_harness_id": "X"}
    elif scenario == "span_types":
        with trace("w"):
            spans = [
                agent_span("A"), function_span("f"), generation_span(), response_span(),
                handoff_span(from_agent="A"), guardrail_span("g"), mcp_tools_span(server="srv"),
                task_span("Agent workflow"), turn_span(1, "A"), custom_span("c"),
            ]
            for span in spans:
                span.start()
                span.finish()
    elif scenario == "trace_inside_span":
        with trace("one"):
            with custom_span("outer"):
                with trace("two"):
                    with custom_span("inner"):
                        pass
    elif scenario == "disabled_span_masks":
        with trace("m"):
            with custom_span("d", disabled=True):
                with custom_span("child"):
                    pass
            with custom_span("after"):
                pass
    elif scenario == "explicit_ids":
        with trace("w", trace_id="not-a-valid-id"):
            with custom_span("x", span_id="span_bbbbbbbbbbbbbbbbbbbbbbbb"):
                pass
    elif scenario == "noop_span_id":
        with trace("w"):
            with custom_span("x", span_id="no-op"):
                with custom_span("child"):
                    pass
    elif scenario == "explicit_parents":
        from agents.tracing.traces import NoOpTrace
        other = trace("other")
        with trace("w"):
            with custom_span("under_other", parent=other):
                pass
            outer = custom_span("outer")
            outer.start()
            with custom_span("under_outer", parent=outer):
                pass
            outer.finish()
            with custom_span("under_noop", parent=NoOpTrace()):
                pass
    elif scenario == "restart_started_trace":
        started = trace("x")
        started.start()
        with started:
            with custom_span("inside"):
                pass
    elif scenario == "double_trace_finish":
        finished = trace("x")
        finished.start()
        finished.finish()
        finished.finish()
    elif scenario == "finish_inside_with":
        with trace("w"):
            with custom_span("x") as x:
                x.finish()
            with custom_span("y"):
                pass
    else:
        raise SystemExit(f"unknown scenario {scenario}")
    return normalize(timeline)


if __name__ == "__main__":
    if len(sys.argv) > 1:
        print(json.dumps(run(sys.argv[1])))
    else:
        results = {}
        for scenario in SCENARIOS:
            out = subprocess.run([sys.executable, __file__, scenario], check=True, capture_output=True, text=True)
            results[scenario] = json.loads(out.stdout)
        print(json.dumps(results, indent=1))

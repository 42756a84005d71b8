#!/usr/bin/env python3
"""Where each record of a scenario falls in the Python client's event loop.

Runs one scenario through the python driver (harness/python/parity_driver.py) with the venv's
client, and prints every raw record with the asyncio event-loop iteration it was emitted in and
the task that emitted it. This is what decides how concurrent work interleaves (a response's
tool calls, an agent called as a tool beside other calls, concurrent copies): to model an
interleaving in codex-telemetry, read the iterations here.

    .parity/venv/bin/python scripts/asyncio_timeline.py SCENARIO   # a name or a .toml path

The scenario is loaded by the harness: `parity show SCENARIO --input`, with the binary named by
$PARITY_BIN, else the release build (`cargo build --release -p parity-harness`).
"""

import asyncio
import asyncio.base_events
import json
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "harness" / "python"))

import parity_driver  # noqa: E402  (needs the path above)


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    parity = pathlib.Path(os.environ.get("PARITY_BIN") or ROOT / "target" / "release" / "parity")
    if not parity.exists():
        print(f"{parity} does not exist: build the harness first (cargo build --release -p parity-harness)", file=sys.stderr)
        return 2
    loaded = subprocess.run(
        [str(parity), "show", sys.argv[1], "--input"], capture_output=True, text=True, cwd=ROOT
    )
    if loaded.returncode != 0:
        print(loaded.stderr, file=sys.stderr)
        return loaded.returncode

    iteration = [0]
    run_once = asyncio.base_events.BaseEventLoop._run_once

    def counting_run_once(self: asyncio.base_events.BaseEventLoop) -> None:
        iteration[0] += 1
        run_once(self)

    asyncio.base_events.BaseEventLoop._run_once = counting_run_once  # type: ignore[method-assign]

    add = parity_driver._Recorder.add

    def add_and_print(self: object, kind: str, data: dict) -> None:
        add(self, kind, data)
        try:
            task = asyncio.current_task()
        except RuntimeError:
            task = None
        print(f"{iteration[0]:5d} {task.get_name() if task else '-':10s} {kind:10s} {describe(kind, data)}")

    parity_driver._Recorder.add = add_and_print  # type: ignore[method-assign]
    parity_driver.run_scenario(loaded.stdout)
    return 0


def describe(kind: str, data: dict) -> str:
    if kind == "log":
        return f"{data.get('level', '')} {data.get('message', '')}"
    if kind == "hook":
        return f"{data.get('scope', '')}.{data.get('hook', '')} {data.get('agent', '')} {data.get('tool', '')}"
    if kind in ("span_start", "span_end"):
        span_data = data.get("span_data") or {}
        inner = span_data.get("data") if isinstance(span_data.get("data"), dict) else {}
        return f"{span_data.get('type', '')} {span_data.get('name') or inner.get('name', '')}"
    return json.dumps(data)[:80] if kind == "outcome" else ""


if __name__ == "__main__":
    sys.exit(main())

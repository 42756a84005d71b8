"""A scripted stdio MCP server for scenarios with `[[mcp_servers]]` (see docs/scenarios.md).

One server process per server and scenario, with the `mcp` package the client pins (mcp 2.x
lowlevel `Server`), in one of two ways:

* `<venv python> parity_mcp_server.py '<spec JSON>'`: the server itself;
* `<venv python> parity_mcp_server.py --forkserver SOCKET`: a fork server, started once per run by
  the python driver. It imports the `mcp` package once (most of a server's start-up: about 0.8 s)
  and then forks a fresh server process for each `parity_mcp_launch.py` that connects, on the
  launcher's own stdin, stdout and stderr (passed over the Unix socket), so the client talks to
  it exactly as to the server started directly. It exits when its stdin closes (the harness
  process ended).

The spec:

    {"name": "files", "tools": [
        {"name": "read", "description": "…", "parameters": {"path": "string"},
         "content": ["text", …], "is_error": false},      # a CallToolResult of text items
        {"name": "write", "error": "disk full"}           # an MCP error answer
    ]}

The server prints nothing: the client would pass its stderr through to the harness.
"""

import json
import logging
import os
import selectors
import signal
import socket
import struct
import sys

import anyio
import mcp_types as types
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server
from mcp.shared.exceptions import MCPError

# The server's own loggers print a traceback for an error answer; nothing here is telemetry.
logging.disable(logging.CRITICAL)

# An MCP error answer with a server-defined code (JSON-RPC reserves -32000 to -32099 for those).
SERVER_ERROR = -32000
# The launcher's request: an 8-byte big-endian length, then the spec as JSON.
LENGTH = struct.Struct("!Q")


def _input_schema(tool: dict) -> dict:
    properties = {name: {"type": kind} for name, kind in (tool.get("parameters") or {}).items()}
    return {"type": "object", "properties": properties, "required": sorted(properties)}


def serve(spec: dict) -> None:
    """Runs the server of `spec` on this process's stdin and stdout until stdin closes."""
    tools = {tool["name"]: tool for tool in spec["tools"]}

    async def list_tools(ctx, params):
        return types.ListToolsResult(
            tools=[
                types.Tool(
                    name=tool["name"],
                    description=tool.get("description"),
                    input_schema=_input_schema(tool),
                )
                for tool in spec["tools"]
            ]
        )

    async def call_tool(ctx, params):
        tool = tools.get(params.name)
        if tool is None:
            raise MCPError(code=-32602, message=f"Unknown tool: {params.name}")
        if tool.get("error") is not None:
            raise MCPError(code=SERVER_ERROR, message=tool["error"])
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=text) for text in tool.get("content") or []],
            is_error=bool(tool.get("is_error")),
        )

    server = Server(spec["name"], on_list_tools=list_tools, on_call_tool=call_tool)

    async def main() -> None:
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())

    anyio.run(main)


def _read_request(conn: socket.socket) -> tuple[dict, list[int]]:
    """The launcher's spec and its stdin, stdout and stderr."""
    data, fds, _flags, _addr = socket.recv_fds(conn, 1 << 16, 3)
    while len(data) < LENGTH.size:
        chunk = conn.recv(1 << 16)
        if not chunk:
            raise EOFError("the launcher went away before its request was complete")
        data += chunk
    (length,) = LENGTH.unpack_from(data)
    payload = data[LENGTH.size :]
    while len(payload) < length:
        chunk = conn.recv(1 << 16)
        if not chunk:
            raise EOFError("the launcher went away before its request was complete")
        payload += chunk
    if len(fds) != 3:
        raise EOFError(f"the launcher passed {len(fds)} file descriptors, not 3")
    return json.loads(payload), fds


def _fork_server(spec: dict, fds: list[int], keep_closed: list[int]) -> int:
    """Forks a server on the launcher's `fds`; returns the child's pid (in the parent)."""
    pid = os.fork()
    if pid:
        return pid
    # The child: nothing of the fork server's own plumbing, then the server on the launcher's stdio.
    try:
        for fd in keep_closed:
            os.close(fd)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        serve(spec)
        code = 0
    except BaseException:  # noqa: BLE001 - a child must never return into the fork server's loop
        code = 1
    os._exit(code)


def forkserver(path: str) -> None:
    """Serves launchers on the Unix socket `path` until stdin closes."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(16)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "accept")
    selector.register(sys.stdin.fileno(), selectors.EVENT_READ, "stdin")
    # pid -> (connection to its launcher, pidfd that becomes readable when the child exits).
    children: dict[int, tuple[socket.socket, int]] = {}
    print("ready", flush=True)
    try:
        while True:
            for key, _events in selector.select():
                kind = key.data
                if kind == "stdin":
                    if not os.read(sys.stdin.fileno(), 4096):
                        return
                elif kind == "accept":
                    conn, _ = listener.accept()
                    conn.settimeout(10)
                    try:
                        spec, fds = _read_request(conn)
                    except (OSError, EOFError, ValueError):
                        conn.close()
                        continue
                    closed_in_child = [listener.fileno(), conn.fileno(), selector_fd(selector)]
                    closed_in_child += [pidfd for _c, pidfd in children.values()]
                    closed_in_child += [c.fileno() for c, _p in children.values()]
                    pid = _fork_server(spec, fds, closed_in_child)
                    for fd in fds:
                        os.close(fd)
                    pidfd = os.pidfd_open(pid)
                    children[pid] = (conn, pidfd)
                    selector.register(pidfd, selectors.EVENT_READ, ("exited", pid))
                    selector.register(conn, selectors.EVENT_READ, ("launcher", pid))
                elif kind[0] == "launcher":
                    # The launcher's connection closed early: it was killed; so is its server.
                    pid = kind[1]
                    if pid in children:
                        selector.unregister(children[pid][0])
                        os.kill(pid, signal.SIGKILL)
                elif kind[0] == "exited":
                    pid = kind[1]
                    conn, pidfd = children.pop(pid)
                    _, status = os.waitpid(pid, 0)
                    selector.unregister(pidfd)
                    os.close(pidfd)
                    try:
                        selector.unregister(conn)
                    except KeyError:
                        pass
                    try:
                        conn.sendall(struct.pack("!i", os.waitstatus_to_exitcode(status)))
                    except OSError:
                        pass
                    conn.close()
    finally:
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            os.unlink(path)
        except OSError:
            pass


def selector_fd(selector: selectors.BaseSelector) -> int:
    """The selector's own descriptor (epoll), which a child must not keep."""
    fileno = getattr(selector, "fileno", None)
    return fileno() if fileno else -1


if __name__ == "__main__":
    if sys.argv[1] == "--forkserver":
        forkserver(sys.argv[2])
    else:
        serve(json.loads(sys.argv[1]))

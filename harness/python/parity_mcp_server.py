"""A scripted stdio MCP server for scenarios with `[[mcp_servers]]` (see docs/scenarios.md).

Started by the python driver as `<venv python> parity_mcp_server.py '<spec JSON>'`, one process per
server and scenario, with the `mcp` package the client pins (mcp 2.x lowlevel `Server`). The spec:

    {"name": "files", "tools": [
        {"name": "read", "description": "…", "parameters": {"path": "string"},
         "content": ["text", …], "is_error": false},      # a CallToolResult of text items
        {"name": "write", "error": "disk full"}           # an MCP error answer
    ]}

The server prints nothing: the client would pass its stderr through to the harness.
"""

import json
import logging
import sys

import anyio
import mcp_types as types
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server
from mcp.shared.exceptions import MCPError

# The server's own loggers print a traceback for an error answer; nothing here is telemetry.
logging.disable(logging.CRITICAL)

SPEC = json.loads(sys.argv[1])
TOOLS = {tool["name"]: tool for tool in SPEC["tools"]}
# An MCP error answer with a server-defined code (JSON-RPC reserves -32000 to -32099 for those).
SERVER_ERROR = -32000


def _input_schema(tool: dict) -> dict:
    properties = {name: {"type": kind} for name, kind in (tool.get("parameters") or {}).items()}
    return {"type": "object", "properties": properties, "required": sorted(properties)}


async def list_tools(ctx, params):
    return types.ListToolsResult(
        tools=[
            types.Tool(
                name=tool["name"],
                description=tool.get("description"),
                input_schema=_input_schema(tool),
            )
            for tool in SPEC["tools"]
        ]
    )


async def call_tool(ctx, params):
    tool = TOOLS.get(params.name)
    if tool is None:
        raise MCPError(code=-32602, message=f"Unknown tool: {params.name}")
    if tool.get("error") is not None:
        raise MCPError(code=SERVER_ERROR, message=tool["error"])
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=text) for text in tool.get("content") or []],
        is_error=bool(tool.get("is_error")),
    )


server = Server(SPEC["name"], on_list_tools=list_tools, on_call_tool=call_tool)


async def main() -> None:
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


anyio.run(main)

"""Starts one scripted MCP server through the fork server (see parity_mcp_server.py).

Run by the client as `<venv python> -I -S parity_mcp_launch.py SOCKET '<spec JSON>'`, in place of
the server itself: it passes its stdin, stdout and stderr and the spec to the fork server, which
forks a server on them, and exits with the server's exit status. Standard library only, so it
starts in milliseconds.
"""

import os
import socket
import struct
import sys

path, spec = sys.argv[1], sys.argv[2].encode()
conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    conn.connect(path)
except OSError as e:
    sys.exit(f"parity_mcp_launch: cannot reach the MCP fork server at {path}: {e}")
socket.send_fds(conn, [struct.pack("!Q", len(spec)) + spec], [0, 1, 2])
# The server has them now; holding stdout here would keep the client from seeing it close.
os.close(0)
os.close(1)
status = b""
while len(status) < 4:
    chunk = conn.recv(4 - len(status))
    if not chunk:
        sys.exit("parity_mcp_launch: the MCP fork server went away before the server exited")
    status += chunk
sys.exit(struct.unpack("!i", status)[0])

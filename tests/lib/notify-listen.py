#!/usr/bin/python3
"""Stand in for systemd's notification socket: bind an AF_UNIX datagram
socket at PATH (or @NAME, abstract) and append every datagram to OUT as
one line "pid=PID MSG", newlines in MSG written as '|'. The sender's pid
comes from the kernel (SO_PASSCRED), as systemd checks it for
NotifyAccess=main. Prints "ready" on stdout once bound."""
import os
import socket
import struct
import sys

path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind("\0" + path[1:] if path.startswith("@") else path)
print("ready", flush=True)
with open(out, "a", buffering=1) as f:
    while True:
        msg, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
        pid = 0
        for level, kind, data in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = struct.unpack("iII", data[:12])[0]
        f.write(f"pid={pid} {msg.decode(errors='replace').replace(chr(10), '|')}\n")

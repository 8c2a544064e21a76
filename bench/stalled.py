#!/usr/bin/env python3
"""Stalled request bodies: memory and service while many clients hold connections open.

    stalled.py BINARY CONNECTIONS

Starts `BINARY serve` on a fresh SQLite database (sample catalog), measures its RSS idle,
then opens CONNECTIONS connections that each send a write's headers with
`Content-Length: 100` and one byte of body, and never the rest. Meanwhile it times
`/healthz` from a fresh connection; then it waits for the server to close the stalled
connections (the body deadline, REGISTRY_BODY_TIMEOUT_MS) and measures RSS again.
Prints one JSON line. Standard library only; needs `ulimit -n` above CONNECTIONS.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def healthz_ms(port: int) -> float | None:
    started = time.perf_counter()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            answer = s.recv(64)
        return (time.perf_counter() - started) * 1000 if answer.startswith(b"HTTP/1.1 200") else None
    except OSError:
        return None


def main() -> None:
    binary, count = sys.argv[1], int(sys.argv[2])
    work = tempfile.mkdtemp()
    env = dict(os.environ, DATABASE_URL=f"sqlite://{work}/r.db", REGISTRY_BIND="127.0.0.1:0",
               RUST_LOG="warn,jjj_registry::cli=info", REGISTRY_BODY_TIMEOUT_MS=os.environ.get("BODY_TIMEOUT_MS", "10000"))
    server = subprocess.Popen([binary, "serve"], env=env, stderr=subprocess.PIPE, text=True)
    for line in server.stderr:
        if "listening on http://" in line:
            port = int(line.split("listening on http://")[1].split(";")[0].split(":")[1])
            break
    time.sleep(1)
    idle = rss_mb(server.pid)
    held = []
    request = (b"PATCH /api/v1/recognition-items/RI-CON-002/local-parts/TJ HTTP/1.1\r\nHost: x\r\n"
               b"Content-Type: application/merge-patch+json\r\nContent-Length: 100\r\n\r\n{")
    opened_at = time.monotonic()
    for _ in range(count):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(request)
            held.append(s)
        except OSError:
            break
    opened = time.monotonic() - opened_at
    during = healthz_ms(port)
    peak = rss_mb(server.pid)
    # The server closes them after the body deadline; wait for every one to be closed.
    deadline = time.monotonic() + 120
    for s in held:
        s.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            while s.recv(4096):
                pass
        except OSError:
            pass
        s.close()
    closed_after = time.monotonic() - opened_at
    time.sleep(2)
    after = rss_mb(server.pid)
    after_healthz = healthz_ms(port)
    server.terminate()
    server.wait()
    print(json.dumps({
        "connections": len(held), "opened_in_s": round(opened, 2),
        "rss_idle_mb": round(idle, 1), "rss_with_stalled_mb": round(peak, 1), "rss_after_mb": round(after, 1),
        "healthz_ms_while_stalled": None if during is None else round(during, 1),
        "all_closed_after_s": round(closed_after, 1),
        "healthz_ms_after": None if after_healthz is None else round(after_healthz, 1),
    }))


if __name__ == "__main__":
    main()

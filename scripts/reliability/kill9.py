#!/usr/bin/env python3
"""kill -9 during a stream of writes, ROUNDS times: is every acknowledged write there?

    kill9.py BINARY DATABASE_URL ROUNDS

Each round starts `BINARY serve` on DATABASE_URL, lets WRITERS clients change their own
regions' sides of recognition items as fast as they can (If-Match, durable commit,
audited), kills the server with SIGKILL after a random 0.2-1.2 s, restarts it and checks:

- every write answered 2xx is there: each side's version is at least the last one
  acknowledged, and its notes are the last acknowledged ones or those of the one write
  that was in flight when the server died (committed but not answered: allowed);
- nothing is half-applied: a side's notes always match a value some write sent whole;
- the audit chain verifies (GET /api/v1/audit/verify);
- the change feed has no gap and no repeat (sequence numbers 1..head).

Standard library only. Prints one line per round and a summary; exits 1 on any loss.
"""

import http.client
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time

WRITERS = 4


def main() -> None:
    binary, database_url, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
    secret = "kill9-development-secret-0123456789abcdef"
    env = dict(os.environ, DATABASE_URL=database_url, REGISTRY_DEV_SECRET=secret,
               REGISTRY_SAMPLE_CATALOG="always", REGISTRY_READ_RATE_LIMIT="0",
               REGISTRY_WRITE_RATE_LIMIT="0", RUST_LOG="warn,jjj_registry::cli=info", REGISTRY_BIND="127.0.0.1:0")

    def token(region: str, roles: str) -> str:
        return subprocess.run([binary, "token", "--region", region, "--roles", roles, "--ttl", "2h",
                               "--sub", f"kill9-{region}"], env=env, check=True,
                              capture_output=True, text=True).stdout.strip()

    tokens = {region: token(region, "editor") for region in ("BJ", "TJ", "HE")}
    admin = token("BJ", "admin")
    random.seed(int(os.environ.get("KILL9_SEED", "9")))
    acknowledged: dict[tuple[str, str], tuple[int, str]] = {}
    sent_values: dict[tuple[str, str], set[str]] = {}
    totals = {"acknowledged": 0, "in_flight_applied": 0, "rounds": 0}
    failures: list[str] = []

    for round_number in range(1, rounds + 1):
        server, port = start(binary, env)
        base = ("127.0.0.1", port)
        if round_number == 1:
            items = get_json(base, "/api/v1/recognition-items?limit=200")["items"]
            sides = [(i["code"], p["region"]) for i in items for p in i["local_parts"]]
            shares = [sides[w::WRITERS] for w in range(WRITERS)]
        # Check what the previous round left, now that the server restarted.
        failures += check(base, admin, acknowledged, sent_values, in_flight, totals) if round_number > 1 else []
        in_flight: dict[tuple[str, str], str] = {}
        stop = threading.Event()
        lock = threading.Lock()
        count = [0]

        def writer(mine, writer_number):
            conn = http.client.HTTPConnection(*base, timeout=30)
            n = 0
            try:
                while not stop.is_set():
                    code, region = mine[n % len(mine)]
                    n += 1
                    path = f"/api/v1/recognition-items/{code}/local-parts/{region}"
                    conn.request("GET", path)
                    response = conn.getresponse()
                    response.read()
                    tag = response.getheader("etag")
                    notes = f"round {round_number} writer {writer_number} write {n}"
                    with lock:
                        sent_values.setdefault((code, region), set()).add(notes)
                        in_flight[(code, region)] = notes
                    conn.request("PATCH", path, body=json.dumps({"notes": notes}).encode(), headers={
                        "Authorization": f"Bearer {tokens[region]}", "If-Match": tag,
                        "Content-Type": "application/merge-patch+json"})
                    response = conn.getresponse()
                    body = response.read()
                    if response.status == 200:
                        version = json.loads(body)["version"]
                        with lock:
                            acknowledged[(code, region)] = (version, notes)
                            in_flight.pop((code, region), None)
                            count[0] += 1
                    elif response.status != 412:
                        failures.append(f"round {round_number}: {response.status} {body[:200]!r}")
                        return
            except (OSError, http.client.HTTPException):
                return  # the server died under us: the write in flight may or may not be there

        threads = [threading.Thread(target=writer, args=(shares[w], w)) for w in range(WRITERS)]
        for t in threads:
            t.start()
        time.sleep(random.uniform(0.2, 1.2))
        server.send_signal(signal.SIGKILL)
        server.wait()
        stop.set()
        for t in threads:
            t.join()
        totals["acknowledged"] += count[0]
        totals["rounds"] += 1
        print(f"round {round_number}: {count[0]} writes acknowledged, then SIGKILL", flush=True)

    server, port = start(binary, env)
    failures += check(("127.0.0.1", port), admin, acknowledged, sent_values, in_flight, totals)
    server.send_signal(signal.SIGTERM)
    server.wait()
    print(json.dumps({**totals, "failures": len(failures)}))
    for failure in failures[:20]:
        print("FAILED:", failure)
    sys.exit(1 if failures else 0)


def start(binary, env):
    server = subprocess.Popen([binary, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for line in server.stderr:
        if "listening on http://" in line:
            port = int(line.split("listening on http://")[1].split(";")[0].split(":")[1])
            threading.Thread(target=lambda: [None for _ in server.stderr], daemon=True).start()
            return server, port
    raise SystemExit("the server did not start")


def get_json(base, path, token=None):
    conn = http.client.HTTPConnection(*base, timeout=60)
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}"} if token else {})
    response = conn.getresponse()
    body = response.read()
    if response.status != 200:
        raise SystemExit(f"GET {path}: {response.status} {body[:300]!r}")
    return json.loads(body)


def check(base, admin, acknowledged, sent_values, in_flight, totals):
    failures = []
    for (code, region), (version, notes) in acknowledged.items():
        side = get_json(base, f"/api/v1/recognition-items/{code}/local-parts/{region}")
        if side["notes"] not in sent_values[(code, region)]:
            failures.append(f"{code}/{region}: notes {side['notes']!r} were never sent whole")
        if side["version"] < version:
            failures.append(f"{code}/{region}: version {side['version']} < acknowledged {version}")
        elif side["notes"] != notes:
            if side["notes"] == in_flight.get((code, region)):
                totals["in_flight_applied"] += 1
            else:
                failures.append(f"{code}/{region}: {side['notes']!r} is neither the acknowledged {notes!r} nor the write in flight")
        # What is there now is the new baseline.
        acknowledged[(code, region)] = (side["version"], side["notes"])
    verification = get_json(base, "/api/v1/audit/verify", admin)
    if not verification["intact"]:
        failures.append(f"audit chain broken: {verification}")
    after, expected = 0, 1
    while True:
        page = get_json(base, f"/api/v1/changes?after={after}&limit=1000")
        for change in page["items"]:
            if change["seq"] != expected:
                failures.append(f"change feed: {change['seq']} where {expected} was due")
                return failures
            expected += 1
        if not page["items"]:
            break
        after = page["items"][-1]["seq"]
    return failures


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Write-path load: concurrent editors, each changing its own region's sides of
recognition items with If-Match, for a fixed time. Standard library only.

    writes.py BASE_URL SECONDS CLIENTS TOKENS_JSON

TOKENS_JSON maps a region to an editor token of that region. Each client owns a set
of (item, region) sides (no two clients share one), reads each side's ETag once and
then writes it again and again with the ETag the last write returned, so every write
is a real, durable change with its audit record. Prints one JSON line: writes/s,
p50/p99 latency in ms, and how many writes were refused (must be 0).
"""

import http.client
import json
import sys
import threading
import time
import urllib.parse


def main() -> None:
    base, seconds, clients, tokens = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), json.loads(sys.argv[4])
    url = urllib.parse.urlparse(base)
    listing = connect(url)
    listing.request("GET", "/api/v1/recognition-items?limit=200")
    items = json.loads(listing.getresponse().read())["items"]
    sides = [(item["code"], part["region"]) for item in items for part in item["local_parts"] if part["region"] in tokens]
    shares = [sides[i::clients] for i in range(clients)]
    latencies: list[float] = []
    refused: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(mine: list[tuple[str, str]]) -> None:
        conn = connect(url)
        tags = {}
        for code, region in mine:
            conn.request("GET", f"/api/v1/recognition-items/{code}/local-parts/{region}")
            response = conn.getresponse()
            response.read()
            tags[(code, region)] = response.getheader("etag")
        n = 0
        local: list[float] = []
        while time.monotonic() < deadline:
            code, region = mine[n % len(mine)]
            n += 1
            body = json.dumps({"notes": f"bench write {n}"}).encode()
            started = time.perf_counter()
            conn.request("PATCH", f"/api/v1/recognition-items/{code}/local-parts/{region}", body=body, headers={
                "Authorization": f"Bearer {tokens[region]}",
                "If-Match": tags[(code, region)],
                "Content-Type": "application/merge-patch+json",
            })
            response = conn.getresponse()
            response.read()
            elapsed = time.perf_counter() - started
            if response.status == 200:
                tags[(code, region)] = response.getheader("etag")
                local.append(elapsed)
            else:
                with lock:
                    refused.append(f"{response.status} {code} {region}")
        with lock:
            latencies.extend(local)

    threads = [threading.Thread(target=client, args=(share,)) for share in shares if share]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    latencies.sort()
    pick = lambda q: round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 2) if latencies else None
    print(json.dumps({
        "writes": len(latencies),
        "writes_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": pick(0.5),
        "p99_ms": pick(0.99),
        "clients": len(threads),
        "refused": len(refused),
        "refused_examples": refused[:3],
    }))


def connect(url: urllib.parse.ParseResult) -> http.client.HTTPConnection:
    return http.client.HTTPConnection(url.hostname, url.port, timeout=30)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The HTTP API's request rate from one client: every request on one
keep-alive connection (what browsers, the dashboard, Prometheus and client
libraries do) against a new connection per request (what meshctl and a
plain `curl` do), in the same run against the same node.

    bench/http/http_bench.py HOST:PORT [--seconds N] [--token T]

Prints one line per path and mode with requests/s and the mean in µs, and
the keep-alive rate as a ratio of the new-connection one. Before the HTTP
server set TCP_NODELAY a keep-alive request waited for the client's delayed
ACK: 37.8 req/s (BENCHMARKS.md).
"""
import argparse
import http.client
import time


def run(host, port, path, seconds, headers, keep_alive):
    conn = http.client.HTTPConnection(host, port, timeout=10)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        if not keep_alive:
            conn = http.client.HTTPConnection(host, port, timeout=10)
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        resp.read()
        if resp.status != 200:
            raise SystemExit(f"{path}: HTTP {resp.status}")
        if not keep_alive:
            conn.close()
        n += 1
    elapsed = time.perf_counter() - start
    return n / elapsed, 1e6 * elapsed / n


def main():
    p = argparse.ArgumentParser()
    p.add_argument("address")
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--token", default="")
    a = p.parse_args()
    host, port = a.address.rsplit(":", 1)
    headers = {"Authorization": "Bearer " + a.token} if a.token else {}
    print(f"{'path':<12} {'mode':<16} {'req/s':>10} {'mean us':>10} {'ratio':>7}")
    for path in ("/healthz", "/v1/status"):
        fresh, fresh_us = run(host, int(port), path, a.seconds, headers, False)
        kept, kept_us = run(host, int(port), path, a.seconds, headers, True)
        print(f"{path:<12} {'new connection':<16} {fresh:>10.0f} {fresh_us:>10.0f} {1.0:>7.2f}")
        print(f"{path:<12} {'keep-alive':<16} {kept:>10.0f} {kept_us:>10.0f} {kept / fresh:>7.2f}")


if __name__ == "__main__":
    main()

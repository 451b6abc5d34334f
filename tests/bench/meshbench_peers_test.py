#!/usr/bin/env python3
"""meshbench's peers, from outside (issue 16: ZeroMQ, Erlang and gRPC
measured beside Mesh in the same run). Checks what the command does, not
how fast anything is:
  - a misspelt scenario name is refused (exit 2, the names listed);
  - a named peer that cannot run here (Erlang off PATH) is refused before
    any node starts (exit 1, the reason and the install command);
  - `--scenarios zeromq` runs ZeroMQ and raw TCP, each run paired with
    Mesh's two remote callers, and reports both sides and their ratio.
Usage: meshbench_peers_test.py BUILD_DIR
"""
import json
import os
import subprocess
import sys
import tempfile

failures = 0


def check(ok, what):
    global failures
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures += 1


def run(args, env=None):
    return subprocess.run(args, capture_output=True, text=True, timeout=120,
                          env=env)


def main():
    meshbench = os.path.join(sys.argv[1], "bin", "meshbench")

    r = run([meshbench, "--scenarios", "remte"])
    check(r.returncode == 2,
          "a misspelt scenario exits 2 (got %d)" % r.returncode)
    check("no scenario named 'remte'" in r.stderr and "zeromq" in r.stderr,
          "it names the mistake and the scenarios there are: "
          + r.stderr.strip())

    env = dict(os.environ, PATH="/nonexistent")
    r = run([meshbench, "--scenarios", "erlang", "--idle-ms", "0"], env=env)
    check(r.returncode == 1,
          "Erlang named but absent exits 1 (got %d)" % r.returncode)
    check("cannot measure erlang" in r.stderr
          and "install-deps.sh --bench" in r.stderr,
          "it says why and how to install it: " + r.stderr.strip())
    check("Remote dispatch" not in r.stdout, "nothing was measured")

    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "peers.json")
        r = run([meshbench, "--scenarios", "zeromq", "--in-flight", "2",
                 "--repeat", "2", "--duration-ms", "200", "--warmup-ms", "50",
                 "--idle-ms", "0", "--json", out])
        check(r.returncode == 0, "the ZeroMQ run exits 0 (got %d): %s"
              % (r.returncode, r.stderr.strip()))
        check("Remote dispatch against its peers" in r.stdout,
              "it prints the peers' table")
        report = json.load(open(out)) if os.path.exists(out) else {}
    peers = {p["peer"]: p for p in report.get("peers", [])}
    check(sorted(peers) == ["raw_tcp", "zeromq"],
          "raw TCP and ZeroMQ were measured, nothing else: %s" % sorted(peers))
    for name, p in peers.items():
        check(p["in_flight"] == 2 and len(p["runs"]) == 2,
              name + ": two runs at 2 in flight")
        check(p["result"]["requests_per_s"] > 0 and p["result"]["failed"] == 0,
              name + ": answered, none failed")
        for caller in ("remote", "remote_nonblocking"):
            mesh = p["mesh"][caller]
            pairs = p["mesh_vs_peer"][caller]
            check(len(p["mesh_runs"][caller]) == 2
                  and mesh["requests_per_s"] > 0 and mesh["failed"] == 0,
                  name + ": Mesh's " + caller + " ran beside each run")
            expected = mesh["requests_per_s"] / p["result"]["requests_per_s"]
            check(pairs["pairs"] == 2 and pairs["requests_per_s"] > 0
                  and pairs["requests_per_s_min"] <= pairs["requests_per_s"]
                  <= pairs["requests_per_s_max"],
                  name + ": " + caller + "'s same-round ratio from two pairs "
                  "(%.3f; medians' ratio %.3f)"
                  % (pairs["requests_per_s"], expected))
    raw = report.get("raw_tcp", [])
    check(len(raw) == 1 and raw[0]["result"] == peers.get("raw_tcp", {}).get(
        "result"), "the main table's raw TCP is the peers' raw TCP")
    print("%d failed" % failures if failures else "all passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

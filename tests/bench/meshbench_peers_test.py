#!/usr/bin/env python3
"""meshbench's peers, from outside (issue 16: ZeroMQ, Erlang and gRPC
measured beside Mesh in the same run). Checks what the command does, not
how fast anything is:
  - a misspelt scenario name is refused (exit 2, the names listed);
  - a named peer that cannot run here (Erlang off PATH) is refused before
    any node starts (exit 1, the reason and the install command);
  - `--scenarios zeromq` runs ZeroMQ and raw TCP, each run paired with
    Mesh's two remote callers, and reports both sides and their ratio;
  - with --pin-apart (run so), the serving side's processes (node B, the
    echo servers) may use CPU 0 only and the calling side's (node A, the
    clients) CPU 1 only, read from /proc while they run; --pin and
    --pin-apart together are refused.
Usage: meshbench_peers_test.py BUILD_DIR
"""
import json
import os
import subprocess
import sys
import tempfile
import time

failures = 0


def check(ok, what):
    global failures
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures += 1


def run(args, env=None):
    return subprocess.run(args, capture_output=True, text=True, timeout=120,
                          env=env)


def proc_text(pid, name):
    try:
        with open("/proc/%d/%s" % (pid, name), "rb") as f:
            return f.read().decode(errors="replace")
    except OSError:  # gone meanwhile
        return ""


def side_of(cmdline):
    """'serving', 'calling' or None for one of meshbench's children."""
    if "meshnode" in cmdline:
        return ("calling" if "--id bench-a" in cmdline else
                "serving" if "--id bench-b" in cmdline else None)
    if "zmq_echo" in cmdline or "tcp_echo" in cmdline:
        return "serving" if " serve" in cmdline else "calling"
    return None


def run_watching_cpus(args):
    """Runs meshbench and reads, while it runs, the CPUs each of its
    children may use: {(side, program): set of Cpus_allowed_list}."""
    # Its output goes to files: a pipe nobody reads while this loop polls
    # could fill and stall it.
    out, err = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")
    p = subprocess.Popen(args, stdout=out, stderr=err, text=True)
    seen = {}
    deadline = time.monotonic() + 120
    while p.poll() is None and time.monotonic() < deadline:
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            pid = int(entry)
            status = proc_text(pid, "status")
            if "\nPPid:\t%d\n" % p.pid not in status:
                continue
            cmdline = proc_text(pid, "cmdline").replace("\0", " ")
            side = side_of(cmdline)
            cpus = [l.split(":")[1].strip() for l in status.splitlines()
                    if l.startswith("Cpus_allowed_list:")]
            if side and cpus:
                program = os.path.basename(cmdline.split(" ")[0])
                seen.setdefault((side, program), set()).add(cpus[0])
        time.sleep(0.02)  # sampling /proc, not waiting for an event
    if p.poll() is None:
        p.kill()
    p.wait()
    out.seek(0)
    err.seek(0)
    return (subprocess.CompletedProcess(args, p.returncode, out.read(),
                                        err.read()), seen)


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

    r = run([meshbench, "--pin", "--pin-apart", "--scenarios", "remote"])
    check(r.returncode != 0 and "excludes" in r.stderr,
          "--pin with --pin-apart is refused: " + r.stderr.strip())

    apart = {0, 1} <= os.sched_getaffinity(0)
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "peers.json")
        zeromq = [meshbench, "--scenarios", "zeromq", "--in-flight", "2",
                  "--repeat", "2", "--duration-ms", "200", "--warmup-ms",
                  "50", "--idle-ms", "0", "--json", out]
        r, cpus = run_watching_cpus(zeromq + ["--pin-apart"])
        if not apart:
            check(r.returncode == 2 and "needs CPU 0 and CPU 1" in r.stderr,
                  "without CPUs 0 and 1, --pin-apart is refused: "
                  + r.stderr.strip())
            r = run(zeromq)
        check(r.returncode == 0, "the ZeroMQ run exits 0 (got %d): %s"
              % (r.returncode, r.stderr.strip()))
        check("Remote dispatch against its peers" in r.stdout,
              "it prints the peers' table")
        report = json.load(open(out)) if os.path.exists(out) else {}
    if apart:
        want = {}
        for program in ("meshnode", "tcp_echo", "zmq_echo"):
            want[("serving", program)] = {"0"}
            want[("calling", program)] = {"1"}
        check(cpus == want, "--pin-apart: the serving side on CPU 0, "
              "the calling side on CPU 1: %s" % sorted(cpus.items()))
        check(report.get("settings", {}).get("pinned_apart") is True,
              "the JSON says the run was pinned apart")
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

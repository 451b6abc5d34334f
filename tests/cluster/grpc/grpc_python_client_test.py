#!/usr/bin/python3
"""cluster.grpc_python_client: the Python example client (examples/clients/
python) against a real 2-node cluster through the gRPC front door (issue 17,
sections 4 and 1-2).

    grpc_python_client_test.py BUILD_DIR SOURCE_DIR

Generates the stubs into a temporary folder (generate.sh), starts two real
meshnode processes on port 0 (collector-1: users, orders, pricing, test
declared, the example plug-in; collector-2: orders, inventory, test, the
example and the test plug-ins, so `test` runs only there), then through
collector-1's gRPC port alone: the seed's complete example (seed_example.py,
a program of its own), Connect, Dispatch local and remote (auto-routed and
targeted), Serve, a handler error, an unknown method, a deadline, Mesh's own
service (Dispatch with a trace id, Process), server reflection (a
Dispatch from reflected descriptors only), the C++ example
(examples/clients/cpp, built here), and, after collector-2 is killed, a
target that is down. Each status is checked both ways: the seed's
HTTP-style number (or mesh.pb.StatusCode) and the call's gRPC code.
Runs with Debian's python3 (python3-grpcio, python3-protobuf). The nodes
die with the test on any exit.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

import grpc

sys.dont_write_bytecode = True  # nothing written into the source tree
import reflection_client  # noqa: E402 (after the line above)

build_dir, source_dir = (os.path.abspath(a) for a in sys.argv[1:3])
bin_dir = os.path.join(build_dir, "bin")
example_dir = os.path.join(source_dir, "examples", "clients", "python")
work = tempfile.mkdtemp(prefix="mesh-grpc-py-")
nodes = []
passed = failed = 0


def check(what, good, detail=""):
    global passed, failed
    if good:
        passed += 1
        print(f"ok   {what}")
    else:
        failed += 1
        print(f"FAIL {what} {detail}")


def start_node(node_id, namespaces, plugins, extra=()):
    args = [os.path.join(bin_dir, "meshnode"), "--id", node_id,
            "--listen", "127.0.0.1:0", "--console", "127.0.0.1:0",
            "--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0",
            "--namespaces", ",".join(namespaces),
            "--data-dir", os.path.join(work, node_id + "-data"),
            "--log-level", "warn", *extra]
    for p in plugins:
        args += ["--plugin", os.path.join(bin_dir, p)]
    log = open(os.path.join(work, node_id + ".log"), "wb")
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log,
                            stdin=subprocess.DEVNULL)
    nodes.append((node_id, proc))
    line = proc.stdout.readline().decode()  # the ready line, or EOF
    try:
        ready = json.loads(line)
    except ValueError:
        ready = {}
    if ready.get("event") != "ready" or "grpc" not in ready:
        fail_now(f"{node_id} did not become ready with a grpc address: "
                 f"{line!r}")
    return proc, ready


def stop_nodes():
    for _, proc in nodes:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for _, proc in nodes:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def fail_now(why):
    print(f"cluster.grpc_python_client: FAILED: {why}", file=sys.stderr)
    stop_nodes()
    for node_id, _ in nodes:
        path = os.path.join(work, node_id + ".log")
        with open(path, errors="replace") as f:
            print(f"--- {node_id}.log\n{f.read()[-4000:]}", file=sys.stderr)
    shutil.rmtree(work, ignore_errors=True)
    sys.exit(1)


def peer_state(http, peer_id):
    """collector's view of a peer (GET /v1/peers), '' when unknown."""
    try:
        with urllib.request.urlopen(f"http://{http}/v1/peers",
                                    timeout=2) as r:
            body = json.load(r)
    except OSError:
        return ""
    peers = body.get("result", body)
    if isinstance(peers, dict):
        peers = peers.get("peers", peers)
    items = peers.values() if isinstance(peers, dict) else peers
    for p in items:
        if isinstance(p, dict) and p.get("id", p.get("node_id")) == peer_id:
            return p.get("state", "")
    return ""


def await_condition(probe, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if probe():
            return True
        time.sleep(0.05)
    return False


def main():
    gen = os.path.join(work, "gen")
    out = subprocess.run([os.path.join(example_dir, "generate.sh"), gen],
                         capture_output=True, text=True)
    if out.returncode != 0:
        fail_now("generate.sh failed: " + out.stderr)
    # The C++ example (examples/clients/cpp), a project of its own: built
    # into the build tree, so a second run only checks it is up to date.
    cpp_build = os.path.join(build_dir, "examples-clients-cpp")
    cpp_source = os.path.join(source_dir, "examples", "clients", "cpp")
    for cmd in (["cmake", "-S", cpp_source, "-B", cpp_build, "-G", "Ninja"],
                ["ninja", "-C", cpp_build]):
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode != 0:
            fail_now(" ".join(cmd) + " failed: " + out.stdout[-3000:]
                     + out.stderr[-3000:])
    sys.path.insert(0, example_dir)
    import mesh_client
    mesh_client.load_stubs(gen)

    # As in the seed, each collector serves its own handlers: the example
    # plug-in offers users and orders on both, `--handlers` picks.
    _, ready2 = start_node("collector-2", ["orders", "inventory", "test"],
                           ["libmesh_example_handlers.so",
                            "libmesh_test_handlers.so"],
                           ["--handlers", "orders,test"])
    _, ready1 = start_node("collector-1",
                           ["users", "orders", "pricing", "test"],
                           ["libmesh_example_handlers.so"],
                           ["--handlers", "users,pricing",
                            "--manifests",
                            os.path.join(source_dir, "examples",
                                         "manifests")])
    G = grpc.StatusCode

    # The seed's complete example, as a program of its own: Connect
    # collector-1 to collector-2, users on collector-1, orders on
    # collector-2 (routed there: collector-1 declares orders but serves
    # only users and pricing handlers).
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    out = subprocess.run([sys.executable,
                          os.path.join(example_dir, "seed_example.py"),
                          "--collector-1", ready1["grpc"],
                          "--collector-2", ready2["grpc"],
                          "--stubs", gen],
                         capture_output=True, text=True, timeout=120,
                         env=env)
    print(out.stdout, end="")
    check("seed_example.py exits 0", out.returncode == 0, out.stderr)
    check("collector-1 sees collector-2 up",
          await_condition(lambda: peer_state(ready1["http"],
                                             "collector-2") == "up"))

    with mesh_client.connect(ready1["grpc"]) as c1:
        # gRPC's standard health check, as a load balancer asks it.
        check("Health: the node and mesh.v1.Mesh SERVING, an unknown "
              "service NOT_FOUND",
              c1.health() == "SERVING" and c1.health("mesh.v1.Mesh")
              == "SERVING" and c1.health("no.such.Service") == "NOT_FOUND",
              f"{c1.health()} {c1.health('mesh.v1.Mesh')} "
              f"{c1.health('no.such.Service')}")

        names, answer = reflection_client.dispatch_by_reflection(
            ready1["grpc"], gen, "users", "UserService", "GetUser",
            {"id": "u-1"})
        check("reflection lists mesh.v1.Mesh and the seed's service",
              "mesh.v1.Mesh" in names
              and "collector.CollectiveDispatcher" in names, repr(names))
        check("reflection: Dispatch from reflected descriptors answers "
              "Ada Lovelace", answer.get("handledBy") == "collector-1"
              and answer.get("payload", {}).get("value", {}).get("name")
              == "Ada Lovelace", repr(answer))

        # Connect again: the same connection; shared namespaces as the seed
        # computes them, the caller's (users, orders) that collector-2
        # serves too (orders, inventory, test).
        r = c1.connect(ready2["listen"], ["users", "orders"], "collector-1")
        check("Connect: 200, target collector-2, shared [orders]",
              r.code == 200 and r.grpc_code == G.OK
              and r.handled_by == "collector-2"
              and r.extra["connection_id"] != ""
              and r.extra["shared_namespaces"] == ["orders"], repr(r))

        r = c1.dispatch("users", "UserService", "GetUser", {"id": "u-1"})
        check("Dispatch local: 200 by collector-1 with the user",
              r.code == 200 and r.grpc_code == G.OK
              and r.handled_by == "collector-1"
              and r.output.get("name") == "Ada Lovelace", repr(r))

        r = c1.dispatch("test", "Faults", "Echo", {"hello": "remote"})
        check("Dispatch remote (auto-routed): 200 by collector-2, echoed",
              r.code == 200 and r.handled_by == "collector-2"
              and r.output == {"hello": "remote"}, repr(r))

        r = c1.dispatch("orders", "OrderService", "GetOrder", {"id": "o-1"})
        check("Dispatch orders (auto-routed, as the seed): by collector-2",
              r.handled_by == "collector-2", repr(r))

        r = c1.dispatch("orders", "OrderService", "CreateOrder",
                        {"user_id": "u-1",
                         "items": [{"sku": "sku-1", "quantity": 1,
                                    "unit_price": 3}]},
                        target="collector-2")
        check("Dispatch remote (target collector-2): order created there",
              r.code == 200 and r.handled_by == "collector-2"
              and r.output.get("created_on") == "collector-2", repr(r))

        r = c1.dispatch("test", "Faults", "Throw", {})
        check("handler error (remote): 500 INTERNAL by collector-2, "
              "no secret in the message",
              r.code == 500 and r.grpc_code == G.INTERNAL
              and r.handled_by == "collector-2"
              and "hunter2" not in r.message, repr(r))

        r = c1.dispatch("users", "UserService", "CreateUser",
                        {"name": "x", "email": "no-at-sign"})
        check("handler refusal (local): 400 INVALID_ARGUMENT",
              r.code == 400 and r.grpc_code == G.INVALID_ARGUMENT
              and r.handled_by == "collector-1", repr(r))

        r = c1.dispatch("users", "UserService", "NoSuchMethod", {})
        check("unknown method: 404 NOT_FOUND",
              r.code == 404 and r.grpc_code == G.NOT_FOUND, repr(r))

        r = c1.dispatch("nowhere", "Svc", "M", {})
        check("unknown namespace: 404 NOT_FOUND",
              r.code == 404 and r.grpc_code == G.NOT_FOUND, repr(r))

        r = c1.serve("users", "UserService", "GetUser", {"id": "u-2"})
        check("Serve local: 200, executor collector-1",
              r.code == 200 and r.handled_by == "collector-1"
              and r.output.get("id") == "u-2", repr(r))

        r = c1.serve("test", "Faults", "Echo", {})
        check("Serve never routes: 404 for a method only collector-2 has",
              r.code == 404 and r.grpc_code == G.NOT_FOUND, repr(r))

        r = c1.dispatch("test", "Faults", "Sleep", {"ms": 3000},
                        timeout=0.5)
        check("the call's deadline is the request's: 504 DEADLINE_EXCEEDED",
              r.code == 504 and r.grpc_code == G.DEADLINE_EXCEEDED, repr(r))

        # Mesh's own service.
        trace = "0af7651916cd43dd8448eb211c80319c"
        r = c1.mesh_dispatch("users", "UserService", "GetUser",
                             {"id": "u-1"}, trace_id=trace)
        check("mesh.v1 Dispatch local: OK by collector-1, trace id kept",
              r.code == 0 and r.grpc_code == G.OK
              and r.handled_by == "collector-1" and r.trace_id == trace,
              repr(r))

        r = c1.mesh_dispatch("test", "Faults", "Echo", [1, 2, 3])
        check("mesh.v1 Dispatch remote: OK by collector-2",
              r.code == 0 and r.handled_by == "collector-2"
              and r.output == [1, 2, 3], repr(r))

        r = c1.mesh_dispatch("test", "Faults", "Throw", {})
        check("mesh.v1 handler error: HANDLER_ERROR (2), gRPC INTERNAL, "
              "answer in the error details",
              r.code == 2 and r.grpc_code == G.INTERNAL
              and r.handled_by == "collector-2", repr(r))

        r = c1.mesh_dispatch("users", "UserService", "NoSuchMethod", {})
        check("mesh.v1 unknown method: NOT_FOUND (5)",
              r.code == 5 and r.grpc_code == G.NOT_FOUND, repr(r))

        r = c1.mesh_process("price_quote", {"sku": "sku-1", "quantity": 3},
                            {"user_id": "u-1"}, trace_id=trace)
        check("mesh.v1 Process price_quote: OK, a variant chosen",
              r.code == 0 and r.extra["variant_id"] != ""
              and r.handled_by == "collector-1", repr(r))

        # A target that is down: collector-2 dies without a goodbye.
        nodes[0][1].kill()
        nodes[0][1].wait()
        check("collector-1 sees collector-2 down",
              await_condition(lambda: peer_state(ready1["http"],
                                                 "collector-2")
                              not in ("up", "joining", "suspect")))
        r = c1.dispatch("orders", "OrderService", "GetOrder", {"id": "o-1"},
                        target="collector-2")
        check("target down: 503 UNAVAILABLE",
              r.code == 503 and r.grpc_code == G.UNAVAILABLE, repr(r))
        r = c1.mesh_dispatch("orders", "OrderService", "GetOrder",
                             {"id": "o-1"}, target="collector-2")
        check("mesh.v1 target down: UNAVAILABLE (14)",
              r.code == 14 and r.grpc_code == G.UNAVAILABLE, repr(r))

    # The example program's command line, against the node still up.
    out = subprocess.run([sys.executable,
                          os.path.join(example_dir, "mesh_client.py"),
                          "--node", ready1["grpc"], "--stubs", gen,
                          "dispatch", "users", "UserService", "GetUser",
                          '{"id": "u-2"}'],
                         capture_output=True, text=True, timeout=60, env=env)
    ans = json.loads(out.stdout or "{}")
    check("mesh_client.py dispatch: exit 0, 200, Alan Turing",
          out.returncode == 0 and ans.get("code") == 200
          and ans.get("output", {}).get("name") == "Alan Turing",
          out.stdout + out.stderr)

    # Run as the README shows it, `./mesh_client.py ...` (its own shebang).
    out = subprocess.run([os.path.join(example_dir, "mesh_client.py"),
                          "--node", ready1["grpc"], "--stubs", gen,
                          "health", "collector.CollectiveDispatcher"],
                         capture_output=True, text=True, timeout=60, env=env)
    check("mesh_client.py health: exit 0, SERVING",
          out.returncode == 0 and out.stdout.strip() == "SERVING",
          out.stdout + out.stderr)

    out = subprocess.run([os.path.join(cpp_build, "mesh_grpc_client"),
                          "--node", ready1["grpc"]],
                         capture_output=True, text=True, timeout=60)
    print(out.stdout, end="")
    check("C++ example mesh_grpc_client: both services, 200/OK and 404",
          out.returncode == 0, out.stderr)

    if failed:
        fail_now(f"{failed} check(s) failed")
    stop_nodes()
    shutil.rmtree(work, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except BaseException as e:  # any error: nodes down, logs shown
        fail_now(f"{type(e).__name__}: {e}")

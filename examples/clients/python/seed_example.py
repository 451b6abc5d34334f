#!/usr/bin/python3
"""The seed's complete example (seed 001), against two Mesh nodes.

collector-1 serves users, collector-2 serves orders; a client of
collector-1's gRPC front door connects collector-1 to collector-2, then
dispatches to both through collector-1 alone, and does the same through
Mesh's own service (mesh.v1.Mesh), which also carries a trace id.

    seed_example.py --collector-1 127.0.0.1:GRPC_PORT_OF_1 \
                    --collector-2 127.0.0.1:GRPC_PORT_OF_2

(`--collector-2` is collector-2's gRPC address, as the seed's ConnectTo
names it; its peer address, the ready line's "listen", works too.) Exits 1
if an answer is not what the seed's example expects.
"""

import argparse
import sys
import uuid

import mesh_client


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--collector-1", required=True,
                   help="collector-1's gRPC address")
    p.add_argument("--collector-2", required=True,
                   help="collector-2's gRPC (or peer) address")
    p.add_argument("--orders-target", default="",
                   help="node id to send CreateOrder to (default: auto-route)")
    p.add_argument("--token", help="console token, if the node has one")
    p.add_argument("--stubs", help="folder of the generated stubs")
    args = p.parse_args(argv)
    mesh_client.load_stubs(args.stubs)
    failures = 0

    def show(what, r, expect_code, expect_by=None):
        nonlocal failures
        good = r.code == expect_code and (expect_by is None
                                          or r.handled_by == expect_by)
        failures += not good
        print(f"{'ok  ' if good else 'FAIL'} {what}: code={r.code} "
              f"grpc={r.grpc_code.name} handled_by={r.handled_by!r} "
              f"output={r.output!r} message={r.message!r}")

    with mesh_client.connect(args.collector_1, token=args.token) as c1:
        # Collector 1 connects to Collector 2; both namespaces offered.
        r = c1.connect(args.collector_2, ["users", "orders"],
                       collector_id="collector-1")
        show("Connect", r, 200)
        print(f"     connection_id={r.extra.get('connection_id')} "
              f"shared={r.extra.get('shared_namespaces')} "
              f"target={r.handled_by}")
        collector_2 = r.handled_by
        # Routable at once, as the seed's example goes straight on.

        # "users": runs on collector-1 (local).
        r = c1.dispatch("users", "UserService", "GetUser", {"id": "u-1"})
        show("Dispatch users/UserService/GetUser", r, 200, "collector-1")
        # "orders": runs on collector-2.
        order = {"user_id": "u-1",
                 "items": [{"sku": "sku-1", "quantity": 2,
                            "unit_price": 9.5}]}
        r = c1.dispatch("orders", "OrderService", "CreateOrder", order,
                        target=args.orders_target)
        show("Dispatch orders/OrderService/CreateOrder", r, 200,
             args.orders_target or collector_2)
        # Serve runs on collector-1 only.
        r = c1.serve("users", "UserService", "GetUser", {"id": "u-2"})
        show("Serve users/UserService/GetUser", r, 200, "collector-1")

        # Mesh's own service: the same request, with a trace id.
        trace = uuid.uuid4().hex
        r = c1.mesh_dispatch("users", "UserService", "GetUser",
                             {"id": "u-1"}, trace_id=trace)
        show("mesh.v1.Mesh/Dispatch users/UserService/GetUser", r, 0,
             "collector-1")
        if r.trace_id != trace:
            failures += 1
            print(f"FAIL trace id {r.trace_id!r}, sent {trace!r}")
    print("seed example:", "ok" if failures == 0 else f"{failures} failed")
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

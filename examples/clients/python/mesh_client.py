#!/usr/bin/python3
"""A Python client of a Mesh node's gRPC front door (issue 17).

Two services, one channel:
  collector.CollectiveDispatcher  the seed's API (Connect, Serve, Dispatch),
                                  statuses as HTTP-style numbers (200, 404, ...)
  mesh.v1.Mesh                    Mesh's own API (Dispatch with target, trace
                                  id, deadline and directives; Process;
                                  Publish; ...), statuses as mesh.pb.StatusCode
  grpc.health.v1.Health           gRPC's standard health check (no token)

Uses Debian's python3-grpcio and python3-protobuf and the stubs that
generate.sh writes (nothing generated is committed). As a library:

    import mesh_client
    mesh_client.load_stubs("gen")
    with mesh_client.connect("127.0.0.1:7430") as node:
        r = node.dispatch("users", "UserService", "GetUser", {"id": "u-1"})
        print(r.code, r.handled_by, r.output)

As a program: `mesh_client.py --help`.
"""

import argparse
import json
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Optional

import grpc
from google.protobuf import any_pb2, json_format, struct_pb2, wrappers_pb2

# Filled by load_stubs(): the generated modules.
collector_pb2 = collector_pb2_grpc = mesh_pb2 = None
mesh_service_pb2 = mesh_service_pb2_grpc = None
health_pb2 = health_pb2_grpc = status_pb2 = None

# A failed call ends with a gRPC code and, in the trailing metadata under
# this key, a google.rpc.Status (gRPC's rich error model) whose one detail
# is the whole answer (status, who handled it, ...), so a client of either
# style reads the same outcome.
DETAILS_KEY = "grpc-status-details-bin"

# The seed's HTTP-style numbers for the gRPC code of a call that carried no
# answer (the node was unreachable, the token was refused, ...).
HTTP_OF_GRPC = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INTERNAL: 500,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}


def load_stubs(gen_dir: Optional[str] = None) -> None:
    """Imports the generated modules from gen_dir (default: ./gen beside
    this file, or $MESH_GRPC_STUBS)."""
    global collector_pb2, collector_pb2_grpc, mesh_pb2
    global mesh_service_pb2, mesh_service_pb2_grpc, health_pb2, health_pb2_grpc
    global status_pb2
    gen_dir = gen_dir or os.environ.get("MESH_GRPC_STUBS") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "gen")
    if not os.path.exists(os.path.join(gen_dir, "collector_pb2.py")):
        raise SystemExit(f"no generated stubs in {gen_dir}: run generate.sh "
                         f"{gen_dir}")
    if gen_dir not in sys.path:
        sys.path.insert(0, gen_dir)
    import collector_pb2 as c, collector_pb2_grpc as cg  # noqa: E401
    import mesh_pb2 as m, mesh_service_pb2 as ms, mesh_service_pb2_grpc as msg
    import health_pb2 as h, health_pb2_grpc as hg  # noqa: E401
    from google.rpc import status_pb2 as st  # generated beside the others
    collector_pb2, collector_pb2_grpc, mesh_pb2 = c, cg, m
    mesh_service_pb2, mesh_service_pb2_grpc = ms, msg
    health_pb2, health_pb2_grpc, status_pb2 = h, hg, st


def json_any(value: Any) -> any_pb2.Any:
    """A JSON document as Mesh carries it: a google.protobuf.Value packed
    in an Any (JSON handlers read it; echo answers it unchanged)."""
    v = struct_pb2.Value()
    json_format.ParseDict(value, v)
    out = any_pb2.Any()
    out.Pack(v)
    return out


def any_json(payload: any_pb2.Any) -> Any:
    """The JSON inside an Any (Value, Struct or StringValue); None when the
    Any is empty; {"@type", "bytes"} for another message type."""
    if not payload.type_url:
        return None
    for cls in (struct_pb2.Value, struct_pb2.Struct, struct_pb2.ListValue,
                wrappers_pb2.StringValue):
        if payload.Is(cls.DESCRIPTOR):
            msg = cls()
            payload.Unpack(msg)
            return json_format.MessageToDict(msg)
    return {"@type": payload.type_url, "bytes": len(payload.value)}


@dataclass
class Result:
    """One call's outcome, the same whichever way the node said it."""
    code: int                 # HTTP-style (collector) or mesh.pb.StatusCode
    message: str
    grpc_code: grpc.StatusCode
    output: Any = None        # the JSON answer (None when there is none)
    handled_by: str = ""      # node whose handler ran (empty: none did)
    trace_id: str = ""
    response: Any = None      # the whole response message, when there is one
    extra: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.grpc_code == grpc.StatusCode.OK


def _call(method, request, response_type, timeout, metadata):
    """Runs one unary call; returns (response or None, gRPC code, message).
    A failed call's answer is read back from its error details."""
    try:
        response, call = method.with_call(request, timeout=timeout,
                                          metadata=metadata)
        return response, call.code(), call.details() or ""
    except grpc.RpcError as err:
        response = None
        for key, value in err.trailing_metadata() or ():
            if key == DETAILS_KEY:
                details = status_pb2.Status()
                answer = response_type()
                try:
                    details.ParseFromString(value)
                    if len(details.details) == 1 and \
                            details.details[0].Unpack(answer):
                        response = answer
                except Exception:  # not ours: keep the gRPC code only
                    response = None
        return response, err.code(), err.details() or ""


class Node:
    """Both services of one node, over one channel."""

    def __init__(self, address: str, token: Optional[str] = None,
                 timeout: float = 10.0, credentials=None):
        self.address = address
        self.timeout = timeout
        self.channel = (grpc.secure_channel(address, credentials)
                        if credentials else grpc.insecure_channel(address))
        self.metadata = ([("authorization", f"Bearer {token}")]
                         if token else [])
        self.collector = collector_pb2_grpc.CollectiveDispatcherStub(
            self.channel)
        self.mesh = mesh_service_pb2_grpc.MeshStub(self.channel)
        self.health_stub = health_pb2_grpc.HealthStub(self.channel)

    def close(self):
        self.channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _md(self, trace_id):
        md = list(self.metadata)
        if trace_id:
            md.append(("x-mesh-trace-id", trace_id))
        return md

    # ---- collector.CollectiveDispatcher (the seed's API) --------------

    def _collector_result(self, response, code, message, who_field):
        if response is not None and response.HasField("status"):
            return Result(response.status.code,
                          response.status.message or message, code,
                          any_json(response.output)
                          if response.HasField("output") else None,
                          getattr(response, who_field), response=response)
        return Result(HTTP_OF_GRPC.get(code, 500), message, code)

    def connect(self, address: str, namespaces=(), collector_id: str = ""):
        """Joins this node to the Mesh node at `address` (its peer port or,
        as in the seed, its gRPC address)."""
        req = collector_pb2.ConnectRequest(collector_id=collector_id,
                                           address=address,
                                           namespaces=list(namespaces))
        response, code, message = _call(self.collector.Connect, req,
                                        collector_pb2.ConnectResponse,
                                        self.timeout, self._md(None))
        if response is not None and response.HasField("status"):
            return Result(response.status.code,
                          response.status.message or message, code,
                          handled_by=response.target_collector_id,
                          response=response,
                          extra={"connection_id": response.connection_id,
                                 "shared_namespaces":
                                   list(response.shared_namespaces)})
        return Result(HTTP_OF_GRPC.get(code, 500), message, code)

    def serve(self, namespace, service, method, payload=None,
              trace_id=None, timeout=None):
        """Runs a handler on this node only (never routed to a peer)."""
        req = collector_pb2.ServeRequest(
            namespace=namespace,
            service=collector_pb2.ServiceTypeRef(service_name=service),
            method_name=method, input=json_any(payload))
        response, code, message = _call(self.collector.Serve, req,
                                        collector_pb2.ServeResponse,
                                        timeout or self.timeout,
                                        self._md(trace_id))
        return self._collector_result(response, code, message, "executor_id")

    def dispatch(self, namespace, service, method, payload=None, target="",
                 trace_id=None, timeout=None):
        """Routes a request: local handler first, else a peer sharing the
        namespace; `target` names the node that must run it."""
        req = collector_pb2.DispatchRequest(
            namespace=namespace,
            service=collector_pb2.ServiceTypeRef(service_name=service),
            method_name=method, input=json_any(payload),
            target_collector_id=target)
        response, code, message = _call(self.collector.Dispatch, req,
                                        collector_pb2.DispatchResponse,
                                        timeout or self.timeout,
                                        self._md(trace_id))
        return self._collector_result(response, code, message,
                                      "handled_by_collector_id")

    # ---- mesh.v1.Mesh (Mesh's own API) ---------------------------------

    def mesh_dispatch(self, namespace, service, method, payload=None,
                      target="", trace_id="", deadline_ms=0, explain=False,
                      timeout=None):
        """mesh.v1.Mesh/Dispatch: statuses are mesh.pb.StatusCode numbers."""
        req = mesh_pb2.DispatchRequest(
            ref=mesh_pb2.ServiceRef(namespace=namespace, service=service,
                                    method=method),
            payload=json_any(payload), target_node_id=target,
            trace_id=trace_id, deadline_ms=deadline_ms)
        if explain:
            req.directives.explain = True
        response, code, message = _call(self.mesh.Dispatch, req,
                                        mesh_pb2.DispatchResponse,
                                        timeout or self.timeout,
                                        self._md(None))
        if response is not None and response.HasField("status"):
            return Result(response.status.code,
                          response.status.message or message, code,
                          any_json(response.payload)
                          if response.HasField("payload") else None,
                          response.handled_by, response.trace_id, response)
        return Result(-1, message, code)

    def mesh_process(self, process_name, input_args, user_context=None,
                     trace_id="", timeout=None):
        """mesh.v1.Mesh/Process: a business process picks the variant."""
        req = mesh_pb2.ProcessRequest(process_name=process_name,
                                      trace_id=trace_id)
        json_format.ParseDict(input_args, req.input_args)
        json_format.ParseDict(user_context or {}, req.user_context)
        response, code, message = _call(self.mesh.Process, req,
                                        mesh_pb2.ProcessResponse,
                                        timeout or self.timeout,
                                        self._md(None))
        if response is not None and response.HasField("status"):
            return Result(response.status.code,
                          response.status.message or message, code,
                          any_json(response.payload)
                          if response.HasField("payload") else None,
                          response.handled_by, response.trace_id, response,
                          {"variant_id": response.variant_id,
                           "strategy": response.strategy})
        return Result(-1, message, code)

    # ---- grpc.health.v1.Health ----------------------------------------

    def health(self, service: str = "", timeout=None) -> str:
        """grpc.health.v1.Health/Check: "SERVING", "NOT_SERVING", or the
        gRPC code's name when the call fails (NOT_FOUND: a service the
        node does not serve; UNAVAILABLE: no node there)."""
        req = health_pb2.HealthCheckRequest(service=service)
        try:
            res = self.health_stub.Check(req, timeout=timeout or self.timeout)
        except grpc.RpcError as err:
            return err.code().name
        return health_pb2.HealthCheckResponse.ServingStatus.Name(res.status)


def connect(address: str, **kwargs) -> Node:
    return Node(address, **kwargs)


def _print(result: Result) -> None:
    out = {"code": result.code, "grpc": result.grpc_code.name,
           "message": result.message, "handled_by": result.handled_by,
           "output": result.output}
    if result.trace_id:
        out["trace_id"] = result.trace_id
    out.update(result.extra)
    print(json.dumps(out, sort_keys=True))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        description="Call a Mesh node's gRPC front door.")
    p.add_argument("--node", default=os.environ.get("MESH_GRPC",
                                                    "127.0.0.1:7423"),
                   help="the node's gRPC address (its ready line's \"grpc\")")
    p.add_argument("--token", default=os.environ.get("MESH_TOKEN"),
                   help="console token, sent as a bearer token")
    p.add_argument("--stubs", help="folder of the generated stubs "
                   "(default ./gen; generate.sh writes them)")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds")
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("dispatch", "serve", "mesh-dispatch"):
        s = sub.add_parser(name)
        s.add_argument("namespace")
        s.add_argument("service")
        s.add_argument("method")
        s.add_argument("payload", nargs="?", default="null",
                       help="JSON (default null)")
        if name != "serve":
            s.add_argument("--target", default="", help="node id")
    c = sub.add_parser("connect", help="join this node to another")
    c.add_argument("address", help="the other node's peer or gRPC address")
    c.add_argument("--namespaces", default="", help="comma-separated")
    h = sub.add_parser("health", help="gRPC's health check: prints SERVING, "
                       "NOT_SERVING or the call's gRPC code")
    h.add_argument("service", nargs="?", default="",
                   help="e.g. mesh.v1.Mesh (default: the node)")
    args = p.parse_args(argv)

    load_stubs(args.stubs)
    with connect(args.node, token=args.token, timeout=args.timeout) as node:
        if args.cmd == "health":
            state = node.health(args.service)
            print(state)
            return 0 if state == "SERVING" else 1
        if args.cmd == "connect":
            ns = [n for n in args.namespaces.split(",") if n]
            r = node.connect(args.address, ns)
        else:
            payload = json.loads(args.payload)
            if args.cmd == "dispatch":
                r = node.dispatch(args.namespace, args.service, args.method,
                                  payload, target=args.target)
            elif args.cmd == "serve":
                r = node.serve(args.namespace, args.service, args.method,
                               payload)
            else:
                r = node.mesh_dispatch(args.namespace, args.service,
                                       args.method, payload,
                                       target=args.target)
    _print(r)
    return 0 if r.ok else 1


if __name__ == "__main__":
    sys.exit(main())

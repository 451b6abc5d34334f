"""Server reflection as a Python client without the .proto files uses it
(grpcurl's way), for cluster.grpc_python_client: list the services, fetch
mesh.v1.Mesh's file, build its messages from the answer alone and call
Dispatch with them. The reflection messages come from Debian's grpc-proto
(protoc); their package, grpc.reflection.v1, would clash with grpcio's
module `grpc` on import, so the module is loaded from its file and the
stream called by its method path."""

import importlib.util
import json
import os
import subprocess

import grpc
from google.protobuf import (descriptor_pb2, descriptor_pool, json_format,
                             message_factory)


def load_messages(gen):
    subprocess.run(["protoc", "-I", "/usr/share/grpc-proto",
                    f"--python_out={gen}",
                    "grpc/reflection/v1/reflection.proto"], check=True)
    spec = importlib.util.spec_from_file_location(
        "reflection_pb2", os.path.join(gen, "grpc", "reflection", "v1",
                                       "reflection_pb2.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build_pool(answer):
    """A pool of the files in a file_descriptor_response, each added after
    the files it imports."""
    pool = descriptor_pool.DescriptorPool()
    files = {}
    for b in answer.file_descriptor_response.file_descriptor_proto:
        f = descriptor_pb2.FileDescriptorProto.FromString(b)
        files[f.name] = f

    def add(name):
        if files.get(name) is not None:
            f, files[name] = files[name], None
            for dep in f.dependency:
                add(dep)
            pool.Add(f)
    for name in list(files):
        add(name)
    return pool


def dispatch_by_reflection(address, gen, namespace, service, method, payload):
    """The service names the node lists, and mesh.v1.Mesh/Dispatch's answer
    (as JSON) to a request made from reflected descriptors only."""
    rp = load_messages(gen)
    with grpc.insecure_channel(address) as ch:
        ask = ch.stream_stream(
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=rp.ServerReflectionResponse.FromString)
        listed = next(ask(iter([rp.ServerReflectionRequest(
            list_services="")]), timeout=20))
        names = [s.name for s in listed.list_services_response.service]
        answer = next(ask(iter([rp.ServerReflectionRequest(
            file_containing_symbol="mesh.v1.Mesh")]), timeout=20))
        pool = build_pool(answer)
        dispatch = pool.FindMethodByName("mesh.v1.Mesh.Dispatch")
        factory = message_factory.MessageFactory(pool)
        request_class = factory.GetPrototype(dispatch.input_type)
        response_class = factory.GetPrototype(dispatch.output_type)
        req = json_format.Parse(json.dumps({
            "ref": {"namespace": namespace, "service": service,
                    "method": method},
            "payload": {"@type": "type.googleapis.com/google.protobuf.Value",
                        "value": payload}}),
            request_class(), descriptor_pool=pool)
        call = ch.unary_unary("/mesh.v1.Mesh/Dispatch",
                              request_serializer=lambda m:
                              m.SerializeToString(),
                              response_deserializer=response_class.FromString)
        return names, json_format.MessageToDict(call(req, timeout=20),
                                                descriptor_pool=pool)

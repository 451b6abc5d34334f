// grpc_echo_server: the bare gRPC baseline of the front door's benchmark.
//
// A plain gRPC C++ server of the seed's CollectiveDispatcher (the same
// generated messages Mesh's front door speaks) whose Dispatch answers the
// input as the output, inline on gRPC's thread: one gRPC round trip and
// nothing else, so grpc_bench's ratios are what Mesh adds on top of gRPC.
// Callback API, as the front door uses.
//
//   grpc_echo_server [--listen HOST:PORT]   (default 127.0.0.1:0)
//
// Prints one JSON line when it listens: {"event":"ready","grpc":"HOST:PORT"};
// runs until SIGTERM or SIGINT.

#include <csignal>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "collector.grpc.pb.h"

namespace {

class echo_service final : public collector::CollectiveDispatcher::CallbackService {
  grpc::ServerUnaryReactor* Dispatch(grpc::CallbackServerContext* ctx,
                                     const collector::DispatchRequest* req,
                                     collector::DispatchResponse* resp) override {
    resp->mutable_status()->set_code(200);
    *resp->mutable_output() = req->input();
    resp->set_handled_by_collector_id("bare-grpc");
    auto* reactor = ctx->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

} // namespace

int main(int argc, char** argv) {
  std::string listen = "127.0.0.1:0";
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
      listen = argv[++i];
    } else {
      std::cerr << "usage: grpc_echo_server [--listen HOST:PORT]\n";
      return 2;
    }
  }
  // Block the stop signals before gRPC starts its threads, so only the
  // sigwait below receives them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  echo_service service;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  auto server = builder.BuildAndStart();
  if (!server || port == 0) {
    std::cerr << "grpc_echo_server: cannot listen on " << listen << "\n";
    return 1;
  }
  auto host = listen.substr(0, listen.rfind(':'));
  std::cout << R"({"event":"ready","grpc":")" << host << ':' << port
            << "\"}" << std::endl;
  int sig = 0;
  sigwait(&stop, &sig);
  server->Shutdown();
  return 0;
}

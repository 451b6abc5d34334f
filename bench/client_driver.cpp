#include "bench/client_driver.hpp"

#include <future>
#include <memory>
#include <unordered_map>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <google/protobuf/wrappers.pb.h>

#include "protocol/service_key.hpp"
#include "protocol/messaging/type_ids.hpp"

namespace mesh::bench {

load_result run_batched_loop(caf::actor_system& sys, caf::actor ingress,
                             const load_spec& spec, pb::DispatchRequest proto) {
  using clock = std::chrono::steady_clock;
  struct state {
    load_result result;
    clock::time_point measure_from, end;
    /// Outstanding requests: tag -> when its batch left.
    std::unordered_map<uint64_t, clock::time_point> sent;
    uint64_t next_tag = 0;
    size_t ready = 0; ///< requests to send with the next batch
    bool flush_pending = false;
    bool finished = false;
    std::promise<load_result> done;
  };
  auto st = std::make_shared<state>();
  auto future = st->done.get_future();
  auto fail = [st](const std::string& error) {
    ++st->result.failed;
    if (st->result.first_error.empty())
      st->result.first_error = error;
  };
  sys.spawn([=, proto = std::move(proto)](caf::event_based_actor* self)
              -> caf::behavior {
    st->measure_from = clock::now() + spec.warmup;
    st->end = st->measure_from + spec.duration;
    st->result.latencies_ns.reserve(1 << 20);
    st->sent.reserve(spec.in_flight * 2);
    auto send_batch = [=] {
      pb::DispatchBatch batch;
      batch.mutable_requests()->Reserve(static_cast<int>(st->ready));
      batch.mutable_tags()->Reserve(static_cast<int>(st->ready));
      auto now = clock::now();
      for (; st->ready > 0; --st->ready) {
        auto tag = st->next_tag++;
        *batch.add_requests() = proto;
        batch.add_tags(tag);
        st->sent.emplace(tag, now);
      }
      self->send(ingress, atom::batch_v, std::move(batch));
    };
    auto finish = [=] {
      if (st->finished)
        return;
      st->finished = true;
      st->result.seconds = std::chrono::duration<double>(spec.duration).count();
      st->done.set_value(std::move(st->result));
      self->quit();
    };
    self->monitor(ingress);
    self->set_down_handler([=](caf::down_msg& dm) {
      if (dm.source != ingress.address())
        return;
      for (size_t i = 0; i < st->sent.size(); ++i)
        fail("the client ingress went down: " + caf::to_string(dm.reason));
      st->sent.clear();
      finish();
    });
    st->ready = spec.in_flight;
    send_batch();
    return {
      [=](atom::batch, pb::DispatchReplies& replies) {
        auto now = clock::now();
        if (replies.responses_size() != replies.tags_size())
          fail("the ingress sent " + std::to_string(replies.responses_size())
               + " answers with " + std::to_string(replies.tags_size())
               + " tags");
        auto n = std::min(replies.responses_size(), replies.tags_size());
        for (int i = 0; i < n; ++i) {
          auto it = st->sent.find(replies.tags(i));
          if (it == st->sent.end()) {
            fail("an answer to an unknown or already answered tag");
            continue;
          }
          auto sent_at = it->second;
          st->sent.erase(it);
          const auto& r = replies.responses(i);
          if (r.status().code() != 0)
            fail(r.status().message());
          else if (sent_at >= st->measure_from && now < st->end) {
            ++st->result.ok;
            st->result.latencies_ns.push_back(static_cast<uint64_t>(
              std::chrono::duration_cast<std::chrono::nanoseconds>(now - sent_at)
                .count()));
          }
          if (now < st->end)
            ++st->ready;
        }
        if (st->ready > 0 && !st->flush_pending) {
          // Answers already in the mailbox ready their requests first.
          st->flush_pending = true;
          self->send(self, atom::flush_v);
        }
        if (st->sent.empty() && st->ready == 0)
          finish();
      },
      [=](atom::flush) {
        st->flush_pending = false;
        if (st->ready > 0)
          send_batch();
      },
    };
  });
  return future.get();
}

caf::expected<nlohmann::json> outside_client(bench_env& env, size_t in_flight) {
  auto& client = env.client_of_a();
  auto ingress = client.router(std::chrono::seconds{5});
  if (!ingress)
    return ingress.error();
  pb::DispatchRequest proto;
  to_service_ref({"echo", "EchoService", "Echo"}, *proto.mutable_ref());
  google::protobuf::StringValue payload;
  payload.set_value(std::string(env.opts.payload_bytes, 'x'));
  proto.mutable_payload()->PackFrom(payload);
  proto.set_trace_id("bench");
  load_spec spec{in_flight, env.opts.warmup, env.opts.duration, {}};
  return run_batched_loop(client.system(), *ingress, spec, std::move(proto))
    .to_json();
}

} // namespace mesh::bench

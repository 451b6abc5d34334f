#pragma once

// reply_outbox: the answers a peer's ingress owes that peer, tagged as the
// peer's batch tagged them, waiting to leave as one message (ServeReplies,
// PublishReplies). An outbox leaves when the ingress's mailbox holds
// nothing more (a lone answer is never held back), or at a count or byte
// bound (one transport message stays within its bound). The ingress's
// serve and publish batches both keep one (peer_ingress_serve.hpp,
// peer_ingress_publish.hpp); how it leaves (`flush`) is theirs.

#include <cstddef>
#include <cstdint>
#include <utility>

#include "actors/cluster/ingress/peer_ingress.hpp"

namespace mesh {

template <class Replies>
struct reply_outbox {
  Replies replies;            ///< answers waiting for the flush
  size_t bytes = 0;           ///< their size, as counted by add()
  bool flush_pending = false; ///< an (atom::flush) to the ingress is queued

  /// Adds one answer of about `size` bytes. What waits leaves first (through
  /// `flush`) when the answer would take the message past its byte bound; a
  /// full outbox leaves at once.
  template <class Response, class Flush>
  void add(uint64_t tag, Response&& r, size_t size, Flush&& flush) {
    if (replies.tags_size() > 0 && bytes + size > batch_max_bytes)
      flush();
    *replies.add_responses() = std::forward<Response>(r);
    replies.add_tags(tag);
    bytes += size;
    if (replies.tags_size() >= batch_max_count)
      flush();
  }

  /// The outbox leaves now if nothing else waits in `self`'s mailbox, else
  /// behind what is there (an (atom::flush) to itself): answers that
  /// complete together leave together.
  template <class Self, class Flush>
  void send_or_schedule(Self* self, Flush&& flush) {
    if (replies.tags_size() == 0)
      return;
    if (self->mailbox().empty()) {
      flush();
    } else if (!flush_pending) {
      flush_pending = true;
      self->send(self, atom::flush_v);
    }
  }

  /// The waiting answers; the outbox is empty afterwards.
  Replies take() {
    bytes = 0;
    return std::exchange(replies, Replies{});
  }
};

} // namespace mesh

#pragma once

// message_pool: parsed protobuf messages kept for the next frames (issue
// 16). A frame parsed into a message that was cleared keeps that message's
// repeated entries and their strings' buffers and fills them again, where a
// new message allocates each of them (a reply batch: a response and its
// trace id per answer). take() hands out a shared message; when its last
// owner lets go (the router, on whatever thread it runs), it is cleared
// and comes back here, unless the pool is full or the message is larger
// than a batch may be.
//
// Thread safety: take() and the return may happen on any thread.

#include <memory>
#include <mutex>
#include <vector>

namespace mesh {

/// `Message` is a batch or its replies: one tag per entry (tags_size()).
template <class Message>
class message_pool
  : public std::enable_shared_from_this<message_pool<Message>> {
public:
  /// `keep`: at most this many wait here; `max_entries`: a message with
  /// more entries than this (Message::ByteSizeLong() is not asked: it walks
  /// the message) is freed instead, so the pool holds no outsized buffers.
  message_pool(size_t keep, int max_entries)
    : keep_(keep), max_entries_(max_entries) {
  }

  /// An empty message, reused when one waits. The pool must be owned by a
  /// shared_ptr: each message keeps it alive until it comes back.
  std::shared_ptr<Message> take() {
    std::unique_ptr<Message> msg;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (!free_.empty()) {
        msg = std::move(free_.back());
        free_.pop_back();
      }
    }
    if (!msg)
      msg = std::make_unique<Message>();
    return {msg.release(), [pool = this->shared_from_this()](Message* m) {
              pool->give_back(std::unique_ptr<Message>{m});
            }};
  }

  /// Messages waiting (tests).
  size_t idle() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return free_.size();
  }

private:
  void give_back(std::unique_ptr<Message> msg) {
    if (entries(*msg) > max_entries_)
      return;
    msg->Clear(); // frees what was left in it (its entries stay)
    std::lock_guard<std::mutex> guard{mtx_};
    if (free_.size() < keep_)
      free_.push_back(std::move(msg));
  }

  static int entries(const Message& msg) {
    return msg.tags_size();
  }

  size_t keep_;
  int max_entries_;
  mutable std::mutex mtx_;
  std::vector<std::unique_ptr<Message>> free_;
};

} // namespace mesh

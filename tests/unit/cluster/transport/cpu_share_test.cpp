#define CAF_SUITE transport.cpu_share
#include "check.hpp"

#include "actors/cluster/ingress/cpu_share.hpp"
#include "pinned_here.hpp"

// Whether a peer's batches come from the CPU that serves them
// (actors/cluster/ingress/cpu_share.hpp): the gauge's windows, and the CPU
// a batch names.

using namespace mesh;

namespace {

constexpr auto window = cpu_share_gauge::window;

// Feeds `n` batches, the first `same` of them from this CPU; the verdict
// after the last.
bool feed(cpu_share_gauge& g, uint32_t n, uint32_t same) {
  bool shared = false;
  for (uint32_t i = 0; i < n; ++i)
    shared = g.batch(i < same);
  return shared;
}

} // namespace

CAF_TEST(a peer shares the CPU until a whole window says otherwise) {
  cpu_share_gauge g;
  CAF_CHECK(feed(g, window - 1, 0));
  CAF_CHECK(!g.batch(false));
}

CAF_TEST(more than three quarters of a window from this CPU mean shared) {
  cpu_share_gauge g;
  CAF_CHECK(!feed(g, window, 0));
  CAF_CHECK(!feed(g, window, window * 3 / 4)); // not more than 3/4
  CAF_CHECK(feed(g, window, window * 3 / 4 + 1));
}

CAF_TEST(fewer than a quarter from this CPU mean apart again) {
  cpu_share_gauge g;
  CAF_CHECK(feed(g, window, window));
  CAF_CHECK(feed(g, window, window / 4)); // not fewer than 1/4
  CAF_CHECK(!feed(g, window, window / 4 - 1));
}

CAF_TEST(between the two the verdict stays) {
  cpu_share_gauge g;
  CAF_CHECK(!feed(g, window, 0));
  CAF_CHECK(!feed(g, window, window / 2));
  CAF_CHECK(feed(g, window, window));
  CAF_CHECK(feed(g, window, window / 2));
}

CAF_TEST(a verdict holds until the next window is whole) {
  cpu_share_gauge g;
  CAF_CHECK(!feed(g, window, 0));
  CAF_CHECK(!feed(g, window - 1, window - 1));
  CAF_CHECK(g.batch(true));
  CAF_CHECK(feed(g, window - 1, 0));
  CAF_CHECK(!g.batch(false));
}

CAF_TEST(the CPU tag of a batch names the CPU its sender runs on) {
  test::pinned_here pin;
  auto tag = sender_cpu_tag();
  CAF_CHECK_EQUAL(tag, static_cast<uint32_t>(pin.cpu()) + 1);
  CAF_CHECK(sent_from_this_cpu(tag));
  CAF_CHECK(!sent_from_this_cpu(tag + 1));
  CAF_CHECK(!sent_from_this_cpu(0)); // not said
}

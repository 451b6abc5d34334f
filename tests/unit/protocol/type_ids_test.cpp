#define CAF_SUITE protocol.type_ids
#include <caf/test/unit_test.hpp>

#include <caf/actor_system.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/detail/stringification_inspector.hpp>
#include <caf/send.hpp>

#include <google/protobuf/util/message_differencer.h>

#include "fixtures.hpp"

using namespace mesh;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

namespace {

// Sets every field of `msg` to a non-default value (repeated fields get two
// elements), recursing into sub-messages, so a round trip that drops or
// mangles any field is caught.
void fill(Message& msg, int depth = 0) {
  const auto* desc = msg.GetDescriptor();
  const auto* refl = msg.GetReflection();
  for (int i = 0; i < desc->field_count(); ++i) {
    const auto* f = desc->field(i);
    int n = f->is_repeated() ? 2 : 1;
    for (int k = 0; k < n; ++k) {
      auto tag = std::to_string(i) + "-" + std::to_string(k);
      switch (f->cpp_type()) {
        case FieldDescriptor::CPPTYPE_STRING: {
          auto v = f->type() == FieldDescriptor::TYPE_BYTES
                     ? std::string("\0\xff", 2) + tag
                     : "s" + tag;
          f->is_repeated() ? refl->AddString(&msg, f, v)
                           : refl->SetString(&msg, f, v);
          break;
        }
        case FieldDescriptor::CPPTYPE_UINT32:
          f->is_repeated() ? refl->AddUInt32(&msg, f, 7u + k)
                           : refl->SetUInt32(&msg, f, 7u + k);
          break;
        case FieldDescriptor::CPPTYPE_UINT64:
          f->is_repeated() ? refl->AddUInt64(&msg, f, (1ull << 40) + k)
                           : refl->SetUInt64(&msg, f, (1ull << 40) + k);
          break;
        case FieldDescriptor::CPPTYPE_INT32:
          f->is_repeated() ? refl->AddInt32(&msg, f, -3 - k)
                           : refl->SetInt32(&msg, f, -3 - k);
          break;
        case FieldDescriptor::CPPTYPE_INT64:
          f->is_repeated() ? refl->AddInt64(&msg, f, -(1ll << 40) - k)
                           : refl->SetInt64(&msg, f, -(1ll << 40) - k);
          break;
        case FieldDescriptor::CPPTYPE_DOUBLE:
          f->is_repeated() ? refl->AddDouble(&msg, f, 0.25 + k)
                           : refl->SetDouble(&msg, f, 0.25 + k);
          break;
        case FieldDescriptor::CPPTYPE_FLOAT:
          f->is_repeated() ? refl->AddFloat(&msg, f, 0.5f + k)
                           : refl->SetFloat(&msg, f, 0.5f + k);
          break;
        case FieldDescriptor::CPPTYPE_BOOL:
          f->is_repeated() ? refl->AddBool(&msg, f, true)
                           : refl->SetBool(&msg, f, true);
          break;
        case FieldDescriptor::CPPTYPE_ENUM: {
          const auto* e = f->enum_type();
          const auto* v = e->value(e->value_count() - 1);
          f->is_repeated() ? refl->AddEnum(&msg, f, v)
                           : refl->SetEnum(&msg, f, v);
          break;
        }
        case FieldDescriptor::CPPTYPE_MESSAGE:
          if (depth < 3)
            fill(f->is_repeated() ? *refl->AddMessage(&msg, f)
                                  : *refl->MutableMessage(&msg, f),
                 depth + 1);
          break;
      }
    }
  }
}

struct fixture {
  test::test_config cfg;
  caf::actor_system sys{cfg};
  size_t checked = 0;

  template <class T>
  std::enable_if_t<std::is_same_v<T, peer_actor>
                   || std::is_same_v<T, client_actor>>
  round_trip() {
    auto a = sys.spawn([] { return caf::behavior{[](int) {}}; });
    auto original = caf::actor_cast<T>(a);
    std::vector<char> buf;
    caf::binary_serializer sink{sys, buf};
    CAF_REQUIRE(!sink(original));
    T copy;
    caf::binary_deserializer source{sys, buf};
    CAF_REQUIRE(!source(copy));
    CAF_CHECK(copy == original);
    CAF_CHECK(sys.types().make_value(caf::type_name<T>::value) != nullptr);
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    ++checked;
  }

  template <class T>
  std::enable_if_t<mesh::detail::is_proto_message_v<T>> round_trip() {
    T original;
    fill(original);
    CAF_REQUIRE(original.ByteSizeLong() > 0);
    std::vector<char> buf;
    caf::binary_serializer sink{sys, buf};
    auto x = original;
    CAF_REQUIRE(!sink(x));
    T copy;
    caf::binary_deserializer source{sys, buf};
    CAF_REQUIRE(!source(copy));
    CAF_CHECK(google::protobuf::util::MessageDifferencer::Equals(original,
                                                                  copy));
    // The registry knows the type by the name a peer would send.
    const char* name = caf::type_name<T>::value;
    CAF_CHECK(sys.types().make_value(name) != nullptr);
    // Printing shows the fields, not raw bytes.
    std::string text;
    caf::detail::stringification_inspector f{text};
    f(x);
    auto first_field = T::descriptor()->field(0)->name();
    CAF_CHECK(text.find(first_field) != std::string::npos);
    ++checked;
  }

  template <caf::type_id_t... Is>
  void round_trip_all(std::integer_sequence<caf::type_id_t, Is...>) {
    (round_trip<typename caf::type_by_id<caf::id_block::mesh::begin
                                         + Is>::type>(),
     ...);
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(type_id_tests, fixture)

CAF_TEST(every registered type round-trips through the serializer) {
  constexpr auto count = caf::id_block::mesh::end - caf::id_block::mesh::begin;
  round_trip_all(std::make_integer_sequence<caf::type_id_t, count>{});
  CAF_CHECK_EQUAL(checked, static_cast<size_t>(count));
}

CAF_TEST(malformed bytes are an error and not a crash) {
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  std::string garbage = "\xff\xff\xff\xff\xff";
  CAF_REQUIRE(!sink(garbage));
  pb::DispatchRequest out;
  caf::binary_deserializer source{sys, buf};
  CAF_CHECK(source(out));
}

CAF_TEST(truncated protobuf bytes from the network are an error) {
  pb::DispatchRequest full;
  fill(full);
  auto wire = full.SerializeAsString();
  CAF_REQUIRE(wire.size() > 8);
  // The protobuf bytes cut short inside CAF's intact framing...
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  CAF_REQUIRE(!sink(wire.substr(0, wire.size() / 2)));
  pb::DispatchRequest out;
  caf::binary_deserializer source{sys, buf};
  auto err = source(out);
  CAF_CHECK(err != caf::none);
  // ...and the frame itself cut short.
  std::vector<char> whole;
  caf::binary_serializer sink2{sys, whole};
  CAF_REQUIRE(!sink2(full));
  whole.resize(whole.size() / 2);
  caf::binary_deserializer source2{sys, whole};
  CAF_CHECK(source2(out) != caf::none);
}

CAF_TEST_FIXTURE_SCOPE_END()

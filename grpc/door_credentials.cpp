#include "grpc/door_credentials.hpp"

#include <exception>
#include <fstream>
#include <sstream>
#include <string_view>
#include <utility>

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <openssl/pem.h>

#include "grpc/call_support.hpp"

namespace mesh::grpc_door {

bool read_file(const std::string& path, std::string& out) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return false;
  std::ostringstream buf;
  buf << in.rdbuf();
  out = buf.str();
  return true;
}

namespace {

/// gRPC takes an unencrypted PEM key only: a key with a passphrase (as
/// CAF's OpenSSL module accepts it) is decrypted in memory.
bool decrypt_key(std::string& pem, const std::string& passphrase) {
  std::unique_ptr<BIO, decltype(&BIO_free)> in{
    BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free};
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key{
    PEM_read_bio_PrivateKey(in.get(), nullptr, nullptr,
                            const_cast<char*>(passphrase.c_str())),
    EVP_PKEY_free};
  if (!key)
    return false;
  std::unique_ptr<BIO, decltype(&BIO_free)> out{BIO_new(BIO_s_mem()), BIO_free};
  if (!PEM_write_bio_PrivateKey(out.get(), key.get(), nullptr, nullptr, 0,
                                nullptr, nullptr))
    return false;
  char* data = nullptr;
  auto len = BIO_get_mem_data(out.get(), &data);
  pem.assign(data, static_cast<size_t>(len));
  return true;
}

std::string_view view(const grpc_slice& s) {
  return {reinterpret_cast<const char*>(GRPC_SLICE_START_PTR(s)),
          GRPC_SLICE_LENGTH(s)};
}

/// What the auth filter's processor needs: the token and where refused
/// calls are counted.
struct token_check {
  std::string token;
  std::shared_ptr<call_counts> counts;
};

/// gRPC's auth filter calls this with a call's headers, before the call
/// reaches a handler; `done` lets the call on or ends it with our status.
void process(void* state, grpc_auth_context*, const grpc_metadata* md,
             size_t num_md, grpc_process_auth_metadata_done_cb done,
             void* user_data) {
  const auto& check = *static_cast<const token_check*>(state);
  std::string_view path;
  std::string_view authorization;
  for (size_t i = 0; i < num_md; ++i) {
    auto key = view(md[i].key);
    if (key == ":path")
      path = view(md[i].value);
    else if (key == "authorization" && authorization.empty())
      authorization = view(md[i].value); // the first, as the handlers read
  }
  constexpr std::string_view health = "/grpc.health.v1.Health/";
  if (path.substr(0, health.size()) == health) {
    done(user_data, nullptr, 0, nullptr, 0, GRPC_STATUS_OK, nullptr);
    return;
  }
  // Nothing may escape into gRPC's C core: a failure refuses the call.
  try {
    auto why = token_refusal(authorization, check.token);
    if (!why) {
      done(user_data, nullptr, 0, nullptr, 0, GRPC_STATUS_OK, nullptr);
      return;
    }
    if (auto method = door_method_of(path); method && check.counts) {
      auto i = static_cast<size_t>(*method);
      check.counts->started(i);
      check.counts->handled(
        i, static_cast<size_t>(grpc::StatusCode::UNAUTHENTICATED), {});
    }
    done(user_data, nullptr, 0, nullptr, 0, GRPC_STATUS_UNAUTHENTICATED,
         why->c_str());
  } catch (const std::exception&) {
    done(user_data, nullptr, 0, nullptr, 0, GRPC_STATUS_INTERNAL,
         "the node could not check this call's token");
  }
}

void destroy(void* state) {
  delete static_cast<token_check*>(state);
}

/// gRPC's C credentials with the token check, for a gRPC C++ server.
/// (ServerCredentials' port hook is private in the base, as gRPC's own
/// credentials override it.)
class checked_credentials final : public grpc::ServerCredentials {
public:
  checked_credentials(grpc_server_credentials* creds, const node_handles& node)
    : creds_(creds) {
    // Without a token there is nothing to check: gRPC then skips its auth
    // filter's work altogether.
    if (!node.token.empty())
      grpc_server_credentials_set_auth_metadata_processor(
        creds_,
        {&process, &destroy, new token_check{node.token, node.counts}});
  }

  ~checked_credentials() override {
    grpc_server_credentials_release(creds_);
  }

  void SetAuthMetadataProcessor(
    const std::shared_ptr<grpc::AuthMetadataProcessor>&) override {
    // The door sets its own; nothing else may replace it.
  }

private:
  int AddPortToServer(const std::string& addr, grpc_server* server) override {
    return grpc_server_add_http2_port(server, addr.c_str(), creds_);
  }

  grpc_server_credentials* creds_;
};

/// gRPC's TLS credentials with the node's certificate. Clients are not
/// asked for a certificate: they show the token.
grpc_server_credentials* tls_credentials(const tls_config& tls,
                                         std::string& error) {
  std::string cert;
  std::string key;
  std::string ca;
  if (!read_file(tls.certificate, cert)) {
    error = "cannot read the TLS certificate " + tls.certificate;
    return nullptr;
  }
  if (!read_file(tls.key, key)) {
    error = "cannot read the TLS key " + tls.key;
    return nullptr;
  }
  if (!tls.passphrase.empty() && !decrypt_key(key, tls.passphrase)) {
    error = "cannot decrypt the TLS key " + tls.key + " with its passphrase";
    return nullptr;
  }
  if (!tls.ca.empty() && !read_file(tls.ca, ca)) {
    error = "cannot read the TLS CA " + tls.ca;
    return nullptr;
  }
  grpc_ssl_pem_key_cert_pair pair{key.c_str(), cert.c_str()};
  // gRPC copies the PEM strings.
  return grpc_ssl_server_credentials_create_ex(
    ca.empty() ? nullptr : ca.c_str(), &pair, 1,
    GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE, nullptr);
}

} // namespace

std::shared_ptr<grpc::ServerCredentials>
door_credentials(const tls_config& tls, const node_handles& node,
                 std::string& error) {
  auto* creds = tls.enabled() ? tls_credentials(tls, error)
                              : grpc_insecure_server_credentials_create();
  if (creds == nullptr) {
    if (error.empty())
      error = "gRPC refused the TLS certificate or key";
    return nullptr;
  }
  return std::make_shared<checked_credentials>(creds, node);
}

} // namespace mesh::grpc_door

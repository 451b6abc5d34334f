#include "cluster/security/tls_files.hpp"

#include <cstring>
#include <memory>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

namespace mesh {

namespace {

std::string ssl_error() {
  auto code = ERR_get_error();
  ERR_clear_error();
  if (code == 0)
    return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof(buf));
  return buf;
}

int passphrase_cb(char* buf, int size, int, void* user) {
  const auto* pw = static_cast<const std::string*>(user);
  auto n = std::min<int>(size, static_cast<int>(pw->size()));
  std::memcpy(buf, pw->data(), static_cast<size_t>(n));
  return n;
}

} // namespace

std::string check_tls_files(const std::string& certificate,
                            const std::string& key, const std::string& ca,
                            const std::string& passphrase) {
  if (certificate.empty())
    return {};
  if (key.empty() || ca.empty())
    return "certificate, key and ca are all required";
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx{
    SSL_CTX_new(TLS_method()), SSL_CTX_free};
  if (!ctx)
    return "cannot create a TLS context: " + ssl_error();
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), certificate.c_str()) != 1)
    return "certificate '" + certificate + "' is unreadable or not PEM: "
           + ssl_error();
  std::string pw = passphrase;
  SSL_CTX_set_default_passwd_cb(ctx.get(), passphrase_cb);
  SSL_CTX_set_default_passwd_cb_userdata(ctx.get(), &pw);
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(), SSL_FILETYPE_PEM)
      != 1) {
    auto why = ssl_error();
    if (why.find("mismatch") != std::string::npos)
      return "key '" + key + "' does not belong to certificate '"
             + certificate + "'";
    return "key '" + key + "' is unreadable, not PEM or needs a passphrase: "
           + why;
  }
  if (SSL_CTX_check_private_key(ctx.get()) != 1)
    return "key '" + key + "' does not belong to certificate '" + certificate
           + "'";
  if (SSL_CTX_load_verify_locations(ctx.get(), ca.c_str(), nullptr) != 1)
    return "CA certificate '" + ca + "' is unreadable or not PEM: "
           + ssl_error();
  // Our own certificate must be one our peers accept: signed by that CA.
  auto* cert = SSL_CTX_get0_certificate(ctx.get());
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> vctx{
    X509_STORE_CTX_new(), X509_STORE_CTX_free};
  if (!vctx
      || X509_STORE_CTX_init(vctx.get(), SSL_CTX_get_cert_store(ctx.get()),
                             cert, nullptr)
           != 1)
    return "cannot verify certificate '" + certificate + "': " + ssl_error();
  if (X509_verify_cert(vctx.get()) != 1)
    return "certificate '" + certificate + "' is not signed by CA '" + ca
           + "': "
           + X509_verify_cert_error_string(
             X509_STORE_CTX_get_error(vctx.get()));
  return {};
}

} // namespace mesh

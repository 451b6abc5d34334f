#include "cluster/security/handshake.hpp"

#include <random>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

namespace mesh {

namespace {

std::string to_hex(const unsigned char* data, size_t size) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string result;
  result.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    result += digits[data[i] >> 4];
    result += digits[data[i] & 0xF];
  }
  return result;
}

std::string handshake_text(std::string_view role, std::string_view node_id,
                           std::string_view incarnation,
                           std::string_view nonce) {
  std::string text = "mesh/1|";
  text += role;
  text += '|';
  text += node_id;
  text += '|';
  text += incarnation;
  text += '|';
  text += nonce;
  return text;
}

} // namespace

std::string check_protocol_version(uint32_t theirs) {
  if (theirs == protocol_version)
    return {};
  return "incompatible protocol version " + std::to_string(theirs)
         + " (this node speaks " + std::to_string(protocol_version) + ")";
}

std::string make_secret_proof(std::string_view secret, std::string_view role,
                              std::string_view node_id,
                              std::string_view incarnation,
                              std::string_view nonce) {
  if (secret.empty())
    return {};
  auto text = handshake_text(role, node_id, incarnation, nonce);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(text.data()), text.size(), mac,
       &len);
  return std::string(reinterpret_cast<const char*>(mac), len);
}

std::string check_secret_proof(std::string_view secret, std::string_view proof,
                               std::string_view role, std::string_view node_id,
                               std::string_view incarnation,
                               std::string_view nonce) {
  if (secret.empty() && proof.empty())
    return {};
  if (secret.empty())
    return "peer presented a cluster secret but this node has none";
  if (proof.empty())
    return "peer presented no cluster secret but this node requires one";
  auto expected = make_secret_proof(secret, role, node_id, incarnation, nonce);
  if (expected.size() != proof.size()
      || CRYPTO_memcmp(expected.data(), proof.data(), proof.size()) != 0)
    return "cluster secret mismatch";
  return {};
}

std::string make_connection_id(std::string_view id_a, std::string_view inc_a,
                               std::string_view id_b, std::string_view inc_b) {
  // Order the pair so that both sides hash the same text.
  std::string left = std::string(id_a) + "#" + std::string(inc_a);
  std::string right = std::string(id_b) + "#" + std::string(inc_b);
  if (right < left)
    std::swap(left, right);
  auto text = left + "|" + right;
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(),
         digest);
  return "c-" + to_hex(digest, 8);
}

std::string random_hex_token() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    std::random_device rd;
    for (auto& b : bytes)
      b = static_cast<unsigned char>(rd());
  }
  return to_hex(bytes, sizeof(bytes));
}

} // namespace mesh

#define CAF_SUITE telemetry.redact
#include <caf/test/unit_test.hpp>

#include "telemetry/redact.hpp"

using namespace mesh;

namespace {

bool leaks(const std::string& text, const std::string& secret) {
  return redact_secrets(text).find(secret) != std::string::npos;
}

} // namespace

CAF_TEST(sensitive key values are removed) {
  CAF_CHECK(!leaks("login failed: password=hunter2", "hunter2"));
  CAF_CHECK(!leaks("PASSWORD: hunter2", "hunter2"));
  CAF_CHECK(!leaks("{\"db_password\": \"hunter2\"}", "hunter2"));
  CAF_CHECK(!leaks("api_key=abc123xyz&user=bob", "abc123xyz"));
  CAF_CHECK(!leaks("secretKey='s3cr3t'", "s3cr3t"));
  CAF_CHECK(!leaks("X-Auth-Token: tok_live_1", "tok_live_1"));
  CAF_CHECK(!leaks("credentials=alice:wonder", "wonder"));
  CAF_CHECK(!leaks("private_key=MIIEvQIBADANBg", "MIIEvQIBADANBg"));
  CAF_CHECK(!leaks("pwd=letmein", "letmein"));
}

CAF_TEST(tokens and connection strings are removed) {
  CAF_CHECK(!leaks("Authorization: Bearer eyJabc.def.ghi", "eyJabc"));
  CAF_CHECK(!leaks("use Bearer abcdef123456", "abcdef123456"));
  CAF_CHECK(!leaks("connect postgres://app:pw@db:5432/orders failed", "pw@db"));
  CAF_CHECK(!leaks("mongodb+srv://u:p@cluster0.example.net/x", "cluster0"));
  CAF_CHECK(!leaks("broker kafka://user:pass@k1:9092", "pass@"));
  CAF_CHECK(!leaks("jdbc:mysql://h/db?user=a&password=b", "password=b"));
  CAF_CHECK(!leaks("key AKIAIOSFODNN7EXAMPLE leaked", "AKIAIOSFODNN7EXAMPLE"));
  CAF_CHECK(!leaks("sig=0123456789abcdef0123456789abcdef01", "0123456789abcdef0123"));
  CAF_CHECK(!leaks("-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----",
                   "MIIE"));
}

CAF_TEST(harmless text survives and redactions are marked) {
  CAF_CHECK_EQUAL(redact_secrets("user 'u-9' not found"), "user 'u-9' not found");
  CAF_CHECK_EQUAL(redact_secrets("division by zero in step 3"),
                  "division by zero in step 3");
  CAF_CHECK_EQUAL(redact_secrets("password=hunter2"), "password=[redacted]");
}

CAF_TEST(long text is bounded) {
  auto out = redact_secrets(std::string(10000, 'a') + " password=x", 100);
  CAF_CHECK_LESS_OR_EQUAL(out.size(), 103u);
  CAF_CHECK(out.find("password=x") == std::string::npos);
}

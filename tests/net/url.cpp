#define CAF_SUITE net_url
#include <caf/test/unit_test.hpp>

#include "net/url.hpp"
#include "net/webhook_signature.hpp"

CAF_TEST(absolute urls split into scheme host port and target) {
  auto u = net::parse_url("https://graph.microsoft.com/v1.0/users?$top=1");
  CAF_REQUIRE(u.has_value());
  CAF_CHECK_EQUAL(u->scheme, "https");
  CAF_CHECK_EQUAL(u->host, "graph.microsoft.com");
  CAF_CHECK_EQUAL(u->port, 443u);
  CAF_CHECK_EQUAL(u->target, "/v1.0/users?$top=1");
  auto local = net::parse_url("http://127.0.0.1:8025");
  CAF_REQUIRE(local.has_value());
  CAF_CHECK_EQUAL(local->port, 8025u);
  CAF_CHECK_EQUAL(local->target, "/");
  auto v6 = net::parse_url("https://[::1]:9443/x");
  CAF_REQUIRE(v6.has_value());
  CAF_CHECK_EQUAL(v6->host, "::1");
  CAF_CHECK_EQUAL(v6->port, 9443u);
}

CAF_TEST(malformed urls are refused) {
  CAF_CHECK(!net::parse_url("graph.microsoft.com/v1.0"));
  CAF_CHECK(!net::parse_url("ftp://host/"));
  CAF_CHECK(!net::parse_url("https://:443/"));
  CAF_CHECK(!net::parse_url("https://host:99999/"));
  CAF_CHECK(!net::parse_url("https://host:12ab/"));
  CAF_CHECK(!net::parse_url("https://user@host/"));
}

CAF_TEST(query strings round trip) {
  net::params in{{"scope", "offline_access https://graph.microsoft.com/Mail.Read"},
                 {"state", "a&b=c"},
                 {"empty", ""}};
  auto text = net::encode_query(in);
  CAF_CHECK_EQUAL(text.find(' '), std::string::npos);
  auto out = net::parse_query(text);
  CAF_REQUIRE(out.has_value());
  CAF_CHECK(*out == in);
  CAF_CHECK_EQUAL(net::find_param(*out, "state").value_or(""), "a&b=c");
  CAF_CHECK(!net::find_param(*out, "missing"));
  auto plus = net::parse_query("a=1+2&b=%41");
  CAF_REQUIRE(plus.has_value());
  CAF_CHECK_EQUAL((*plus)[0].second, "1 2");
  CAF_CHECK_EQUAL((*plus)[1].second, "A");
  CAF_CHECK(!net::parse_query("a=%4"));
  CAF_CHECK(!net::parse_query("a=%zz"));
}

CAF_TEST(base64 and base64url) {
  CAF_CHECK_EQUAL(net::base64_encode("hello"), "aGVsbG8=");
  CAF_CHECK_EQUAL(net::base64_decode("aGVsbG8=").value_or("?"), "hello");
  CAF_CHECK_EQUAL(net::base64_decode("aGVs\r\nbG8=").value_or("?"), "hello");
  CAF_CHECK_EQUAL(net::base64_decode("").value_or("?"), "");
  CAF_CHECK(!net::base64_decode("aGVsbG8"));
  CAF_CHECK(!net::base64_decode("a$Vs"));
  std::string bytes{"\xfb\xff\xfe", 3};
  CAF_CHECK_EQUAL(net::base64url_encode(bytes), "-__-");
  CAF_CHECK_EQUAL(net::base64url_encode(std::string(1, '\0')), "AA");
}

CAF_TEST(case insensitive helpers) {
  CAF_CHECK(net::iequals("Content-Type", "content-type"));
  CAF_CHECK(!net::iequals("Content-Type", "content-typ"));
  CAF_CHECK_EQUAL(net::to_lower("Alice@Example.COM"), "alice@example.com");
  auto [path, query] = net::split_target("/a/b?c=d");
  CAF_CHECK_EQUAL(path, "/a/b");
  CAF_CHECK_EQUAL(query, "c=d");
}

#include "net/pkce.hpp"

CAF_TEST(pkce s256 matches rfc 7636 appendix b) {
  CAF_CHECK_EQUAL(net::code_challenge_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
                  "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
  auto a = net::make_code_verifier(), b = net::make_code_verifier();
  CAF_CHECK_EQUAL(a.size(), 43u);
  CAF_CHECK_NOT_EQUAL(a, b);
}

CAF_TEST(hex encoding) {
  CAF_CHECK_EQUAL(net::hex_encode(std::string{"\x00\x7f\xab\xff", 4}), "007fabff");
  CAF_CHECK_EQUAL(net::hex_encode(""), "");
}

CAF_TEST(loopback hosts are address literals or localhost) {
  for (const char* host : {"127.0.0.1", "127.1.2.3", "::1", "localhost"})
    CAF_CHECK(net::is_loopback_host(host));
  for (const char* host : {"127.example.com", "127.0.0.1.nip.io", "128.0.0.1", "127..0.1",
                           "127.0.0.", "10.0.0.1", "example.com", "", "127.0.0.1:80"})
    CAF_CHECK(!net::is_loopback_host(host));
}

CAF_TEST(a webhook signature is the hex hmac of the body and compared exactly) {
  // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
  auto sig = net::webhook_signature("Jefe", "what do ya want for nothing?");
  CAF_CHECK_EQUAL(
      sig, "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  CAF_CHECK(net::webhook_signature_matches("Jefe", "what do ya want for nothing?", sig));
  CAF_CHECK(!net::webhook_signature_matches("Jefe", "what do ya want for nothing!", sig));
  CAF_CHECK(!net::webhook_signature_matches("Jeff", "what do ya want for nothing?", sig));
  CAF_CHECK(!net::webhook_signature_matches("Jefe", "what do ya want for nothing?",
                                            sig.substr(0, sig.size() - 1)));
  CAF_CHECK(!net::webhook_signature_matches("Jefe", "what do ya want for nothing?", ""));
}

#define CAF_SUITE app_config
#include <caf/test/unit_test.hpp>

#include "app/config.hpp"
#include "messages/error.hpp"

using env_map = std::map<std::string, std::string>;
using args = std::vector<std::string>;

namespace {

app::config parse(const args& a, const env_map& env = {}) {
  auto c = app::parse_config(a, env);
  if (!c) CAF_FAIL("parse failed: " << exc::render(c.error()));
  return *c;
}

/// The rendered error for input that must be refused.
std::string refusal(const args& a, const env_map& env = {}) {
  auto c = app::parse_config(a, env);
  if (c) return "<accepted>";
  CAF_CHECK_EQUAL(c.error(), exc::make_error(exc::ec::invalid_argument));
  return exc::render(c.error());
}

bool mentions(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

CAF_TEST(defaults follow the contract) {
  auto c = parse({});
  CAF_CHECK_EQUAL(c.data_dir, "./exconnect-data");
  CAF_CHECK_EQUAL(c.listen_host, "127.0.0.1");
  CAF_CHECK_EQUAL(c.listen_port, 8025u);
  CAF_CHECK_EQUAL(c.graph_url, "https://graph.microsoft.com/v1.0");
  CAF_CHECK_EQUAL(c.login_url, "https://login.microsoftonline.com");
  CAF_CHECK_EQUAL(c.tenant, "organizations");
  CAF_CHECK_EQUAL(c.poll_interval.count(), 60);
  CAF_CHECK_EQUAL(exc::to_string(c.fetch_rate), "25/60");
  CAF_CHECK_EQUAL(exc::to_string(c.send_rate), "10/60");
  CAF_CHECK_EQUAL(exc::to_string(c.graph_budget), "130000/10");
  CAF_CHECK_EQUAL(exc::to_string(c.send_bytes), "52428800/300");
  CAF_CHECK_EQUAL(exc::to_string(c.send_recipients), "10000/86400");
  CAF_CHECK_EQUAL(c.max_message_size, 52428800u);
  CAF_CHECK_EQUAL(c.tickets.attachment_bytes, 104857600u);
  CAF_CHECK_EQUAL(c.master_key_path(), "./exconnect-data/master.key");
  CAF_CHECK_EQUAL(c.admin_token_path(), "./exconnect-data/admin.token");
}

CAF_TEST(every option can be set on the command line) {
  auto c = parse({"--data-dir",
                  "/var/lib/x",
                  "--listen",
                  "0.0.0.0:0",
                  "--port-file",
                  "/tmp/p",
                  "--public-url",
                  "https://helpdesk.example/",
                  "--graph-url",
                  "https://127.0.0.1:9/v1.0",
                  "--login-url",
                  "https://127.0.0.1:9",
                  "--tenant",
                  "contoso.example",
                  "--ca-file",
                  "/ca.pem",
                  "--client-id",
                  "app-id",
                  "--client-secret-file",
                  "/secret",
                  "--master-key-file",
                  "/mk",
                  "--admin-token-file",
                  "/at",
                  "--poll-interval",
                  "30",
                  "--fetch-rate",
                  "5/1.5",
                  "--send-rate",
                  "3/10",
                  "--graph-budget",
                  "65000/10",
                  "--send-bytes",
                  "1000/60",
                  "--send-recipients",
                  "7/3600",
                  "--max-message-size",
                  "1024",
                  "--attachment-cap",
                  "2048",
                  "--max-attempts",
                  "3",
                  "--retry-initial",
                  "0.5",
                  "--conversion-timeout",
                  "2.5",
                  "--tls-cert",
                  "/c.pem",
                  "--tls-key",
                  "/k.pem"});
  CAF_CHECK_EQUAL(c.data_dir, "/var/lib/x");
  CAF_CHECK_EQUAL(c.listen_host, "0.0.0.0");
  CAF_CHECK_EQUAL(c.listen_port, 0u);
  CAF_CHECK_EQUAL(c.port_file, "/tmp/p");
  CAF_CHECK_EQUAL(c.public_url, "https://helpdesk.example");
  CAF_CHECK_EQUAL(c.graph_url, "https://127.0.0.1:9/v1.0");
  CAF_CHECK_EQUAL(c.login_url, "https://127.0.0.1:9");
  CAF_CHECK_EQUAL(c.tenant, "contoso.example");
  CAF_CHECK_EQUAL(c.ca_file, "/ca.pem");
  CAF_CHECK_EQUAL(c.client_id, "app-id");
  CAF_CHECK_EQUAL(c.client_secret_file, "/secret");
  CAF_CHECK_EQUAL(c.master_key_path(), "/mk");
  CAF_CHECK_EQUAL(c.admin_token_path(), "/at");
  CAF_CHECK_EQUAL(c.poll_interval.count(), 30);
  CAF_CHECK_EQUAL(c.fetch_rate.count, 5u);
  CAF_CHECK_EQUAL(c.fetch_rate.window.count(), 1500);
  CAF_CHECK_EQUAL(exc::to_string(c.send_rate), "3/10");
  CAF_CHECK_EQUAL(exc::to_string(c.graph_budget), "65000/10");
  CAF_CHECK_EQUAL(exc::to_string(c.send_bytes), "1000/60");
  CAF_CHECK_EQUAL(exc::to_string(c.send_recipients), "7/3600");
  CAF_CHECK_EQUAL(c.max_message_size, 1024u);
  CAF_CHECK_EQUAL(c.tickets.attachment_bytes, 2048u);
  CAF_CHECK_EQUAL(c.max_attempts, 3u);
  CAF_CHECK_EQUAL(c.retry_initial.count(), 500);
  CAF_CHECK_EQUAL(c.conversion_timeout.count(), 2500);
  CAF_CHECK_EQUAL(c.tls_cert_file, "/c.pem");
  CAF_CHECK_EQUAL(c.tls_key_file, "/k.pem");
}

CAF_TEST(environment variables set options and the command line wins) {
  env_map env{{"EXCONNECT_DATA_DIR", "/from/env"},
              {"EXCONNECT_POLL_INTERVAL", "15"},
              {"EXCONNECT_CLIENT_SECRET", "s3cret"},
              {"EXCONNECT_MASTER_KEY", std::string(64, 'a')},
              {"EXCONNECT_ADMIN_TOKEN", "admin-token"},
              {"OTHER", "ignored"}};
  auto c = parse({"--poll-interval=90"}, env);
  CAF_CHECK_EQUAL(c.data_dir, "/from/env");
  CAF_CHECK_EQUAL(c.poll_interval.count(), 90);
  CAF_CHECK_EQUAL(c.client_secret, "s3cret");
  CAF_CHECK_EQUAL(c.master_key_hex, std::string(64, 'a'));
  CAF_CHECK_EQUAL(c.admin_token, "admin-token");
  CAF_CHECK_EQUAL(c.master_key_path(), "/from/env/master.key");
  // A secret file on the command line beats the secret's value in the environment.
  auto files = parse({"--client-secret-file", "/s", "--master-key-file", "/k",
                      "--admin-token-file", "/t"},
                     env);
  CAF_CHECK_EQUAL(files.client_secret, "");
  CAF_CHECK_EQUAL(files.client_secret_file, "/s");
  CAF_CHECK_EQUAL(files.master_key_hex, "");
  CAF_CHECK_EQUAL(files.admin_token, "");
}

CAF_TEST(bad values are refused naming the option) {
  CAF_CHECK(mentions(refusal({"--poll-interval", "soon"}), "--poll-interval"));
  CAF_CHECK(mentions(refusal({"--poll-interval", "0"}), "positive"));
  CAF_CHECK(mentions(refusal({"--fetch-rate", "25"}), "N/SECONDS"));
  CAF_CHECK(mentions(refusal({"--fetch-rate", "0/60"}), "--fetch-rate"));
  CAF_CHECK(mentions(refusal({"--graph-budget", "9/10"}), "at least 10"));
  CAF_CHECK(mentions(refusal({"--graph-budget", "many"}), "--graph-budget"));
  CAF_CHECK(mentions(refusal({"--listen", "8025"}), "HOST:PORT"));
  CAF_CHECK(mentions(refusal({"--listen", "127.0.0.1:70000"}), "port"));
  CAF_CHECK(mentions(refusal({"--graph-url", "http://graph.example/v1.0"}), "https://"));
  CAF_CHECK(mentions(refusal({"--login-url", "not a url"}), "--login-url"));
  CAF_CHECK(mentions(refusal({"--tls-cert", "/c.pem"}), "go together"));
  CAF_CHECK(mentions(refusal({"--max-attempts", "0"}), "from 1 to 100"));
  CAF_CHECK(mentions(refusal({"--max-attempts", "101"}), "--max-attempts"));
  CAF_CHECK(mentions(refusal({"--retry-initial", "301"}), "to 300"));
  CAF_CHECK(mentions(refusal({"--conversion-timeout", "0"}), "from 0.001"));
  CAF_CHECK(mentions(refusal({"--conversion-timeout", "0.0004"}), "from 0.001"));
  CAF_CHECK(mentions(refusal({"--conversion-timeout", "241"}), "to 240"));
  CAF_CHECK(mentions(refusal({"--frobnicate"}), "unknown option"));
  CAF_CHECK(mentions(refusal({"--data-dir"}), "needs a value"));
  CAF_CHECK(
      mentions(refusal({}, {{"EXCONNECT_SEND_RATE", "fast"}}), "EXCONNECT_SEND_RATE"));
}

CAF_TEST(help lists every option with its environment variable) {
  auto c = parse({"--help"});
  CAF_CHECK(c.help);
  auto text = app::usage();
  for (auto flag : {"--data-dir",         "--listen",
                    "--port-file",        "--public-url",
                    "--graph-url",        "--login-url",
                    "--tenant",           "--ca-file",
                    "--client-id",        "--client-secret-file",
                    "--master-key-file",  "--admin-token-file",
                    "--poll-interval",    "--fetch-rate",
                    "--send-rate",        "--graph-budget",
                    "--send-bytes",       "--send-recipients",
                    "--max-message-size", "--max-attempts",
                    "--retry-initial",    "--conversion-timeout",
                    "--tls-cert",         "--tls-key"}) {
    CAF_CHECK(mentions(text, flag));
    std::string env = "EXCONNECT_";
    for (const char* p = flag + 2; *p; ++p)
      env.push_back(*p == '-' ? '_' : static_cast<char>(std::toupper(*p)));
    if (std::string{flag} == "--tls-cert") env = "EXCONNECT_TLS_CERT";
    CAF_CHECK(mentions(text, env));
  }
  CAF_CHECK(mentions(text, "EXCONNECT_CLIENT_SECRET"));
  CAF_CHECK(mentions(text, "EXCONNECT_MASTER_KEY"));
  CAF_CHECK(mentions(text, "EXCONNECT_ADMIN_TOKEN"));
}

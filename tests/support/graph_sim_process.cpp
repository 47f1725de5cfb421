#include "graph_sim_process.hpp"

#include "net/pkce.hpp"
#include "net/url.hpp"

#include <cstdlib>
#include <stdexcept>

namespace test {

using nlohmann::json;

const std::string& graph_sim_process::redirect_uri = sim_client::default_redirect_uri;

std::string graph_sim_binary() {
  const char* other = std::getenv("EXC_GRAPH_SIM");
  return other && *other ? other : EXC_GRAPH_SIM_PATH;
}

namespace {

std::vector<std::string> sim_args(const temp_dir& dir, const test_ca& ca,
                                  const std::vector<std::string>& extra) {
  std::vector<std::string> args{"--port",      "0",
                                "--port-file", dir.file("graph-sim.port"),
                                "--tls-cert",  ca.server_cert,
                                "--tls-key",   ca.server_key};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

} // namespace

namespace detail {

sim_process_parts::sim_process_parts(const temp_dir& dir, const test_ca& ca,
                                     const std::vector<std::string>& extra_args)
    : process_(graph_sim_binary(), sim_args(dir, ca, extra_args),
               dir.file("graph-sim.log")),
      client_(net::client_options{ca.ca_file, 2}) {
  port_ = process_.wait_for_port(dir.file("graph-sim.port"));
}

} // namespace detail

graph_sim_process::graph_sim_process(const temp_dir& dir, const test_ca& ca,
                                     const std::vector<std::string>& extra_args)
    : detail::sim_process_parts(dir, ca, extra_args),
      graph_sim::sim_client("https://127.0.0.1:" + std::to_string(port_), client_) {}

std::future<net::client_response>
graph_sim_process::graph_async(const std::string& method, const std::string& path,
                               const std::string& token) {
  net::client_request req;
  req.method = method;
  req.url = path.rfind("http", 0) == 0 ? path : base() + "/v1.0" + path;
  req.headers.emplace_back("Authorization", "Bearer " + token);
  auto done = std::make_shared<std::promise<net::client_response>>();
  auto answer = done->get_future();
  client_.async_request(std::move(req), [done](net::client_response res) {
    done->set_value(std::move(res));
  });
  return answer;
}

std::string graph_sim_process::deliver(const std::string& address,
                                       const std::string& mime, const json& extra) {
  return sim_client::deliver(address, mime, extra).at("id");
}

graph_sim_process::pkce graph_sim_process::make_pkce() {
  auto verifier = net::make_code_verifier();
  return {verifier, net::code_challenge_s256(verifier)};
}

net::params graph_sim_process::authorize_params(const app& a,
                                                const std::string& login_hint,
                                                const std::string& challenge,
                                                const std::string& scope) {
  return {{"client_id", a.client_id},        {"response_type", "code"},
          {"redirect_uri", redirect_uri},    {"scope", scope},
          {"state", "test-state"},           {"code_challenge", challenge},
          {"code_challenge_method", "S256"}, {"login_hint", login_hint}};
}

net::client_response graph_sim_process::authorize(const net::params& query) {
  return call("GET", "/organizations/oauth2/v2.0/authorize?" + net::encode_query(query));
}

std::string graph_sim_process::authorize_code(const app& a, const std::string& login_hint,
                                              const pkce& p, const std::string& scope) {
  auto res = authorize(authorize_params(a, login_hint, p.challenge, scope));
  if (!res.ok() || res.status != 302)
    throw std::runtime_error("authorize answered " + std::to_string(res.status) + ": " +
                             res.body);
  auto code = net::find_param(redirect_query(res), "code");
  if (!code)
    throw std::runtime_error("authorize gave no code: " +
                             std::string{res.header("Location")});
  return *code;
}

net::client_response graph_sim_process::redeem_code(const app& a, const std::string& code,
                                                    const std::string& verifier) {
  return token_request(net::encode_query({{"grant_type", "authorization_code"},
                                          {"code", code},
                                          {"redirect_uri", redirect_uri},
                                          {"code_verifier", verifier},
                                          {"client_id", a.client_id},
                                          {"client_secret", a.client_secret}}));
}

net::client_response graph_sim_process::refresh(const app& a,
                                                const std::string& refresh_token,
                                                const std::string& scope) {
  net::params form{{"grant_type", "refresh_token"},
                   {"refresh_token", refresh_token},
                   {"client_id", a.client_id},
                   {"client_secret", a.client_secret}};
  if (!scope.empty()) form.emplace_back("scope", scope);
  return token_request(net::encode_query(form));
}

net::client_response graph_sim_process::app_token(const app& a) {
  return token_request(
      net::encode_query({{"grant_type", "client_credentials"},
                         {"scope", "https://graph.microsoft.com/.default"},
                         {"client_id", a.client_id},
                         {"client_secret", a.client_secret}}));
}

std::string sample_mail(const std::string& tag, const std::string& to,
                        const std::string& subject) {
  return "From: Alice Example <alice@customer.test>\r\n"
         "To: Support <" +
         to +
         ">\r\n"
         "Subject: " +
         subject +
         "\r\n"
         "Date: Tue, 24 Nov 2026 09:15:00 +0000\r\n"
         "Message-ID: <" +
         tag +
         "@customer.test>\r\n"
         "MIME-Version: 1.0\r\n"
         "Content-Type: text/plain; charset=utf-8\r\n"
         "\r\n"
         "Hello, the printer shows error E-42 since this morning. (" +
         tag + ")\r\n";
}

} // namespace test

#pragma once

#include "net/http_client.hpp"
#include "net/url.hpp"

#include <nlohmann/json.hpp>

#include <string>

/// A client for a running graph-sim: its control API and the sign-in flow, for the
/// demo, the benchmarks and the tests.
namespace graph_sim {

class sim_client {
public:
  /// `base` is graph-sim's root URL (https://127.0.0.1:PORT); `http` must outlive this.
  sim_client(std::string base, net::http_client& http)
      : base_(std::move(base)), http_(http) {}

  const std::string& base() const { return base_; }

  /// Any request; `path` is appended to base() unless it is a full URL. Transport
  /// errors come back in the response (`ok()` false).
  net::client_response call(const std::string& method, const std::string& path,
                            net::header_list headers = {}, std::string body = {});

  /// A control-API call (`path` below /_sim) with a JSON body; throws
  /// std::runtime_error unless the answer is 2xx, so set-up mistakes fail loudly.
  nlohmann::json control(const std::string& method, const std::string& path,
                         const nlohmann::json& body = nullptr);

  /// A Graph call (`path` below /v1.0, or a full URL such as a nextLink) with a token.
  /// A body is sent as application/json unless `headers` name another Content-Type.
  net::client_response graph(const std::string& method, const std::string& path,
                             const std::string& token, std::string body = {},
                             net::header_list headers = {});

  struct app {
    std::string client_id;
    std::string client_secret;
  };

  /// Registers an app; with no redirect URIs any loopback redirect is accepted.
  app register_app(const nlohmann::json& options = nlohmann::json::object());

  /// Creates a mailbox and returns its id.
  std::string create_mailbox(const std::string& address,
                             const nlohmann::json& options = nlohmann::json::object());

  /// Delivers raw MIME into a mailbox (see docs/graph-sim.md for `options`); returns
  /// the control API's answer (id, internet_message_id, parsed, size, …).
  nlohmann::json deliver(const std::string& address, const std::string& mime,
                         const nlohmann::json& options = nlohmann::json::object());

  /// The mails a mailbox sent through sendMail, oldest first (GET
  /// /_sim/mailboxes/{address}/sent).
  nlohmann::json sent(const std::string& address);

  /// Posts a form to the token endpoint.
  net::client_response token_request(const std::string& form,
                                     net::header_list headers = {});

  /// The query parameters of a response's Location header; empty if it has none.
  static net::params redirect_query(const net::client_response& res);

  /// The whole authorization-code flow with PKCE for `login_hint`: returns the token
  /// response (access_token, refresh_token, …); throws if any step fails.
  nlohmann::json sign_in(const app& a, const std::string& login_hint,
                         const std::string& scope = default_scope,
                         const std::string& redirect_uri = default_redirect_uri);

  static const std::string default_scope;
  static const std::string default_redirect_uri;

private:
  std::string base_;
  net::http_client& http_;
};

} // namespace graph_sim

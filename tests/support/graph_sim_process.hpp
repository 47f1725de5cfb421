#pragma once

#include "child_process.hpp"
#include "temp_dir.hpp"
#include "test_ca.hpp"

#include "net/http_client.hpp"
#include "net/url.hpp"

#include <nlohmann/json.hpp>

#include <future>
#include <memory>
#include <string>
#include <vector>

namespace test {

/// graph-sim as a real process on a loopback port chosen at runtime, serving TLS with a
/// certificate from `ca`, plus a client that trusts that CA.
class graph_sim_process {
public:
  graph_sim_process(const temp_dir& dir, const test_ca& ca,
                    const std::vector<std::string>& extra_args = {});

  /// https://127.0.0.1:<port>
  const std::string& base() const { return base_; }
  std::uint16_t port() const { return port_; }
  net::http_client& client() { return client_; }
  child_process& process() { return process_; }

  /// Any request; `path` is appended to base() unless it is a full URL.
  net::client_response call(const std::string& method, const std::string& path,
                            const net::header_list& headers = {},
                            const std::string& body = {});

  /// A control-API call with a JSON body; throws std::runtime_error if the answer is not
  /// 2xx, so tests fail loudly on set-up mistakes.
  nlohmann::json control(const std::string& method, const std::string& path,
                         const nlohmann::json& body = nullptr);

  /// A Graph call with a bearer token; `path` is appended to base() + "/v1.0" unless it
  /// is a full URL (e.g. an @odata.nextLink).
  net::client_response graph(const std::string& method, const std::string& path,
                             const std::string& token, const std::string& body = {},
                             net::header_list headers = {});

  /// The same, started with the client's async_request: the future is ready once the
  /// answer (or transport error) is in.
  std::future<net::client_response> graph_async(const std::string& method,
                                                const std::string& path,
                                                const std::string& token);

  /// Registers an app. Without "redirect_uris" in `extra` any http loopback redirect is
  /// accepted.
  struct app {
    std::string client_id;
    std::string client_secret;
  };
  app register_app(const nlohmann::json& extra = nlohmann::json::object());

  /// Creates a mailbox and returns its id.
  std::string create_mailbox(const std::string& address,
                             const nlohmann::json& extra = {});

  /// Delivers raw MIME into a mailbox's inbox; returns the message id.
  std::string deliver(const std::string& address, const std::string& mime,
                      const nlohmann::json& extra = {});

  /// Runs the whole authorization-code flow with PKCE for `login_hint` and returns the
  /// token response (access_token, refresh_token, …). Throws if any step fails.
  nlohmann::json sign_in(const app& a, const std::string& login_hint,
                         const std::string& scope = default_scope);

  /// A PKCE code_verifier and its S256 code_challenge.
  struct pkce {
    std::string verifier;
    std::string challenge;
  };
  static pkce make_pkce();

  /// The authorize parameters the flow normally sends (state "test-state", S256);
  /// tests edit them to provoke errors.
  static net::params authorize_params(const app& a, const std::string& login_hint,
                                      const std::string& challenge,
                                      const std::string& scope = default_scope);

  /// GET {base}/organizations/oauth2/v2.0/authorize with `query`; redirects are not
  /// followed.
  net::client_response authorize(const net::params& query);

  /// The query parameters of a response's Location header; empty if it has none.
  static net::params redirect_query(const net::client_response& res);

  /// Runs authorize and returns the code from the redirect; throws if there is none.
  std::string authorize_code(const app& a, const std::string& login_hint, const pkce& p,
                             const std::string& scope = default_scope);

  /// grant_type=authorization_code, client authenticated by form fields.
  net::client_response redeem_code(const app& a, const std::string& code,
                                   const std::string& verifier);

  /// grant_type=refresh_token, client authenticated by form fields.
  net::client_response refresh(const app& a, const std::string& refresh_token,
                               const std::string& scope = {});

  /// grant_type=client_credentials with scope https://graph.microsoft.com/.default.
  net::client_response app_token(const app& a);

  /// Posts a form to the token endpoint and returns the raw response.
  net::client_response token_request(const std::string& form,
                                     const net::header_list& headers = {});

  static const std::string default_scope;
  static const std::string redirect_uri;

private:
  child_process process_;
  std::uint16_t port_ = 0;
  std::string base_;
  net::http_client client_;
};

/// A small but realistic mail, with a unique Message-ID made of `tag`.
std::string sample_mail(const std::string& tag,
                        const std::string& to = "support@contoso.test",
                        const std::string& subject = "Printer on floor 3 is jammed");

/// The graph-sim binary the tests start: $EXC_GRAPH_SIM if set (e.g. a sanitizer build
/// or a deliberately broken one, to check that the tests notice), else the one CMake
/// built.
std::string graph_sim_binary();

} // namespace test

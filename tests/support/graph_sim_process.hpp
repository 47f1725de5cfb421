#pragma once

#include "child_process.hpp"
#include "temp_dir.hpp"
#include "test_ca.hpp"

#include "net/http_client.hpp"
#include "net/url.hpp"
#include "sim_client.hpp"

#include <nlohmann/json.hpp>

#include <future>
#include <string>
#include <vector>

namespace test {

namespace detail {

/// The process and its client, set up before the sim_client base that needs its URL.
struct sim_process_parts {
  sim_process_parts(const temp_dir& dir, const test_ca& ca,
                    const std::vector<std::string>& extra_args);
  child_process process_;
  std::uint16_t port_ = 0;
  net::http_client client_;
};

} // namespace detail

/// graph-sim as a real process on a loopback port chosen at runtime, serving TLS with a
/// certificate from `ca`, driven through a sim_client that trusts that CA. Adds the
/// single OAuth steps that tests take apart to provoke errors.
class graph_sim_process : private detail::sim_process_parts,
                          public graph_sim::sim_client {
public:
  graph_sim_process(const temp_dir& dir, const test_ca& ca,
                    const std::vector<std::string>& extra_args = {});

  std::uint16_t port() const { return port_; }
  net::http_client& client() { return client_; }
  child_process& process() { return process_; }

  /// A Graph call started with the client's async_request: the future is ready once
  /// the answer (or transport error) is in.
  std::future<net::client_response> graph_async(const std::string& method,
                                                const std::string& path,
                                                const std::string& token);

  /// Delivers raw MIME into a mailbox's inbox; returns the message id.
  std::string deliver(const std::string& address, const std::string& mime,
                      const nlohmann::json& extra = nlohmann::json::object());

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

  static const std::string& redirect_uri;
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

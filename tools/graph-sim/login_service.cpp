// graph-sim's identity platform: authorize (auto-consent), adminconsent and token, with
// Microsoft's redirects, AADSTS error codes, PKCE and refresh-token rotation.
#include "simulator.hpp"

#include "net/pkce.hpp"
#include "net/time_format.hpp"

namespace graph_sim {

namespace http = boost::beast::http;
using nlohmann::json;

namespace {

constexpr const char* graph_resource = "https://graph.microsoft.com/";
constexpr const char* graph_scopes[] = {
    "Mail.Read", "Mail.ReadWrite",   "Mail.Read.Shared", "Mail.ReadWrite.Shared",
    "Mail.Send", "Mail.Send.Shared", "User.Read"};
constexpr const char* oidc_scopes[] = {"offline_access", "openid", "profile", "email"};

/// Splits a space-separated scope string into short names; false names the bad one.
bool parse_scopes(const std::string& text, std::set<std::string>& out, std::string& bad) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find(' ', pos);
    auto item =
        text.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    pos = end == std::string::npos ? text.size() : end + 1;
    if (item.empty()) continue;
    bool known = false;
    for (auto* s : oidc_scopes)
      if (item == s) known = true;
    auto name = item.rfind(graph_resource, 0) == 0
                    ? item.substr(std::strlen(graph_resource))
                    : item;
    if (name == ".default") {
      out.insert({"Mail.ReadWrite", "Mail.Send"});
      continue;
    }
    for (auto* s : graph_scopes)
      if (net::iequals(name, s)) {
        known = true;
        name = s;
      }
    if (!known) {
      bad = item;
      return false;
    }
    out.insert(name);
  }
  return !out.empty();
}

std::string scope_string(const std::set<std::string>& scopes) {
  std::string out;
  for (const auto& s : scopes) {
    if (!out.empty()) out.push_back(' ');
    bool oidc = false;
    for (auto* o : oidc_scopes)
      if (s == o) oidc = true;
    out += oidc ? s : graph_resource + s;
  }
  return out;
}

bool is_loopback_http(const std::string& uri) {
  auto u = net::parse_url(uri);
  return u && u->scheme == "http" && net::is_loopback_host(u->host);
}

/// An app's registered redirect URIs, or any http loopback URI if it registered none.
bool redirect_allowed(const app& a, const std::string& uri) {
  if (a.redirect_uris.empty()) return is_loopback_http(uri);
  return std::find(a.redirect_uris.begin(), a.redirect_uris.end(), uri) !=
         a.redirect_uris.end();
}

std::string add_query(const std::string& uri, const net::params& items) {
  return uri + (uri.find('?') == std::string::npos ? "?" : "&") +
         net::encode_query(items);
}

std::string revoked_description(int code, const std::string& client_id) {
  switch (code) {
  case 70008:
    return "The provided authorization code or refresh token has expired due to "
           "inactivity. "
           "Send a new interactive authorization request for this user and resource.";
  case 700082:
    return "The refresh token has expired due to inactivity. The token was inactive for "
           "90.00:00:00.";
  case 50173:
    return "The provided grant has expired due to it being revoked, a fresh auth token "
           "is "
           "needed. The user might have changed or reset their password.";
  case 65001:
    return "The user or administrator has not consented to use the application with ID "
           "'" +
           client_id +
           "'. Send an interactive authorization request for this user and "
           "resource.";
  default:
    return "The grant was revoked.";
  }
}

} // namespace

net::response simulator::authorize(call& c) {
  c.endpoint = "authorize";
  if (c.req.method() != http::verb::get)
    return aad_error(405, "invalid_request", 900561,
                     "The endpoint only accepts GET requests.");
  auto param = [&](const char* name) {
    return net::find_param(c.query, name).value_or("");
  };
  auto client_id = param("client_id");
  auto redirect_uri = param("redirect_uri");
  // Without a trusted client and redirect URI there is nowhere safe to redirect to:
  // Microsoft shows an error page instead.
  auto ai = apps_.find(client_id);
  if (ai == apps_.end())
    return aad_error(400, "unauthorized_client", 700016,
                     "Application with identifier '" + client_id +
                         "' was not found in the directory.");
  const auto& a = ai->second;
  if (!redirect_allowed(a, redirect_uri))
    return aad_error(400, "invalid_request", 50011,
                     "The redirect URI '" + redirect_uri +
                         "' specified in the request does not match the redirect URIs "
                         "configured for the application '" +
                         client_id + "'.");
  auto state = net::find_param(c.query, "state");
  auto fail = [&](const std::string& error, int code, const std::string& text) {
    net::params items{
        {"error", error},
        {"error_description", "AADSTS" + std::to_string(code) + ": " + text},
        {"error_codes", std::to_string(code)}};
    if (state) items.emplace_back("state", *state);
    return redirect(add_query(redirect_uri, items));
  };
  if (param("response_type") != "code")
    return fail("unsupported_response_type", 700054,
                "response_type '" + param("response_type") +
                    "' is not enabled for the application.");
  std::set<std::string> scopes;
  std::string bad;
  if (param("scope").empty())
    return fail("invalid_request", 900144,
                "The request body must contain the following parameter: 'scope'.");
  if (!parse_scopes(param("scope"), scopes, bad))
    return fail(
        "invalid_scope", 70011,
        "The provided value for the input parameter 'scope' is not valid. The scope '" +
            bad + "' does not exist.");
  if (param("code_challenge").empty())
    return fail("invalid_request", 9002325,
                "Proof Key for Code Exchange is required: the request must contain "
                "'code_challenge'.");
  if (param("code_challenge_method") != "S256")
    return fail("invalid_request", 5000002,
                "Unsupported code_challenge_method '" + param("code_challenge_method") +
                    "': only S256 is accepted.");
  auto hint = net::to_lower(param("login_hint"));
  if (hint.empty())
    return fail(
        "login_required", 50058,
        "A silent sign-in request was sent but no user is signed in (graph-sim signs "
        "in the user named by login_hint).");
  auto* mb = find_mailbox(hint);
  if (!mb)
    return fail("invalid_request", 50034,
                "The user account {EUII Hidden} does not exist in the directory.");
  std::string user = mb->address;
  if (mb->shared) {
    // A shared mailbox has no password: someone with access to it signs in instead.
    if (mb->sign_in_as.empty())
      return fail("invalid_request", 50057, "The user account is disabled.");
    user = mb->sign_in_as;
    mb = find_mailbox(user);
    if (!mb) return fail("invalid_request", 50034, "The user account does not exist.");
  }
  if (mb->deny_consent)
    return fail("access_denied", 65004, "User declined to consent to access the app.");
  auto code = "0.A" + random_token(48);
  codes_[code] = auth_code{client_id,
                           redirect_uri,
                           user,
                           scopes,
                           param("code_challenge"),
                           now() + settings_.code_ttl,
                           false};
  net::params items{{"code", code}};
  if (state) items.emplace_back("state", *state);
  items.emplace_back("session_state", new_guid());
  return redirect(add_query(redirect_uri, items));
}

net::response simulator::admin_consent(call& c) {
  c.endpoint = "adminconsent";
  auto param = [&](const char* name) {
    return net::find_param(c.query, name).value_or("");
  };
  auto ai = apps_.find(param("client_id"));
  if (ai == apps_.end())
    return aad_error(400, "unauthorized_client", 700016,
                     "Application with identifier '" + param("client_id") +
                         "' was not found in the directory.");
  auto& a = ai->second;
  auto redirect_uri = param("redirect_uri");
  if (!redirect_allowed(a, redirect_uri))
    return aad_error(400, "invalid_request", 50011,
                     "The redirect URI '" + redirect_uri +
                         "' does not match the application.");
  a.admin_consented = true;
  a.service_principal = true;
  net::params items{{"admin_consent", "True"}, {"tenant", settings_.tenant_id}};
  if (auto state = net::find_param(c.query, "state")) items.emplace_back("state", *state);
  return redirect(add_query(redirect_uri, items));
}

net::response simulator::token(call& c) {
  c.endpoint = "token";
  if (c.req.method() != http::verb::post)
    return aad_error(405, "invalid_request", 900561,
                     "The endpoint only accepts POST requests.");
  auto type = std::string{c.req[http::field::content_type]};
  if (type.find("application/x-www-form-urlencoded") == std::string::npos)
    return aad_error(
        400, "invalid_request", 900144,
        "The request body must contain the following parameter: 'grant_type'.");
  auto form = net::parse_query(c.req.body());
  if (!form)
    return aad_error(400, "invalid_request", 90014,
                     "The request body is not a valid form.");
  auto client_id = net::find_param(*form, "client_id").value_or("");
  auto secret = net::find_param(*form, "client_secret");
  auto auth = std::string{c.req[http::field::authorization]};
  if (auth.size() > 6 && net::iequals(auth.substr(0, 6), "Basic ")) {
    auto decoded = net::base64_decode(auth.substr(6));
    auto colon = decoded ? decoded->find(':') : std::string::npos;
    if (colon == std::string::npos)
      return aad_error(401, "invalid_client", 7000216,
                       "Malformed HTTP Basic client authentication.");
    auto basic_id = net::percent_decode(decoded->substr(0, colon), true).value_or("");
    auto basic_secret =
        net::percent_decode(decoded->substr(colon + 1), true).value_or("");
    if (!client_id.empty() && client_id != basic_id)
      return aad_error(
          400, "invalid_request", 900023,
          "client_id in the body does not match the HTTP Basic credentials.");
    client_id = basic_id;
    secret = basic_secret;
  }
  auto grant_type = net::find_param(*form, "grant_type");
  if (!grant_type || grant_type->empty())
    return aad_error(
        400, "invalid_request", 900144,
        "The request body must contain the following parameter: 'grant_type'.");
  if (client_id.empty())
    return aad_error(
        400, "invalid_request", 900144,
        "The request body must contain the following parameter: 'client_id'.");
  auto ai = apps_.find(client_id);
  if (ai == apps_.end())
    return aad_error(400, "unauthorized_client", 700016,
                     "Application with identifier '" + client_id +
                         "' was not found in the directory.");
  const auto& a = ai->second;
  if (!secret)
    return aad_error(401, "invalid_client", 7000218,
                     "The request body must contain the following parameter: "
                     "'client_assertion' or 'client_secret'.");
  if (a.secret_expired)
    return aad_error(401, "invalid_client", 7000222,
                     "The provided client secret keys for app '" + client_id +
                         "' are expired.");
  if (*secret != a.client_secret)
    return aad_error(
        401, "invalid_client", 7000215,
        "Invalid client secret provided. Ensure the secret being sent in the "
        "request is the client secret value, not the client secret ID, for a "
        "secret added to app '" +
            client_id + "'.");
  if (*grant_type == "authorization_code") return token_from_code(c, a, *form);
  if (*grant_type == "refresh_token") return token_from_refresh(c, a, *form);
  if (*grant_type == "client_credentials") return token_for_app(c, a, *form);
  return aad_error(400, "unsupported_grant_type", 70003,
                   "The app requested an unsupported grant type '" + *grant_type + "'.");
}

net::response simulator::token_from_code(call&, const app& a, const net::params& form) {
  auto code = net::find_param(form, "code");
  if (!code || code->empty())
    return aad_error(400, "invalid_request", 900144,
                     "The request body must contain the following parameter: 'code'.");
  auto ci = codes_.find(*code);
  if (ci == codes_.end())
    return aad_error(400, "invalid_grant", 9002313,
                     "Invalid request. Request is malformed or invalid.");
  auto& ac = ci->second;
  if (ac.redeemed)
    return aad_error(
        400, "invalid_grant", 54005,
        "OAuth2 Authorization code was already redeemed, please retry with a new "
        "valid code or use an existing refresh token.");
  if (ac.expires <= now())
    return aad_error(
        400, "invalid_grant", 70008,
        "The provided authorization code or refresh token has expired due to "
        "inactivity. Send a new interactive authorization request for this user "
        "and resource.");
  if (ac.client_id != a.client_id)
    return aad_error(
        400, "invalid_grant", 70000,
        "Provided grant is invalid or malformed: it was issued to another client.");
  if (net::find_param(form, "redirect_uri").value_or("") != ac.redirect_uri)
    return aad_error(
        400, "invalid_grant", 50011,
        "The redirect URI specified in the request does not match the redirect "
        "URI used to obtain the authorization code.");
  auto verifier = net::find_param(form, "code_verifier");
  if (!verifier || verifier->empty())
    return aad_error(
        400, "invalid_request", 900144,
        "The request body must contain the following parameter: 'code_verifier'.");
  if (net::code_challenge_s256(*verifier) != ac.code_challenge)
    return aad_error(
        400, "invalid_grant", 50148,
        "The code_verifier does not match the code_challenge supplied in the "
        "authorization request for PKCE.");
  ac.redeemed = true;
  // One grant per (app, user); a new consent replaces a revoked one.
  grant* g = nullptr;
  for (auto& [id, candidate] : grants_)
    if (candidate.client_id == a.client_id && candidate.user == ac.user) g = &candidate;
  if (!g) {
    auto id = new_guid();
    g = &grants_[id];
    g->id = id;
    g->client_id = a.client_id;
    g->user = ac.user;
  }
  g->revoked_code = 0;
  g->revoked_error.clear();
  g->scopes.insert(ac.scopes.begin(), ac.scopes.end());
  return json_response(200, issue_tokens(a.client_id, ac.user, ac.scopes, g));
}

net::response simulator::token_from_refresh(call&, const app& a,
                                            const net::params& form) {
  auto rt = net::find_param(form, "refresh_token");
  if (!rt || rt->empty())
    return aad_error(
        400, "invalid_request", 900144,
        "The request body must contain the following parameter: 'refresh_token'.");
  auto ri = refresh_tokens_.find(*rt);
  if (ri == refresh_tokens_.end())
    return aad_error(400, "invalid_grant", 9002313,
                     "Invalid request. Request is malformed or invalid.");
  auto gi = grants_.find(ri->second.grant_id);
  if (gi == grants_.end())
    return aad_error(400, "invalid_grant", 70008,
                     revoked_description(70008, a.client_id));
  auto& g = gi->second;
  if (g.client_id != a.client_id)
    return aad_error(
        400, "invalid_grant", 70000,
        "Provided grant is invalid or malformed: it was issued to another client.");
  if (ri->second.revoked_code != 0)
    return aad_error(400, ri->second.revoked_error, ri->second.revoked_code,
                     revoked_description(ri->second.revoked_code, a.client_id));
  if (g.revoked_code != 0)
    return aad_error(400, g.revoked_error, g.revoked_code,
                     revoked_description(g.revoked_code, a.client_id));
  if (ri->second.expires <= now())
    return aad_error(400, "invalid_grant", 700082,
                     revoked_description(700082, a.client_id));
  if (*rt != g.latest_refresh_token) {
    ++stats_.superseded_refresh_uses;
    if (settings_.strict_rotation)
      return aad_error(400, "invalid_grant", 70008,
                       revoked_description(70008, a.client_id));
  }
  std::set<std::string> scopes = g.scopes;
  if (auto requested = net::find_param(form, "scope"); requested && !requested->empty()) {
    std::set<std::string> wanted;
    std::string bad;
    if (!parse_scopes(*requested, wanted, bad))
      return aad_error(
          400, "invalid_scope", 70011,
          "The provided value for the input parameter 'scope' is not valid. The "
          "scope '" +
              bad + "' does not exist.");
    for (const auto& s : wanted)
      if (!g.scopes.count(s))
        return aad_error(400, "invalid_grant", 65001,
                         revoked_description(65001, a.client_id));
    scopes = wanted;
    if (g.scopes.count("offline_access")) scopes.insert("offline_access");
  }
  ++stats_.refreshes;
  return json_response(200, issue_tokens(a.client_id, g.user, scopes, &g));
}

net::response simulator::token_for_app(call&, const app& a, const net::params& form) {
  auto scope = net::find_param(form, "scope").value_or("");
  if (scope != std::string{graph_resource} + ".default")
    return aad_error(
        400, "invalid_scope", 1002012,
        "The provided value for scope '" + scope +
            "' is not valid. Client credential flows must have a scope value with "
            "/.default suffixed to the resource identifier.");
  if (!a.service_principal)
    return aad_error(400, "unauthorized_client", 700016,
                     "Application with identifier '" + a.client_id +
                         "' was not found in the directory '" + settings_.tenant_id +
                         "'. This can happen if the application has not been installed "
                         "by the administrator of the tenant.");
  std::set<std::string> roles;
  if (a.admin_consented) roles = {"Mail.ReadWrite", "Mail.Send"};
  auto token = random_token(64);
  access_tokens_[token] =
      access_token{a.client_id, {}, roles, true, now() + settings_.token_ttl};
  auto ttl = settings_.token_ttl.count();
  return json_response(200, {{"token_type", "Bearer"},
                             {"expires_in", ttl},
                             {"ext_expires_in", ttl},
                             {"access_token", token}});
}

json simulator::issue_tokens(const std::string& client_id, const std::string& user,
                             const std::set<std::string>& scopes, grant* g) {
  auto token = random_token(64);
  access_tokens_[token] =
      access_token{client_id, user, scopes, false, now() + settings_.token_ttl};
  auto ttl = settings_.token_ttl.count();
  json out = {{"token_type", "Bearer"},
              {"scope", scope_string(scopes)},
              {"expires_in", ttl},
              {"ext_expires_in", ttl},
              {"access_token", token}};
  if (g && scopes.count("offline_access")) {
    auto rt = "0.A" + random_token(96);
    refresh_tokens_[rt] =
        refresh_token{g->id, now(), now() + settings_.refresh_ttl, 0, {}};
    g->latest_refresh_token = rt;
    out["refresh_token"] = rt;
  }
  return out;
}

} // namespace graph_sim

// The README's demo driver: talks to a running graph-sim the way exconnect will talk to
// Microsoft. Sets up an app and two mailboxes with sample mail, signs in with the OAuth
// authorization-code flow (PKCE), then lists a mailbox's inbox through the Graph API.
#include "net/http_client.hpp"
#include "net/pkce.hpp"
#include "net/url.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>

namespace {

using nlohmann::json;

constexpr const char* usage = R"(usage: exconnect-demo --graph-sim URL --ca-file FILE --mail-dir DIR

Sets up sample mailboxes in a running graph-sim and shows an inbox through the Graph API.
)";

struct demo {
  std::string base;
  net::http_client client;

  net::client_response call(const std::string& method, const std::string& path,
                            net::header_list headers = {}, std::string body = {}) {
    net::client_request req{method, path.rfind("https://", 0) == 0 ? path : base + path,
                            std::move(headers), std::move(body)};
    auto res = client.request(std::move(req));
    if (!res.ok()) throw std::runtime_error(method + " " + path + ": " + res.error_message);
    return res;
  }

  json control(const std::string& method, const std::string& path, const json& body) {
    auto res = call(method, "/_sim" + path, {{"Content-Type", "application/json"}}, body.dump());
    if (res.status >= 300)
      throw std::runtime_error("graph-sim control " + path + " answered " +
                               std::to_string(res.status) + ": " + res.body);
    return json::parse(res.body);
  }
};

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

/// Pads or cuts `text` to `width` characters (UTF-8 code points, not bytes).
std::string cut(const std::string& text, std::size_t width) {
  std::string out;
  std::size_t chars = 0;
  for (std::size_t i = 0; i < text.size();) {
    std::size_t len = 1;
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0xF0) len = 4;
    else if (c >= 0xE0) len = 3;
    else if (c >= 0xC0) len = 2;
    if (chars + 1 == width && i + len < text.size()) {
      out += "~";
      return out;
    }
    out.append(text, i, len);
    ++chars;
    i += len;
  }
  return out + std::string(width > chars ? width - chars : 0, ' ');
}

int run(const std::string& base, const std::string& ca_file, const std::string& mail_dir) {
  demo d{base, net::http_client{net::client_options{ca_file}}};
  const std::string redirect_uri = "http://127.0.0.1:8025/oauth/callback";

  auto app = d.control("POST", "/apps", {{"redirect_uris", {redirect_uri}}});
  std::cout << "1. registered the connector's Azure app: client_id " << app["client_id"].get<std::string>() << "\n";
  for (auto address : {"support@contoso.example", "sales@contoso.example"}) {
    d.control("POST", "/mailboxes", {{"address", address}});
    std::cout << "2. created mailbox " << address << "\n";
  }
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator{mail_dir})
    if (entry.path().extension() == ".eml") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    auto mime = read_file(file);
    bool sales = file.filename().string().find("sales") != std::string::npos;
    json body = {{"mime_base64", net::base64_encode(mime)}};
    // Exchange reports a large mail's size before anyone downloads it.
    if (file.filename().string().find("oversized") != std::string::npos)
      body["size"] = 80ull * 1024 * 1024;
    auto address = sales ? "sales@contoso.example" : "support@contoso.example";
    auto res = d.control("POST", std::string{"/mailboxes/"} + address + "/messages", body);
    std::cout << "3. delivered " << file.filename().string() << " to " << address
              << (res["parsed"].get<bool>() ? "" : " (unparseable: stored raw)") << "\n";
  }

  // The OAuth authorization-code flow with PKCE, as exconnectd will run it.
  auto verifier = net::make_code_verifier();
  net::params query{{"client_id", app["client_id"]},
                    {"response_type", "code"},
                    {"redirect_uri", redirect_uri},
                    {"scope", "offline_access https://graph.microsoft.com/Mail.ReadWrite.Shared "
                              "https://graph.microsoft.com/Mail.Send.Shared"},
                    {"state", "demo"},
                    {"code_challenge", net::code_challenge_s256(verifier)},
                    {"code_challenge_method", "S256"},
                    {"login_hint", "support@contoso.example"}};
  auto consent = d.call("GET", "/organizations/oauth2/v2.0/authorize?" + net::encode_query(query));
  auto location = net::parse_url(std::string{consent.header("Location")});
  auto params = location ? net::parse_query(net::split_target(location->target).second) : std::nullopt;
  auto code = params ? net::find_param(*params, "code") : std::nullopt;
  if (consent.status != 302 || !code)
    throw std::runtime_error("authorize did not redirect with a code: " + consent.body);
  std::cout << "4. signed in as support@contoso.example: consent given, authorization code received\n";
  net::params form{{"grant_type", "authorization_code"}, {"code", *code},
                   {"redirect_uri", redirect_uri},       {"code_verifier", verifier},
                   {"client_id", app["client_id"]},      {"client_secret", app["client_secret"]}};
  auto token_res = d.call("POST", "/organizations/oauth2/v2.0/token",
                          {{"Content-Type", "application/x-www-form-urlencoded"}},
                          net::encode_query(form));
  if (token_res.status != 200) throw std::runtime_error("token: " + token_res.body);
  auto tokens = json::parse(token_res.body);
  std::cout << "5. redeemed the code: access token valid for " << tokens["expires_in"]
            << " s, refresh token received\n";

  auto list = d.call("GET",
                     "/v1.0/users/support@contoso.example/mailFolders/inbox/messages?" +
                       net::encode_query({{"$filter", "receivedDateTime ge 1900-01-01T00:00:00Z and isRead eq false"},
                                          {"$orderby", "receivedDateTime"},
                                          {"$select", "subject,from,receivedDateTime,hasAttachments,internetMessageId"},
                                          {"$expand", "singleValueExtendedProperties($filter=id eq 'Integer 0x0E08')"},
                                          {"$top", "50"}}),
                     {{"Authorization", "Bearer " + tokens["access_token"].get<std::string>()},
                      {"Prefer", "IdType=\"ImmutableId\""}});
  if (list.status != 200) throw std::runtime_error("list: " + list.body);
  auto page = json::parse(list.body);
  std::cout << "6. GET /users/support@contoso.example/mailFolders/inbox/messages (unread, oldest first):\n\n";
  std::cout << "   " << cut("from", 30) << " " << cut("subject", 40) << " " << cut("size", 10) << " attach\n";
  for (const auto& m : page["value"]) {
    std::string from = m["from"].is_null() ? "(no From)" : m["from"]["emailAddress"]["address"].get<std::string>();
    std::string subject = m["subject"].get<std::string>();
    std::string size = m["singleValueExtendedProperties"][0]["value"];
    std::cout << "   " << cut(from, 30) << " " << cut(subject.empty() ? "(no subject)" : subject, 40) << " "
              << cut(size, 10) << " " << (m["hasAttachments"].get<bool>() ? "yes" : "no") << "\n";
  }
  std::cout << "\n   " << page["value"].size() << " unread messages in the inbox.\n";
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  std::string base, ca_file, mail_dir;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << usage;
      return 0;
    }
    if (i + 1 >= argc) {
      std::cerr << "exconnect-demo: " << arg << " needs a value\n" << usage;
      return 2;
    }
    if (arg == "--graph-sim") base = argv[++i];
    else if (arg == "--ca-file") ca_file = argv[++i];
    else if (arg == "--mail-dir") mail_dir = argv[++i];
    else {
      std::cerr << "exconnect-demo: unknown option " << arg << "\n" << usage;
      return 2;
    }
  }
  if (base.empty() || ca_file.empty() || mail_dir.empty()) {
    std::cerr << usage;
    return 2;
  }
  try {
    return run(base, ca_file, mail_dir);
  } catch (const std::exception& e) {
    std::cerr << "exconnect-demo: " << e.what() << "\n";
    return 1;
  }
}

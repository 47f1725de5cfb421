// The README's demo driver. Sets up the connector's app and two mailboxes with sample
// mail in a running graph-sim, then connects both mailboxes to a running exconnectd the
// way an operator does: create an account, create the mailboxes, follow each authorize
// URL (graph-sim consents and redirects to exconnectd's OAuth callback). Shows the
// mailboxes as exconnectd reports them and the unread inbox they will be fetching.
#include "net/http_client.hpp"
#include "net/url.hpp"
#include "sim_client.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace {

using nlohmann::json;

constexpr const char* usage =
    R"(usage: exconnect-demo --graph-sim URL --ca-file FILE --mail-dir DIR
                      --exconnect URL --admin-token-file FILE
                      --client-id ID --client-secret-file FILE

Sets up sample mailboxes in a running graph-sim and connects them to a running
exconnectd (which must use the same client id and secret).
)";

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
    if (c >= 0xF0)
      len = 4;
    else if (c >= 0xE0)
      len = 3;
    else if (c >= 0xC0)
      len = 2;
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

std::string trimmed(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.pop_back();
  return s;
}

/// A call to exconnectd's REST API; throws unless it answers `expected`.
json rest(net::http_client& http, const std::string& url, const std::string& method,
          const std::string& token, const json& body, unsigned expected) {
  net::client_request req;
  req.method = method;
  req.url = url;
  req.headers = {{"Authorization", "Bearer " + token},
                 {"Content-Type", "application/json"}};
  if (!body.is_null()) req.body = body.dump();
  auto res = http.request(std::move(req));
  if (!res.ok() || res.status != expected)
    throw std::runtime_error(
        method + " " + url + ": " +
        (res.ok() ? std::to_string(res.status) + " " + res.body : res.error_message));
  return res.body.empty() ? json{} : json::parse(res.body);
}

struct options {
  std::string graph_sim, ca_file, mail_dir, exconnect, admin_token_file, client_id,
      client_secret_file;
};

int run(const options& o) {
  net::http_client http{net::client_options{o.ca_file}};
  graph_sim::sim_client sim{o.graph_sim, http};

  auto app =
      sim.register_app({{"client_id", o.client_id},
                        {"client_secret", trimmed(read_file(o.client_secret_file))}});
  std::cout << "1. registered the connector's Azure app: client_id " << app.client_id
            << "\n";
  const auto& mail_dir = o.mail_dir;
  for (auto address : {"support@contoso.example", "sales@contoso.example"}) {
    sim.create_mailbox(address);
    std::cout << "2. created mailbox " << address << "\n";
  }
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator{mail_dir})
    if (entry.path().extension() == ".eml") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    auto name = file.filename().string();
    json options = json::object();
    // Exchange reports a large mail's size before anyone downloads it.
    if (name.find("oversized") != std::string::npos)
      options["size"] = 80ull * 1024 * 1024;
    auto address = name.find("sales") != std::string::npos ? "sales@contoso.example"
                                                           : "support@contoso.example";
    auto res = sim.deliver(address, read_file(file), options);
    std::cout << "3. delivered " << name << " to " << address
              << (res["parsed"].get<bool>() ? "" : " (unparseable: stored raw)") << "\n";
  }

  // The operator's side: an account, then each mailbox through OAuth consent.
  auto admin = trimmed(read_file(o.admin_token_file));
  auto api = o.exconnect + "/api/v1";
  auto account = rest(http, api + "/accounts", "POST", admin, {{"name", "Contoso"}}, 201);
  auto key = account["api_key"].get<std::string>();
  std::cout << "4. exconnectd: created account " << account["id"].get<std::string>()
            << " (its API key is shown once)\n";
  for (auto address : {"support@contoso.example", "sales@contoso.example"}) {
    auto mb = rest(http, api + "/mailboxes", "POST", key, {{"address", address}}, 201);
    auto consent = sim.call("GET", mb["authorize_url"]);
    auto callback = std::string{consent.header("Location")};
    if (consent.status != 302 || callback.empty())
      throw std::runtime_error("consent failed: " + consent.body);
    net::client_request req;
    req.url = callback;
    req.headers = {{"Accept", "application/json"}};
    auto done = http.request(std::move(req));
    if (!done.ok() || done.status != 200)
      throw std::runtime_error("callback: " + done.body + done.error_message);
    std::cout << "5. " << address << ": authorize_url -> consent at the login service -> "
              << "/oauth/callback -> connected\n";
  }
  // The daemon polls each mailbox right away: wait for the first poll of each.
  json connected;
  for (int i = 0; i < 200; ++i) {
    connected = rest(http, api + "/mailboxes", "GET", key, nullptr, 200);
    bool all = true;
    for (const auto& m : connected["mailboxes"])
      all = all && m["last_poll_at"].is_string();
    if (all) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::cout << "6. GET /api/v1/mailboxes:\n\n   " << cut("address", 26) << " "
            << cut("status", 12) << " " << cut("connected at", 22) << " last poll\n";
  for (const auto& m : connected["mailboxes"])
    std::cout << "   " << cut(m["address"], 26) << " " << cut(m["status"], 12) << " "
              << cut(m["connected_at"].is_string() ? m["connected_at"] : "-", 22) << " "
              << (m["last_poll_at"].is_string() ? m["last_poll_at"].get<std::string>()
                                                : "-")
              << "\n";
  std::cout << "\n";

  // What the fetcher will find: the inbox through Graph, with the demo's own sign-in.
  auto tokens = sim.sign_in(app, "support@contoso.example");

  auto list = sim.graph(
      "GET",
      "/users/support@contoso.example/mailFolders/inbox/messages?" +
          net::encode_query(
              {{"$filter",
                "receivedDateTime ge 1900-01-01T00:00:00Z and isRead eq false"},
               {"$orderby", "receivedDateTime"},
               {"$select",
                "subject,from,receivedDateTime,hasAttachments,internetMessageId"},
               {"$expand",
                "singleValueExtendedProperties($filter=id eq 'Integer 0x0E08')"},
               {"$top", "50"}}),
      tokens["access_token"], {}, {{"Prefer", "IdType=\"ImmutableId\""}});
  if (list.status != 200)
    throw std::runtime_error("list: " + (list.ok() ? list.body : list.error_message));
  auto page = json::parse(list.body);
  std::cout << "7. GET /users/support@contoso.example/mailFolders/inbox/messages "
               "(unread, oldest first):\n\n";
  std::cout << "   " << cut("from", 30) << " " << cut("subject", 40) << " "
            << cut("size", 10) << " attach\n";
  for (const auto& m : page["value"]) {
    std::string from = m["from"].is_null()
                           ? "(no From)"
                           : m["from"]["emailAddress"]["address"].get<std::string>();
    std::string subject = m["subject"].get<std::string>();
    std::string size = m["singleValueExtendedProperties"][0]["value"];
    std::cout << "   " << cut(from, 30) << " "
              << cut(subject.empty() ? "(no subject)" : subject, 40) << " "
              << cut(size, 10) << " " << (m["hasAttachments"].get<bool>() ? "yes" : "no")
              << "\n";
  }
  std::cout << "\n   " << page["value"].size() << " unread messages in the inbox.\n";
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  options o;
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
    std::string* target = arg == "--graph-sim"            ? &o.graph_sim
                          : arg == "--ca-file"            ? &o.ca_file
                          : arg == "--mail-dir"           ? &o.mail_dir
                          : arg == "--exconnect"          ? &o.exconnect
                          : arg == "--admin-token-file"   ? &o.admin_token_file
                          : arg == "--client-id"          ? &o.client_id
                          : arg == "--client-secret-file" ? &o.client_secret_file
                                                          : nullptr;
    if (target) {
      *target = argv[++i];
    } else {
      std::cerr << "exconnect-demo: unknown option " << arg << "\n" << usage;
      return 2;
    }
  }
  if (o.graph_sim.empty() || o.ca_file.empty() || o.mail_dir.empty() ||
      o.exconnect.empty() || o.admin_token_file.empty() || o.client_id.empty() ||
      o.client_secret_file.empty()) {
    std::cerr << usage;
    return 2;
  }
  try {
    return run(o);
  } catch (const std::exception& e) {
    std::cerr << "exconnect-demo: " << e.what() << "\n";
    return 1;
  }
}

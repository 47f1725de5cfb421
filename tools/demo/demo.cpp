// The README's demo driver: talks to a running graph-sim the way exconnect will talk to
// Microsoft. Sets up an app and two mailboxes with sample mail, signs in with the OAuth
// authorization-code flow (PKCE), then lists a mailbox's inbox through the Graph API.
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

namespace {

using nlohmann::json;

constexpr const char* usage =
    R"(usage: exconnect-demo --graph-sim URL --ca-file FILE --mail-dir DIR

Sets up sample mailboxes in a running graph-sim and shows an inbox through the Graph API.
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

int run(const std::string& base, const std::string& ca_file,
        const std::string& mail_dir) {
  net::http_client http{net::client_options{ca_file}};
  graph_sim::sim_client sim{base, http};

  auto app = sim.register_app(
      {{"redirect_uris", {graph_sim::sim_client::default_redirect_uri}}});
  std::cout << "1. registered the connector's Azure app: client_id " << app.client_id
            << "\n";
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

  // The OAuth authorization-code flow with PKCE, as exconnectd will run it.
  auto tokens = sim.sign_in(app, "support@contoso.example");
  std::cout
      << "4. signed in as support@contoso.example (authorization code + PKCE): access "
         "token valid for "
      << tokens["expires_in"] << " s, refresh token received\n";

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
  std::cout << "5. GET /users/support@contoso.example/mailFolders/inbox/messages "
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
    if (arg == "--graph-sim")
      base = argv[++i];
    else if (arg == "--ca-file")
      ca_file = argv[++i];
    else if (arg == "--mail-dir")
      mail_dir = argv[++i];
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

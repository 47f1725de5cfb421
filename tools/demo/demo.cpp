// The README's demo driver. Sets up the connector's app and two mailboxes in a running
// graph-sim, connects both to a running exconnectd the way an operator does (create an
// account, create the mailboxes, follow each authorize URL: graph-sim consents and
// redirects to exconnectd's OAuth callback), delivers sample mail, waits until
// exconnectd has labelled every message, and shows the tickets, the rejections and the
// labels; then an agent answers a ticket and the reply is shown as graph-sim received it.
#include "api_client.hpp"
#include "net/http_client.hpp"
#include "net/url.hpp"
#include "sim_client.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
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

struct options {
  std::string graph_sim, ca_file, mail_dir, exconnect, admin_token_file, client_id,
      client_secret_file;
};

int run(const options& o) {
  net::http_client http{net::client_options{o.ca_file}};
  graph_sim::sim_client sim{o.graph_sim, http};
  const std::vector<std::string> addresses = {"support@contoso.example",
                                              "sales@contoso.example"};

  auto app =
      sim.register_app({{"client_id", o.client_id},
                        {"client_secret", trimmed(read_file(o.client_secret_file))}});
  std::cout << "1. graph-sim: registered the connector's Azure app (client_id "
            << app.client_id << ") and the mailboxes";
  for (const auto& a : addresses) {
    sim.create_mailbox(a);
    std::cout << " " << a;
  }
  std::cout << "\n";

  // The operator's side: an account, then each mailbox through OAuth consent.
  auto admin = trimmed(read_file(o.admin_token_file));
  api_client api{o.exconnect, http};
  auto account = api.call("POST", "/accounts", admin, {{"name", "Contoso"}}, 201);
  auto key = account["api_key"].get<std::string>();
  std::cout << "2. exconnectd: created account " << account["id"].get<std::string>()
            << " (its API key is shown once)\n";
  for (const auto& a : addresses) {
    api.connect(sim, key, a);
    std::cout << "3. " << a
              << ": authorize_url -> consent at the login service -> /oauth/callback "
                 "-> connected\n";
  }

  // Customers write: the mail arrives after the connection, so it is new.
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator{o.mail_dir})
    if (entry.path().extension() == ".eml") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  std::map<std::string, std::string> names; // Graph id -> file name
  for (const auto& file : files) {
    auto name = file.filename().string();
    json extra = json::object();
    // Exchange reports a large mail's size before anyone downloads it.
    if (name.find("oversized") != std::string::npos) extra["size"] = 80ull * 1024 * 1024;
    auto address = name.find("sales") != std::string::npos ? addresses[1] : addresses[0];
    auto res = sim.deliver(address, read_file(file), extra);
    names[res["id"].get<std::string>()] = name;
    std::cout << "4. delivered " << name << " to " << address << "\n";
  }

  // exconnectd polls, stores, labels: wait until every message carries the label.
  std::map<std::string, json> labelled;
  for (int i = 0; i < 600 && labelled.size() < names.size(); ++i) {
    labelled.clear();
    for (const auto& a : addresses) {
      auto box = sim.control("GET", "/mailboxes/" + a + "/messages");
      for (const auto& m : box["messages"])
        for (const auto& c : m["categories"])
          if (c == "Zendesk") labelled[m["id"].get<std::string>()] = m;
    }
    if (labelled.size() < names.size())
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (labelled.size() < names.size())
    throw std::runtime_error("not every message was labelled within a minute");

  std::cout << "\n5. GET /api/v1/tickets:\n\n   " << cut("ticket", 22) << " "
            << cut("requester", 28) << " " << cut("subject", 36) << " comments\n";
  auto tickets = api.call("GET", "/tickets", key);
  for (const auto& t : tickets["tickets"])
    std::cout << "   " << cut(t["id"], 22) << " " << cut(t["requester"]["email"], 28)
              << " " << cut(t["subject"], 36) << " " << t["comments"].size() << "\n";

  std::cout << "\n6. GET /api/v1/rejections:\n\n   " << cut("reason", 14) << " detail\n";
  auto rejections = api.call("GET", "/rejections", key);
  for (const auto& r : rejections["rejections"])
    std::cout << "   " << cut(r["reason"], 14) << " " << r["detail"].get<std::string>()
              << "\n";

  std::cout << "\n7. the labels in Exchange (graph-sim):\n\n";
  std::map<std::string, std::string> by_name;
  for (const auto& [id, name] : names)
    by_name[name] = id;
  for (const auto& [name, id] : by_name) {
    std::string categories;
    for (const auto& c : labelled[id]["categories"])
      categories += (categories.empty() ? "" : ", ") + c.get<std::string>();
    std::cout << "   " << cut(name, 28) << " " << categories << "\n";
  }

  // An agent answers the first ticket: the notification goes out through its mailbox.
  const auto& first = tickets["tickets"].at(0);
  auto queued =
      api.call("POST", "/tickets/" + first["id"].get<std::string>() + "/comments", key,
               {{"body", "Thanks for writing. We are looking into it and will "
                         "get back to you today."}},
               202);
  auto email_id = queued["email_id"].get<std::string>();
  std::cout << "\n8. POST /api/v1/tickets/" << first["id"].get<std::string>()
            << "/comments (public) -> email " << email_id << "\n";
  std::string state;
  for (int i = 0; i < 300 && state != "sent" && state != "failed"; ++i) {
    auto outbox = api.call("GET", "/outbox", key);
    for (const auto& e : outbox["emails"])
      if (e["email_id"] == email_id) state = e["state"].get<std::string>();
    if (state != "sent" && state != "failed")
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (state != "sent") throw std::runtime_error("the reply was not sent: " + state);
  auto from = first["mailbox_id"].get<std::string>();
  auto box = api.call("GET", "/mailboxes/" + from, key)["address"].get<std::string>();
  auto log = sim.control("GET", "/mailboxes/" + box + "/sent")["sent"];
  std::cout << "\n9. the reply as Exchange (graph-sim) took it from " << box << ":\n\n";
  auto mime = log.back()["mime"].get<std::string>();
  std::istringstream lines{mime.substr(0, mime.find("\r\n\r\n"))};
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("Content-", 0) == 0 || line.rfind("MIME-", 0) == 0) continue;
    std::cout << "   " << line << "\n";
  }
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

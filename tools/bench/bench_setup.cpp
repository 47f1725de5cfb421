// Seeds a running graph-sim for the benchmarks: one mailbox with realistic mail, a
// signed-in token, and the exact bodies graph-sim answers for the measured requests
// (so nginx can serve responses of the same size).
#include "net/http_client.hpp"
#include "sim_client.hpp"

#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>

namespace {

void write(const std::string& path, const std::string& content) {
  std::ofstream out{path, std::ios::binary};
  if (!out.write(content.data(), static_cast<std::streamsize>(content.size())))
    throw std::runtime_error("cannot write " + path);
}

std::string mail(int n) {
  std::string body;
  for (int line = 0; line < 20; ++line)
    body += "Line " + std::to_string(line) +
            " of a customer's request: the order #4711 arrived damaged and we need a "
            "replacement.\r\n";
  return "From: Customer " + std::to_string(n) + " <customer" + std::to_string(n) +
         "@fabrikam.example>\r\n"
         "To: Contoso Support <bench@contoso.example>\r\n"
         "Subject: Order 4711 arrived damaged (" +
         std::to_string(n) +
         ")\r\n"
         "Date: Tue, 24 Nov 2026 09:00:00 +0000\r\n"
         "Message-ID: <bench-" +
         std::to_string(n) +
         "@fabrikam.example>\r\n"
         "MIME-Version: 1.0\r\n"
         "Content-Type: text/plain; charset=utf-8\r\n\r\n" +
         body;
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: bench-setup GRAPH_SIM_URL OUT_DIR\n";
    return 2;
  }
  try {
    net::http_client http;
    graph_sim::sim_client sim{argv[1], http};
    std::string out = argv[2];
    auto app = sim.register_app();
    const std::string address = "bench@contoso.example";
    sim.create_mailbox(address);
    std::string id;
    for (int i = 0; i < 50; ++i)
      id = sim.deliver(address, mail(i))["id"];
    auto token = sim.sign_in(app, address)["access_token"].get<std::string>();
    auto base = "/users/" + address + "/mailFolders/inbox/messages";
    auto list = sim.graph("GET", base, token);
    auto value = sim.graph("GET", base + "/" + id + "/$value", token);
    auto patch =
        sim.graph("PATCH", base + "/" + id, token, R"({"categories":["Zendesk"]})");
    for (auto* r : {&list, &value, &patch})
      if (r->status != 200)
        throw std::runtime_error("graph-sim answered: " +
                                 (r->ok() ? r->body : r->error_message));
    write(out + "/token", token);
    write(out + "/list-path", "/v1.0" + base);
    write(out + "/value-path", "/v1.0" + base + "/" + id + "/$value");
    write(out + "/patch-path", "/v1.0" + base + "/" + id);
    write(out + "/www/list.json", list.body);
    write(out + "/www/value.eml", value.body);
    write(out + "/www/patch.json", patch.body);
    std::cout << "seeded " << address << ": list " << list.body.size() << " B, $value "
              << value.body.size() << " B, PATCH " << patch.body.size() << " B\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "bench-setup: " << e.what() << "\n";
    return 1;
  }
}

// corpus-fields DIR: what exconnect makes of each message file in DIR, as one JSON
// object per line, for tools/corpus/compare.py to hold against Python's email package.
// The fields come from the code the CONVERTER runs: mail::parse, and for HTML-only mail
// mail::html_to_text; also for mail the CONVERTER then rejects (an admin may recover
// it). "rejection" is exc::convert_mail's decision.
#include "actors/converter.hpp"
#include "mail/html_text.hpp"
#include "mail/parse.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

namespace {

using nlohmann::json;

json emails(const std::vector<mail::address>& addresses) {
  json out = json::array();
  for (const auto& a : addresses)
    out.push_back(a.email);
  return out;
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in{p, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: corpus-fields DIR\n";
    return 2;
  }
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator{argv[1], ec})
    if (e.is_regular_file()) files.push_back(e.path());
  if (ec) {
    std::cerr << "corpus-fields: cannot read " << argv[1] << ": " << ec.message() << "\n";
    return 1;
  }
  std::sort(files.begin(), files.end());
  exc::address_book connected; // none: no mail is a loop here
  for (const auto& f : files) {
    auto raw = read_file(f);
    exc::inbound_mail base;
    base.graph_id = f.filename().string();
    auto m = exc::convert_mail(raw, base, connected);
    auto parsed = mail::parse(raw);
    const auto& msg = parsed.msg;
    json names = json::array();
    for (const auto& a : msg.attachments)
      names.push_back(a.name);
    auto text = msg.text_body;
    if (text.empty() && !msg.html_body.empty()) text = mail::html_to_text(msg.html_body);
    json from = {{"email", msg.from ? msg.from->email : ""},
                 {"name", msg.from ? msg.from->name : ""}};
    json line = {{"file", f.filename().string()},
                 {"parsed", parsed.parsed},
                 {"rejection", m.rejection},
                 {"from", from},
                 {"to", emails(msg.to)},
                 {"cc", emails(msg.cc)},
                 {"subject", msg.subject},
                 {"message_id", msg.message_id},
                 {"in_reply_to", msg.in_reply_to},
                 {"text", text.substr(0, 400)},
                 {"attachments", names}};
    // Whatever bytes the mail holds: invalid UTF-8 is replaced, never thrown.
    std::cout << line.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
  }
  return 0;
}

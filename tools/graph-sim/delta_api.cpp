// graph-sim's delta query of a folder's messages
// (GET …/mailFolders/{id}/messages/delta), as Microsoft documents it: a round of pages
// linked by @odata.nextLink ($skiptoken) ending in an @odata.deltaLink ($deltatoken);
// the next round from that link returns only what was created, changed or removed
// since. Tokens are opaque to the client; here they carry the round's state.
#include "simulator.hpp"

#include "message_fields.hpp"
#include "net/time_format.hpp"
#include "odata.hpp"

#include <algorithm>
#include <charconv>
#include <limits>
#include <tuple>

namespace graph_sim {

namespace http = boost::beast::http;
using nlohmann::json;

namespace {

/// What a delta token holds: the options of the round's first call (they apply to
/// every later round), the changes seen so far and, within a round, where it is.
struct delta_state {
  std::string mailbox; ///< the mailbox id
  std::string folder;
  std::uint64_t epoch = 0;
  std::uint64_t seen = 0;      ///< changes up to this seq were reported
  std::uint64_t snapshot = 0;  ///< within a round: changes up to this seq are in it
  bool in_round = false;       ///< a $skiptoken (else a $deltatoken)
  std::int64_t cursor_key = 0; ///< the last item sent: its sort key and id
  std::string cursor_id;
  std::string filter; ///< the $filter text ("" none)
  bool newest_first = false;
  std::string select;         ///< the $select text ("" none)
  bool expand_size = false;   ///< $expand of PidTagMessageSize
  std::string change_type;    ///< created, updated, deleted or "" (all)
  std::size_t page_size = 10; ///< $top of the first call
};

std::string encode(const delta_state& s) {
  json j = {{"m", s.mailbox},      {"f", s.folder},
            {"e", s.epoch},        {"w", s.seen},
            {"s", s.snapshot},     {"r", s.in_round},
            {"ck", s.cursor_key},  {"ci", s.cursor_id},
            {"flt", s.filter},     {"desc", s.newest_first},
            {"sel", s.select},     {"x", s.expand_size},
            {"ct", s.change_type}, {"top", s.page_size}};
  return net::base64url_encode(j.dump());
}

std::optional<delta_state> decode(const std::string& token) {
  std::string b64 = token;
  for (auto& ch : b64)
    ch = ch == '-' ? '+' : ch == '_' ? '/' : ch;
  while (b64.size() % 4 != 0)
    b64.push_back('=');
  auto text = net::base64_decode(b64);
  if (!text) return std::nullopt;
  auto j = json::parse(*text, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  delta_state s;
  try {
    s.mailbox = j.at("m").get<std::string>();
    s.folder = j.at("f").get<std::string>();
    s.epoch = j.at("e").get<std::uint64_t>();
    s.seen = j.at("w").get<std::uint64_t>();
    s.snapshot = j.at("s").get<std::uint64_t>();
    s.in_round = j.at("r").get<bool>();
    s.cursor_key = j.at("ck").get<std::int64_t>();
    s.cursor_id = j.at("ci").get<std::string>();
    s.filter = j.at("flt").get<std::string>();
    s.newest_first = j.at("desc").get<bool>();
    s.select = j.at("sel").get<std::string>();
    s.expand_size = j.at("x").get<bool>();
    s.change_type = j.at("ct").get<std::string>();
    s.page_size = j.at("top").get<std::size_t>();
  } catch (const json::exception&) {
    return std::nullopt;
  }
  return s;
}

std::int64_t ms_of(sys_time t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch())
      .count();
}

/// One item of a round: a message, or a removal.
struct item {
  std::int64_t key = 0; ///< the sort key: the change's seq, or minus receivedDateTime
  std::string id;
  const message* msg = nullptr;
  const mailbox::removal* gone = nullptr;
};

bool before(const item& a, const item& b) {
  return std::tie(a.key, a.id) < std::tie(b.key, b.id);
}

/// The only `$filter` a delta of messages takes: receivedDateTime ge|gt <date>.
bool delta_filter(const odata::filter& f) {
  return f.type == odata::filter::kind::comparison && f.property == "receivedDateTime" &&
         (f.op == "ge" || f.op == "gt") && std::holds_alternative<sys_time>(f.value);
}

/// The page size `Prefer: odata.maxpagesize=N` asks for, if it does.
std::optional<std::size_t> preferred_page_size(const net::request& req) {
  auto prefer = std::string{req["Prefer"]};
  auto at = prefer.find("odata.maxpagesize=");
  if (at == std::string::npos) return std::nullopt;
  at += std::string_view{"odata.maxpagesize="}.size();
  std::size_t n = 0;
  auto [end, ec] = std::from_chars(prefer.data() + at, prefer.data() + prefer.size(), n);
  if (ec != std::errc{} || n == 0) return std::nullopt;
  return std::min<std::size_t>(n, 1000);
}

} // namespace

void simulator::store_message(mailbox& mb, message m) {
  m.created_seq = m.changed_seq = ++mb.change_seq;
  auto id = m.id;
  auto& stored = mb.messages[id] = std::move(m);
  notify(mb, stored, "created");
}

void simulator::touch(mailbox& mb, message& m) {
  m.changed_seq = ++mb.change_seq;
  notify(mb, m, "updated");
}

void simulator::remove_message(mailbox& mb, const std::string& id) {
  auto i = mb.messages.find(id);
  if (i == mb.messages.end()) return;
  mb.removed.push_back({++mb.change_seq, id, i->second.folder, i->second.received});
  notify(mb, i->second, "deleted");
  mb.messages.erase(i);
  while (mb.removed.size() > settings_.delta_removed_kept) {
    mb.removed_forgotten = mb.removed.front().seq;
    mb.removed.pop_front();
  }
}

net::response simulator::delta_messages(call& c, mailbox& mb, const std::string& folder) {
  auto gone = [&] {
    return graph_error(c, 410, "syncStateNotFound",
                       "The sync state generation is not found or has expired; "
                       "start a new sync without a token.");
  };
  auto skip = net::find_param(c.query, "$skiptoken");
  auto delta = net::find_param(c.query, "$deltatoken");
  delta_state st;
  if (skip || delta) {
    // A link is followed as given: options belong to the round's first call only.
    for (const auto& [name, value] : c.query)
      if (name != "$skiptoken" && name != "$deltatoken")
        return graph_error(c, 400, "BadRequest",
                           "Query option '" + name +
                               "' is not allowed with a state token: follow "
                               "@odata.nextLink and @odata.deltaLink as given.");
    if (skip && delta)
      return graph_error(c, 400, "BadRequest",
                         "A request carries $skiptoken or $deltatoken, not both.");
    auto s = decode(skip ? *skip : *delta);
    if (!s || s->in_round != bool{skip} || s->mailbox != mb.id || s->folder != folder ||
        s->epoch != mb.delta_epoch || s->seen < mb.removed_forgotten ||
        s->seen > mb.change_seq)
      return gone();
    st = std::move(*s);
  } else {
    st.mailbox = mb.id;
    st.folder = folder;
    st.epoch = mb.delta_epoch;
    std::string error;
    for (const auto& [name, value] : c.query) {
      if (name == "$filter") {
        auto f = odata::parse_filter(value, error);
        if (!f)
          return graph_error(c, 400, "BadRequest", "Invalid filter clause: " + error);
        if (!delta_filter(*f))
          return graph_error(c, 400, "ErrorInvalidUrlQuery",
                             "A delta of messages filters only on receivedDateTime "
                             "with ge or gt, e.g. receivedDateTime ge "
                             "2026-01-01T00:00:00Z.");
        st.filter = value;
      } else if (name == "$orderby") {
        auto order = odata::parse_orderby(value, error);
        if (!order || order->size() != 1 || (*order)[0].property != "receivedDateTime" ||
            !(*order)[0].descending)
          return graph_error(c, 400, "ErrorInvalidUrlQuery",
                             "A delta of messages is ordered only by receivedDateTime "
                             "desc.");
        st.newest_first = true;
      } else if (name == "$select") {
        if (!odata::parse_select(value, error))
          return graph_error(c, 400, "BadRequest", error);
        st.select = value;
      } else if (name == "$expand") {
        if (!odata::is_size_expand(value))
          return graph_error(
              c, 400, "BadRequest",
              "Parsing OData Select and Expand failed: graph-sim only expands "
              "singleValueExtendedProperties($filter=id eq 'Integer 0x0E08').");
        st.expand_size = true;
      } else if (name == "$top") {
        std::size_t n = 0;
        auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
        if (ec != std::errc{} || end != value.data() + value.size() || n < 1 || n > 1000)
          return graph_error(
              c, 400, "ErrorInvalidUrlQuery",
              "The value of $top must be an integer from 1 to 1000, got '" + value +
                  "'.");
        st.page_size = n;
      } else if (name == "changeType") {
        if (value != "created" && value != "updated" && value != "deleted")
          return graph_error(c, 400, "ErrorInvalidUrlQuery",
                             "changeType must be created, updated or deleted.");
        st.change_type = value;
      } else if (!name.empty() && name[0] == '$') {
        return graph_error(c, 400, "BadRequest",
                           "Query option '" + name +
                               "' is not supported on a delta of messages.");
      }
    }
  }
  auto t = now();
  if (!st.in_round) {
    // A new round: it holds every change up to now, except a message still hidden
    // (a Sent Items copy not yet shown) and anything after it, which the next round
    // reports once it shows.
    st.in_round = true;
    st.snapshot = mb.change_seq;
    for (const auto& [id, m] : mb.messages)
      if (m.folder == folder && !visible(m, t) && m.changed_seq <= st.snapshot)
        st.snapshot = m.changed_seq - 1;
    st.cursor_key = std::numeric_limits<std::int64_t>::min();
    st.cursor_id.clear();
  }
  std::optional<odata::filter> filter;
  std::string error;
  if (!st.filter.empty()) filter = odata::parse_filter(st.filter, error);
  std::optional<std::vector<std::string>> select;
  if (!st.select.empty()) select = odata::parse_select(st.select, error);
  bool initial = st.seen == 0;
  auto key_of = [&](std::uint64_t seq, sys_time received) {
    return st.newest_first ? -ms_of(received) : static_cast<std::int64_t>(seq);
  };
  item cursor{st.cursor_key, st.cursor_id};
  std::vector<item> items;
  auto wanted = [&](std::uint64_t seq) { return seq > st.seen && seq <= st.snapshot; };
  if (st.change_type != "deleted")
    for (const auto& [id, m] : mb.messages) {
      if (m.folder != folder || !wanted(m.changed_seq) ||
          (filter && !odata::matches(*filter, m)))
        continue;
      bool created = m.created_seq > st.seen;
      if ((st.change_type == "created" && !created) ||
          (st.change_type == "updated" && created))
        continue;
      item i{key_of(m.changed_seq, m.received), id, &m, nullptr};
      if (before(cursor, i)) items.push_back(std::move(i));
    }
  if (!initial && st.change_type != "created" && st.change_type != "updated")
    for (const auto& r : mb.removed) {
      if (r.folder != folder || !wanted(r.seq)) continue;
      item i{key_of(r.seq, r.received), r.id, nullptr, &r};
      if (before(cursor, i)) items.push_back(std::move(i));
    }
  auto page_size = preferred_page_size(c.req).value_or(st.page_size);
  bool more = items.size() > page_size;
  if (more) {
    std::nth_element(items.begin(), items.begin() + static_cast<long>(page_size),
                     items.end(), before);
    items.resize(page_size);
  }
  std::sort(items.begin(), items.end(), before);
  render_options opts;
  opts.select = select ? &*select : nullptr;
  opts.text_body = std::string{c.req["Prefer"]}.find(
                       "outlook.body-content-type=\"text\"") != std::string::npos;
  opts.expand_size = st.expand_size;
  std::string text =
      R"x({"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#Collection(message)","value":[)x";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) text.push_back(',');
    if (items[i].msg)
      text += render_message_text(*items[i].msg, mb.id, opts);
    else
      text += R"({"@odata.type":"#microsoft.graph.message","id":)" + dump(items[i].id) +
              R"(,"@removed":{"reason":"deleted"}})";
  }
  text.push_back(']');
  auto link = settings_.scheme + "://" + std::string{c.req[http::field::host]} + c.path;
  if (more) {
    st.cursor_key = items.back().key;
    st.cursor_id = items.back().id;
    text += R"(,"@odata.nextLink":)" +
            dump(link + "?" + net::encode_query({{"$skiptoken", encode(st)}}));
  } else {
    st.in_round = false;
    st.seen = st.snapshot;
    // Replay: the round's last change comes again in the next round.
    if (delta_replay_ && st.seen > 0 && !items.empty()) --st.seen;
    st.snapshot = 0;
    st.cursor_key = 0;
    st.cursor_id.clear();
    text += R"(,"@odata.deltaLink":)" +
            dump(link + "?" + net::encode_query({{"$deltatoken", encode(st)}}));
  }
  text.push_back('}');
  net::response res{http::status::ok, 11};
  res.set(http::field::content_type, "application/json");
  res.body() = std::move(text);
  if (auto n = preferred_page_size(c.req))
    res.set("Preference-Applied", "odata.maxpagesize=" + std::to_string(*n));
  return res;
}

net::response simulator::control_delta_expire(call&, mailbox& mb) {
  ++mb.delta_epoch;
  return json_response(200, {{"epoch", mb.delta_epoch}});
}

net::response simulator::control_delta(call& c) {
  if (c.req.method() == http::verb::put) {
    json body = json::parse(c.req.body(), nullptr, false);
    if (body.is_discarded() || !body.is_object() || !body.contains("replay") ||
        !body["replay"].is_boolean())
      return graph_error(c, 400, "BadRequest", "field 'replay': a boolean is required");
    delta_replay_ = body["replay"].get<bool>();
  } else if (c.req.method() != http::verb::get) {
    return graph_error(c, 405, "MethodNotAllowed", "Method not allowed on " + c.path);
  }
  return json_response(200, {{"replay", delta_replay_}});
}

} // namespace graph_sim

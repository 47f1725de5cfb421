// graph-sim's Graph v1.0 mail API: list (filter, orderby, select, paging), get, $value,
// attachments, PATCH of categories/isRead, DELETE; sendMail is in send_api.cpp.
#include "simulator.hpp"

#include "message_fields.hpp"
#include "net/time_format.hpp"
#include "odata.hpp"

#include <algorithm>
#include <charconv>

namespace graph_sim {

namespace http = boost::beast::http;
using nlohmann::json;

namespace {

constexpr const char* well_known_folders[] = {
    "inbox", "sentitems", "drafts", "deleteditems", "junkemail", "archive", "outbox"};

bool valid_message_id(const std::string& id) {
  if (id.size() < 8 || id.rfind("AAMk", 0) != 0) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ||
           c == '=';
  });
}

std::optional<long long> parse_int(const std::string& text) {
  long long v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return v;
}

bool prefers_text(const net::request& req) {
  auto prefer = std::string{req["Prefer"]};
  return prefer.find("outlook.body-content-type=\"text\"") != std::string::npos ||
         prefer.find("outlook.body-content-type='text'") != std::string::npos;
}

/// The OData query options of a message request, parsed and checked.
struct query_options {
  std::size_t top = 10;
  std::size_t skip = 0;
  std::optional<odata::filter> filter;
  std::vector<odata::order_key> order;
  std::optional<std::vector<std::string>> select;
  bool expand_size = false;

  render_options render(const net::request& req) const {
    render_options opts;
    opts.select = select ? &*select : nullptr;
    opts.text_body = prefers_text(req);
    opts.expand_size = expand_size;
    return opts;
  }
};

struct query_error {
  std::string code;
  std::string message;
};

/// Reads `$top $skip $filter $orderby` (lists only), `$select` and `$expand`; any
/// other `$` option is refused, as Graph refuses what it does not support.
std::optional<query_error> parse_options(const net::params& query, bool listing,
                                         query_options& out) {
  std::string error;
  for (const auto& [name, value] : query) {
    if (listing && name == "$top") {
      auto v = parse_int(value);
      if (!v || *v < 1 || *v > 1000)
        return query_error{"ErrorInvalidUrlQuery",
                           "The value of $top must be an integer from 1 to 1000, got '" +
                               value + "'."};
      out.top = static_cast<std::size_t>(*v);
    } else if (listing && name == "$skip") {
      auto v = parse_int(value);
      if (!v || *v < 0)
        return query_error{"ErrorInvalidUrlQuery",
                           "Invalid $skip value '" + value + "'."};
      out.skip = static_cast<std::size_t>(*v);
    } else if (listing && name == "$filter") {
      out.filter = odata::parse_filter(value, error);
      if (!out.filter)
        return query_error{"BadRequest", "Invalid filter clause: " + error};
    } else if (listing && name == "$orderby") {
      auto parsed = odata::parse_orderby(value, error);
      if (!parsed) return query_error{"BadRequest", error};
      out.order = std::move(*parsed);
    } else if (name == "$select") {
      out.select = odata::parse_select(value, error);
      if (!out.select) return query_error{"BadRequest", error};
    } else if (name == "$expand") {
      if (!odata::is_size_expand(value))
        return query_error{
            "BadRequest",
            "Parsing OData Select and Expand failed: graph-sim only expands "
            "singleValueExtendedProperties($filter=id eq 'Integer 0x0E08')."};
      out.expand_size = true;
    } else if (!name.empty() && name[0] == '$') {
      return query_error{"BadRequest",
                         "Query option '" + name + "' is not supported by graph-sim."};
    }
  }
  return std::nullopt;
}

/// A single message as Graph returns it: its rendering with the entity's @odata.context.
net::response entity_response(const mailbox& mb, const std::string& rendered) {
  auto context = "https://graph.microsoft.com/v1.0/$metadata#users('" + mb.address +
                 "')/messages/$entity";
  net::response res{http::status::ok, 11};
  res.set(http::field::content_type, "application/json");
  res.body() = "{\"@odata.context\":" + dump(context) + "," + rendered.substr(1);
  return res;
}

} // namespace

std::string endpoint_name(const std::vector<std::string>& rest, http::verb method) {
  if (rest.size() == 1 && rest[0] == "sendMail") return "send_mail";
  // …/messages or …/mailFolders/{f}/messages, then [{id} [$value | attachments [{aid}]]]
  std::size_t at = 0;
  if (rest.size() >= 3 && rest[0] == "mailFolders" && rest[2] == "messages")
    at = 3;
  else if (!rest.empty() && rest[0] == "messages")
    at = 1;
  else
    return "unknown";
  auto tail = rest.size() - at;
  if (tail == 0) return method == http::verb::get ? "list_messages" : "messages";
  if (tail == 1 && rest[at] == "delta") return "delta_messages";
  if (tail == 1) {
    if (method == http::verb::get) return "get_message";
    if (method == http::verb::patch) return "patch_message";
    if (method == http::verb::delete_) return "delete_message";
    return "message";
  }
  if (tail == 2 && rest[at + 1] == "$value") return "get_message_value";
  if (rest[at + 1] == "attachments" && tail <= 3)
    return tail == 2 ? "list_attachments" : "get_attachment";
  return "unknown";
}

void simulator::count_download(mailbox& mb, const std::string& message_id) {
  ++stats_.downloads;
  auto& log = downloads_[mb.id];
  auto t = std::chrono::steady_clock::now();
  while (!log.entries.empty() &&
         t - log.entries.front().first >= settings_.fetch_rate.window) {
    auto& old = log.entries.front().second;
    if (--log.distinct[old] == 0) log.distinct.erase(old);
    log.entries.pop_front();
  }
  log.entries.emplace_back(t, message_id);
  if (log.distinct[message_id]++ == 0 &&
      log.distinct.size() > settings_.fetch_rate.count) {
    ++stats_.fetch_rate_violations;
    ++stats_.fetch_rate_violations_by_mailbox[mb.address];
    if (stats_.fetch_rate_first_violations.size() < 10) {
      auto oldest = std::chrono::duration_cast<std::chrono::milliseconds>(
          t - log.entries.front().first);
      stats_.fetch_rate_first_violations.push_back(
          net::format_rfc3339(std::chrono::system_clock::now()) + " " + mb.address + " " +
          message_id + ": " + std::to_string(log.distinct.size()) +
          " downloads in the window, the oldest " + std::to_string(oldest.count()) +
          " ms old");
    }
  }
}

net::response simulator::graph_call(call& c, const access_token&, mailbox& mb,
                                    const std::vector<std::string>& rest) {
  auto method = c.req.method();
  auto not_allowed = [&] {
    return graph_error(c, 405, "Request_BadRequest",
                       "The HTTP method '" + std::string{c.req.method_string()} +
                           "' is not supported for this resource.");
  };
  if (rest.size() == 1 && rest[0] == "sendMail") {
    if (method != http::verb::post) return not_allowed();
    return send_mail(c, mb);
  }
  // Find the messages collection and what follows it.
  std::size_t at = 0;
  std::string folder; // empty: every folder
  if (rest.size() >= 3 && rest[0] == "mailFolders" && rest[2] == "messages") {
    folder = net::to_lower(rest[1]);
    bool known = std::any_of(std::begin(well_known_folders), std::end(well_known_folders),
                             [&](const char* f) { return folder == f; });
    if (!known) return graph_error(c, 400, "ErrorInvalidIdMalformed", "Id is malformed.");
    at = 3;
  } else if (!rest.empty() && rest[0] == "messages") {
    at = 1;
  } else {
    return graph_error(c, 404, "ResourceNotFound",
                       "Resource not found for the segment '" +
                           (rest.empty() ? std::string{} : rest[0]) + "'.");
  }
  if (rest.size() == at) {
    if (method != http::verb::get) return not_allowed();
    return list_messages(c, mb, folder);
  }
  const auto& id = rest[at];
  if (rest.size() == at + 1 && id == "delta") {
    if (method != http::verb::get) return not_allowed();
    if (folder.empty()) // Graph tracks changes per folder
      return graph_error(c, 400, "ErrorInvalidRequest",
                         "Delta of messages is only supported on a mail folder: "
                         "…/mailFolders/{id}/messages/delta.");
    return delta_messages(c, mb, folder);
  }
  if (!valid_message_id(id))
    return graph_error(c, 400, "ErrorInvalidIdMalformed", "Id is malformed.");
  auto mi = mb.messages.find(id);
  if (mi == mb.messages.end() || !visible(mi->second, now()) ||
      (!folder.empty() && mi->second.folder != folder))
    return graph_error(c, 404, "ErrorItemNotFound",
                       "The specified object was not found in the store.");
  auto& m = mi->second;
  auto tail =
      std::vector<std::string>(rest.begin() + static_cast<long>(at) + 1, rest.end());
  if (tail.empty()) {
    if (method == http::verb::get) {
      return get_message(c, mb, m);
    }
    if (method == http::verb::patch) {
      return patch_message(c, mb, m);
    }
    if (method == http::verb::delete_) {
      return delete_message(c, mb, id);
    }
    return not_allowed();
  }
  if (tail.size() == 1 && tail[0] == "$value") {
    if (method != http::verb::get) return not_allowed();
    count_download(mb, m.id);
    net::response res{http::status::ok, 11};
    res.set(http::field::content_type, "text/plain");
    res.body() = *m.mime;
    return res;
  }
  if (!tail.empty() && tail[0] == "attachments" && tail.size() <= 2) {
    if (method != http::verb::get) return not_allowed();
    auto list = render_attachments(m);
    count_download(mb, m.id);
    if (tail.size() == 1)
      return json_response(
          200,
          {{"@odata.context", "https://graph.microsoft.com/v1.0/$metadata#users('" +
                                  mb.address + "')/messages('" + m.id + "')/attachments"},
           {"value", list}});
    for (auto& a : list)
      if (a["id"] == tail[1]) return json_response(200, a);
    return graph_error(c, 404, "ErrorItemNotFound",
                       "The specified object was not found in the store.");
  }
  return graph_error(c, 404, "ResourceNotFound",
                     "Resource not found for the segment '" + tail[0] + "'.");
}

net::response simulator::list_messages(call& c, mailbox& mb, const std::string& folder) {
  query_options q;
  if (auto bad = parse_options(c.query, true, q))
    return graph_error(c, 400, bad->code, bad->message);
  const auto& filter = q.filter;
  const auto& order = q.order;
  auto skip = q.skip, top = q.top;
  if (odata::is_inefficient(filter, order))
    return graph_error(
        c, 400, "InefficientFilter",
        "The restriction or sort order is too complex for this operation.");
  std::vector<const message*> hits;
  auto t = now();
  for (const auto& [id, m] : mb.messages)
    if ((folder.empty() || m.folder == folder) && visible(m, t) &&
        (!filter || odata::matches(*filter, m)))
      hits.push_back(&m);
  std::sort(hits.begin(), hits.end(), [&](const message* a, const message* b) {
    return odata::less(*a, *b, order);
  });
  auto opts = q.render(c.req);
  // Assembled from each message's cached rendering: listing is graph-sim's hot path.
  std::string context =
      "https://graph.microsoft.com/v1.0/$metadata#users('" + mb.address + "')/" +
      (folder.empty() ? "" : "mailFolders('" + folder + "')/") + "messages";
  std::string text = "{\"@odata.context\":" + dump(context) + ",\"value\":[";
  for (std::size_t i = skip; i < hits.size() && i < skip + top; ++i) {
    if (i > skip) text.push_back(',');
    text += render_message_text(*hits[i], mb.id, opts);
  }
  text.push_back(']');
  if (skip + top < hits.size()) {
    net::params next;
    for (const auto& [name, v] : c.query)
      if (name != "$skip") next.emplace_back(name, v);
    next.emplace_back("$skip", std::to_string(skip + top));
    text += ",\"@odata.nextLink\":" +
            dump(settings_.scheme + "://" + std::string{c.req[http::field::host]} +
                 c.path + "?" + net::encode_query(next));
  }
  text.push_back('}');
  net::response res{http::status::ok, 11};
  res.set(http::field::content_type, "application/json");
  res.body() = std::move(text);
  if (opts.text_body) res.set("Preference-Applied", "outlook.body-content-type=\"text\"");
  return res;
}

net::response simulator::get_message(call& c, mailbox& mb, message& m) {
  query_options q;
  if (auto bad = parse_options(c.query, false, q))
    return graph_error(c, 400, bad->code, bad->message);
  const auto& select = q.select;
  bool with_body =
      !select || std::any_of(select->begin(), select->end(), [](const std::string& s) {
        return s == "body" || s == "uniqueBody";
      });
  if (with_body) count_download(mb, m.id);
  auto opts = q.render(c.req);
  auto res = entity_response(mb, render_message_text(m, mb.id, opts));
  if (opts.text_body) res.set("Preference-Applied", "outlook.body-content-type=\"text\"");
  return res;
}

net::response simulator::patch_message(call& c, mailbox& mb, message& m) {
  json patch = json::parse(c.req.body(), nullptr, false);
  if (patch.is_discarded() || !patch.is_object())
    return graph_error(
        c, 400, "BadRequest",
        "Unable to read JSON request payload. Please ensure Content-Type header "
        "is set and payload is of valid JSON format.");
  std::optional<std::vector<std::string>> categories;
  std::optional<bool> is_read;
  for (auto& [key, value] : patch.items()) {
    if (key.rfind("@odata", 0) == 0) continue;
    if (key == "categories") {
      if (!value.is_array())
        return graph_error(
            c, 400, "BadRequest",
            "Invalid value for property 'categories': expected an array of strings.");
      std::vector<std::string> list;
      for (const auto& item : value) {
        if (!item.is_string() || item.get<std::string>().empty())
          return graph_error(
              c, 400, "BadRequest",
              "Invalid value for property 'categories': expected non-empty strings.");
        list.push_back(item.get<std::string>());
      }
      categories = std::move(list);
    } else if (key == "isRead") {
      if (!value.is_boolean())
        return graph_error(c, 400, "BadRequest",
                           "Invalid value for property 'isRead': expected a boolean.");
      is_read = value.get<bool>();
    } else {
      return graph_error(c, 400, "ErrorInvalidProperty",
                         "Property '" + key +
                             "' cannot be updated by graph-sim: only "
                             "'categories' and 'isRead' are writable.");
    }
  }
  if (categories) m.categories = std::move(*categories);
  if (is_read) m.is_read = *is_read;
  ++m.change;
  m.modified = now();
  touch(mb, m);
  return entity_response(mb, render_message_text(m, mb.id, render_options{}));
}

net::response simulator::delete_message(call&, mailbox& mb, const std::string& id) {
  remove_message(mb, id);
  net::response res{http::status::no_content, 11};
  return res;
}

} // namespace graph_sim

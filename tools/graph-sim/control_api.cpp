// graph-sim's control API for tests and demos, under /_sim/: apps, mailboxes, mail
// delivery, statistics, faults, grant revocation, token expiry and the clock.
#include "simulator.hpp"

#include "message_fields.hpp"
#include "net/time_format.hpp"

#include <algorithm>
#include <functional>
#include <iterator>
#include <set>

namespace graph_sim {

namespace http = boost::beast::http;
using nlohmann::json;

namespace {

/// Reads an optional field of the given JSON type; false if present with another type.
template <class T>
bool optional_field(const json& body, const char* name, std::optional<T>& out) {
  auto i = body.find(name);
  if (i == body.end() || i->is_null()) return true;
  try {
    if constexpr (std::is_same_v<T, bool>) {
      if (!i->is_boolean()) return false;
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (!i->is_string()) return false;
    } else if constexpr (std::is_arithmetic_v<T>) {
      if (!i->is_number()) return false;
      if (std::is_unsigned_v<T> && i->get<double>() < 0) return false;
    } else {
      if (!i->is_array()) return false;
    }
    out = i->get<T>();
    return true;
  } catch (const json::exception&) {
    return false;
  }
}

} // namespace

net::response simulator::route_control(call& c) {
  const auto& seg = c.segments;
  auto method = c.req.method();
  c.endpoint = "control";
  auto bad_method = [&] {
    return graph_error(c, 405, "MethodNotAllowed", "Method not allowed on " + c.path);
  };
  if (seg.size() >= 2 && seg[1] == "apps") return control_apps(c);
  if (seg.size() >= 2 && seg[1] == "mailboxes") {
    if (seg.size() == 2) return control_mailboxes(c);
    auto* mb = find_mailbox(seg[2]);
    if (!mb)
      return graph_error(c, 404, "ErrorInvalidUser", "No mailbox '" + seg[2] + "'.");
    if (seg.size() == 4 && seg[3] == "messages") {
      if (method == http::verb::post) return control_deliver(c, *mb);
      if (method == http::verb::get) return control_list(c, *mb);
      return bad_method();
    }
    if (seg.size() == 4 && seg[3] == "sent") {
      if (method != http::verb::get) return bad_method();
      return control_sent(c, *mb);
    }
    if (seg.size() == 4 && seg[3] == "faults") return control_mailbox_faults(c, *mb);
    if (seg.size() == 5 && seg[3] == "delta" && seg[4] == "expire") {
      if (method != http::verb::post) return bad_method();
      return control_delta_expire(c, *mb);
    }
  }
  if (seg.size() >= 2 && seg[1] == "stats") return control_stats(c);
  if (seg.size() == 2 && seg[1] == "listing-intervals")
    return control_listing_intervals(c);
  if (seg.size() == 2 && seg[1] == "faults") return control_faults(c);
  if (seg.size() == 2 && seg[1] == "send") return control_send(c);
  if (seg.size() == 2 && seg[1] == "delta") return control_delta(c);
  if (seg.size() >= 2 && seg[1] == "subscriptions") return control_subscriptions(c);
  if (seg.size() == 2 && seg[1] == "notifications") return control_notifications(c);
  if (seg.size() == 3 && seg[1] == "grants" && seg[2] == "revoke") {
    if (method != http::verb::post) return bad_method();
    return control_revoke(c);
  }
  if (seg.size() == 2 && seg[1] == "tokens") {
    // Every token issued so far, so that tests can prove a client never writes one in
    // plaintext (to disk or to a log).
    if (method != http::verb::get) return bad_method();
    json access = json::array(), refresh = json::array();
    for (const auto& [token, info] : access_tokens_)
      access.push_back(token);
    for (const auto& [token, info] : refresh_tokens_)
      refresh.push_back(token);
    return json_response(200, {{"access_tokens", access}, {"refresh_tokens", refresh}});
  }
  if (seg.size() == 3 && seg[1] == "tokens" && seg[2] == "expire") {
    if (method != http::verb::post) return bad_method();
    auto t = now();
    for (auto& [token, info] : access_tokens_)
      info.expires = std::min(info.expires, t);
    return json_response(200, {{"expired", access_tokens_.size()}});
  }
  if (seg.size() >= 2 && seg[1] == "clock") {
    if (seg.size() == 3 && seg[2] == "advance" && method == http::verb::post) {
      json body = json::parse(c.req.body(), nullptr, false);
      std::optional<double> seconds;
      if (body.is_discarded() || !body.is_object() ||
          !optional_field(body, "seconds", seconds) || !seconds || *seconds < 0)
        return graph_error(c, 400, "BadRequest",
                           "field 'seconds': a non-negative number is required");
      clock_offset_ += std::chrono::duration_cast<sys_time::duration>(
          std::chrono::duration<double>(*seconds));
    } else if (seg.size() != 2 || method != http::verb::get) {
      return bad_method();
    }
    return json_response(200, {{"now", net::format_rfc3339(now())}});
  }
  return graph_error(c, 404, "ResourceNotFound", "No control route " + c.path);
}

net::response simulator::control_apps(call& c) {
  const auto& seg = c.segments;
  auto method = c.req.method();
  if (seg.size() == 2 && method == http::verb::get) {
    json list = json::array();
    for (const auto& [id, a] : apps_)
      list.push_back({{"client_id", id},
                      {"redirect_uris", a.redirect_uris},
                      {"secret_expired", a.secret_expired},
                      {"admin_consented", a.admin_consented},
                      {"service_principal", a.service_principal},
                      {"access_policy", a.app_only_mailboxes ? json(*a.app_only_mailboxes)
                                                             : json(nullptr)}});
    return json_response(200, {{"apps", list}});
  }
  json body = json::parse(c.req.body(), nullptr, false);
  if (body.is_discarded() || !body.is_object())
    return graph_error(c, 400, "BadRequest", "the body must be a JSON object");
  std::optional<std::string> client_id, secret;
  std::optional<std::vector<std::string>> redirects;
  std::optional<bool> expired, consented, principal;
  if (!optional_field(body, "client_id", client_id))
    return graph_error(c, 400, "BadRequest", "field 'client_id': expected a string");
  if (!optional_field(body, "client_secret", secret))
    return graph_error(c, 400, "BadRequest", "field 'client_secret': expected a string");
  if (!optional_field(body, "redirect_uris", redirects))
    return graph_error(c, 400, "BadRequest",
                       "field 'redirect_uris': expected an array of strings");
  if (!optional_field(body, "secret_expired", expired))
    return graph_error(c, 400, "BadRequest",
                       "field 'secret_expired': expected a boolean");
  // An administrator revokes the consent (tokens lose their roles) or deletes the
  // enterprise app (client credentials refused); adminconsent restores both.
  if (!optional_field(body, "admin_consented", consented))
    return graph_error(c, 400, "BadRequest",
                       "field 'admin_consented': expected a boolean");
  if (!optional_field(body, "service_principal", principal))
    return graph_error(c, 400, "BadRequest",
                       "field 'service_principal': expected a boolean");
  // "access_policy": the mailboxes app-only tokens may open, or null for all.
  std::optional<std::optional<std::set<std::string>>> policy;
  if (body.contains("access_policy")) {
    const auto& p = body["access_policy"];
    if (p.is_null()) {
      policy.emplace(std::nullopt);
    } else if (p.is_array() && std::all_of(p.begin(), p.end(),
                                           [](const json& x) { return x.is_string(); })) {
      std::set<std::string> addresses;
      for (const auto& x : p)
        addresses.insert(net::to_lower(x.get<std::string>()));
      policy.emplace(std::move(addresses));
    } else {
      return graph_error(c, 400, "BadRequest",
                         "field 'access_policy': expected an array of addresses or null");
    }
  }
  if (seg.size() == 2 && method == http::verb::post) {
    auto id = client_id.value_or(new_guid());
    if (apps_.count(id))
      return graph_error(c, 409, "Conflict", "app '" + id + "' exists");
    app a;
    a.client_id = id;
    a.client_secret = secret.value_or(random_token(30));
    a.redirect_uris = redirects.value_or(std::vector<std::string>{});
    a.secret_expired = expired.value_or(false);
    if (policy) a.app_only_mailboxes = *policy;
    apps_[id] = a;
    return json_response(201, {{"client_id", id}, {"client_secret", a.client_secret}});
  }
  if (seg.size() == 3 && method == http::verb::patch) {
    auto i = apps_.find(seg[2]);
    if (i == apps_.end())
      return graph_error(c, 404, "ResourceNotFound", "no app '" + seg[2] + "'");
    if (secret) i->second.client_secret = *secret;
    if (redirects) i->second.redirect_uris = *redirects;
    if (expired) i->second.secret_expired = *expired;
    if (policy) i->second.app_only_mailboxes = *policy;
    if (consented) i->second.admin_consented = *consented;
    if (principal) i->second.service_principal = *principal;
    return json_response(
        200, {{"client_id", i->first}, {"secret_expired", i->second.secret_expired}});
  }
  return graph_error(c, 405, "MethodNotAllowed", "Method not allowed on " + c.path);
}

net::response simulator::control_mailboxes(call& c) {
  if (c.req.method() == http::verb::get) {
    std::vector<std::pair<const std::string*, const mailbox*>> by_address;
    for (const auto& [address, mb] : mailboxes_)
      by_address.emplace_back(&address, &mb);
    std::sort(by_address.begin(), by_address.end(),
              [](const auto& a, const auto& b) { return *a.first < *b.first; });
    json list = json::array();
    for (const auto& [address, mb] : by_address)
      list.push_back({{"id", mb->id},
                      {"address", mb->address},
                      {"shared", mb->shared},
                      {"messages", mb->messages.size()}});
    return json_response(200, {{"mailboxes", list}});
  }
  if (c.req.method() != http::verb::post)
    return graph_error(c, 405, "MethodNotAllowed", "Method not allowed on " + c.path);
  json body = json::parse(c.req.body(), nullptr, false);
  if (body.is_discarded() || !body.is_object())
    return graph_error(c, 400, "BadRequest", "the body must be a JSON object");
  if (body.contains("count")) return create_mailboxes_in_bulk(c, body);
  std::optional<std::string> address, name, sign_in_as;
  std::optional<bool> shared, deny_consent;
  std::optional<std::vector<std::string>> delegates;
  if (!optional_field(body, "address", address) || !address ||
      address->find('@') == std::string::npos)
    return graph_error(c, 400, "BadRequest",
                       "field 'address': an e-mail address is required");
  if (!optional_field(body, "display_name", name))
    return graph_error(c, 400, "BadRequest", "field 'display_name': expected a string");
  if (!optional_field(body, "shared", shared))
    return graph_error(c, 400, "BadRequest", "field 'shared': expected a boolean");
  if (!optional_field(body, "delegates", delegates))
    return graph_error(c, 400, "BadRequest",
                       "field 'delegates': expected an array of strings");
  if (!optional_field(body, "sign_in_as", sign_in_as))
    return graph_error(c, 400, "BadRequest", "field 'sign_in_as': expected a string");
  if (!optional_field(body, "deny_consent", deny_consent))
    return graph_error(c, 400, "BadRequest", "field 'deny_consent': expected a boolean");
  auto key = net::to_lower(*address);
  if (mailboxes_.count(key))
    return graph_error(c, 409, "Conflict", "mailbox '" + key + "' exists");
  mailbox mb;
  mb.id = new_guid();
  mb.address = key;
  mb.display_name = name.value_or(key.substr(0, key.find('@')));
  mb.shared = shared.value_or(false);
  for (const auto& d : delegates.value_or(std::vector<std::string>{}))
    mb.delegates.insert(net::to_lower(d));
  mb.sign_in_as = net::to_lower(sign_in_as.value_or(""));
  mb.deny_consent = deny_consent.value_or(false);
  auto id = mb.id;
  add_mailbox(std::move(mb));
  return json_response(201, {{"id", id}, {"address", key}});
}

// {"count": N, "prefix"?: "bulk", "domain"?: "contoso.test"}: N plain mailboxes
// <prefix><number, 6 digits>@<domain>, numbered from 1, for benchmarks at scale.
net::response simulator::create_mailboxes_in_bulk(call& c, const json& body) {
  std::optional<std::uint64_t> count;
  std::optional<std::string> prefix, domain;
  if (!optional_field(body, "count", count) || !count || *count < 1 || *count > 1'000'000)
    return graph_error(c, 400, "BadRequest",
                       "field 'count': an integer from 1 to 1000000 is required");
  if (!optional_field(body, "prefix", prefix) || !optional_field(body, "domain", domain))
    return graph_error(c, 400, "BadRequest",
                       "fields 'prefix' and 'domain': expected strings");
  auto p = net::to_lower(prefix.value_or("bulk"));
  auto d = net::to_lower(domain.value_or("contoso.test"));
  if (p.empty() || p.find('@') != std::string::npos || d.find('.') == std::string::npos ||
      d.find('@') != std::string::npos)
    return graph_error(c, 400, "BadRequest",
                       "fields 'prefix' and 'domain' must make addresses");
  std::uint64_t created = 0;
  char number[32];
  for (std::uint64_t n = 1; n <= *count; ++n) {
    std::snprintf(number, sizeof number, "%06llu", static_cast<unsigned long long>(n));
    auto key = p + number + "@" + d;
    if (mailboxes_.count(key)) continue;
    mailbox mb;
    mb.id = new_guid();
    mb.address = key;
    mb.display_name = p + number;
    add_mailbox(std::move(mb));
    ++created;
  }
  return json_response(201, {{"created", created}, {"count", *count}});
}

// GET: the intervals between successive listings of each mailbox's messages since the
// last reset (a poll each), as percentiles; DELETE resets them and the mailboxes seen
// (the time of each mailbox's last listing stays: its next one makes an interval).
net::response simulator::control_listing_intervals(call& c) {
  if (c.req.method() == http::verb::delete_) {
    listed_since_reset_.clear();
    listing_intervals_.clear();
    listing_interval_count_ = 0;
    return json_response(200, {{"mailboxes_listed", 0}, {"intervals", 0}});
  }
  if (c.req.method() != http::verb::get)
    return graph_error(c, 405, "MethodNotAllowed", "Method not allowed on " + c.path);
  auto total = listing_interval_count_;
  json out = {{"mailboxes_listed", listed_since_reset_.size()}, {"intervals", total}};
  if (total == 0) return json_response(200, out);
  // The intervals at these ranks of all, in one walk (each bucket is 10 ms wide; its
  // middle is reported): asked for several times a second while a benchmark waits.
  const std::pair<const char*, double> ranks[] = {
      {"min_s", 0}, {"p1_s", 0.01}, {"p50_s", 0.5}, {"p99_s", 0.99}, {"max_s", 1}};
  std::size_t next = 0;
  std::uint64_t seen = 0;
  for (const auto& [bucket, n] : listing_intervals_) {
    seen += n;
    for (; next < std::size(ranks); ++next) {
      auto rank =
          static_cast<std::uint64_t>(ranks[next].second * static_cast<double>(total - 1));
      if (seen <= rank) break;
      out[ranks[next].first] = (static_cast<double>(bucket) * 10 + 5) / 1000;
    }
  }
  return json_response(200, out);
}

net::response simulator::control_deliver(call& c, mailbox& mb) {
  json body = json::parse(c.req.body(), nullptr, false);
  if (body.is_discarded() || !body.is_object())
    return graph_error(c, 400, "BadRequest", "the body must be a JSON object");
  std::optional<std::string> mime, mime_b64, received_at, folder;
  std::optional<bool> is_read;
  std::optional<std::vector<std::string>> categories;
  std::optional<std::uint64_t> size;
  if (!optional_field(body, "mime", mime) ||
      !optional_field(body, "mime_base64", mime_b64))
    return graph_error(c, 400, "BadRequest",
                       "field 'mime' / 'mime_base64': expected a string");
  if (mime_b64) {
    auto decoded = net::base64_decode(*mime_b64);
    if (!decoded)
      return graph_error(c, 400, "BadRequest", "field 'mime_base64': invalid base64");
    mime = std::move(decoded);
  }
  if (!mime)
    return graph_error(c, 400, "BadRequest", "field 'mime': raw MIME text is required");
  if (!optional_field(body, "received_at", received_at))
    return graph_error(c, 400, "BadRequest",
                       "field 'received_at': expected an RFC 3339 string");
  std::optional<sys_time> received;
  if (received_at && !(received = net::parse_rfc3339(*received_at)))
    return graph_error(c, 400, "BadRequest",
                       "field 'received_at': expected an RFC 3339 string");
  if (!optional_field(body, "is_read", is_read))
    return graph_error(c, 400, "BadRequest", "field 'is_read': expected a boolean");
  if (!optional_field(body, "categories", categories))
    return graph_error(c, 400, "BadRequest",
                       "field 'categories': expected an array of strings");
  if (!optional_field(body, "size", size))
    return graph_error(c, 400, "BadRequest",
                       "field 'size': expected a non-negative integer");
  if (!optional_field(body, "folder", folder))
    return graph_error(c, 400, "BadRequest", "field 'folder': expected a string");
  auto m = make_message(mb, std::make_shared<const std::string>(std::move(*mime)),
                        received.value_or(now()));
  m.folder = net::to_lower(folder.value_or("inbox"));
  if (size) m.size = *size;
  m.is_read = is_read.value_or(false);
  m.categories = categories.value_or(std::vector<std::string>{});
  json out = {{"id", m.id},
              {"internet_message_id", m.internet_message_id},
              {"parsed", m.parsed->parsed},
              {"clean", m.parsed->clean()},
              {"size", m.size},
              {"received_at", net::format_rfc3339(m.received)}};
  store_message(mb, std::move(m));
  return json_response(201, out);
}

net::response simulator::control_list(call&, mailbox& mb) {
  json list = json::array();
  auto t = now();
  for (const auto& [id, m] : mb.messages)
    list.push_back({{"id", id},
                    {"folder", m.folder},
                    {"visible", visible(m, t)},
                    {"internet_message_id", m.internet_message_id},
                    {"subject", subject_of(m)},
                    {"categories", m.categories},
                    {"is_read", m.is_read},
                    {"size", m.size},
                    {"received_at", net::format_rfc3339(m.received)}});
  return json_response(200, {{"address", mb.address}, {"messages", list}});
}

net::response simulator::control_stats(call& c) {
  const auto& seg = c.segments;
  if (seg.size() == 3 && seg[2] == "reset" && c.req.method() == http::verb::post) {
    stats_ = {};
    downloads_.clear();
    send_windows_.clear();
    return json_response(200, {{"reset", true}});
  }
  if (seg.size() != 2 || c.req.method() != http::verb::get)
    return graph_error(c, 405, "MethodNotAllowed", "Method not allowed on " + c.path);
  json requests = json::object();
  for (const auto& [endpoint, by_status] : stats_.requests)
    for (const auto& [status, n] : by_status)
      requests[endpoint][std::to_string(status)] = n;
  auto window_s = [](const rate& r) { return r.window.count() / 1000.0; };
  return json_response(
      200, {{"requests", requests},
            {"throttled",
             {{"concurrency", stats_.throttled_concurrency},
              {"request_rate", stats_.throttled_request_rate},
              {"app_rate", stats_.throttled_app_rate}}},
            {"faults",
             {{"errors", stats_.fault_errors},
              {"drops", stats_.fault_drops},
              {"delays", stats_.fault_delays}}},
            {"fetch_rate",
             {{"limit", settings_.fetch_rate.count},
              {"window_s", window_s(settings_.fetch_rate)},
              {"violations", stats_.fetch_rate_violations},
              {"violations_by_mailbox", stats_.fetch_rate_violations_by_mailbox},
              {"first_violations", stats_.fetch_rate_first_violations}}},
            {"downloads", stats_.downloads},
            {"send", send_stats()},
            {"refreshes", stats_.refreshes},
            {"superseded_refresh_uses", stats_.superseded_refresh_uses},
            {"in_flight", in_flight_}});
}

json simulator::send_stats() const {
  auto limit = [](const rate& r) {
    return json{{"limit", r.count}, {"window_s", r.window.count() / 1000.0}};
  };
  json by_limit = {{"rate", 0}, {"bytes", 0}, {"recipients", 0}};
  for (const auto& [name, n] : stats_.sends_throttled_by_limit)
    by_limit[name] = n;
  return {{"accepted", stats_.sends_accepted},
          {"throttled", stats_.sends_throttled},
          {"throttled_by_mailbox", stats_.sends_throttled_by_mailbox},
          {"throttled_by_limit", by_limit},
          {"limits",
           {{"rate", limit(settings_.send_rate)},
            {"bytes", limit(settings_.send_bytes)},
            {"recipients", limit(settings_.send_recipients)}}}};
}

net::response simulator::control_sent(call&, mailbox& mb) {
  json list = json::array();
  for (const auto& s : mb.sent)
    list.push_back({{"seq", s.seq},
                    {"internet_message_id", s.internet_message_id},
                    {"from", s.from},
                    {"to", s.to},
                    {"cc", s.cc},
                    {"bcc", s.bcc},
                    {"subject", s.subject},
                    {"size", s.mime->size()},
                    {"form", s.form},
                    {"sent_at", net::format_rfc3339(s.sent_at)},
                    {"mime", *s.mime}});
  return json_response(200, {{"address", mb.address}, {"sent", list}});
}

net::response simulator::control_send(call& c) {
  auto current = [this] {
    json rejected = json::array();
    for (const auto& a : send_.reject_recipients)
      rejected.push_back(a);
    return json{{"sent_items_delay_s", send_.sent_items_delay.count()},
                {"hold_send_response_ms", send_.hold_response.count()},
                {"strip_auto_submitted", send_.strip_auto_submitted},
                {"reject_recipients", rejected}};
  };
  if (c.req.method() == http::verb::get) return json_response(200, current());
  if (c.req.method() != http::verb::put)
    return graph_error(c, 405, "MethodNotAllowed", "Method not allowed on " + c.path);
  json body = json::parse(c.req.body(), nullptr, false);
  if (body.is_discarded() || !body.is_object())
    return graph_error(c, 400, "BadRequest", "the body must be a JSON object");
  std::optional<double> delay;
  std::optional<std::uint64_t> hold;
  std::optional<bool> strip;
  std::optional<std::vector<std::string>> reject;
  if (!optional_field(body, "sent_items_delay_s", delay) || (delay && *delay < 0))
    return graph_error(c, 400, "BadRequest",
                       "field 'sent_items_delay_s': expected a non-negative number");
  auto hold_field = body.find("hold_send_response_ms");
  if (!optional_field(body, "hold_send_response_ms", hold) ||
      (hold && !hold_field->is_number_integer()))
    return graph_error(c, 400, "BadRequest",
                       "field 'hold_send_response_ms': expected a non-negative integer");
  if (!optional_field(body, "strip_auto_submitted", strip))
    return graph_error(c, 400, "BadRequest",
                       "field 'strip_auto_submitted': expected a boolean");
  if (!optional_field(body, "reject_recipients", reject))
    return graph_error(c, 400, "BadRequest",
                       "field 'reject_recipients': expected an array of strings");
  // Only valid input changes anything.
  if (delay) send_.sent_items_delay = std::chrono::duration<double>(*delay);
  if (hold) send_.hold_response = std::chrono::milliseconds(*hold);
  if (strip) send_.strip_auto_submitted = *strip;
  if (reject) {
    send_.reject_recipients.clear();
    for (const auto& a : *reject)
      send_.reject_recipients.insert(net::to_lower(a));
  }
  return json_response(200, current());
}

net::response simulator::control_faults(call& c) {
  if (c.req.method() == http::verb::delete_) {
    faults_ = {};
    return json_response(200, {{"faults", "cleared"}});
  }
  if (c.req.method() == http::verb::get)
    return json_response(
        200, {{"error_rate", faults_.error_rate},
              {"drop_rate", faults_.drop_rate},
              {"latency_ms",
               {{"min", faults_.latency_min_ms}, {"max", faults_.latency_max_ms}}}});
  if (c.req.method() != http::verb::put && c.req.method() != http::verb::post)
    return graph_error(c, 405, "MethodNotAllowed", "Method not allowed on " + c.path);
  json body = json::parse(c.req.body(), nullptr, false);
  if (body.is_discarded() || !body.is_object())
    return graph_error(c, 400, "BadRequest", "the body must be a JSON object");
  fault_config f;
  std::optional<std::uint64_t> seed, lat_min, lat_max;
  std::optional<double> error_rate, drop_rate, retry_after_seconds;
  std::optional<std::string> retry_after;
  std::optional<std::vector<unsigned>> statuses;
  auto rate_ok = [](const std::optional<double>& r) {
    return !r || (*r >= 0 && *r <= 1);
  };
  if (!optional_field(body, "seed", seed))
    return graph_error(c, 400, "BadRequest",
                       "field 'seed': expected a non-negative integer");
  if (!optional_field(body, "error_rate", error_rate) || !rate_ok(error_rate))
    return graph_error(c, 400, "BadRequest",
                       "field 'error_rate': expected a number from 0 to 1");
  if (!optional_field(body, "drop_rate", drop_rate) || !rate_ok(drop_rate))
    return graph_error(c, 400, "BadRequest",
                       "field 'drop_rate': expected a number from 0 to 1");
  if (!optional_field(body, "error_statuses", statuses) ||
      (statuses && statuses->empty()))
    return graph_error(
        c, 400, "BadRequest",
        "field 'error_statuses': expected a non-empty array of HTTP statuses");
  for (auto s : statuses.value_or(std::vector<unsigned>{}))
    if (s < 400 || s > 599)
      return graph_error(c, 400, "BadRequest",
                         "field 'error_statuses': statuses must be 4xx or 5xx");
  if (!optional_field(body, "retry_after", retry_after) ||
      (retry_after && *retry_after != "integer" && *retry_after != "decimal" &&
       *retry_after != "missing"))
    return graph_error(c, 400, "BadRequest",
                       "field 'retry_after': one of integer, decimal, missing");
  if (!optional_field(body, "retry_after_seconds", retry_after_seconds) ||
      (retry_after_seconds && *retry_after_seconds < 0))
    return graph_error(c, 400, "BadRequest",
                       "field 'retry_after_seconds': expected a non-negative number");
  if (auto i = body.find("latency_ms"); i != body.end()) {
    if (!i->is_object() || !optional_field(*i, "min", lat_min) ||
        !optional_field(*i, "max", lat_max))
      return graph_error(c, 400, "BadRequest",
                         "field 'latency_ms': expected {\"min\":ms,\"max\":ms}");
  }
  f.seed = seed.value_or(1);
  f.error_rate = error_rate.value_or(0);
  f.drop_rate = drop_rate.value_or(0);
  if (statuses) f.error_statuses = *statuses;
  f.retry_after = retry_after.value_or("integer");
  f.retry_after_seconds = retry_after_seconds.value_or(1);
  f.latency_min_ms = lat_min.value_or(0);
  f.latency_max_ms = std::max(lat_max.value_or(0), f.latency_min_ms);
  faults_ = f;
  fault_random_.seed(f.seed);
  return json_response(200, {{"faults", "set"}, {"seed", f.seed}});
}

net::response simulator::control_mailbox_faults(call& c, mailbox& mb) {
  auto method = c.req.method();
  if (method == http::verb::delete_) {
    mb.faults.clear();
    return json_response(200, {{"faults", "cleared"}});
  }
  auto view = [&] {
    json rules = json::array();
    for (const auto& f : mb.faults)
      rules.push_back({{"method", f.method}, {"status", f.status}, {"code", f.code}});
    return json_response(200, {{"rules", rules}});
  };
  if (method == http::verb::get) return view();
  if (method != http::verb::put)
    return graph_error(c, 405, "MethodNotAllowed", "Method not allowed on " + c.path);
  json body = json::parse(c.req.body(), nullptr, false);
  if (body.is_discarded() || !body.is_object() || !body.contains("rules") ||
      !body["rules"].is_array() || body["rules"].size() > 16)
    return graph_error(c, 400, "BadRequest",
                       "expected {\"rules\":[{\"method\",\"status\",\"code\"}, …]} "
                       "with at most 16 rules");
  std::vector<mailbox_fault> rules;
  for (const auto& r : body["rules"]) {
    mailbox_fault f;
    std::optional<std::string> m, code;
    std::optional<std::uint64_t> status;
    if (!r.is_object() || !optional_field(r, "method", m) ||
        !optional_field(r, "status", status) || !optional_field(r, "code", code) ||
        (status && (*status < 400 || *status > 599)))
      return graph_error(c, 400, "BadRequest",
                         "a rule is {\"method\": \"PATCH\" or \"*\", \"status\": "
                         "4xx/5xx, \"code\": \"…\"}");
    f.method = m.value_or("*");
    f.status = static_cast<unsigned>(status.value_or(500));
    f.code = code.value_or("ErrorInternalServerError");
    rules.push_back(std::move(f));
  }
  mb.faults = std::move(rules);
  return view();
}

net::response simulator::control_revoke(call& c) {
  json body = json::parse(c.req.body(), nullptr, false);
  if (body.is_discarded() || !body.is_object())
    return graph_error(c, 400, "BadRequest", "the body must be a JSON object");
  std::optional<std::string> user, client_id, error;
  std::optional<int> code;
  if (!optional_field(body, "user", user) || !user)
    return graph_error(c, 400, "BadRequest",
                       "field 'user': the signed-in user's address is required");
  if (!optional_field(body, "client_id", client_id))
    return graph_error(c, 400, "BadRequest", "field 'client_id': expected a string");
  if (!optional_field(body, "aadsts", code) || (code && *code <= 0))
    return graph_error(c, 400, "BadRequest",
                       "field 'aadsts': expected a positive AADSTS code");
  if (!optional_field(body, "error", error))
    return graph_error(c, 400, "BadRequest",
                       "field 'error': expected an OAuth error string");
  int n = 0;
  auto who = net::to_lower(*user);
  for (auto& [id, g] : grants_) {
    if (g.user != who || (client_id && g.client_id != *client_id)) continue;
    g.revoked_code = code.value_or(70008);
    g.revoked_error = error.value_or("invalid_grant");
    // Tokens issued so far stay revoked even after the user signs in again.
    for (auto& [rt, info] : refresh_tokens_)
      if (info.grant_id == id) {
        info.revoked_code = g.revoked_code;
        info.revoked_error = g.revoked_error;
      }
    ++n;
  }
  return json_response(200, {{"revoked", n}});
}

} // namespace graph_sim

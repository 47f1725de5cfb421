// The API's mailbox routes: connect, list, show, reauthorize, pause, resume, delete.
#include "actors/api_routes.hpp"

#include "messages/error.hpp"
#include "net/url.hpp"
#include "storage/secret_file.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace exc::api_detail {

using nlohmann::json;

namespace {

/// A plausible mailbox address: local@domain, printable ASCII without spaces, one '@',
/// a dot in the domain. Graph decides the rest.
bool address_ok(const std::string& s) {
  auto at = s.find('@');
  if (s.size() > 254 || at == std::string::npos || at == 0 || at + 1 >= s.size() ||
      s.find('@', at + 1) != std::string::npos)
    return false;
  auto domain = s.substr(at + 1);
  if (domain.find('.') == std::string::npos || domain.front() == '.' ||
      domain.back() == '.')
    return false;
  return std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return c > 0x20 && c < 0x7f && c != '/' && c != '\\' && c != '?' && c != '#' &&
           c != '"' && c != '<' && c != '>' && c != ',' && c != ';';
  });
}

std::optional<net::response> integer_field(const json& j, const char* name,
                                           std::int64_t min, std::int64_t max,
                                           std::int64_t& out) {
  if (!j.contains(name)) return std::nullopt;
  const auto& v = j[name];
  if (!v.is_number_integer() || v.get<std::int64_t>() < min ||
      v.get<std::int64_t>() > max)
    return rest::error_response(400, "invalid_field",
                                std::string{name} + " must be an integer from " +
                                    std::to_string(min) + " to " + std::to_string(max),
                                name);
  out = v.get<std::int64_t>();
  return std::nullopt;
}

net::response conflict_address(const std::string& address) {
  return rest::error_response(409, "address_in_use",
                              address + " is already connected or being connected",
                              "address");
}

} // namespace

void create_mailbox(api_pointer self, const caller& who, const http_request& req,
                    const reply_fn& reply) {
  auto body = rest::read_object(req);
  if (auto* bad = std::get_if<net::response>(&body)) return reply(std::move(*bad));
  auto& j = std::get<json>(body);
  if (auto bad =
          rest::reject_unknown_fields(j, {"address", "poll_interval_s", "backfill_days"}))
    return reply(std::move(*bad));
  if (!j.contains("address"))
    return reply(
        rest::error_response(400, "missing_field", "address is required", "address"));
  if (!j["address"].is_string() || !address_ok(j["address"].get<std::string>()))
    return reply(rest::error_response(400, "invalid_field",
                                      "address must be an e-mail address", "address"));
  storage::mailbox_record mb;
  mb.address = j["address"].get<std::string>();
  if (auto bad = integer_field(j, "poll_interval_s", 1, 86'400, mb.poll_interval_s))
    return reply(std::move(*bad));
  if (auto bad = integer_field(j, "backfill_days", 0, 365, mb.backfill_days))
    return reply(std::move(*bad));
  mb.id = "mbx_" + storage::random_token(12);
  mb.account_id = who.account_id;
  mb.status = "pending_authorization";
  mb.created_at = now_rfc3339();
  auto changes = self->state.db->start_batch();
  std::optional<storage::mailbox_record> released;
  if (!address_free_for(self, mb, changes, released))
    return reply(conflict_address(mb.address));
  auto url = begin_authorization(self, mb, changes);
  if (auto* bad = std::get_if<net::response>(&url)) return reply(std::move(*bad));
  changes.put(storage::family::meta, storage::address_key(mb.address), mb.id);
  stage_mailbox(changes, mb);
  if (auto failed = commit(self, changes)) return reply(std::move(*failed));
  apply_release(self, released);
  self->state.addresses[net::to_lower(mb.address)] = mb.id;
  auto view = mailbox_view(self, mb);
  view["authorize_url"] = std::get<std::string>(url);
  self->state.mailboxes[mb.id] = std::move(mb);
  reply(rest::json_response(201, view));
}

void list_mailboxes(api_pointer self, const caller& who, const reply_fn& reply) {
  json list = json::array();
  for (const auto& [id, mb] : self->state.mailboxes)
    if (mb.account_id == who.account_id) list.push_back(mailbox_view(self, mb));
  reply(rest::json_response(200, {{"mailboxes", list}}));
}

void get_mailbox(api_pointer self, const caller& who, const std::string& id,
                 const reply_fn& reply) {
  auto* mb = find_mailbox(self, who, id);
  if (!mb) return reply(not_found());
  reply(rest::json_response(200, mailbox_view(self, *mb)));
}

void reauthorize_mailbox(api_pointer self, const caller& who, const std::string& id,
                         const reply_fn& reply) {
  auto* mb = find_mailbox(self, who, id);
  if (!mb) return reply(not_found());
  auto updated = *mb;
  auto changes = self->state.db->start_batch();
  std::optional<storage::mailbox_record> released;
  if (!address_free_for(self, updated, changes, released))
    return reply(conflict_address(updated.address));
  auto url = begin_authorization(self, updated, changes);
  if (auto* bad = std::get_if<net::response>(&url)) return reply(std::move(*bad));
  changes.put(storage::family::meta, storage::address_key(updated.address), updated.id);
  stage_mailbox(changes, updated);
  if (auto failed = commit(self, changes)) return reply(std::move(*failed));
  apply_release(self, released);
  self->state.addresses[net::to_lower(updated.address)] = updated.id;
  *mb = std::move(updated);
  reply(rest::json_response(200, {{"authorize_url", std::get<std::string>(url)}}));
}

void pause_mailbox(api_pointer self, const caller& who, const std::string& id,
                   const reply_fn& reply) {
  auto* mb = find_mailbox(self, who, id);
  if (!mb) return reply(not_found());
  if (mb->status == "pending_authorization")
    return reply(rest::error_response(409, "invalid_state",
                                      "a mailbox is paused once it is connected"));
  // It does not poll anyway; pausing it would let resume skip the new consent.
  if (mb->status == "reauthorization_required")
    return reply(rest::error_response(409, "invalid_state",
                                      "this mailbox needs a new consent (reauthorize) "
                                      "before it can be paused or resumed"));
  if (mb->status != "paused") {
    auto updated = *mb;
    updated.status = "paused";
    auto changes = self->state.db->start_batch();
    stage_mailbox(changes, updated);
    if (auto failed = commit(self, changes)) return reply(std::move(*failed));
    *mb = std::move(updated);
    stop_mailbox(self, id);
  }
  reply(rest::json_response(200, mailbox_view(self, *mb)));
}

void resume_mailbox(api_pointer self, const caller& who, const std::string& id,
                    const reply_fn& reply) {
  auto* mb = find_mailbox(self, who, id);
  if (!mb) return reply(not_found());
  if (mb->status != "paused" && mb->status != "connected" && mb->status != "error")
    return reply(rest::error_response(409, "invalid_state",
                                      "a mailbox in status " + mb->status +
                                          " needs a new consent (reauthorize)"));
  if (mb->status == "paused") {
    auto updated = *mb;
    updated.status = "connected";
    auto changes = self->state.db->start_batch();
    stage_mailbox(changes, updated);
    if (auto failed = commit(self, changes)) return reply(std::move(*failed));
    *mb = std::move(updated);
  }
  start_mailbox(self, id);
  reply(rest::json_response(200, mailbox_view(self, *mb)));
}

void delete_mailbox(api_pointer self, const caller& who, const std::string& id,
                    const reply_fn& reply) {
  if (!find_mailbox(self, who, id)) return reply(not_found());
  stop_mailbox(self, id);
  // The grant goes first: a mailbox record without credentials is harmless, the
  // reverse would leave a refresh token nobody can delete through the API.
  self->request(tokens(self), std::chrono::seconds{30}, atom::forget_v, id)
      .then(
          [=](bool) {
            auto i = self->state.mailboxes.find(id);
            if (i == self->state.mailboxes.end()) return reply(rest::no_content());
            auto changes = self->state.db->start_batch();
            changes.erase(storage::family::mailboxes, id);
            auto held = self->state.addresses.find(net::to_lower(i->second.address));
            bool holds = held != self->state.addresses.end() && held->second == id;
            if (holds)
              changes.erase(storage::family::meta,
                            storage::address_key(i->second.address));
            if (!i->second.state_hash.empty())
              changes.erase(storage::family::meta,
                            storage::oauth_state_key(i->second.state_hash));
            if (auto failed = commit(self, changes)) return reply(std::move(*failed));
            if (holds) self->state.addresses.erase(held);
            if (!i->second.connected_at.empty())
              self->state.ingest.connected->remove(i->second.address);
            self->state.mailboxes.erase(i);
            self->state.runtime.erase(id);
            reply(rest::no_content());
          },
          [=](const caf::error& err) {
            spdlog::error("api: cannot delete the grant of mailbox {}: {}",
                          log_name(self, id), render(err));
            reply(rest::error_response(500, "storage_failure",
                                       "the mailbox's credentials could not be deleted"));
          });
}

} // namespace exc::api_detail

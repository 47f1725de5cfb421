#include "storage/throttle.hpp"

#include <nlohmann/json.hpp>

namespace storage {

namespace {

std::string key(const std::string& mailbox, const std::string& window) {
  return mailbox + "/" + window;
}

} // namespace

caf::expected<std::vector<throttle_store::time_point>>
throttle_store::load(const std::string& mailbox, const std::string& window) const {
  auto raw = db_.get(family::throttle, key(mailbox, window));
  if (!raw) return raw.error();
  std::vector<time_point> out;
  if (!*raw) return out;
  auto j = nlohmann::json::parse(**raw, nullptr, false);
  if (!j.is_array()) return out;
  for (const auto& ms : j)
    if (ms.is_number_integer())
      out.emplace_back(std::chrono::milliseconds{ms.get<std::int64_t>()});
  return out;
}

void throttle_store::stage(batch& changes, const std::string& mailbox,
                           const std::string& window,
                           const std::vector<time_point>& events) const {
  auto j = nlohmann::json::array();
  for (auto t : events)
    j.push_back(
        std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch())
            .count());
  changes.put(family::throttle, key(mailbox, window), j.dump());
}

caf::expected<std::optional<throttle_store::time_point>>
throttle_store::load_pause(const std::string& mailbox, const std::string& name) const {
  auto stored = load(mailbox, name);
  if (!stored) return stored.error();
  if (stored->empty()) return std::optional<time_point>{};
  return std::optional<time_point>{stored->back()};
}

void throttle_store::stage_pause(batch& changes, const std::string& mailbox,
                                 const std::string& name, time_point until) const {
  stage(changes, mailbox, name, {until});
}

} // namespace storage

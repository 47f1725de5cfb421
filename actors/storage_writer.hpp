#pragma once

#include "messages/interfaces.hpp"
#include "net/metrics.hpp"
#include "storage/db.hpp"

#include <caf/response_promise.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <vector>

/// The STORAGE WRITER: every write to the database goes through it, so no scheduler
/// thread ever waits for the disk. Commits are applied without fsync as they arrive;
/// whoever needs durability waits for the next sync, which runs once the writer's
/// queue is empty and serves everyone who asked meanwhile (group commit).
namespace exc {

struct storage_writer_state {
  static inline const char* name = "storage-writer";
  storage::db* db = nullptr;
  net::metrics* metrics = nullptr;
  /// Answers waiting for the next sync.
  std::vector<caf::typed_response_promise<bool>> unsynced;
  bool sync_scheduled = false;
};

using storage_writer_self_actor =
    storage_writer_actor::extend<caf::reacts_to<atom::internal, atom::step>>;

/// @param self the actor (spawn it detached: it waits for fsync)
/// @param db the database; must outlive the actor
/// @param metrics counts commits and syncs; must outlive the actor (may be null)
storage_writer_self_actor::behavior_type
storage_writer(storage_writer_self_actor::stateful_pointer<storage_writer_state> self,
               storage::db* db, net::metrics* metrics);

} // namespace exc

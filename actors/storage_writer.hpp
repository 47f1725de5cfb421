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
/// whoever needs durability waits for the next sync. A sync starts once the writer's
/// queue is empty and runs on the writer's own fsync thread, so batches keep being
/// applied meanwhile; whoever asks during a sync is served by the next one (group
/// commit).
namespace exc {

struct storage_writer_state {
  static inline const char* name = "storage-writer";
  storage::db* db = nullptr;
  net::metrics* metrics = nullptr;
  caf::actor syncer; ///< its fsync thread
  /// Answers waiting for the next sync, and those the sync under way serves.
  std::vector<caf::typed_response_promise<bool>> unsynced;
  std::vector<caf::typed_response_promise<bool>> in_sync;
  bool sync_scheduled = false; ///< a step message will start the next sync
  bool syncing = false;
};

using storage_writer_self_actor =
    storage_writer_actor::extend<caf::reacts_to<atom::internal, atom::step>>;

/// @param self the actor (spawn it detached: it waits for fsync)
/// @param db the database; must outlive the actor
/// @param metrics counts commits and syncs; must outlive the actor (may be null)
/// @param fsync_thread sync on a thread of its own while batches go on being applied
///        (false: sync in the writer itself, for CAF's deterministic test scheduler)
storage_writer_self_actor::behavior_type
storage_writer(storage_writer_self_actor::stateful_pointer<storage_writer_state> self,
               storage::db* db, net::metrics* metrics, bool fsync_thread = true);

} // namespace exc

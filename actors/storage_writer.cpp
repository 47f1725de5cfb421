#include "actors/storage_writer.hpp"

#include "messages/error.hpp"

#include <caf/exit_reason.hpp>
#include <caf/system_messages.hpp>

#include <spdlog/spdlog.h>

namespace exc {

namespace {

using self_ptr = storage_writer_self_actor::stateful_pointer<storage_writer_state>;

/// The writer's fsync thread: it syncs the write-ahead log while the writer goes on
/// applying batches (RocksDB allows SyncWAL beside writes). (The int only gives spawn
/// an argument: CAF 0.17 trips UBSan without one.)
caf::behavior wal_syncer(caf::event_based_actor*, storage::db* db, int) {
  return {
      [db](atom::sync) -> caf::result<bool> {
        if (auto err = db->sync()) return err;
        return true;
      },
  };
}

/// Answers `waiting` with the outcome of a sync; a failed fsync leaves applied writes
/// that may not be on disk, so the writer fails (the SUPERVISOR restarts it, and gives
/// up, stopping the process, if it keeps failing).
void answer(self_ptr self, std::vector<caf::typed_response_promise<bool>>& waiting,
            const caf::error& err) {
  auto& st = self->state;
  if (st.metrics) {
    st.metrics->add("exconnect_storage_syncs_total", {});
    st.metrics->add("exconnect_storage_synced_answers_total", {},
                    static_cast<double>(waiting.size()));
  }
  if (err)
    spdlog::error("storage-writer: cannot sync the write-ahead log: {}", render(err));
  for (auto& rp : waiting)
    if (err)
      rp.deliver(err);
    else
      rp.deliver(true);
  waiting.clear();
  if (err) self->quit(err);
}

/// Syncs everything applied so far for whoever waits, on the fsync thread; what comes
/// meanwhile waits for the next sync (so one fsync serves everyone who asked while the
/// last one ran).
void start_sync(self_ptr self) {
  auto& st = self->state;
  if (st.syncing || st.unsynced.empty()) return;
  st.in_sync = std::move(st.unsynced);
  st.unsynced.clear();
  if (!st.syncer) // no fsync thread (tests): at once
    return answer(self, st.in_sync, st.db->sync());
  st.syncing = true;
  self->request(st.syncer, caf::infinite, atom::sync_v)
      .then(
          [=](bool) {
            auto& st = self->state;
            st.syncing = false;
            answer(self, st.in_sync, {});
            start_sync(self);
          },
          [=](caf::error& err) {
            self->state.syncing = false;
            answer(self, self->state.in_sync, err);
          });
}

/// Answers once a sync made everything applied so far durable.
caf::result<bool> answer_after_sync(self_ptr self) {
  auto& st = self->state;
  st.unsynced.push_back(self->make_response_promise<bool>());
  if (!st.sync_scheduled && !st.syncing) {
    // Behind every message already queued: they share this sync.
    st.sync_scheduled = true;
    self->send(self, atom::internal_v, atom::step_v);
  }
  return st.unsynced.back();
}

} // namespace

storage_writer_self_actor::behavior_type
storage_writer(storage_writer_self_actor::stateful_pointer<storage_writer_state> self,
               storage::db* db, net::metrics* metrics, bool fsync_thread) {
  self->state.db = db;
  self->state.metrics = metrics;
  if (metrics) {
    metrics->describe("exconnect_storage_commits_total", "counter",
                      "Batches the storage writer applied, by durability (durable, "
                      "relaxed).");
    metrics->describe("exconnect_storage_syncs_total", "counter",
                      "fsyncs of the write-ahead log (one serves every durable commit "
                      "and sync request queued meanwhile).");
    metrics->describe("exconnect_storage_synced_answers_total", "counter",
                      "Durable commits and sync requests answered by those fsyncs.");
  }
  if (fsync_thread)
    self->state.syncer = self->spawn<caf::detached + caf::linked>(wal_syncer, db, 0);
  // Stopping: whoever still waits hears a last sync, not a broken promise.
  self->set_exit_handler([=](caf::exit_msg& em) {
    auto& st = self->state;
    auto err = st.db->sync();
    answer(self, st.in_sync, err);
    answer(self, st.unsynced, err);
    if (st.syncer) self->send_exit(st.syncer, em.reason);
    self->quit(em.reason);
  });
  return {
      [=](atom::commit, const storage::batch& changes,
          storage::durability d) -> caf::result<bool> {
        auto& st = self->state;
        // Applied without fsync: durable ones wait for the group's sync below.
        if (auto err = st.db->commit(changes, storage::durability::relaxed)) {
          spdlog::error("storage-writer: a commit failed: {}", render(err));
          return err;
        }
        bool durable = d == storage::durability::durable;
        if (st.metrics)
          st.metrics->add("exconnect_storage_commits_total",
                          {{"durability", durable ? "durable" : "relaxed"}});
        if (!durable) return true;
        return answer_after_sync(self);
      },
      [=](atom::commit, const storage::batch& changes, const std::string& what) {
        // Relaxed, unanswered: whoever sent it goes on without waiting for a reply.
        if (auto err = self->state.db->commit(changes, storage::durability::relaxed)) {
          spdlog::warn("storage-writer: cannot store {}: {}", what, render(err));
          return;
        }
        if (self->state.metrics)
          self->state.metrics->add("exconnect_storage_commits_total",
                                   {{"durability", "relaxed"}});
      },
      [=](atom::sync) { return answer_after_sync(self); },
      [=](atom::barrier) { return true; },
      [=](atom::internal, atom::step) {
        self->state.sync_scheduled = false;
        start_sync(self);
      },
  };
}

} // namespace exc

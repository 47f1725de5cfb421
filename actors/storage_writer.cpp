#include "actors/storage_writer.hpp"

#include "messages/error.hpp"

#include <caf/exit_reason.hpp>
#include <caf/system_messages.hpp>

#include <spdlog/spdlog.h>

namespace exc {

namespace {

using self_ptr = storage_writer_self_actor::stateful_pointer<storage_writer_state>;

/// Makes everything applied so far durable with one fsync, then answers everyone
/// waiting for it.
void sync_and_answer(self_ptr self) {
  auto& st = self->state;
  st.sync_scheduled = false;
  if (st.unsynced.empty()) return;
  auto waiting = std::move(st.unsynced);
  st.unsynced.clear();
  auto err = st.db->sync();
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
  // A failed fsync leaves applied writes that may not be on disk: the writer fails (the
  // SUPERVISOR restarts it, and gives up, stopping the process, if it keeps failing).
  if (err) self->quit(err);
}

/// Answers once the next sync made everything applied so far durable.
caf::result<bool> answer_after_sync(self_ptr self) {
  auto& st = self->state;
  st.unsynced.push_back(self->make_response_promise<bool>());
  if (!st.sync_scheduled) {
    // Behind every message already queued: they share this sync.
    st.sync_scheduled = true;
    self->send(self, atom::internal_v, atom::step_v);
  }
  return st.unsynced.back();
}

} // namespace

storage_writer_self_actor::behavior_type
storage_writer(storage_writer_self_actor::stateful_pointer<storage_writer_state> self,
               storage::db* db, net::metrics* metrics) {
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
  // Stopping: whoever still waits hears the last sync, not a broken promise.
  self->set_exit_handler([=](caf::exit_msg& em) {
    sync_and_answer(self);
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
      [=](atom::sync) { return answer_after_sync(self); },
      [=](atom::barrier) { return true; },
      [=](atom::internal, atom::step) { sync_and_answer(self); },
  };
}

} // namespace exc

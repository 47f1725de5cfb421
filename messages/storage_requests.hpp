#pragma once

#include "messages/error.hpp"
#include "messages/services.hpp"
#include "storage/db.hpp"

#include <caf/error.hpp>
#include <caf/sec.hpp>

#include <spdlog/spdlog.h>

#include <chrono>
#include <string>
#include <utility>

/// How actors ask the STORAGE WRITER. Each call finds the writer as it runs now; while
/// it restarts the request fails at once, and `done` hears the error.
namespace exc::storage_requests {

/// How long a write may take before its requester gives up (a stalled disk).
constexpr auto write_timeout = std::chrono::seconds{60};

/// Whether a write that failed may still be applied later: it timed out while queued at
/// the writer. An actor that reads what it wrote must not go on after that (its next
/// read may miss the write, then overwrite it): it ends, and its restart reads behind
/// a barrier.
inline bool may_land_later(const caf::error& err) {
  return err == caf::make_error(caf::sec::request_timeout);
}

/// Commits `changes`; `done(error)` runs once they are applied (relaxed) or durable.
/// The actor handles other messages meanwhile.
template <class Self, class Done>
void commit(Self* self, storage::batch changes, storage::durability d, Done done) {
  if (changes.empty()) return done(caf::error{});
  self->request(service::get<storage_writer_actor>(self->system()), write_timeout,
                atom::commit_v, std::move(changes), d)
      .then([=](bool) mutable { done(caf::error{}); },
            [=](caf::error& err) mutable { done(std::move(err)); });
}

/// As commit, but the actor handles nothing else until the answer, so its next message
/// reads what this one wrote (a read-modify-write).
template <class Self, class Done>
void commit_awaited(Self* self, storage::batch changes, storage::durability d,
                    Done done) {
  if (changes.empty()) return done(caf::error{});
  self->request(service::get<storage_writer_actor>(self->system()), write_timeout,
                atom::commit_v, std::move(changes), d)
      .await([=](bool) mutable { done(caf::error{}); },
             [=](caf::error& err) mutable { done(std::move(err)); });
}

/// `done(error)` runs once everything committed so far, by anyone, is durable.
template <class Self, class Done>
void sync(Self* self, Done done) {
  self->request(service::get<storage_writer_actor>(self->system()), write_timeout,
                atom::sync_v)
      .then([=](bool) mutable { done(caf::error{}); },
            [=](caf::error& err) mutable { done(std::move(err)); });
}

/// Commits `changes` relaxed and goes on: no answer comes back (one message, not two).
/// A failure is only logged by the writer ("cannot store <who>: <what>"): for state that
/// is rebuilt if lost. Applied in order with the sender's other writes.
template <class Self>
void commit_or_log(Self* self, storage::batch changes, const std::string& who,
                   const std::string& what) {
  if (changes.empty()) return;
  if (auto writer = service::get<storage_writer_actor>(self->system()))
    self->send(writer, atom::commit_v, std::move(changes), who + ": " + what);
  else
    spdlog::warn("{}: cannot store {}: the storage writer is restarting", who, what);
}

/// Handles nothing else until every write sent to the STORAGE WRITER before this is
/// applied, then runs `next`: a restarted actor reads what its predecessor wrote last.
template <class Self, class Next>
void await_earlier_writes(Self* self, Next next) {
  // No writer (it restarts): what was queued at it is lost anyway. A writer that does
  // not answer in time: the actor fails, and is restarted after a backoff.
  self->request(service::get<storage_writer_actor>(self->system()), write_timeout,
                atom::barrier_v)
      .await([=](bool) mutable { next(); },
             [=](caf::error& err) mutable {
               if (may_land_later(err)) return self->quit(err);
               next();
             });
}

} // namespace exc::storage_requests

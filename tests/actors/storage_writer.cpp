#define CAF_SUITE storage_writer
// 0.17.6's dsl.hpp uses an undefined FAIL macro.
#define FAIL(msg) CAF_FAIL(msg)
#include <caf/test/dsl.hpp>

#include "temp_db.hpp"
#include "temp_dir.hpp"

#include "actors/storage_writer.hpp"
#include "net/metrics.hpp"

#include <string>
#include <vector>

using namespace exc;

namespace {

struct fixture : test_coordinator_fixture<> {
  test::temp_dir dir;
  std::unique_ptr<storage::db> db = open_temp_db(dir);
  net::metrics metrics;
  storage_writer_actor writer = caf::actor_cast<storage_writer_actor>(
      sys.spawn(storage_writer, db.get(), &metrics, false));

  ~fixture() {
    self->send_exit(writer, caf::exit_reason::user_shutdown);
    sched.run();
  }

  static storage::batch put(const std::string& key) {
    storage::batch b;
    b.put(storage::family::journal, key, "v-" + key);
    return b;
  }

  std::string value(const std::string& key) {
    return db->get(storage::family::journal, key)->value_or("<none>");
  }

  double syncs() { return metrics.value("exconnect_storage_syncs_total", {}); }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(storage_writer_tests, fixture)

CAF_TEST(durable commits queued together share one sync) {
  int answered = 0;
  std::vector<decltype(self->request(writer, caf::infinite, atom::commit_v,
                                     storage::batch{}, storage::durability::durable))>
      answers;
  for (auto key : {"a", "b", "c"})
    answers.push_back(self->request(writer, caf::infinite, atom::commit_v, put(key),
                                    storage::durability::durable));
  sched.run();
  for (auto& a : answers)
    a.receive([&](bool ok) { answered += ok ? 1 : 0; },
              [&](const caf::error& err) { CAF_FAIL("commit failed: " << render(err)); });
  CAF_CHECK_EQUAL(answered, 3);
  CAF_CHECK_EQUAL(syncs(), 1);
  CAF_CHECK_EQUAL(metrics.value("exconnect_storage_synced_answers_total", {}), 3);
  for (auto key : {"a", "b", "c"})
    CAF_CHECK_EQUAL(value(key), std::string{"v-"} + key);
}

CAF_TEST(a relaxed commit is answered once applied without a sync) {
  auto answer = self->request(writer, caf::infinite, atom::commit_v, put("r"),
                              storage::durability::relaxed);
  sched.run_once(); // the commit only
  bool ok = false;
  answer.receive([&](bool x) { ok = x; },
                 [&](const caf::error& err) { CAF_FAIL(render(err)); });
  CAF_CHECK(ok);
  CAF_CHECK_EQUAL(value("r"), "v-r");
  sched.run();
  CAF_CHECK_EQUAL(syncs(), 0);
}

CAF_TEST(an unanswered commit is applied in order and answers nothing) {
  self->send(writer, atom::commit_v, put("u"), std::string{"test: a window"});
  storage::batch over;
  over.put(storage::family::journal, "u", "v-later");
  self->send(writer, atom::commit_v, std::move(over), std::string{"test: a window"});
  sched.run();
  CAF_CHECK_EQUAL(value("u"), "v-later"); // the later write last
  CAF_CHECK(self->mailbox().empty());     // no answer came
  CAF_CHECK_EQUAL(syncs(), 0);
  CAF_CHECK_EQUAL(
      metrics.value("exconnect_storage_commits_total", {{"durability", "relaxed"}}), 2);
}

CAF_TEST(a sync answers once what others committed before is durable) {
  // Another actor commits relaxed; a sync asked afterwards covers it.
  // (The int only gives spawn an argument: CAF 0.17 trips UBSan without one.)
  auto other = sys.spawn(
      [=](caf::event_based_actor* a, int) {
        a->request(writer, caf::infinite, atom::commit_v, put("o"),
                   storage::durability::relaxed)
            .then([](bool) {});
      },
      0);
  sched.run_once(); // the other actor sends its commit
  auto synced = self->request(writer, caf::infinite, atom::sync_v);
  sched.run();
  bool ok = false;
  synced.receive([&](bool x) { ok = x; },
                 [&](const caf::error& err) { CAF_FAIL(render(err)); });
  CAF_CHECK(ok);
  CAF_CHECK_EQUAL(value("o"), "v-o");
  CAF_CHECK_EQUAL(syncs(), 1);
  self->send_exit(other, caf::exit_reason::user_shutdown);
}

CAF_TEST(a barrier answers after every write queued before it) {
  auto first = self->request(writer, caf::infinite, atom::commit_v, put("x"),
                             storage::durability::durable);
  auto barrier = self->request(writer, caf::infinite, atom::barrier_v);
  sched.run_once();                   // the commit
  CAF_CHECK_EQUAL(value("x"), "v-x"); // applied before its sync
  sched.run_once();                   // the barrier
  bool passed = false;
  barrier.receive([&](bool x) { passed = x; },
                  [&](const caf::error& err) { CAF_FAIL(render(err)); });
  CAF_CHECK(passed);
  sched.run(); // the sync answers the durable commit
  bool durable = false;
  first.receive([&](bool x) { durable = x; },
                [&](const caf::error& err) { CAF_FAIL(render(err)); });
  CAF_CHECK(durable);
}

CAF_TEST_FIXTURE_SCOPE_END()

#define CAF_SUITE daemon_ingest
#include <caf/test/unit_test.hpp>

#include "ingest_fixture.hpp"

#include "net/time_format.hpp"

#include <csignal>
#include <map>
#include <set>

using nlohmann::json;

namespace {

struct ingest_fixture : ingest_daemon_fixture {
  ingest_fixture() { start_daemon(); }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(daemon_ingest_tests, ingest_fixture)

CAF_TEST(new unread inbox mail becomes tickets comments and labelled rejections) {
  auto key = create_account("A").at("api_key").get<std::string>();
  // Mail that was there before the connection, read, or labelled is never touched.
  sim.create_mailbox("support@contoso.test");
  auto old_mail = sim.deliver(
      "support@contoso.test",
      mime("Old <old@customer.test>", "support@contoso.test", "Old", "old@customer.test"),
      {{"received_at", "2026-01-01T00:00:00Z"}});
  auto support = connect(key, "support@contoso.test").at("id").get<std::string>();
  auto sales = connect(key, "sales@contoso.test").at("id").get<std::string>();
  const std::string to = "Support <support@contoso.test>";
  const std::string customer = "Jana <jana@customer.test>";
  auto read = sim.deliver("support@contoso.test",
                          mime(customer, to, "Read", "read@c.test"), {{"is_read", true}});
  auto labelled =
      sim.deliver("support@contoso.test", mime(customer, to, "Done", "done@c.test"),
                  {{"categories", {"Zendesk"}}});
  // New mail.
  auto request = sim.deliver(
      "support@contoso.test",
      mime(customer, to + ", Tom <tom@customer.test>", "Invoice", "req1@customer.test"),
      {{"categories", {"Blue"}}});
  auto reply = sim.deliver(
      "support@contoso.test",
      mime(customer, to, "Re: Invoice", "req2@customer.test",
           "In-Reply-To: <req1@customer.test>\r\nReferences: <req1@customer.test>\r\n"));
  auto huge = sim.deliver("support@contoso.test",
                          mime(customer, to, "Video", "video@customer.test"),
                          {{"size", 60'000'000}});
  auto junk = sim.deliver("support@contoso.test", "This is not a mail header at all\r\n");
  auto no_from = sim.deliver("support@contoso.test", mime("", to, "Anon", "anon@c.test"));
  auto no_to =
      sim.deliver("support@contoso.test", mime(customer, "", "Nobody", "nt@c.test"));
  auto loop = sim.deliver("support@contoso.test",
                          mime("Sales <SALES@contoso.test>", to, "Loop", "loop@c.test"));
  auto robot = sim.deliver("support@contoso.test",
                           mime(customer, to, "Out of office", "ooo@c.test",
                                "Auto-Submitted: auto-replied\r\n"));
  // One mail to two mailboxes of the account: one ticket, the copy counted.
  auto both = mime(customer, "support@contoso.test, sales@contoso.test", "Both",
                   "both@customer.test");
  auto both_support = sim.deliver("support@contoso.test", both);
  wait_labelled("support@contoso.test",
                {request, reply, huge, junk, no_from, no_to, loop, robot, both_support});
  auto both_sales = sim.deliver("sales@contoso.test", both);
  wait_labelled("sales@contoso.test", {both_sales});

  auto box = sim_messages("support@contoso.test");
  CAF_CHECK(has(box.at(request), "Blue")); // existing categories kept
  CAF_CHECK(!has(box.at(request), "RejectedByZendesk"));
  for (const auto& id : {huge, junk, no_from, no_to, loop, robot})
    CAF_CHECK(has(box.at(id), "RejectedByZendesk"));
  CAF_CHECK_EQUAL(box.at(old_mail).at("categories").size(), 0u);
  CAF_CHECK_EQUAL(box.at(read).at("categories").size(), 0u);
  CAF_CHECK_EQUAL(box.at(labelled).at("categories"), json({"Zendesk"}));

  auto all = tickets(key);
  CAF_REQUIRE_EQUAL(all.size(), 2u); // "Invoice" (with its reply) and "Both"
  auto invoice = all[0].at("subject") == "Invoice" ? all[0] : all[1];
  CAF_CHECK_EQUAL(invoice.at("requester").at("email"), "jana@customer.test");
  CAF_CHECK_EQUAL(invoice.at("mailbox_id"), support);
  // The other recipients, never a connected mailbox (that would mail itself).
  CAF_CHECK_EQUAL(invoice.at("cc"),
                  json::parse(R"([{"email":"tom@customer.test","name":"Tom"}])"));
  CAF_REQUIRE_EQUAL(invoice.at("comments").size(), 2u);
  CAF_CHECK_EQUAL(invoice.at("comments")[1].at("internet_message_id"),
                  "req2@customer.test");
  CAF_CHECK_EQUAL(invoice.at("comments")[0].at("author").at("type"), "customer");
  auto token = invoice.at("token").get<std::string>();
  CAF_CHECK_EQUAL(token.rfind("[#" + invoice.at("id").get<std::string>() + "-", 0), 0u);
  auto one =
      call_json("GET", "/api/v1/tickets/" + invoice.at("id").get<std::string>(), key);
  CAF_CHECK_EQUAL(one, invoice);

  std::map<std::string, std::string> reasons;
  for (const auto& r : rejections(key))
    reasons[r.at("message_id")] = r.at("reason");
  CAF_CHECK_EQUAL(reasons[huge], "too_large");
  CAF_CHECK_EQUAL(reasons[junk], "malformed");
  CAF_CHECK_EQUAL(reasons[no_from], "missing_from");
  CAF_CHECK_EQUAL(reasons[no_to], "missing_to");
  CAF_CHECK_EQUAL(reasons[loop], "loop");
  CAF_CHECK_EQUAL(reasons[robot], "auto_submitted");
  CAF_CHECK_EQUAL(reasons.size(), 6u);

  auto counters = mailbox(key, support).at("counters");
  CAF_CHECK_EQUAL(counters.at("fetched"), 9);
  CAF_CHECK_EQUAL(counters.at("converted"), 3); // ticket, comment, "Both"
  CAF_CHECK_EQUAL(counters.at("rejected"), 6);
  CAF_CHECK_EQUAL(counters.at("rejected_by_reason").at("too_large"), 1);
  CAF_CHECK_EQUAL(json(mailbox(key, sales).at("counters").at("duplicates")), 1);

  // The oversized mail was never downloaded; nothing broke Exchange's rules.
  check_graph_sim_clean();
  // Another account sees none of it; bad paging input is refused naming the field.
  auto bob = create_account("B").at("api_key").get<std::string>();
  auto status_of = [&](const std::string& path, const std::string& key) {
    auto res = call("GET", path, key);
    return std::to_string(res.status) + " " + error_code(res);
  };
  auto ticket_path = "/api/v1/tickets/" + invoice.at("id").get<std::string>();
  CAF_CHECK_EQUAL(status_of(ticket_path, bob), "404 not_found");
  CAF_CHECK_EQUAL(status_of("/api/v1/tickets?mailbox_id=" + support, bob),
                  "404 not_found");
  CAF_CHECK_EQUAL(status_of("/api/v1/rejections?mailbox_id=" + support, bob),
                  "404 not_found");
  CAF_CHECK_EQUAL(call_json("GET", "/api/v1/tickets", bob).at("tickets").size(), 0u);
  CAF_CHECK_EQUAL(call_json("GET", "/api/v1/rejections", bob).at("rejections").size(),
                  0u);
  CAF_CHECK_EQUAL(status_of("/api/v1/tickets", admin_token), "403 forbidden");
  for (const char* limit : {"0", "101", "+5", "ten", ""})
    CAF_CHECK_EQUAL(status_of(std::string{"/api/v1/tickets?limit="} + limit, key),
                    "400 invalid_field");
  CAF_CHECK_EQUAL(
      call_json("GET", "/api/v1/tickets?mailbox_id=" + sales, key).at("tickets").size(),
      0u); // sales@'s copy of "Both" is a duplicate of support@'s ticket
  auto metrics = call("GET", "/metrics", "").body;
  CAF_CHECK_NOT_EQUAL(metrics.find("exconnect_messages_total{outcome=\"rejected\"} 6"),
                      std::string::npos);
}

CAF_TEST(nothing is imported twice after a label is removed or the daemon is killed) {
  auto key = create_account("A").at("api_key").get<std::string>();
  auto id = connect(key, "support@contoso.test").at("id").get<std::string>();
  std::vector<std::string> first;
  for (int i = 0; i < 3; ++i)
    first.push_back(sim.deliver("support@contoso.test",
                                test::sample_mail("first-" + std::to_string(i))));
  wait_labelled("support@contoso.test", first);
  CAF_CHECK_EQUAL(tickets(key).size(), 3u);
  // Someone removes the label in Outlook: it comes back, the ticket does not.
  auto tokens = sim.sign_in(app, "support@contoso.test");
  auto patched = sim.graph("PATCH", "/users/support@contoso.test/messages/" + first[0],
                           tokens.at("access_token").get<std::string>(),
                           json{{"categories", json::array()}}.dump(),
                           {{"Content-Type", "application/json"}});
  CAF_REQUIRE_EQUAL(patched.status, 200u);
  wait_labelled("support@contoso.test", first);
  CAF_CHECK_EQUAL(tickets(key).size(), 3u);
  // SIGKILL while a batch is on its way in; the restarted daemon finishes the batch.
  std::vector<std::string> second;
  for (int i = 0; i < 10; ++i)
    second.push_back(sim.deliver("support@contoso.test",
                                 test::sample_mail("second-" + std::to_string(i))));
  CAF_CHECK(test::eventually([&] { return tickets(key).size() > 3; },
                             std::chrono::seconds(20), std::chrono::milliseconds(5)));
  CAF_CHECK_EQUAL(daemon->stop(SIGKILL), 128 + SIGKILL);
  start_daemon();
  wait_labelled("support@contoso.test", second);
  auto all = tickets(key);
  CAF_CHECK_EQUAL(all.size(), 13u);
  std::set<std::string> subjects_by_message;
  for (const auto& t : all)
    subjects_by_message.insert(t.at("comments")[0].at("internet_message_id"));
  CAF_CHECK_EQUAL(subjects_by_message.size(), 13u); // no message twice
  CAF_CHECK_EQUAL(json(mailbox(key, id).at("counters").at("converted")), 13);
}

CAF_TEST(ingest reads the inbox delta and neither replays nor a forgotten link take mail
             twice) {
  auto key = create_account("A").at("api_key").get<std::string>();
  auto id = connect(key, "support@contoso.test").at("id").get<std::string>();
  auto deliver = [&](const std::string& prefix, int n) {
    std::vector<std::string> ids;
    for (int i = 0; i < n; ++i)
      ids.push_back(sim.deliver("support@contoso.test",
                                test::sample_mail(prefix + std::to_string(i))));
    return ids;
  };
  wait_labelled("support@contoso.test", deliver("first-", 3));
  // Graph sends each round's last change again.
  sim.control("PUT", "/delta", {{"replay", true}});
  wait_labelled("support@contoso.test", deliver("replayed-", 2));
  // Graph forgets the mailbox's delta state: a full round, then rounds as before.
  sim.control("POST", "/mailboxes/support@contoso.test/delta/expire");
  wait_labelled("support@contoso.test", deliver("after-", 2));
  sim.control("PUT", "/delta", {{"replay", false}});
  wait_labelled("support@contoso.test", deliver("last-", 1));
  auto all = tickets(key);
  std::set<std::string> messages;
  for (const auto& t : all)
    messages.insert(t.at("comments")[0].at("internet_message_id"));
  CAF_CHECK_EQUAL(all.size(), 8u);
  CAF_CHECK_EQUAL(messages.size(), 8u);
  auto counters = mailbox(key, id).at("counters");
  CAF_CHECK_EQUAL(json(counters.at("converted")), 8);
  CAF_CHECK_EQUAL(json(counters.at("duplicates")), 0);
  auto requests = sim.control("GET", "/stats").at("requests");
  CAF_CHECK(requests.contains("delta_messages"));
  CAF_CHECK(requests.at("delta_messages").contains("410")); // the forgotten link
  // The inbox was listed once: the sign-in's check that the grant opens it.
  CAF_CHECK_EQUAL(requests.value("list_messages", json::object()).value("200", 0), 1);
}

CAF_TEST(backfill days reach back and mark as read is honoured) {
  auto key = create_account("A").at("api_key").get<std::string>();
  call_json("PATCH", "/api/v1/account", key,
            {{"mark_as_read", true}, {"labels", {{"processed", "Helpdesk"}}}});
  sim.create_mailbox("support@contoso.test");
  auto now =
      *net::parse_rfc3339(sim.control("GET", "/clock").at("now").get<std::string>());
  auto shift_days = [&](int days) {
    return net::format_rfc3339(now + std::chrono::hours{24 * days});
  };
  auto yesterday = sim.deliver("support@contoso.test", test::sample_mail("yesterday"),
                               {{"received_at", shift_days(-1)}});
  auto last_week = sim.deliver("support@contoso.test", test::sample_mail("last-week"),
                               {{"received_at", shift_days(-7)}});
  auto created =
      call_json("POST", "/api/v1/mailboxes", key,
                {{"address", "support@contoso.test"}, {"backfill_days", 2}}, 201);
  CAF_REQUIRE_EQUAL(follow(created.at("authorize_url")).status, 200u);
  CAF_CHECK(test::eventually(
      [&] { return has(sim_messages("support@contoso.test").at(yesterday), "Helpdesk"); },
      std::chrono::seconds(20), std::chrono::milliseconds(50)));
  auto box = sim_messages("support@contoso.test");
  CAF_CHECK_EQUAL(box.at(yesterday).at("is_read"), true); // the account asks for it
  CAF_CHECK_EQUAL(box.at(last_week).at("categories").size(), 0u); // before the backfill
  CAF_CHECK_EQUAL(box.at(last_week).at("is_read"), false);
  CAF_CHECK_EQUAL(tickets(key).size(), 1u);
}

CAF_TEST(two hundred mails over twenty mailboxes) {
  auto key = create_account("A").at("api_key").get<std::string>();
  std::vector<std::string> addresses;
  for (int m = 0; m < 20; ++m) {
    addresses.push_back("box" + std::to_string(m) + "@contoso.test");
    connect(key, addresses.back());
  }
  // Per mailbox: 6 requests, 2 replies to them, 1 oversized, 1 without To.
  std::map<std::string, std::vector<std::string>> delivered;
  for (const auto& a : addresses) {
    for (int i = 0; i < 6; ++i)
      delivered[a].push_back(sim.deliver(
          a, mime("C <c" + std::to_string(i) + "@customer.test>", a,
                  "Request " + std::to_string(i), a + "-r" + std::to_string(i))));
    for (int i = 0; i < 2; ++i)
      delivered[a].push_back(sim.deliver(
          a, mime("C <c@customer.test>", a, "Re: Request", a + "-re" + std::to_string(i),
                  "In-Reply-To: <" + a + "-r" + std::to_string(i) + ">\r\n")));
    delivered[a].push_back(sim.deliver(
        a, mime("C <c@customer.test>", a, "Big", a + "-big"), {{"size", 1'000'000'000}}));
    delivered[a].push_back(
        sim.deliver(a, mime("C <c@customer.test>", "", "No To", a + "-nt")));
  }
  for (const auto& [a, ids] : delivered)
    wait_labelled(a, ids);
  auto all = tickets(key);
  CAF_CHECK_EQUAL(all.size(), 120u);
  std::size_t comments = 0;
  for (const auto& t : all)
    comments += t.at("comments").size();
  CAF_CHECK_EQUAL(comments, 160u);
  CAF_CHECK_EQUAL(rejections(key).size(), 40u);
  check_graph_sim_clean();
}

CAF_TEST_FIXTURE_SCOPE_END()

#define CAF_SUITE daemon_ingest_depth
#include <caf/test/unit_test.hpp>

#include "ingest_fixture.hpp"

#include <map>
#include <set>

using nlohmann::json;

namespace {

const std::string customer = "Jana <jana@customer.test>";
const std::string to = "Support <support@contoso.test>";

struct depth_fixture : ingest_daemon_fixture {
  depth_fixture() { start_daemon(); }
};

/// Shortened windows on both sides: graph-sim counts more than 5 downloads per 2 s as
/// violations, exconnectd holds 5 per 2 s.
struct backlog_fixture : ingest_daemon_fixture {
  backlog_fixture() : ingest_daemon_fixture({"--fetch-rate", "5/2"}) {
    start_daemon({"--fetch-rate", "5/2"});
  }
};

/// graph-sim with faults from a fixed seed: 5 % errors (5xx and 429 with decimal
/// Retry-After), 1 % dropped connections, latency jitter.
struct fault_fixture : ingest_daemon_fixture {
  // A message whose step met an injected fault is tried again after 1 s, not the
  // default 30 s, so that the run ends within the test's time.
  fault_fixture() { start_daemon({"--retry-initial", "1"}); }
  void inject_faults() {
    sim.control("PUT", "/faults",
                {{"seed", 20261126},
                 {"error_rate", 0.05},
                 {"error_statuses", {500, 502, 503, 504, 429}},
                 {"retry_after", "decimal"},
                 {"retry_after_seconds", 0.3},
                 {"drop_rate", 0.01},
                 {"latency_ms", {{"min", 0}, {"max", 15}}}});
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(daemon_ingest_depth_tests, depth_fixture)

CAF_TEST(automatic mail never opens a ticket and threaded it is a flagged comment) {
  auto key = create_account("A").at("api_key").get<std::string>();
  connect(key, "support@contoso.test");
  auto request = sim.deliver("support@contoso.test",
                             mime(customer, to, "Invoice", "req@customer.test"));
  wait_labelled("support@contoso.test", {request});
  // An out-of-office reply to the ticket's mail: a comment, flagged.
  auto ooo =
      sim.deliver("support@contoso.test",
                  mime(customer, to, "Automatic reply: Invoice", "ooo@customer.test",
                       "Auto-Submitted: auto-replied\r\n"
                       "In-Reply-To: <req@customer.test>\r\n"));
  // One mail for every rule, replying to nothing: each rejected as auto_submitted.
  std::map<std::string, std::string> rules = {
      {"auto-submitted", "Auto-Submitted: auto-generated\r\n"},
      {"x-autoreply", "X-Autoreply: yes\r\n"},
      {"x-autorespond", "X-Autorespond: yes\r\n"},
      {"x-autoresponder", "X-Autoresponder: yes\r\n"},
      {"suppress", "X-Auto-Response-Suppress: All\r\n"},
      {"precedence", "Precedence: auto_reply\r\n"},
      {"x-precedence", "X-Precedence: junk\r\n"},
      {"failed", "X-Failed-Recipients: gone@customer.test\r\n"},
      {"return-path", "Return-Path: <>\r\n"}};
  std::map<std::string, std::string> ids; // Graph id -> rule
  std::vector<std::string> all{ooo};
  for (const auto& [name, header] : rules) {
    auto id = sim.deliver("support@contoso.test", mime(customer, to, "Rule " + name,
                                                       name + "@customer.test", header));
    ids[id] = name;
    all.push_back(id);
  }
  auto daemon_mail =
      sim.deliver("support@contoso.test",
                  mime("Mail Delivery System <MAILER-DAEMON@mx.customer.test>", to,
                       "Undeliverable: Invoice", "bounce@customer.test"));
  ids[daemon_mail] = "mailer-daemon";
  all.push_back(daemon_mail);
  auto report = sim.deliver(
      "support@contoso.test",
      "From: postmaster@customer.test\r\nTo: support@contoso.test\r\n"
      "Subject: Delivery Status Notification (Failure)\r\n"
      "Message-ID: <dsn@customer.test>\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/report; report-type=delivery-status; "
      "boundary=\"b\"\r\n\r\n"
      "--b\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n"
      "--b\r\nContent-Type: message/delivery-status\r\n\r\nStatus: 5.1.1\r\n--b--\r\n");
  ids[report] = "delivery-status";
  all.push_back(report);
  wait_labelled("support@contoso.test", all);

  auto tickets_now = tickets(key);
  CAF_REQUIRE_EQUAL(tickets_now.size(), 1u); // only the request
  auto comments = tickets_now[0].at("comments");
  CAF_REQUIRE_EQUAL(comments.size(), 2u);
  CAF_CHECK_EQUAL(comments[1].at("auto_generated"), true);
  CAF_CHECK_EQUAL(comments[0].at("auto_generated"), false);
  std::map<std::string, json> by_message;
  for (const auto& r : rejections(key))
    by_message[r.at("message_id")] = r;
  for (const auto& [id, name] : ids) {
    CAF_CHECK_EQUAL(by_message[id].value("reason", "<none>"), "auto_submitted");
    if (by_message[id].value("reason", "") != "auto_submitted")
      CAF_MESSAGE("rule " << name << " was not applied");
  }
  auto box = sim_messages("support@contoso.test");
  for (const auto& [id, name] : ids)
    CAF_CHECK(has(box.at(id), "RejectedByZendesk"));
  CAF_CHECK(!has(box.at(ooo), "RejectedByZendesk"));
}

CAF_TEST(mailing list mail opens tickets unless the account rejects it) {
  auto key = create_account("A").at("api_key").get<std::string>();
  CAF_CHECK_EQUAL(
      call_json("GET", "/api/v1/account", key).at("list_mail").get<std::string>(),
      "ticket");
  connect(key, "support@contoso.test");
  // From a customer's group address: tickets, by default.
  auto group =
      sim.deliver("support@contoso.test", mime(customer, to, "Group", "g1@customer.test",
                                               "List-Id: Team <team.customer.test>\r\n"));
  auto bulk =
      sim.deliver("support@contoso.test",
                  mime(customer, to, "Bulk", "g2@customer.test", "Precedence: bulk\r\n"));
  wait_labelled("support@contoso.test", {group, bulk});
  CAF_CHECK_EQUAL(tickets(key).size(), 2u);
  // The account changes its mind: new list mail is rejected, replies still thread.
  call_json("PATCH", "/api/v1/account", key, json{{"list_mail", "reject"}});
  auto listed = sim.deliver(
      "support@contoso.test",
      mime(customer, to, "Newsletter", "g3@customer.test", "Precedence: list\r\n"));
  auto reply = sim.deliver("support@contoso.test",
                           mime(customer, to, "Re: Group", "g4@customer.test",
                                "List-Id: Team <team.customer.test>\r\n"
                                "In-Reply-To: <g1@customer.test>\r\n"));
  wait_labelled("support@contoso.test", {listed, reply});
  CAF_CHECK_EQUAL(tickets(key).size(), 2u);
  auto refused = rejections(key);
  CAF_REQUIRE_EQUAL(refused.size(), 1u);
  CAF_CHECK_EQUAL(refused[0].at("reason").get<std::string>(), "mailing_list");
  CAF_CHECK_EQUAL(refused[0].at("message_id"), listed);
  CAF_CHECK(has(sim_messages("support@contoso.test").at(listed), "RejectedByZendesk"));
  CAF_CHECK_EQUAL(call("PATCH", "/api/v1/account", key, R"({"list_mail":"drop"})").status,
                  400u);
}

CAF_TEST(an admin recovers a rejected mail into a ticket once) {
  auto key = create_account("A").at("api_key").get<std::string>();
  connect(key, "support@contoso.test");
  auto robot = sim.deliver("support@contoso.test",
                           mime(customer, to, "Out of office", "r1@customer.test",
                                "Auto-Submitted: auto-replied\r\n"));
  auto junk = sim.deliver("support@contoso.test", "This is not a mail header at all\r\n");
  wait_labelled("support@contoso.test", {robot, junk});
  CAF_REQUIRE_EQUAL(tickets(key).size(), 0u);
  std::map<std::string, json> by_message;
  for (const auto& r : rejections(key))
    by_message[r.at("message_id")] = r;
  CAF_CHECK(by_message.at(robot).at("recovered").is_null());
  auto id = by_message.at(robot).at("id").get<std::string>();
  auto path = "/api/v1/rejections/" + id + "/recover";
  auto res = call("POST", path, key);
  CAF_REQUIRE_EQUAL(res.status, 200u);
  auto view = json::parse(res.body);
  CAF_CHECK_EQUAL(view.at("recovered").at("outcome").get<std::string>(), "ticket");
  auto ticket_id = view.at("recovered").at("ticket_id").get<std::string>();
  auto ticket = call_json("GET", "/api/v1/tickets/" + ticket_id, key);
  CAF_CHECK_EQUAL(ticket.at("subject").get<std::string>(), "Out of office");
  // The rejected label goes; the processed one stays.
  CAF_CHECK(test::eventually(
      [&] {
        return !has(sim_messages("support@contoso.test").at(robot), "RejectedByZendesk");
      },
      std::chrono::seconds(10), std::chrono::milliseconds(100)));
  CAF_CHECK(has(sim_messages("support@contoso.test").at(robot), "Zendesk"));
  // Once only, and only the caller's.
  auto again = call("POST", path, key);
  CAF_CHECK_EQUAL(again.status, 409u);
  CAF_CHECK_EQUAL(error_code(again), "already_recovered");
  auto other = create_account("B").at("api_key").get<std::string>();
  CAF_CHECK_EQUAL(call("POST", path, other).status, 404u);
  CAF_CHECK_EQUAL(call("POST", "/api/v1/rejections/rej_none/recover", key).status, 404u);
  // Mail that cannot be read: a ticket that says so, the mail attached.
  auto unreadable = call("POST",
                         "/api/v1/rejections/" +
                             by_message.at(junk).at("id").get<std::string>() + "/recover",
                         key);
  CAF_REQUIRE_EQUAL(unreadable.status, 200u);
  auto junk_ticket = call_json(
      "GET",
      "/api/v1/tickets/" +
          json::parse(unreadable.body).at("recovered").at("ticket_id").get<std::string>(),
      key);
  CAF_CHECK_EQUAL(
      junk_ticket.at("comments")[0].at("attachments")[0].at("name").get<std::string>(),
      "message.eml");
  CAF_CHECK_EQUAL(tickets(key).size(), 2u);
}

CAF_TEST(a subject token threads a fresh mail and a forged one does not ) {
  auto key = create_account("A").at("api_key").get<std::string>();
  connect(key, "support@contoso.test");
  auto first = sim.deliver("support@contoso.test",
                           mime(customer, to, "Printer", "p1@customer.test"));
  wait_labelled("support@contoso.test", {first});
  auto ticket = tickets(key).at(0);
  auto token = ticket.at("token").get<std::string>();
  auto id = ticket.at("id").get<std::string>();
  // A new mail from another address (no In-Reply-To) with the token in the subject.
  auto fresh =
      sim.deliver("support@contoso.test", mime("Tom <tom@customer.test>", to,
                                               "Again " + token, "p2@customer.test"));
  auto forged = sim.deliver(
      "support@contoso.test",
      mime("Eve <eve@evil.test>", to, "[#" + id + "-abcdef] hi", "p3@customer.test"));
  wait_labelled("support@contoso.test", {fresh, forged});
  auto all = tickets(key);
  CAF_REQUIRE_EQUAL(all.size(), token.find("-abcdef]") == std::string::npos ? 2u : 1u);
  CAF_CHECK_EQUAL(all[0].at("comments").size(), 2u);
  CAF_CHECK_EQUAL(all[0].at("comments")[1].at("author").at("email"), "tom@customer.test");
  CAF_CHECK_EQUAL(all[1].at("requester").at("email"), "eve@evil.test");
}

CAF_TEST(html only mail gets a text body and inline images are told from attachments) {
  auto key = create_account("A").at("api_key").get<std::string>();
  connect(key, "support@contoso.test");
  auto id = sim.deliver(
      "support@contoso.test",
      "From: " + customer + "\r\nTo: " + to +
          "\r\nSubject: Screenshot\r\nMessage-ID: <html@customer.test>\r\n"
          "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"m\"\r\n\r\n"
          "--m\r\nContent-Type: multipart/related; boundary=\"r\"\r\n\r\n"
          "--r\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
          "<html><body><p>See the error:</p><img src=\"cid:shot@x\"><p>Thanks &amp; "
          "bye</p></body></html>\r\n"
          "--r\r\nContent-Type: image/png\r\nContent-ID: <shot@x>\r\n"
          "Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--r--\r\n"
          "--m\r\nContent-Type: application/pdf; name=\"invoice.pdf\"\r\n"
          "Content-Disposition: attachment; filename=\"invoice.pdf\"\r\n"
          "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--m--\r\n");
  wait_labelled("support@contoso.test", {id});
  auto comment = tickets(key).at(0).at("comments").at(0);
  CAF_CHECK_EQUAL(comment.at("body_text"), "See the error:\n\nThanks & bye");
  CAF_CHECK(comment.at("body_html").is_string());
  std::map<std::string, json> parts;
  for (const auto& a : comment.at("attachments"))
    parts[a.at("content_type").get<std::string>()] = a;
  CAF_CHECK_EQUAL(parts.at("image/png").at("inline"), true);
  CAF_CHECK_EQUAL(parts.at("application/pdf").at("inline"), false);
  CAF_CHECK_EQUAL(parts.at("application/pdf").at("name"), "invoice.pdf");
  CAF_CHECK_EQUAL(parts.at("application/pdf").at("stored"), true);
}

CAF_TEST_FIXTURE_SCOPE_END()

CAF_TEST_FIXTURE_SCOPE(daemon_ingest_backlog_tests, backlog_fixture)

CAF_TEST(a backlog drains within the fetch rate while another mailbox is served) {
  auto key = create_account("A").at("api_key").get<std::string>();
  connect(key, "support@contoso.test");
  connect(key, "sales@contoso.test");
  std::vector<std::string> backlog;
  for (int i = 0; i < 15; ++i)
    backlog.push_back(sim.deliver("support@contoso.test",
                                  test::sample_mail("backlog-" + std::to_string(i))));
  auto other = sim.deliver("sales@contoso.test",
                           test::sample_mail("other", "sales@contoso.test", "Quote"));
  // The second mailbox is not held up by the first one's backlog.
  wait_labelled("sales@contoso.test", {other});
  auto support = sim_messages("support@contoso.test");
  std::size_t done = 0;
  for (const auto& id : backlog)
    done += has(support.at(id), "Zendesk") ? 1 : 0;
  CAF_CHECK_LESS(done, backlog.size());
  wait_labelled("support@contoso.test", backlog);
  CAF_CHECK_EQUAL(tickets(key).size(), 16u);
  check_graph_sim_clean();
}

CAF_TEST_FIXTURE_SCOPE_END()

CAF_TEST_FIXTURE_SCOPE(daemon_ingest_fault_tests, fault_fixture)

CAF_TEST(every mail ends as one ticket or one labelled rejection despite faults) {
  auto key = create_account("A").at("api_key").get<std::string>();
  std::vector<std::string> addresses{"a@contoso.test", "b@contoso.test",
                                     "c@contoso.test"};
  for (const auto& a : addresses)
    connect(key, a);
  inject_faults();
  std::map<std::string, std::vector<std::string>> delivered;
  for (const auto& a : addresses)
    for (int i = 0; i < 20; ++i) {
      auto tag = a.substr(0, 1) + std::to_string(i);
      // Every fifth mail has no To: a rejection.
      delivered[a].push_back(
          sim.deliver(a, mime(customer, i % 5 == 4 ? "" : a, "Fault " + tag,
                              tag + "@customer.test")));
    }
  // A request that a fault leaves unanswered costs its mailbox the HTTP client's 30 s
  // timeout before the retry: allow for one.
  for (const auto& [a, ids] : delivered)
    wait_labelled(a, ids, std::chrono::seconds(90));
  auto all = tickets(key);
  CAF_CHECK_EQUAL(all.size(), 48u);
  std::set<std::string> messages;
  for (const auto& t : all)
    messages.insert(t.at("comments")[0].at("internet_message_id").get<std::string>());
  CAF_CHECK_EQUAL(messages.size(), 48u); // none twice
  CAF_CHECK_EQUAL(rejections(key).size(), 12u);
  for (const auto& [a, ids] : delivered) {
    auto box = sim_messages(a);
    for (std::size_t i = 0; i < ids.size(); ++i)
      CAF_CHECK_EQUAL(has(box.at(ids[i]), "RejectedByZendesk"), i % 5 == 4);
  }
  auto faults = sim.control("GET", "/stats").at("faults");
  CAF_MESSAGE("faults injected: " << faults.dump());
  CAF_CHECK_GREATER(faults.at("errors").get<int>(), 0);
}

CAF_TEST_FIXTURE_SCOPE_END()

#define CAF_SUITE daemon_outbound
#include <caf/test/unit_test.hpp>

#include "ingest_fixture.hpp"

#include "mail/parse.hpp"
#include "net/time_format.hpp"
#include "net/url.hpp"

#include <algorithm>
#include <csignal>
#include <map>
#include <set>

using nlohmann::json;

namespace {

const std::string support = "support@contoso.test";

struct outbound_fixture : ingest_daemon_fixture {
  explicit outbound_fixture(const std::vector<std::string>& sim_args = {})
      : ingest_daemon_fixture(sim_args) {}

  /// graph-sim's log of what the mailbox sent, oldest first.
  json sent(const std::string& address) { return sim.sent(address); }

  /// Waits (30 s) until graph-sim's log of the mailbox holds `n` mails; returns it.
  json wait_sent(const std::string& address, std::size_t n) {
    json log;
    auto done = test::eventually(
        [&] {
          log = sent(address);
          return log.size() >= n;
        },
        std::chrono::seconds(30), std::chrono::milliseconds(50));
    if (!done) {
      auto logs = daemon_logs();
      CAF_MESSAGE(address << ": " << log.size() << " of " << n
                          << " sent; daemon log tail:\n"
                          << logs.substr(logs.size() > 4000 ? logs.size() - 4000 : 0));
    }
    CAF_CHECK(done);
    return log;
  }

  json outbox(const std::string& key, const std::string& mailbox = {}) {
    return call_json("GET",
                     "/api/v1/outbox" + (mailbox.empty() ? "" : "?mailbox_id=" + mailbox),
                     key)
        .at("emails");
  }

  /// Waits (`timeout`) until no email of the mailbox is queued or sending.
  json wait_outbox_settled(const std::string& key, const std::string& mailbox,
                           std::chrono::seconds timeout = std::chrono::seconds(30)) {
    json list;
    auto done = test::eventually(
        [&] {
          list = outbox(key, mailbox);
          for (const auto& e : list)
            if (e.at("state") == "queued" || e.at("state") == "sending") return false;
          return true;
        },
        timeout, std::chrono::milliseconds(50));
    CAF_CHECK(done);
    return list;
  }

  json comment(const std::string& key, const std::string& ticket, const json& body,
               unsigned status = 202) {
    return call_json("POST", "/api/v1/tickets/" + ticket + "/comments", key, body,
                     status);
  }

  json send_status() { return sim.control("GET", "/stats").at("send"); }
};

std::string header(const mail::message& m, const char* name) {
  auto* v = mail::find_header(m, name);
  return v ? *v : std::string{"(missing)"};
}

mail::message parsed(const json& sent_entry) {
  auto r = mail::parse(sent_entry.at("mime").get<std::string>());
  CAF_REQUIRE(r.parsed);
  return r.msg;
}

std::int64_t epoch_ms(const json& rfc3339) {
  auto t = net::parse_rfc3339(rfc3339.get<std::string>());
  CAF_REQUIRE(t.has_value());
  return std::chrono::duration_cast<std::chrono::milliseconds>(t->time_since_epoch())
      .count();
}

struct reply_fixture : outbound_fixture {
  reply_fixture() { start_daemon(); }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(daemon_outbound_tests, reply_fixture)

CAF_TEST(a public comment is mailed with its headers and the answer threads back) {
  auto account = create_account("A");
  auto key = account.at("api_key").get<std::string>();
  auto account_id = account.at("id").get<std::string>();
  auto mbx = connect(key, support).at("id").get<std::string>();
  connect(key, "sales@contoso.test");
  auto first = sim.deliver(
      support, mime("Jana <jana@customer.test>", "Support <support@contoso.test>",
                    "Printer jammed", "req1@customer.test",
                    "Cc: Tom <tom@customer.test>, sales@contoso.test\r\n"));
  wait_labelled(support, {first});
  auto all = tickets(key);
  CAF_REQUIRE_EQUAL(all.size(), 1u);
  auto ticket_id = all[0].at("id").get<std::string>();
  auto token = all[0].at("token").get<std::string>();

  auto queued = comment(key, ticket_id, {{"body", "We are on it.\nRegards"}});
  auto email_id = queued.at("email_id").get<std::string>();
  auto log = wait_sent(support, 1);
  CAF_REQUIRE_EQUAL(log.size(), 1u);
  auto m = parsed(log[0]);
  CAF_REQUIRE(m.from.has_value());
  CAF_CHECK_EQUAL(m.from->email, support);
  CAF_REQUIRE_EQUAL(m.to.size(), 1u);
  CAF_CHECK_EQUAL(m.to[0].email, "jana@customer.test");
  // The ticket's CCs, but never a connected mailbox.
  CAF_REQUIRE_EQUAL(m.cc.size(), 1u);
  CAF_CHECK_EQUAL(m.cc[0].email, "tom@customer.test");
  CAF_CHECK_EQUAL(m.subject, "Re: Printer jammed " + token);
  CAF_CHECK_EQUAL(m.in_reply_to, "req1@customer.test");
  CAF_CHECK_EQUAL(m.references, std::vector<std::string>{"req1@customer.test"});
  CAF_CHECK_EQUAL(header(m, "Auto-Submitted"), "auto-generated");
  CAF_CHECK_EQUAL(header(m, "X-Auto-Response-Suppress"), "All");
  CAF_CHECK_EQUAL(header(m, "X-Mailer"), "Zendesk Mailer");
  CAF_CHECK_EQUAL(header(m, "X-Zendesk-From-Account-Id"), account_id);
  CAF_CHECK_EQUAL(header(m, "X-Zendesk-Email-Id"), email_id);
  CAF_CHECK(m.text_body.find("We are on it.") != std::string::npos);
  CAF_CHECK(m.html_body.find("We are on it.") != std::string::npos);
  CAF_CHECK_EQUAL(log[0].at("internet_message_id").get<std::string>(),
                  "<" + m.message_id + ">");
  CAF_CHECK(m.message_id.find(email_id) != std::string::npos);

  auto box = wait_outbox_settled(key, mbx);
  CAF_REQUIRE_EQUAL(box.size(), 1u);
  CAF_CHECK_EQUAL(box[0].at("state"), "sent");
  CAF_CHECK_EQUAL(box[0].at("ticket_id"), ticket_id);
  CAF_CHECK(!box[0].at("sent_at").is_null());
  CAF_CHECK_EQUAL(json(mailbox(key, mbx).at("counters").at("sent")), 1);
  auto ticket = call_json("GET", "/api/v1/tickets/" + ticket_id, key);
  CAF_CHECK_EQUAL(ticket.at("status"), "pending");
  CAF_CHECK_EQUAL(ticket.at("comments")[1].at("author").at("type"), "agent");

  // The customer answers the notification: a comment on the same ticket.
  auto answer = sim.deliver(
      support, mime("Jana <jana@customer.test>", support, m.subject, "req2@customer.test",
                    "In-Reply-To: <" + m.message_id + ">\r\nReferences: <" +
                        m.message_id + ">\r\n"));
  wait_labelled(support, {answer});
  all = tickets(key);
  CAF_CHECK_EQUAL(all.size(), 1u);
  ticket = call_json("GET", "/api/v1/tickets/" + ticket_id, key);
  CAF_CHECK_EQUAL(ticket.at("comments").size(), 3u);
  CAF_CHECK_EQUAL(ticket.at("status"), "open");

  // A private comment is not mailed.
  auto note = comment(key, ticket_id, {{"body", "internal note"}, {"public", false}});
  CAF_CHECK(note.at("email_id").is_null());
  CAF_CHECK_EQUAL(outbox(key).size(), 1u);
  // A second reply threads after the customer's newest message.
  comment(key, ticket_id, {{"body", "Fixed."}, {"html", "<p>Fixed.</p>"}});
  log = wait_sent(support, 2);
  auto second = parsed(log.at(1));
  CAF_CHECK_EQUAL(second.in_reply_to, "req2@customer.test");
  CAF_CHECK_EQUAL(second.references.size(), 3u);
  CAF_CHECK(second.html_body.find("<p>Fixed.</p>") != std::string::npos);
  CAF_CHECK_EQUAL(json(send_status().at("throttled")), 0);
}

CAF_TEST(mail for an external helpdesk carries the account header names) {
  auto account = create_account("A");
  auto key = account.at("api_key").get<std::string>();
  auto mbx = connect(key, support).at("id").get<std::string>();
  call_json("PATCH", "/api/v1/account", key,
            {{"headers",
              {{"account_id", "X-Acme-Account"},
               {"email_id", "X-Acme-Email"},
               {"mailer", "Acme Desk"}}}});
  auto queued =
      call_json("POST", "/api/v1/mailboxes/" + mbx + "/outbound", key,
                {{"to", {"a@ext.test", {{"email", "b@ext.test"}, {"name", "Bea"}}}},
                 {"cc", {"c@ext.test"}},
                 {"subject", "Your request"},
                 {"body_text", "Hello"},
                 {"in_reply_to", "<x1@ext.test>"},
                 {"references", {"x0@ext.test", "<x1@ext.test>"}}},
                202);
  auto log = wait_sent(support, 1);
  auto m = parsed(log[0]);
  CAF_CHECK_EQUAL(m.to.size(), 2u);
  CAF_CHECK_EQUAL(m.to[1].name, "Bea");
  CAF_CHECK_EQUAL(m.cc.size(), 1u);
  CAF_CHECK_EQUAL(m.subject, "Your request");
  CAF_CHECK_EQUAL(m.in_reply_to, "x1@ext.test");
  CAF_CHECK_EQUAL(m.references.size(), 2u);
  CAF_CHECK_EQUAL(header(m, "X-Acme-Account"), account.at("id").get<std::string>());
  CAF_CHECK_EQUAL(header(m, "X-Acme-Email"), queued.at("email_id").get<std::string>());
  CAF_CHECK_EQUAL(header(m, "X-Mailer"), "Acme Desk");
  CAF_CHECK_EQUAL(header(m, "X-Zendesk-Email-Id"), "(missing)");
  auto box = wait_outbox_settled(key, mbx);
  CAF_CHECK(box[0].at("ticket_id").is_null());
}

CAF_TEST(a request repeated with its Idempotency - Key queues nothing new) {
  auto key = create_account("A").at("api_key").get<std::string>();
  auto mbx = connect(key, support).at("id").get<std::string>();
  auto first_mail = sim.deliver(
      support, mime("Jana <jana@customer.test>", support, "Help", "help1@customer.test"));
  wait_labelled(support, {first_mail});
  auto ticket = tickets(key).at(0).at("id").get<std::string>();
  auto post = [&](const std::string& path, const json& body, const std::string& k) {
    return call("POST", path, key, body.dump(),
                {{"Content-Type", "application/json"}, {"Idempotency-Key", k}});
  };
  auto replayed = [](const net::client_response& res) {
    for (const auto& [name, value] : res.headers)
      if (net::iequals(name, "Idempotent-Replayed")) return value == "true";
    return false;
  };
  // A client that lost the answer sends again: the same comment, one mail.
  auto path = "/api/v1/tickets/" + ticket + "/comments";
  auto first = post(path, {{"body", "On it."}}, "retry-1");
  auto again = post(path, {{"body", "On it."}}, "retry-1");
  CAF_CHECK_EQUAL(first.status, 202u);
  CAF_CHECK_EQUAL(again.status, 202u);
  CAF_CHECK_EQUAL(first.body, again.body);
  CAF_CHECK(!replayed(first));
  CAF_CHECK(replayed(again));
  // The same for mail to an external helpdesk.
  auto outbound = "/api/v1/mailboxes/" + mbx + "/outbound";
  json mail = {{"to", {"a@ext.test"}}, {"subject", "s"}, {"body_text", "b"}};
  auto out1 = post(outbound, mail, "retry-2");
  auto out2 = post(outbound, mail, "retry-2");
  CAF_CHECK_EQUAL(out1.body, out2.body);
  CAF_CHECK(replayed(out2));
  // A key used for one ticket cannot queue something else.
  auto reused = post(outbound, mail, "retry-1");
  CAF_CHECK_EQUAL(reused.status, 409u);
  CAF_CHECK_EQUAL(error_code(reused), "idempotency_key_reused");
  CAF_CHECK_EQUAL(post(path, {{"body", "x"}}, "bad key").status, 400u);
  auto box = wait_outbox_settled(key, mbx);
  CAF_CHECK_EQUAL(box.size(), 2u);
  CAF_CHECK_EQUAL(sent(support).size(), 2u);
  auto comments = call_json("GET", "/api/v1/tickets/" + ticket, key).at("comments");
  CAF_CHECK_EQUAL(comments.size(), 2u);
}

CAF_TEST(bad outbound requests are refused and mail that cannot go fails with a reason) {
  auto key = create_account("A").at("api_key").get<std::string>();
  auto mbx = connect(key, support).at("id").get<std::string>();
  auto outbound = "/api/v1/mailboxes/" + mbx + "/outbound";
  json good = {{"to", {"a@ext.test"}}, {"subject", "s"}, {"body_text", "b"}};
  auto refused = [&](json body, const std::string& field) {
    auto res =
        call("POST", outbound, key, body.dump(), {{"Content-Type", "application/json"}});
    CAF_CHECK_EQUAL(res.status, 400u);
    auto j = json::parse(res.body, nullptr, false);
    CAF_CHECK_EQUAL(j.value("/error/field"_json_pointer, std::string{}), field);
  };
  auto with = [&](const char* name, json value) {
    auto b = good;
    b[name] = std::move(value);
    return b;
  };
  refused(with("to", json::array()), "to");
  refused(with("to", {"not an address"}), "to");
  refused(with("to", {"a@ext.test\r\nBcc: x@evil.test"}), "to");
  refused(with("cc", {"sales@contoso.test", support}), "cc"); // a loop
  refused(with("in_reply_to", "no id"), "in_reply_to");
  refused(with("references", "x@y"), "references");
  refused(with("subject", 5), "subject");
  refused(with("bcc", {"a@b.test"}), "bcc");
  CAF_CHECK_EQUAL(call("POST", "/api/v1/mailboxes/mbx_nope/outbound", key, good.dump(),
                       {{"Content-Type", "application/json"}})
                      .status,
                  404u);
  CAF_CHECK_EQUAL(call("POST", "/api/v1/tickets/t_nope/comments", key,
                       json{{"body", "x"}}.dump(), {{"Content-Type", "application/json"}})
                      .status,
                  404u);

  // Too many recipients, or refused by Exchange: failed with the reason; the next
  // mail still goes.
  json many = json::array();
  for (int i = 0; i < 501; ++i)
    many.push_back("r" + std::to_string(i) + "@ext.test");
  sim.control("PUT", "/send", {{"reject_recipients", {"gone@ext.test"}}});
  auto too_many = call_json("POST", outbound, key, with("to", many), 202);
  auto rejected = call_json("POST", outbound, key, with("to", {"gone@ext.test"}), 202);
  call_json("POST", outbound, key, good, 202);
  auto box = wait_outbox_settled(key, mbx);
  CAF_REQUIRE_EQUAL(box.size(), 3u);
  std::map<std::string, json> by_id;
  for (const auto& e : box)
    by_id[e.at("email_id").get<std::string>()] = e;
  auto& many_email = by_id.at(too_many.at("email_id").get<std::string>());
  CAF_CHECK_EQUAL(many_email.at("state"), "failed");
  CAF_CHECK_EQUAL(many_email.at("error").at("code"), "too_many_recipients");
  auto& gone_email = by_id.at(rejected.at("email_id").get<std::string>());
  CAF_CHECK_EQUAL(gone_email.at("state"), "failed");
  CAF_CHECK_EQUAL(gone_email.at("error").at("code"), "ErrorInvalidRecipients");
  CAF_CHECK(gone_email.at("error").at("message").get<std::string>().find(
                "gone@ext.test") != std::string::npos);
  CAF_CHECK_EQUAL(box[2].at("state"), "sent");
  CAF_CHECK_EQUAL(sent(support).size(), 1u);
  CAF_CHECK_EQUAL(json(mailbox(key, mbx).at("counters").at("failed")), 2);
  auto metrics = call("GET", "/metrics", "").body;
  CAF_CHECK_NOT_EQUAL(metrics.find("exconnect_outbound_emails_total{state=\"failed\","
                                   "code=\"ErrorInvalidRecipients\"} 1"),
                      std::string::npos);
}

CAF_TEST_FIXTURE_SCOPE_END()

namespace {

/// Short windows on both sides: 5 mails per 2 s.
struct limits_fixture : outbound_fixture {
  limits_fixture() : outbound_fixture({"--send-rate", "5/2"}) {
    daemon_args = {"--send-rate", "5/2"};
    start_daemon();
  }
};

/// 3 distinct recipients per 8 s on both sides.
struct recipients_fixture : outbound_fixture {
  recipients_fixture() : outbound_fixture({"--send-recipients", "3/8"}) {
    daemon_args = {"--send-recipients", "3/8"};
    start_daemon();
  }
};

/// graph-sim files the Sent Items copy after 1 s; exconnectd looks after 2 s.
struct crash_fixture : outbound_fixture {
  crash_fixture() : outbound_fixture({"--sent-items-delay", "1"}) {
    daemon_args = {"--sent-items-grace", "2"};
    start_daemon();
  }
};

json mail_to(const std::string& to, const std::string& subject) {
  return {{"to", {to}}, {"subject", subject}, {"body_text", "Hello"}};
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(daemon_outbound_limit_tests, limits_fixture)

CAF_TEST(a backlog drains at the allowed rate while another mailbox sends at once) {
  auto key = create_account("A").at("api_key").get<std::string>();
  auto busy = connect(key, support).at("id").get<std::string>();
  auto quiet = connect(key, "sales@contoso.test").at("id").get<std::string>();
  for (int i = 0; i < 30; ++i)
    call_json("POST", "/api/v1/mailboxes/" + busy + "/outbound", key,
              mail_to("jana@customer.test", "backlog " + std::to_string(i)), 202);
  auto other = call_json("POST", "/api/v1/mailboxes/" + quiet + "/outbound", key,
                         mail_to("tom@customer.test", "at once"), 202);
  auto quiet_box = wait_outbox_settled(key, quiet);
  auto busy_box = wait_outbox_settled(key, busy, std::chrono::seconds(60));
  CAF_REQUIRE_EQUAL(busy_box.size(), 30u);
  // The other mailbox did not wait for the backlog.
  auto other_sent = epoch_ms(quiet_box.at(0).at("sent_at"));
  CAF_CHECK_LESS(other_sent - epoch_ms(quiet_box.at(0).at("created_at")), 2000);
  CAF_CHECK_LESS(other_sent, epoch_ms(busy_box.at(29).at("sent_at")));
  // FIFO, within 5 per 2 s: 30 mails take at least 5 windows after the first 5.
  std::vector<std::int64_t> times;
  for (std::size_t i = 0; i < busy_box.size(); ++i) {
    CAF_CHECK_EQUAL(busy_box[i].at("state"), "sent");
    CAF_CHECK_EQUAL(busy_box[i].at("subject"), "backlog " + std::to_string(i));
    times.push_back(epoch_ms(busy_box[i].at("sent_at")));
  }
  for (std::size_t i = 5; i < times.size(); ++i)
    CAF_CHECK_GREATER_OR_EQUAL(times[i] - times[i - 5], 1000); // seconds resolution
  CAF_CHECK_GREATER_OR_EQUAL(times.back() - times.front(), 9000);
  auto stats = send_status();
  CAF_CHECK_EQUAL(json(stats.at("throttled")), 0);
  CAF_CHECK_EQUAL(json(stats.at("accepted")), 31);
  check_graph_sim_clean(); // no concurrency or request-rate 429 either
  CAF_CHECK_EQUAL(sent(support).size(), 30u);
  CAF_CHECK_EQUAL(other.at("email_id").is_string(), true);
  // The account's outbox, page by page across both mailboxes: every email once, in the
  // order it was queued.
  std::vector<std::string> paged;
  std::string after;
  for (int pages = 0; pages < 10; ++pages) {
    auto page = call_json(
        "GET", "/api/v1/outbox?limit=7" + (after.empty() ? "" : "&after=" + after), key);
    for (const auto& e : page.at("emails"))
      paged.push_back(e.at("email_id").get<std::string>());
    if (page.at("next").is_null()) break;
    after = page.at("next").get<std::string>();
  }
  CAF_REQUIRE_EQUAL(paged.size(), 31u);
  CAF_CHECK(std::is_sorted(paged.begin(), paged.end()));
  CAF_CHECK_EQUAL(std::set<std::string>(paged.begin(), paged.end()).size(), 31u);
  CAF_CHECK_EQUAL(paged.back(), other.at("email_id").get<std::string>());
  CAF_CHECK_EQUAL(call("GET", "/api/v1/outbox?limit=0", key).status, 400u);
}

CAF_TEST_FIXTURE_SCOPE_END()

CAF_TEST_FIXTURE_SCOPE(daemon_outbound_recipient_tests, recipients_fixture)

CAF_TEST(the recipient window survives a restart) {
  auto key = create_account("A").at("api_key").get<std::string>();
  auto mbx = connect(key, support).at("id").get<std::string>();
  auto outbound = "/api/v1/mailboxes/" + mbx + "/outbound";
  for (const char* to : {"r1@ext.test", "r2@ext.test", "r3@ext.test"})
    call_json("POST", outbound, key, mail_to(to, to), 202);
  auto first = wait_outbox_settled(key, mbx);
  auto third_sent = epoch_ms(first.at(2).at("sent_at"));
  restart_daemon();
  // A fourth recipient must wait for the window that began before the restart; one of
  // the three known ones behind it waits too (first in, first out).
  auto fourth = call_json("POST", outbound, key, mail_to("r4@ext.test", "r4"), 202);
  auto held = wait_mailbox(key, mbx, [](const json& v) {
    return !v.at("throttle").at("send").at("held_until").is_null();
  });
  CAF_CHECK(!held.at("throttle").at("send").at("held_until").is_null());
  auto waiting = outbox(key, mbx);
  CAF_REQUIRE_EQUAL(waiting.size(), 4u);
  CAF_CHECK_EQUAL(waiting[3].at("state"), "queued");
  auto all = wait_outbox_settled(key, mbx);
  CAF_REQUIRE_EQUAL(all.size(), 4u);
  CAF_CHECK_EQUAL(all[3].at("state"), "sent");
  // It went when the first send left the 8 s window, not before.
  CAF_CHECK_GREATER_OR_EQUAL(
      epoch_ms(all[3].at("sent_at")) - epoch_ms(all[0].at("sent_at")), 7000);
  CAF_CHECK_EQUAL(json(send_status().at("throttled")), 0);
  CAF_CHECK_EQUAL(sent(support).size(), 4u);
  CAF_CHECK_LESS(third_sent, epoch_ms(all[3].at("sent_at")));
  CAF_CHECK(fourth.at("email_id").is_string());
}

CAF_TEST_FIXTURE_SCOPE_END()

CAF_TEST_FIXTURE_SCOPE(daemon_outbound_crash_tests, crash_fixture)

CAF_TEST(a kill between Graph accepting a send and the outbox recording it sends once) {
  auto key = create_account("A").at("api_key").get<std::string>();
  auto mbx = connect(key, support).at("id").get<std::string>();
  for (int round = 0; round < 2; ++round) {
    // graph-sim takes the mail, files it, and holds its 202 back.
    sim.control("PUT", "/send", {{"hold_send_response_ms", 10'000}});
    auto before = sent(support).size();
    std::vector<std::string> ids;
    for (int i = 0; i < 3; ++i)
      ids.push_back(call_json("POST", "/api/v1/mailboxes/" + mbx + "/outbound", key,
                              mail_to("jana@customer.test", "crash " + std::to_string(i)),
                              202)
                        .at("email_id")
                        .get<std::string>());
    wait_sent(support, before + 1);
    CAF_CHECK_EQUAL(daemon->stop(SIGKILL), 128 + SIGKILL);
    sim.control("PUT", "/send", {{"hold_send_response_ms", 0}});
    start_daemon();
    auto box = wait_outbox_settled(key, mbx);
    for (const auto& e : box)
      CAF_CHECK_EQUAL(e.at("state"), "sent");
    // Every email once in graph-sim's log: none lost, none twice.
    std::map<std::string, int> times_sent;
    for (const auto& s : sent(support))
      ++times_sent[s.at("internet_message_id").get<std::string>()];
    CAF_CHECK_EQUAL(times_sent.size(), box.size());
    for (const auto& [id, n] : times_sent)
      CAF_CHECK_EQUAL(n, 1);
    CAF_CHECK_EQUAL(box.size(), 3u * (round + 1));
  }
  CAF_CHECK(daemon_logs().find("is in Sent Items: it was sent") != std::string::npos);
}

CAF_TEST_FIXTURE_SCOPE_END()

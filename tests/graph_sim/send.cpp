// graph-sim's sendMail: the MIME and JSON forms, Exchange's refusals (base64, MIME,
// recipients, send-as, custom headers, the 4 MB body cap, scopes), the send limits, the
// sent log, the delayed Sent Items copy and the response hold for crash tests.
#define CAF_SUITE graph_sim_send
#include <caf/test/unit_test.hpp>

#include "fixture.hpp"

#include "net/url.hpp"

#include <future>

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

namespace {

/// A reply from the support mailbox with the headers a helpdesk's auto-reply carries.
std::string outgoing_mail(const std::string& tag,
                          const std::string& to = "alice@customer.test",
                          const std::string& from = "support@contoso.test") {
  return "From: Support <" + from +
         ">\r\n"
         "To: Alice Example <" +
         to +
         ">\r\n"
         "Subject: Re: Printer on floor 3 is jammed\r\n"
         "Date: Tue, 24 Nov 2026 09:20:00 +0000\r\n"
         "Message-ID: <" +
         tag +
         "@contoso.test>\r\n"
         "In-Reply-To: <m1@customer.test>\r\n"
         "Auto-Submitted: auto-replied\r\n"
         "X-Auto-Response-Suppress: All\r\n"
         "X-Zendesk-Ticket-Id: 4711\r\n"
         "X-Zendesk-From-Account-Id: 17\r\n"
         "MIME-Version: 1.0\r\n"
         "Content-Type: text/plain; charset=utf-8\r\n"
         "\r\n"
         "We received your request (" +
         tag + ").\r\n";
}

/// A mail from the support mailbox to the given header lines (To/Cc/Bcc …).
std::string mail_to(const std::string& tag, const std::string& recipient_headers) {
  return "From: support@contoso.test\r\n" + recipient_headers + "Subject: " + tag +
         "\r\nDate: Tue, 24 Nov 2026 09:20:00 +0000\r\nMessage-ID: <" + tag +
         "@contoso.test>\r\n\r\nBody of " + tag + ".\r\n";
}

long long elapsed_ms(steady_clock::time_point since) {
  return std::chrono::duration_cast<milliseconds>(steady_clock::now() - since).count();
}

/// Base64 in lines of 76 characters, as MIME encoders write it.
std::string wrapped_base64(const std::string& data) {
  auto flat = net::base64_encode(data);
  std::string out;
  for (std::size_t i = 0; i < flat.size(); i += 76)
    out += flat.substr(i, 76) + "\r\n";
  return out;
}

struct send_fixture : sim_fixture {
  explicit send_fixture(const std::vector<std::string>& args = {}) : sim_fixture(args) {}

  std::string send_path(const std::string& address = {}) const {
    return "/users/" + (address.empty() ? mailbox : address) + "/sendMail";
  }

  /// sendMail in the MIME form: `body` as it goes on the wire (base64 text).
  net::client_response send_raw(const std::string& body, const std::string& address = {},
                                const std::string& with_token = {}) {
    return sim.graph("POST", send_path(address), with_token.empty() ? token : with_token,
                     body, {{"Content-Type", "text/plain"}});
  }

  net::client_response send_mime(const std::string& mime, const std::string& address = {},
                                 const std::string& with_token = {}) {
    return send_raw(net::base64_encode(mime), address, with_token);
  }

  /// sendMail in the JSON form.
  net::client_response send_json(const json& request) {
    return sim.graph("POST", send_path(), token, request.dump());
  }

  /// A JSON-form request to alice with the given internetMessageHeaders.
  static json json_mail(const json& headers = json::array()) {
    return {
        {"message",
         {{"subject", "Your request"},
          {"body", {{"contentType", "text"}, {"content", "We are on it."}}},
          {"toRecipients",
           {{{"emailAddress", {{"address", "alice@customer.test"}, {"name", "Alice"}}}}}},
          {"internetMessageHeaders", headers}}}};
  }

  json sent(const std::string& address = {}) {
    return sim.sent(address.empty() ? mailbox : address);
  }

  /// The ids Sent Items lists for one internetMessageId (the connector's lookup).
  std::vector<std::string> sent_items_with(const std::string& internet_message_id) {
    auto res = get("/users/" + mailbox + "/mailFolders/sentitems/messages?" +
                   net::encode_query(
                       {{"$filter", "internetMessageId eq '" + internet_message_id + "'"},
                        {"$select", "id,internetMessageId"}}));
    std::vector<std::string> ids;
    auto j = body(res);
    if (res.status == 200 && j.contains("value"))
      for (const auto& m : j["value"])
        if (m.value("internetMessageId", "") == internet_message_id)
          ids.push_back(m.value("id", ""));
    return ids;
  }

  /// The control API's id of the message with this internetMessageId ("" if none).
  std::string control_id(const std::string& internet_message_id) {
    auto messages = control_messages(mailbox);
    for (const auto& [id, m] : messages.items())
      if (m.value("internet_message_id", "") == internet_message_id) return id;
    return {};
  }

  /// A sendMail started in the background, for answers that are held back.
  std::future<net::client_response> send_async(const std::string& mime) {
    net::client_request req;
    req.method = "POST";
    req.url = sim.base() + "/v1.0" + send_path();
    req.headers = {{"Authorization", "Bearer " + token}, {"Content-Type", "text/plain"}};
    req.body = net::base64_encode(mime);
    auto done = std::make_shared<std::promise<net::client_response>>();
    auto answer = done->get_future();
    sim.client().async_request(std::move(req), [done](net::client_response res) {
      done->set_value(std::move(res));
    });
    return answer;
  }
};

struct delay_fixture : send_fixture {
  delay_fixture() : send_fixture({"--sent-items-delay", "1"}) {}
};

struct strip_fixture : send_fixture {
  strip_fixture() : send_fixture({"--strip-auto-submitted"}) {}
};

struct rate_fixture : send_fixture {
  rate_fixture() : send_fixture({"--send-rate", "3/60"}) {}
};

struct recipients_fixture : send_fixture {
  recipients_fixture() : send_fixture({"--send-recipients", "3/600"}) {}
};

struct bytes_fixture : send_fixture {
  bytes_fixture() : send_fixture({"--send-bytes", "1000/600"}) {}
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(graph_sim_send_tests, send_fixture)

CAF_TEST(a MIME send is accepted recorded byte for byte and filed in Sent Items) {
  auto mime = outgoing_mail("r1");
  // Line breaks in the base64 are allowed.
  auto res = send_raw(wrapped_base64(mime));
  CAF_CHECK_EQUAL(res.status, 202u);
  CAF_CHECK_EQUAL(res.body, "");
  auto log = sent();
  CAF_REQUIRE_EQUAL(log.size(), 1u);
  json record = log[0];
  CAF_CHECK_EQUAL(record["seq"], 1);
  CAF_CHECK_EQUAL(record["internet_message_id"], "<r1@contoso.test>");
  CAF_CHECK_EQUAL(record["from"], mailbox);
  CAF_CHECK_EQUAL(record["to"], json::array({"alice@customer.test"}));
  CAF_CHECK_EQUAL(record["cc"], json::array());
  CAF_CHECK_EQUAL(record["bcc"], json::array());
  CAF_CHECK_EQUAL(record["subject"], "Re: Printer on floor 3 is jammed");
  CAF_CHECK_EQUAL(record["size"], mime.size());
  CAF_CHECK_EQUAL(record["form"], "mime");
  CAF_CHECK(record["sent_at"].is_string());
  // Every custom header travels unchanged (the connector's loop protection).
  CAF_CHECK_EQUAL(record["mime"], mime);
  // Sent Items holds a read copy, found by internetMessageId as the connector finds it.
  auto ids = sent_items_with("<r1@contoso.test>");
  CAF_REQUIRE_EQUAL(ids.size(), 1u);
  auto copy = body(get(message_path(ids[0])));
  CAF_CHECK_EQUAL(copy["isRead"], true);
  CAF_CHECK_EQUAL(copy["categories"], json::array());
  CAF_CHECK_EQUAL(copy["subject"], "Re: Printer on floor 3 is jammed");
  CAF_CHECK_EQUAL(get(message_path(ids[0]) + "/$value").body, mime);
  CAF_CHECK_EQUAL(at(control_messages(mailbox), "/" + ids[0] + "/folder"), "sentitems");
  // Not in the inbox.
  CAF_CHECK_EQUAL(body(get(inbox()))["value"].size(), 0u);
  auto s = stats();
  CAF_CHECK_EQUAL(s["requests"]["send_mail"]["202"], 1);
  CAF_CHECK_EQUAL(s["send"]["accepted"], 1);
  CAF_CHECK_EQUAL(s["send"]["throttled"], 0);
}

CAF_TEST(me sendMail sends from the signed in user) {
  CAF_CHECK_EQUAL(sim.graph("POST", "/me/sendMail", token,
                            net::base64_encode(outgoing_mail("me1")),
                            {{"Content-Type", "text/plain"}})
                      .status,
                  202u);
  CAF_CHECK_EQUAL(sent().size(), 1u);
}

CAF_TEST(exchange completes a mail without From Message ID or Date) {
  auto mime = std::string{"To: alice@customer.test\r\nSubject: bare\r\n\r\nHi.\r\n"};
  CAF_CHECK_EQUAL(send_mime(mime).status, 202u);
  json record = sent().at(0);
  auto id = record["internet_message_id"].get<std::string>();
  CAF_CHECK(id.size() > 20 && id.front() == '<' && id.back() == '>' &&
            id.find("@graph-sim.local>") != std::string::npos);
  auto recorded = record["mime"].get<std::string>();
  CAF_CHECK(recorded.find("From: ") != std::string::npos);
  CAF_CHECK(recorded.find("Message-ID: " + id) != std::string::npos);
  CAF_CHECK(recorded.find("Date: ") != std::string::npos);
  CAF_CHECK_EQUAL(record["size"], recorded.size());
  CAF_CHECK_EQUAL(sent_items_with(id).size(), 1u);
}

CAF_TEST(bad base64 and unreadable MIME are refused) {
  auto res = send_raw("this is not base64!");
  CAF_CHECK_EQUAL(res.status, 400u);
  CAF_CHECK_EQUAL(error_code(res), "ErrorMimeContentInvalidBase64String");
  CAF_CHECK(has_graph_error_shape(res));
  res = send_raw(net::base64_encode(outgoing_mail("b1")).substr(1));
  CAF_CHECK_EQUAL(error_code(res), "ErrorMimeContentInvalidBase64String");
  res = send_mime("no header block at all");
  CAF_CHECK_EQUAL(res.status, 400u);
  CAF_CHECK_EQUAL(error_code(res), "ErrorMimeContentInvalid");
  CAF_CHECK_EQUAL(sent().size(), 0u);
  CAF_CHECK_EQUAL(stat("/send/accepted"), 0);
}

CAF_TEST(a mail without valid recipients is refused) {
  auto res = send_mime(mail_to("n1", ""));
  CAF_CHECK_EQUAL(res.status, 400u);
  CAF_CHECK_EQUAL(error_code(res), "ErrorInvalidRecipients");
  CAF_CHECK(body(res)["error"]
                .value("message", "")
                .rfind("At least one recipient is not valid.", 0) == 0);
  res = send_mime(mail_to("n2", "To: alice at customer\r\n"));
  CAF_CHECK_EQUAL(res.status, 400u);
  CAF_CHECK_EQUAL(error_code(res), "ErrorInvalidRecipients");
  // Bcc alone is enough.
  CAF_CHECK_EQUAL(
      send_mime(mail_to("n3", "Bcc: Hidden <hidden@customer.test>\r\n")).status, 202u);
  json record = sent().at(0);
  CAF_CHECK_EQUAL(record["bcc"], json::array({"hidden@customer.test"}));
  CAF_CHECK_EQUAL(record["to"], json::array());
}

CAF_TEST(more than 500 recipients are refused) {
  auto list = [](const char* prefix, int n) {
    std::string out;
    for (int i = 0; i < n; ++i)
      out += (i ? ", " : "") + std::string{prefix} + std::to_string(i) + "@customer.test";
    return out;
  };
  auto res =
      send_mime(mail_to("t1", "To: " + list("to", 300) + "\r\nCc: " + list("cc", 200) +
                                  "\r\nBcc: one@customer.test\r\n"));
  CAF_CHECK_EQUAL(res.status, 400u);
  CAF_CHECK_EQUAL(error_code(res), "ErrorTooManyRecipients");
  res = send_mime(
      mail_to("t2", "To: " + list("to", 300) + "\r\nCc: " + list("cc", 200) + "\r\n"));
  CAF_CHECK_EQUAL(res.status, 202u);
  json record = sent().at(0);
  CAF_CHECK_EQUAL(record["to"].size(), 300u);
  CAF_CHECK_EQUAL(record["cc"].size(), 200u);
}

CAF_TEST(recipients on the reject list are refused by name) {
  auto set =
      sim.control("PUT", "/send", {{"reject_recipients", {"Bounce@Customer.test"}}});
  CAF_CHECK_EQUAL(set["reject_recipients"], json::array({"bounce@customer.test"}));
  auto res =
      send_mime(mail_to("j1", "To: ok@customer.test\r\nCc: BOUNCE@customer.test\r\n"));
  CAF_CHECK_EQUAL(res.status, 400u);
  CAF_CHECK_EQUAL(error_code(res), "ErrorInvalidRecipients");
  CAF_CHECK(body(res)["error"].value("message", "").find("bounce@customer.test") !=
            std::string::npos);
  CAF_CHECK_EQUAL(send_mime(mail_to("j2", "To: ok@customer.test\r\n")).status, 202u);
  sim.control("PUT", "/send", {{"reject_recipients", json::array()}});
  CAF_CHECK_EQUAL(send_mime(mail_to("j3", "To: bounce@customer.test\r\n")).status, 202u);
}

CAF_TEST(a From of another address is ErrorSendAsDenied) {
  auto res = send_mime(outgoing_mail("f1", "alice@customer.test", "ceo@contoso.test"));
  CAF_CHECK_EQUAL(res.status, 403u);
  CAF_CHECK_EQUAL(error_code(res), "ErrorSendAsDenied");
  CAF_CHECK(has_graph_error_shape(res));
  // The address compares case-insensitively.
  CAF_CHECK_EQUAL(
      send_mime(outgoing_mail("f2", "alice@customer.test", "Support@Contoso.TEST"))
          .status,
      202u);
  CAF_CHECK_EQUAL(sent().size(), 1u);
}

CAF_TEST(a delegate sends as the shared mailbox with Mail Send Shared) {
  std::string team = "team@contoso.test";
  sim.create_mailbox(team, {{"shared", true}, {"delegates", {mailbox}}});
  auto mime = outgoing_mail("d1", "alice@customer.test", team);
  CAF_CHECK_EQUAL(send_mime(mime, team).status, 202u);
  CAF_CHECK_EQUAL(sent(team).size(), 1u);
  CAF_CHECK_EQUAL(sent().size(), 0u);
  // Mail.Send covers only the user's own mailbox.
  auto own_only = token_for("offline_access Mail.ReadWrite.Shared Mail.Send");
  auto res = send_mime(outgoing_mail("d2", "alice@customer.test", team), team, own_only);
  CAF_CHECK_EQUAL(res.status, 403u);
  CAF_CHECK_EQUAL(error_code(res), "ErrorAccessDenied");
  CAF_CHECK_EQUAL(send_mime(outgoing_mail("d3"), {}, own_only).status, 202u);
}

CAF_TEST(a token without a send scope is refused) {
  auto read_write = token_for("offline_access Mail.ReadWrite.Shared");
  auto res = send_mime(outgoing_mail("s1"), {}, read_write);
  CAF_CHECK_EQUAL(res.status, 403u);
  CAF_CHECK_EQUAL(error_code(res), "ErrorAccessDenied");
  CAF_CHECK(has_graph_error_shape(res));
  CAF_CHECK_EQUAL(stat("/requests/send_mail/403"), 1);
  // Sending needs no read scope.
  auto send_only = token_for("Mail.Send");
  CAF_CHECK_EQUAL(send_mime(outgoing_mail("s2"), {}, send_only).status, 202u);
  CAF_CHECK_EQUAL(sent().size(), 1u);
}

CAF_TEST(the JSON form builds the mail from the message) {
  auto request = json_mail({{{"name", "X-Zendesk-Ticket-Id"}, {"value", "4711"}},
                            {{"name", "x-exconnect-loop"}, {"value", "1"}}});
  request["message"]["ccRecipients"] = {
      {{"emailAddress", {{"address", "bob@customer.test"}}}}};
  auto res = send_json(request);
  CAF_CHECK_EQUAL(res.status, 202u);
  CAF_CHECK_EQUAL(res.body, "");
  json record = sent().at(0);
  CAF_CHECK_EQUAL(record["form"], "json");
  CAF_CHECK_EQUAL(record["from"], mailbox);
  CAF_CHECK_EQUAL(record["to"], json::array({"alice@customer.test"}));
  CAF_CHECK_EQUAL(record["cc"], json::array({"bob@customer.test"}));
  CAF_CHECK_EQUAL(record["subject"], "Your request");
  auto mime = record["mime"].get<std::string>();
  CAF_CHECK(mime.find("X-Zendesk-Ticket-Id: 4711\r\n") != std::string::npos);
  CAF_CHECK(mime.find("x-exconnect-loop: 1\r\n") != std::string::npos);
  CAF_CHECK(mime.find("From: ") == 0);
  auto id = record["internet_message_id"].get<std::string>();
  CAF_CHECK(mime.find("Message-ID: " + id) != std::string::npos);
  CAF_CHECK(id.find("@graph-sim.local>") != std::string::npos);
  CAF_CHECK_EQUAL(record["size"], mime.size());
  // Saved to Sent Items by default; the body reads back as sent.
  auto ids = sent_items_with(id);
  CAF_REQUIRE_EQUAL(ids.size(), 1u);
  auto copy = body(get(message_path(ids[0])));
  CAF_CHECK_EQUAL(copy["body"]["content"], "We are on it.");
  // saveToSentItems false: logged as sent, no copy.
  request = json_mail();
  request["saveToSentItems"] = false;
  CAF_CHECK_EQUAL(send_json(request).status, 202u);
  json second = sent().at(1);
  CAF_CHECK_EQUAL(sent_items_with(second["internet_message_id"]).size(), 0u);
}

CAF_TEST(JSON internetMessageHeaders must be x headers at most five and not empty) {
  auto res =
      send_json(json_mail({{{"name", "Auto-Submitted"}, {"value", "auto-replied"}}}));
  CAF_CHECK_EQUAL(res.status, 400u);
  CAF_CHECK_EQUAL(error_code(res), "InvalidInternetMessageHeader");
  CAF_CHECK(has_graph_error_shape(res));
  json six = json::array();
  for (int i = 0; i < 6; ++i)
    six.push_back({{"name", "X-Custom-" + std::to_string(i)}, {"value", "v"}});
  res = send_json(json_mail(six));
  CAF_CHECK_EQUAL(res.status, 400u);
  CAF_CHECK_EQUAL(error_code(res), "InvalidInternetMessageHeader");
  res = send_json(json_mail({{{"name", "X-Empty"}, {"value", ""}}}));
  CAF_CHECK_EQUAL(error_code(res), "InvalidInternetMessageHeader");
  res = send_json(json_mail({{{"name", ""}, {"value", "v"}}}));
  CAF_CHECK_EQUAL(error_code(res), "InvalidInternetMessageHeader");
  CAF_CHECK_EQUAL(sent().size(), 0u);
  six.erase(six.begin());
  CAF_CHECK_EQUAL(send_json(json_mail(six)).status, 202u);
}

CAF_TEST(the JSON form checks recipients and the sender too) {
  auto request = json_mail();
  request["message"]["toRecipients"] = json::array();
  auto res = send_json(request);
  CAF_CHECK_EQUAL(res.status, 400u);
  CAF_CHECK_EQUAL(error_code(res), "ErrorInvalidRecipients");
  request["message"]["toRecipients"] = {{{"emailAddress", {{"address", "nobody"}}}}};
  CAF_CHECK_EQUAL(error_code(send_json(request)), "ErrorInvalidRecipients");
  request = json_mail();
  request["message"]["from"] = {{"emailAddress", {{"address", "ceo@contoso.test"}}}};
  res = send_json(request);
  CAF_CHECK_EQUAL(res.status, 403u);
  CAF_CHECK_EQUAL(error_code(res), "ErrorSendAsDenied");
  res = sim.graph("POST", send_path(), token, "{not json");
  CAF_CHECK_EQUAL(res.status, 400u);
  CAF_CHECK(has_graph_error_shape(res));
  request = json_mail();
  request["saveToSentItems"] = "no";
  CAF_CHECK_EQUAL(error_code(send_json(request)), "BadRequest");
  request = json_mail();
  request["message"]["colour"] = "blue";
  CAF_CHECK_EQUAL(error_code(send_json(request)), "RequestBodyRead");
  CAF_CHECK_EQUAL(error_code(send_json({{"saveToSentItems", true}})),
                  "ErrorInvalidParameter");
  CAF_CHECK_EQUAL(sent().size(), 0u);
}

CAF_TEST(other content types and methods are refused) {
  auto res = sim.graph("POST", send_path(), token, "<mail/>",
                       {{"Content-Type", "application/xml"}});
  CAF_CHECK_EQUAL(res.status, 415u);
  CAF_CHECK_EQUAL(error_code(res), "UnsupportedMediaType");
  CAF_CHECK(has_graph_error_shape(res));
  CAF_CHECK_EQUAL(get(send_path()).status, 405u);
  CAF_CHECK_EQUAL(stat("/requests/send_mail/415"), 1);
}

CAF_TEST(a sendMail body over 4 MB is 413) {
  // 3 MiB of MIME is exactly 4,194,304 bytes of base64: the largest body accepted.
  auto head = mail_to("big", "To: alice@customer.test\r\n");
  auto mime = head + std::string(3 * 1024 * 1024 - head.size(), 'a');
  auto at_cap = net::base64_encode(mime);
  CAF_REQUIRE_EQUAL(at_cap.size(), 4'194'304u);
  auto res = send_raw(at_cap + "\r\n");
  CAF_CHECK_EQUAL(res.status, 413u);
  CAF_CHECK_EQUAL(error_code(res), "RequestEntityTooLarge");
  CAF_CHECK(has_graph_error_shape(res));
  CAF_CHECK_EQUAL(sent().size(), 0u);
  CAF_CHECK_EQUAL(send_raw(at_cap).status, 202u);
  json record = sent().at(0);
  CAF_CHECK_EQUAL(record["size"], mime.size());
}

CAF_TEST(a held response is recorded before the 202 goes out) {
  auto set = sim.control("PUT", "/send", {{"hold_send_response_ms", 2000}});
  CAF_CHECK_EQUAL(set["hold_send_response_ms"], 2000);
  auto started = steady_clock::now();
  auto answer = send_async(outgoing_mail("h1"));
  CAF_REQUIRE(eventually([&] { return sent().size() == 1; }));
  // Recorded and filed, yet still unanswered and in flight.
  CAF_CHECK(answer.wait_for(milliseconds(0)) != std::future_status::ready);
  CAF_CHECK_EQUAL(sent_items_with("<h1@contoso.test>").size(), 1u);
  CAF_CHECK_EQUAL(stat("/in_flight"), 1);
  auto res = answer.get();
  CAF_CHECK_EQUAL(res.status, 202u);
  CAF_CHECK_GREATER_OR_EQUAL(elapsed_ms(started), 1900);
  CAF_CHECK_EQUAL(stat("/in_flight"), 0);
  sim.control("PUT", "/send", {{"hold_send_response_ms", 0}});
  CAF_CHECK_EQUAL(send_mime(outgoing_mail("h2")).status, 202u);
}

CAF_TEST(the send settings are validated and reported) {
  auto initial = sim.control("GET", "/send");
  CAF_CHECK_EQUAL(initial, (json{{"sent_items_delay_s", 0.0},
                                 {"hold_send_response_ms", 0},
                                 {"strip_auto_submitted", false},
                                 {"reject_recipients", json::array()}}));
  for (const auto& [field, bad] :
       std::vector<std::pair<std::string, json>>{{"sent_items_delay_s", -1},
                                                 {"sent_items_delay_s", "1"},
                                                 {"hold_send_response_ms", 1.5},
                                                 {"hold_send_response_ms", -5},
                                                 {"strip_auto_submitted", 1},
                                                 {"reject_recipients", "a@b.test"}}) {
    auto res = sim.call("PUT", "/_sim/send", {{"Content-Type", "application/json"}},
                        json{{field, bad}}.dump());
    CAF_CHECK_EQUAL(res.status, 400u);
    CAF_CHECK(body(res)["error"].value("message", "").find(field) != std::string::npos);
  }
  auto now = sim.control("GET", "/send");
  CAF_CHECK_EQUAL(now, initial);
}

CAF_TEST_FIXTURE_SCOPE_END()

CAF_TEST_FIXTURE_SCOPE(graph_sim_send_delay_tests, delay_fixture)

CAF_TEST(the Sent Items copy appears only after the sent items delay) {
  CAF_CHECK_EQUAL(at(sim.control("GET", "/send"), "/sent_items_delay_s"), 1.0);
  auto sent_at = steady_clock::now();
  CAF_REQUIRE_EQUAL(send_mime(outgoing_mail("late1")).status, 202u);
  // Logged at once, but Graph does not show the copy yet: not listed, not found.
  CAF_CHECK_EQUAL(sent().size(), 1u);
  CAF_CHECK_EQUAL(sent_items_with("<late1@contoso.test>").size(), 0u);
  auto id = control_id("<late1@contoso.test>");
  CAF_REQUIRE(!id.empty());
  auto hidden = get(message_path(id));
  CAF_CHECK_EQUAL(hidden.status, 404u);
  CAF_CHECK_EQUAL(error_code(hidden), "ErrorItemNotFound");
  CAF_CHECK_EQUAL(get(message_path(id) + "/$value").status, 404u);
  CAF_CHECK_EQUAL(
      sim.graph("PATCH", message_path(id), token, R"({"isRead":false})").status, 404u);
  CAF_CHECK(
      eventually([&] { return sent_items_with("<late1@contoso.test>").size() == 1; },
                 std::chrono::seconds(10)));
  CAF_CHECK_GREATER_OR_EQUAL(elapsed_ms(sent_at), 900);
  CAF_CHECK_EQUAL(get(message_path(id)).status, 200u);
  // Changed at runtime: no delay.
  sim.control("PUT", "/send", {{"sent_items_delay_s", 0}});
  CAF_CHECK_EQUAL(send_mime(outgoing_mail("late2")).status, 202u);
  CAF_CHECK_EQUAL(sent_items_with("<late2@contoso.test>").size(), 1u);
}

CAF_TEST_FIXTURE_SCOPE_END()

CAF_TEST_FIXTURE_SCOPE(graph_sim_send_strip_tests, strip_fixture)

CAF_TEST(strip auto submitted drops only that header) {
  CAF_CHECK_EQUAL(at(sim.control("GET", "/send"), "/strip_auto_submitted"), true);
  auto mime = outgoing_mail("a1");
  CAF_CHECK_EQUAL(send_mime(mime).status, 202u);
  auto recorded = sent().at(0)["mime"].get<std::string>();
  CAF_CHECK(recorded.find("Auto-Submitted") == std::string::npos);
  CAF_CHECK(recorded.find("X-Auto-Response-Suppress: All\r\n") != std::string::npos);
  CAF_CHECK(recorded.find("X-Zendesk-Ticket-Id: 4711\r\n") != std::string::npos);
  auto without = mime;
  without.erase(without.find("Auto-Submitted: auto-replied\r\n"),
                std::string{"Auto-Submitted: auto-replied\r\n"}.size());
  CAF_CHECK_EQUAL(recorded, without);
  auto ids = sent_items_with("<a1@contoso.test>");
  CAF_REQUIRE_EQUAL(ids.size(), 1u);
  CAF_CHECK_EQUAL(get(message_path(ids[0]) + "/$value").body, without);
  // Switched off at runtime, the header travels again.
  sim.control("PUT", "/send", {{"strip_auto_submitted", false}});
  CAF_CHECK_EQUAL(send_mime(outgoing_mail("a2")).status, 202u);
  CAF_CHECK_EQUAL(at(sent(), "/1/mime"), outgoing_mail("a2"));
}

CAF_TEST_FIXTURE_SCOPE_END()

CAF_TEST_FIXTURE_SCOPE(graph_sim_send_rate_tests, rate_fixture)

CAF_TEST(the fourth mail within the window is 429 with Retry After) {
  for (int i = 0; i < 3; ++i)
    CAF_CHECK_EQUAL(send_mime(outgoing_mail("q" + std::to_string(i))).status, 202u);
  auto fourth = send_mime(outgoing_mail("q3"));
  CAF_CHECK_EQUAL(fourth.status, 429u);
  CAF_CHECK_EQUAL(error_code(fourth), "ErrorExceededMessageLimit");
  CAF_CHECK(has_graph_error_shape(fourth));
  CAF_CHECK(body(fourth)["error"].value("message", "").find("rate") != std::string::npos);
  auto wait = retry_after(fourth);
  CAF_REQUIRE(wait.has_value());
  CAF_CHECK_GREATER_OR_EQUAL(*wait, 1);
  CAF_CHECK_LESS_OR_EQUAL(*wait, 60);
  CAF_CHECK_EQUAL(std::string{fourth.header("Retry-After")},
                  std::to_string(static_cast<int>(*wait)));
  CAF_CHECK_EQUAL(sent().size(), 3u);
  CAF_CHECK_EQUAL(sent_items_with("<q3@contoso.test>").size(), 0u);
  auto s = stats();
  CAF_CHECK_EQUAL(s["send"]["accepted"], 3);
  CAF_CHECK_EQUAL(s["send"]["throttled"], 1);
  CAF_CHECK_EQUAL(s["send"]["throttled_by_mailbox"], (json{{mailbox, 1}}));
  CAF_CHECK_EQUAL(s["send"]["throttled_by_limit"],
                  (json{{"rate", 1}, {"bytes", 0}, {"recipients", 0}}));
  CAF_CHECK_EQUAL(s["send"]["limits"]["rate"], (json{{"limit", 3}, {"window_s", 60.0}}));
  CAF_CHECK_EQUAL(s["requests"]["send_mail"]["429"], 1);
  // Another mailbox has its own window.
  std::string team = "team@contoso.test";
  sim.create_mailbox(team, {{"shared", true}, {"delegates", {mailbox}}});
  CAF_CHECK_EQUAL(
      send_mime(outgoing_mail("t1", "alice@customer.test", team), team).status, 202u);
  // A reset clears counters and windows, not the sent log.
  sim.control("POST", "/stats/reset");
  CAF_CHECK_EQUAL(stat("/send/throttled"), 0);
  CAF_CHECK_EQUAL(send_mime(outgoing_mail("q4")).status, 202u);
  CAF_CHECK_EQUAL(sent().size(), 4u);
  CAF_CHECK_EQUAL(stat("/send/accepted"), 1);
}

CAF_TEST_FIXTURE_SCOPE_END()

CAF_TEST_FIXTURE_SCOPE(graph_sim_send_recipients_tests, recipients_fixture)

CAF_TEST(the recipient limit counts distinct recipients) {
  CAF_CHECK_EQUAL(
      send_mime(mail_to("p1", "To: a@customer.test, B@customer.test\r\n")).status, 202u);
  // The same recipients again, in other case: still two.
  CAF_CHECK_EQUAL(
      send_mime(mail_to("p2", "To: A@customer.test\r\nCc: b@customer.test\r\n")).status,
      202u);
  CAF_CHECK_EQUAL(send_mime(mail_to("p3", "To: c@customer.test\r\n")).status, 202u);
  auto over = send_mime(mail_to("p4", "To: a@customer.test, d@customer.test\r\n"));
  CAF_CHECK_EQUAL(over.status, 429u);
  CAF_CHECK_EQUAL(error_code(over), "ErrorExceededMessageLimit");
  CAF_CHECK(body(over)["error"].value("message", "").find("ecipient") !=
            std::string::npos);
  auto wait = retry_after(over);
  CAF_REQUIRE(wait.has_value());
  CAF_CHECK_GREATER(*wait, 590);
  CAF_CHECK_LESS_OR_EQUAL(*wait, 600);
  // Known recipients still go.
  CAF_CHECK_EQUAL(send_mime(mail_to("p5", "Bcc: c@customer.test\r\n")).status, 202u);
  CAF_CHECK_EQUAL(stat("/send/throttled_by_limit/recipients"), 1);
  CAF_CHECK_EQUAL(stat("/send/accepted"), 4);
}

CAF_TEST_FIXTURE_SCOPE_END()

CAF_TEST_FIXTURE_SCOPE(graph_sim_send_bytes_tests, bytes_fixture)

CAF_TEST(the byte limit counts MIME bytes of accepted mail) {
  auto padded = [](const std::string& tag, std::size_t size) {
    auto mime = mail_to(tag, "To: alice@customer.test\r\n");
    return mime + std::string(size - mime.size(), 'x');
  };
  CAF_CHECK_EQUAL(send_mime(padded("y1", 400)).status, 202u);
  CAF_CHECK_EQUAL(send_mime(padded("y2", 400)).status, 202u);
  auto over = send_mime(padded("y3", 300));
  CAF_CHECK_EQUAL(over.status, 429u);
  CAF_CHECK_EQUAL(error_code(over), "ErrorExceededMessageLimit");
  CAF_CHECK(body(over)["error"].value("message", "").find("bytes") != std::string::npos);
  CAF_CHECK(retry_after(over).has_value());
  // A smaller one still fits: bytes count, not mails.
  CAF_CHECK_EQUAL(send_mime(padded("y4", 200)).status, 202u);
  CAF_CHECK_EQUAL(stat("/send/throttled_by_limit/bytes"), 1);
  CAF_CHECK_EQUAL(stat("/send/limits/bytes/limit"), 1000);
}

CAF_TEST_FIXTURE_SCOPE_END()

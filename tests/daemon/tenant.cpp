#define CAF_SUITE daemon_tenant
#include <caf/test/unit_test.hpp>

#include "daemon_fixture.hpp"

using nlohmann::json;

namespace {

/// The tenant graph-sim serves (its --tenant-id default).
const std::string tenant = "9188040d-6c67-4c5b-b112-36a304b66dad";

struct tenant_fixture : daemon_fixture {
  tenant_fixture() { start_daemon(); }

  /// A link for an administrator's consent, asked for by the account.
  std::string consent_url(const std::string& key) {
    return call_json("POST", "/api/v1/tenants/consent", key).at("consent_url");
  }

  /// The administrator consents (graph-sim) and the browser comes back to the daemon.
  net::client_response consent(const std::string& key) {
    return follow(consent_url(key));
  }

  /// POST /api/v1/mailboxes through the tenant; the mailbox exists at graph-sim.
  net::client_response add(const std::string& key, const std::string& address) {
    sim.create_mailbox(address);
    return call("POST", "/api/v1/mailboxes", key,
                json{{"address", address}, {"tenant_id", tenant}}.dump());
  }

  std::size_t tickets_of(const std::string& key, const std::string& mailbox) {
    return call_json("GET", "/api/v1/tickets?mailbox_id=" + mailbox, key)
        .at("tickets")
        .size();
  }

  void patch_app(const json& change) {
    sim.control("PATCH", "/apps/" + app.client_id, change);
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(daemon_tenant_tests, tenant_fixture)

CAF_TEST(an admin consent connects the tenant mailboxes without sign in) {
  auto key = create_account("Contoso").at("api_key").get<std::string>();
  auto url = consent_url(key);
  CAF_CHECK_EQUAL(url.rfind(sim.base() + "/organizations/adminconsent?", 0), 0u);
  CAF_CHECK_NOT_EQUAL(url.find("client_id=" + app.client_id), std::string::npos);
  CAF_CHECK_NOT_EQUAL(url.find("state="), std::string::npos);
  // A browser gets a page; the tenant is the account's.
  auto page = follow(url, "text/html");
  CAF_CHECK_EQUAL(page.status, 200u);
  CAF_CHECK_NOT_EQUAL(page.body.find(tenant), std::string::npos);
  auto tenants = call_json("GET", "/api/v1/tenants", key).at("tenants");
  CAF_REQUIRE_EQUAL(tenants.size(), 1u);
  CAF_CHECK_EQUAL(tenants[0].at("tenant_id").get<std::string>(), tenant);
  CAF_CHECK_EQUAL(tenants[0].at("status").get<std::string>(), "consented");
  CAF_CHECK(tenants[0].at("last_error").is_null());
  // The link was single-use.
  auto again = follow(url);
  CAF_CHECK_EQUAL(again.status, 400u);
  CAF_CHECK_EQUAL(error_code(again), "invalid_state");
  // A mailbox of the tenant connects at once and its mail becomes tickets.
  auto added = add(key, "shared1@contoso.test");
  CAF_REQUIRE_EQUAL(added.status, 201u);
  auto mb = json::parse(added.body);
  CAF_CHECK_EQUAL(mb.at("status").get<std::string>(), "connected");
  CAF_CHECK_EQUAL(mb.at("tenant_id").get<std::string>(), tenant);
  CAF_CHECK(!mb.contains("authorize_url"));
  CAF_CHECK(mb.at("connected_at").is_string());
  auto id = mb.at("id").get<std::string>();
  sim.deliver(
      "shared1@contoso.test",
      test::sample_mail("tenant-1", "shared1@contoso.test", "Through the tenant"));
  test::eventually([&] { return tickets_of(key, id) == 1; }, std::chrono::seconds(20),
                   std::chrono::milliseconds(50));
  CAF_CHECK_EQUAL(tickets_of(key, id), 1u);
  // It needs no sign-in link.
  auto reauth = call("POST", "/api/v1/mailboxes/" + id + "/reauthorize", key);
  CAF_CHECK_EQUAL(reauth.status, 409u);
  CAF_CHECK_EQUAL(error_code(reauth), "invalid_state");
  // The address is held like any other.
  auto twice =
      call("POST", "/api/v1/mailboxes", key,
           json{{"address", "SHARED1@contoso.test"}, {"tenant_id", tenant}}.dump());
  CAF_CHECK_EQUAL(twice.status, 409u);
  CAF_CHECK_EQUAL(error_code(twice), "address_in_use");
  // The tenant cannot be given up while a mailbox uses it.
  auto give_up = call("DELETE", "/api/v1/tenants/" + tenant, key);
  CAF_CHECK_EQUAL(give_up.status, 409u);
  CAF_CHECK_EQUAL(error_code(give_up), "invalid_state");
  CAF_CHECK_EQUAL(call("DELETE", "/api/v1/mailboxes/" + id, key).status, 204u);
  CAF_CHECK_EQUAL(call("DELETE", "/api/v1/tenants/" + tenant, key).status, 204u);
  CAF_CHECK_EQUAL(call_json("GET", "/api/v1/tenants", key).at("tenants").size(), 0u);
  CAF_CHECK_EQUAL(call("GET", "/api/v1/tenants/" + tenant, key).status, 404u);
}

CAF_TEST(the polls of the tenant mailboxes reach graph in batches) {
  auto key = create_account("Contoso").at("api_key").get<std::string>();
  CAF_REQUIRE_EQUAL(consent(key).status, 200u);
  std::vector<std::string> ids;
  for (int i = 1; i <= 4; ++i)
    ids.push_back(
        json::parse(add(key, "batch" + std::to_string(i) + "@contoso.test").body)
            .at("id")
            .get<std::string>());
  // After a start every mailbox polls at once: their listings share a batch.
  restart_daemon();
  for (int i = 1; i <= 4; ++i) {
    auto address = "batch" + std::to_string(i) + "@contoso.test";
    sim.deliver(address, test::sample_mail("batched-" + std::to_string(i), address));
  }
  for (const auto& id : ids)
    test::eventually([&] { return tickets_of(key, id) == 1; }, std::chrono::seconds(20),
                     std::chrono::milliseconds(50));
  for (const auto& id : ids)
    CAF_CHECK_EQUAL(tickets_of(key, id), 1u);
  auto batches = sim.control("GET", "/stats").at("requests").value("batch", json{});
  CAF_REQUIRE(batches.is_object());
  CAF_CHECK_GREATER_OR_EQUAL(batches.value("200", 0), 1);
}

CAF_TEST(a mailbox the access policy keeps out shows why and connects once allowed) {
  auto key = create_account("Contoso").at("api_key").get<std::string>();
  CAF_REQUIRE_EQUAL(consent(key).status, 200u);
  // An Exchange administrator limits the app to one mailbox.
  patch_app({{"access_policy", {"allowed@contoso.test"}}});
  auto allowed = add(key, "allowed@contoso.test");
  CAF_CHECK_EQUAL(allowed.status, 201u);
  CAF_CHECK_EQUAL(json::parse(allowed.body).at("status").get<std::string>(), "connected");
  auto blocked = add(key, "blocked@contoso.test");
  CAF_REQUIRE_EQUAL(blocked.status, 201u);
  auto mb = json::parse(blocked.body);
  CAF_CHECK_EQUAL(mb.at("status").get<std::string>(), "error");
  CAF_CHECK_EQUAL(mb.at("last_error").at("code").get<std::string>(), "ErrorAccessDenied");
  auto message = mb.at("last_error").at("message").get<std::string>();
  CAF_CHECK_NOT_EQUAL(message.find("ApplicationAccessPolicy"), std::string::npos);
  CAF_CHECK_NOT_EQUAL(message.find("RAOP"), std::string::npos);
  // The administrator lets the app in: the next poll connects it.
  patch_app({{"access_policy", nullptr}});
  auto id = mb.at("id").get<std::string>();
  auto view = wait_mailbox(key, id, [](const json& v) {
    return v.at("status") == "connected" && v.at("last_error").is_null();
  });
  CAF_CHECK_EQUAL(view.at("status").get<std::string>(), "connected");
}

CAF_TEST(a tenant belongs to one account and only consented tenants add mailboxes) {
  auto a = create_account("A").at("api_key").get<std::string>();
  auto b = create_account("B").at("api_key").get<std::string>();
  // B has no tenant yet.
  auto none = add(b, "b1@contoso.test");
  CAF_CHECK_EQUAL(none.status, 400u);
  CAF_CHECK_EQUAL(error_code(none), "invalid_field");
  CAF_CHECK_EQUAL(json::parse(none.body).at("error").value("field", ""), "tenant_id");
  CAF_REQUIRE_EQUAL(consent(a).status, 200u);
  // The same tenant consented through B's link stays A's.
  auto taken = consent(b);
  CAF_CHECK_EQUAL(taken.status, 409u);
  CAF_CHECK_EQUAL(error_code(taken), "tenant_in_use");
  CAF_CHECK_EQUAL(call_json("GET", "/api/v1/tenants", b).at("tenants").size(), 0u);
  CAF_CHECK_EQUAL(add(b, "b2@contoso.test").status, 400u);
  CAF_CHECK_EQUAL(call("GET", "/api/v1/tenants/" + tenant, b).status, 404u);
  CAF_CHECK_EQUAL(call("DELETE", "/api/v1/tenants/" + tenant, b).status, 404u);
  // A refused consent comes back with an error and changes nothing.
  auto url = consent_url(b);
  auto state = url.substr(url.find("state=") + 6);
  auto refused = call("GET",
                      "/oauth/admin-consent?error=access_denied&error_description=" +
                          std::string{"AADSTS65004%3A+declined"} + "&state=" + state,
                      {}, {}, {{"Accept", "application/json"}});
  CAF_CHECK_EQUAL(refused.status, 400u);
  CAF_CHECK_EQUAL(error_code(refused), "consent_refused");
  CAF_CHECK_EQUAL(call("GET", "/oauth/admin-consent?tenant=x", {}).status, 400u);
  // Surviving a restart: the tenant is still A's and its mailboxes connect.
  restart_daemon();
  CAF_CHECK_EQUAL(call_json("GET", "/api/v1/tenants", a).at("tenants").size(), 1u);
  CAF_CHECK_EQUAL(add(a, "a1@contoso.test").status, 201u);
}

CAF_TEST(a tenant whose consent is gone stops until an administrator consents again) {
  auto key = create_account("Contoso").at("api_key").get<std::string>();
  CAF_REQUIRE_EQUAL(consent(key).status, 200u);
  auto added = add(key, "shared1@contoso.test");
  CAF_REQUIRE_EQUAL(added.status, 201u);
  auto id = json::parse(added.body).at("id").get<std::string>();
  wait_mailbox(key, id, [](const json& v) { return v.at("last_poll_at").is_string(); });
  // The administrator deletes the enterprise app: the next token is refused.
  patch_app({{"service_principal", false}});
  sim.control("POST", "/tokens/expire");
  auto view = wait_mailbox(key, id, [](const json& v) {
    return v.at("status") == "reauthorization_required";
  });
  CAF_CHECK_EQUAL(view.at("status").get<std::string>(), "reauthorization_required");
  CAF_CHECK_NOT_EQUAL(
      view.at("last_error").at("message").get<std::string>().find("consents again"),
      std::string::npos);
  auto t = call_json("GET", "/api/v1/tenants/" + tenant, key);
  CAF_CHECK_EQUAL(t.at("status").get<std::string>(), "consent_lost");
  auto metrics = call("GET", "/metrics", {}).body;
  CAF_CHECK_NOT_EQUAL(metrics.find("exconnect_tenants{status=\"consent_lost\"} 1"),
                      std::string::npos);
  CAF_CHECK_NOT_EQUAL(metrics.find("exconnect_tenants{status=\"consented\"} 0"),
                      std::string::npos);
  CAF_CHECK_EQUAL(t.at("last_error").at("code").get<std::string>(), "consent_lost");
  // No mailbox of the tenant can be added meanwhile.
  auto meanwhile = add(key, "shared2@contoso.test");
  CAF_CHECK_EQUAL(meanwhile.status, 409u);
  CAF_CHECK_EQUAL(error_code(meanwhile), "invalid_state");
  // The administrator consents again: the tenant and its mailbox are back.
  CAF_REQUIRE_EQUAL(consent(key).status, 200u);
  CAF_CHECK_EQUAL(
      call_json("GET", "/api/v1/tenants/" + tenant, key).at("status").get<std::string>(),
      "consented");
  view = wait_mailbox(key, id, [](const json& v) {
    return v.at("status") == "connected" && v.at("last_error").is_null();
  });
  CAF_CHECK_EQUAL(view.at("status").get<std::string>(), "connected");
}

CAF_TEST_FIXTURE_SCOPE_END()

// Tenant routes: an administrator's consent for a whole Microsoft tenant (its link),
// the account's tenants, and giving one up.
#include "app/rest/routes.hpp"

#include "messages/error.hpp"

namespace exc::rest {

using nlohmann::json;

json tenant_view(const storage::tenant_record& t) {
  json last_error = nullptr;
  if (t.last_error)
    last_error = {{"code", t.last_error->code},
                  {"message", t.last_error->message},
                  {"at", t.last_error->at}};
  return {{"tenant_id", t.tenant_id},
          {"status", t.consented ? "consented" : "consent_lost"},
          {"consented_at", t.consented_at},
          {"last_error", last_error}};
}

void start_admin_consent(rest_pointer self, const caller& who, const reply_fn& reply) {
  self->request(registry(self), registry_timeout, atom::consent_v, who.account_id)
      .then(
          [reply](const std::string& url) {
            reply(json_response(200, {{"consent_url", url}}));
          },
          refuse_with(reply));
}

void list_tenants(rest_pointer self, const caller& who, const reply_fn& reply) {
  self->request(registry(self), registry_timeout, atom::tenants_v, who.account_id)
      .then(
          [reply](const std::vector<storage::tenant_record>& tenants) {
            json list = json::array();
            for (const auto& t : tenants)
              list.push_back(tenant_view(t));
            reply(json_response(200, {{"tenants", list}}));
          },
          refuse_with(reply));
}

void get_tenant(rest_pointer self, const caller& who, const std::string& id,
                const reply_fn& reply) {
  self->request(registry(self), registry_timeout, atom::tenants_v, who.account_id)
      .then(
          [reply,
           id = net::to_lower(id)](const std::vector<storage::tenant_record>& tenants) {
            for (const auto& t : tenants)
              if (t.tenant_id == id) return reply(json_response(200, tenant_view(t)));
            reply(not_found());
          },
          refuse_with(reply));
}

void delete_tenant(rest_pointer self, const caller& who, const std::string& id,
                   const reply_fn& reply) {
  self->request(registry(self), registry_timeout, atom::tenants_v, atom::remove_v,
                who.account_id, id)
      .then([reply](bool) { reply(no_content()); }, refuse_with(reply));
}

} // namespace exc::rest

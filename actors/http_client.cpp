#include "actors/http_client.hpp"

#include <caf/send.hpp>

namespace exc {

http_client_actor::behavior_type
http_client(http_client_actor::stateful_pointer<http_client_state> self,
            net::http_client* client) {
  self->state.client = client;
  return {
      [=](const net::client_request& req) -> caf::result<net::client_response> {
        auto id = ++self->state.next_id;
        auto rp = self->make_response_promise<net::client_response>();
        self->state.pending.emplace(id, rp);
        http_client_actor me = self;
        self->state.client->async_request(req, [me, id](net::client_response res) {
          caf::anon_send(me, atom::internal_v, id, std::move(res));
        });
        return rp;
      },
      [=](atom::internal, std::uint64_t id, net::client_response& res) {
        auto i = self->state.pending.find(id);
        if (i == self->state.pending.end()) return;
        i->second.deliver(std::move(res)); // bodies of up to 50 MB: moved, not copied
        self->state.pending.erase(i);
      },
  };
}

} // namespace exc

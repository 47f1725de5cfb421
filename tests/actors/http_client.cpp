#define CAF_SUITE http_client
#include <caf/test/unit_test.hpp>

#include "actors/http_client.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <string>
#include <thread>

using namespace exc;

CAF_TEST(requests under way fail when the http client actor ends) {
  // A listener that never accepts: the connection is made (the kernel's backlog), the
  // request sent, and no answer ever comes before the client's own 30 s deadline.
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor silent{io,
                                        {boost::asio::ip::make_address("127.0.0.1"), 0}};
  net::http_client client;
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto aut = sys.spawn(exc::http_client, &client);
  caf::scoped_actor self{sys};
  net::client_request req;
  req.url = "http://127.0.0.1:" + std::to_string(silent.local_endpoint().port()) + "/";
  // The caller's timeout is far away: the actor answers even when it ends first.
  caf::error got;
  auto rh = self->request(aut, std::chrono::seconds{20}, req);
  // Ended only once it holds the request (a request still in its mailbox is refused
  // by CAF itself): by then the exchange has opened its connection.
  while (client.connections_opened() == 0)
    std::this_thread::yield();
  caf::anon_send_exit(aut, caf::exit_reason::kill);
  rh.receive([](const net::client_response&) { CAF_FAIL("an answer came"); },
             [&](const caf::error& err) { got = err; });
  CAF_CHECK_EQUAL(got, caf::sec::request_receiver_down);
}

#pragma once

#include "messages/types.hpp"

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

/// Every actor interface, declared once.
namespace exc {

/// The REST API front: answers one HTTP request through the connection's responder.
using api_actor = caf::typed_actor<
    /// Handles a request of the REST API, /healthz, /metrics or /oauth/callback.
    caf::reacts_to<http_request, net::responder_ptr>>;

} // namespace exc

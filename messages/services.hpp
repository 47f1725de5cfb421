#pragma once

#include "messages/interfaces.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_registry.hpp>
#include <caf/actor_system.hpp>
#include <caf/atom.hpp>

#include <cstddef>
#include <string>

/// The long-lived services, found by name in the actor system's registry. The
/// SUPERVISOR puts each one there whenever it (re)starts it, so that a restarted
/// service is found by everyone who uses it without telling them. Tests put their
/// mocks there the same way.
namespace exc::service {

template <class Handle>
struct name_of;

template <>
struct name_of<storage_writer_actor> {
  static constexpr caf::atom_value value = caf::atom("storage");
};
template <>
struct name_of<helpdesk_actor> {
  static constexpr caf::atom_value value = caf::atom("helpdesk");
};
template <>
struct name_of<token_service_actor> {
  static constexpr caf::atom_value value = caf::atom("tokens");
};
template <>
struct name_of<http_actor> {
  static constexpr caf::atom_value value = caf::atom("http");
};
template <>
struct name_of<graph_batcher_actor> {
  static constexpr caf::atom_value value = caf::atom("batcher");
};
/// The REGISTRY; it is also who hears the TOKEN SERVICE's events.
template <>
struct name_of<registry_actor> {
  static constexpr caf::atom_value value = caf::atom("registry");
};
template <>
struct name_of<token_events_actor> {
  static constexpr caf::atom_value value = caf::atom("registry");
};
template <>
struct name_of<webhook_actor> {
  static constexpr caf::atom_value value = caf::atom("webhooks");
};
/// The REST front; the HTTP server hands it each request.
template <>
struct name_of<rest_actor> {
  static constexpr caf::atom_value value = caf::atom("rest");
};

/// The name of the converter pool's member `i` ("converter0", …).
inline caf::atom_value converter_name(std::size_t i) {
  return caf::atom_from_string("converter" + std::to_string(i));
}

/// The service as it runs now (its handle is invalid before it was first started).
template <class Handle>
Handle get(caf::actor_system& sys) {
  return caf::actor_cast<Handle>(sys.registry().get(name_of<Handle>::value));
}

/// Converter `i` of the pool.
inline converter_actor converter(caf::actor_system& sys, std::size_t i) {
  return caf::actor_cast<converter_actor>(sys.registry().get(converter_name(i)));
}

/// Registers `handle` under `name`, in place of whatever had that name (the
/// registry's put keeps an existing entry). In between, a lookup finds nothing: a
/// request to it fails at once (sec::invalid_argument), a message is dropped.
template <class Handle>
void put(caf::actor_system& sys, caf::atom_value name, const Handle& handle) {
  sys.registry().erase(name);
  sys.registry().put(name, handle);
}

/// Drops every service's name, once every actor is done: the registry holds strong
/// references, and a detached actor's thread ends only when its last one is gone (the
/// actor system's destructor waits for those threads).
inline void forget_all(caf::actor_system& sys, std::size_t converters) {
  for (auto name : {name_of<storage_writer_actor>::value, name_of<helpdesk_actor>::value,
                    name_of<token_service_actor>::value, name_of<http_actor>::value,
                    name_of<graph_batcher_actor>::value, name_of<registry_actor>::value,
                    name_of<rest_actor>::value, name_of<webhook_actor>::value})
    sys.registry().erase(name);
  for (std::size_t i = 0; i < converters; ++i)
    sys.registry().erase(converter_name(i));
}

/// Registers `handle` as the service of its kind.
template <class Handle>
void put(caf::actor_system& sys, const Handle& handle) {
  put(sys, name_of<Handle>::value, handle);
}

} // namespace exc::service

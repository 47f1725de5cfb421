#include "mail/gmime.hpp"

#include <mutex>

namespace mail::detail {

void init_gmime() {
  // g_mime_init is not thread-safe and must run before any other GMime call. We never
  // call g_mime_shutdown: other threads may still be parsing when statics are destroyed.
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
}

} // namespace mail::detail

// fuzz-html-text: an HTML body, as a sender wrote it, to the text a ticket shows.
#include "mail/html_text.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  mail::html_to_text({reinterpret_cast<const char*>(data), size});
  return 0;
}

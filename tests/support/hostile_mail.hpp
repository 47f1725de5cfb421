#pragma once

#include <cstddef>
#include <string>

namespace test {

/// HTML-only mail of `html_bytes` of `<title></title>`: HTML-to-text reads it in linear
/// time, about 20 ms per MB here, so 40 MB runs past a conversion budget of 0.2 s on
/// any machine we know. The ordinary way to make a conversion fail, now that no input
/// makes one fail.
std::string slow_html_mime(const std::string& from, const std::string& to,
                           const std::string& message_id, std::size_t html_bytes);

} // namespace test

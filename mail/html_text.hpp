#pragma once

#include "mail/time_budget.hpp"

#include <string>
#include <string_view>

namespace mail {

/// The readable text of an HTML body, for mail that has no text/plain part: tags
/// dropped (and the content of script, style, head and title), entities decoded, white
/// space collapsed outside <pre>, line breaks for <br> and block elements, "- " before
/// list items. Input and output are UTF-8. Never throws for bad HTML; throws out_of_time
/// when `budget` is spent first.
std::string html_to_text(std::string_view html, time_budget& budget);
inline std::string html_to_text(std::string_view html) {
  time_budget unlimited;
  return html_to_text(html, unlimited);
}

/// `text` safe inside HTML text and attribute values: & < > " ' escaped.
std::string html_escape(std::string_view text);

} // namespace mail

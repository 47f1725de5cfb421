#pragma once

#include <string>
#include <string_view>

namespace mail {

/// The readable text of an HTML body, for mail that has no text/plain part: tags
/// dropped (and the content of script, style, head and title), entities decoded, white
/// space collapsed outside <pre>, line breaks for <br> and block elements, "- " before
/// list items. Input and output are UTF-8. Never throws for bad HTML.
std::string html_to_text(std::string_view html);

/// `text` safe inside HTML text and attribute values: & < > " ' escaped.
std::string html_escape(std::string_view text);

} // namespace mail

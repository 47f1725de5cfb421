#pragma once

#include "model.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

/// How graph-sim presents a stored message as a Graph `message` resource.
namespace graph_sim {

/// Every property of microsoft.graph.message that graph-sim serves.
const std::vector<std::string>& message_properties();

/// Properties Graph returns when no `$select` is given (all but internetMessageHeaders).
bool is_default_property(const std::string& name);

/// Derived fields.
bool has_attachments(const message& m); ///< false when only inline parts exist
std::string subject_of(const message& m);
std::string from_address(const message& m);
std::string from_name(const message& m);
std::string importance_of(const message& m);
std::string body_preview(const message& m);

/// Options from the request that shape the JSON.
struct render_options {
  const std::vector<std::string>* select = nullptr; ///< null: default properties
  bool text_body = false;   ///< Prefer: outlook.body-content-type="text"
  bool expand_size = false; ///< $expand of PidTagMessageSize
};

/// The message as Graph JSON.
nlohmann::json render_message(const message& m, const std::string& mailbox_id,
                              const render_options& opts);

/// render_message() serialized, from the message's cache when it is still valid.
const std::string& render_message_text(const message& m, const std::string& mailbox_id,
                                       const render_options& opts);

/// Serializes JSON the way every graph-sim response does (invalid UTF-8 replaced).
std::string dump(const nlohmann::json& j);

/// The message's attachments as Graph fileAttachment JSON (with contentBytes).
nlohmann::json render_attachments(const message& m);

/// Strips tags from HTML for text-only views (bodyPreview, text body preference).
std::string html_to_text(const std::string& html);

} // namespace graph_sim

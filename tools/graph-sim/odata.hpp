#pragma once

#include "model.hpp"

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

/// The subset of OData query options graph-sim understands for messages, with Graph's
/// rules: which properties exist, what may be filtered, and InefficientFilter.
namespace graph_sim::odata {

/// A literal in a filter expression.
using literal = std::variant<std::monostate, bool, double, std::string, sys_time>;

/// A parsed `$filter` expression.
struct filter {
  enum class kind { all_of, any_of, negation, comparison, has_category };
  kind type = kind::comparison;
  std::string property; ///< for comparison; "categories" for has_category
  std::string op;       ///< eq ne gt ge lt le
  literal value;
  std::vector<filter> children;
};

/// Parses a `$filter` value; on failure returns nullopt and sets `error`.
std::optional<filter> parse_filter(std::string_view text, std::string& error);

/// Evaluates a filter on a message.
bool matches(const filter& f, const message& m);

/// The properties a filter names, in order of appearance (for InefficientFilter).
std::vector<std::string> properties_in_order(const filter& f);

/// One `$orderby` key.
struct order_key {
  std::string property;
  bool descending = false;
};

/// Parses `$orderby`; on failure returns nullopt and sets `error`.
std::optional<std::vector<order_key>> parse_orderby(std::string_view text,
                                                    std::string& error);

/// Graph's rule: the `$orderby` properties must come first in `$filter`, in order.
bool is_inefficient(const std::optional<filter>& f, const std::vector<order_key>& order);

/// Compares two messages by `order` (Graph's default: receivedDateTime descending).
bool less(const message& a, const message& b, const std::vector<order_key>& order);

/// Checks a `$select` list; returns the property names or nullopt with `error` set.
std::optional<std::vector<std::string>> parse_select(std::string_view text,
                                                     std::string& error);

/// Accepts exactly the PidTagMessageSize expansion Graph documents.
bool is_size_expand(std::string text);

} // namespace graph_sim::odata

#include "odata.hpp"

#include "message_fields.hpp"
#include "net/time_format.hpp"
#include "net/url.hpp"

#include <algorithm>
#include <cctype>

namespace graph_sim::odata {

namespace {

enum class value_type { boolean, text, time };

/// Properties that `$filter` and `$orderby` accept, with their types.
struct property_info {
  const char* name;
  value_type type;
  bool sortable;
};

constexpr property_info filterable[] = {
    {"isRead", value_type::boolean, true},
    {"isDraft", value_type::boolean, false},
    {"hasAttachments", value_type::boolean, true},
    {"receivedDateTime", value_type::time, true},
    {"sentDateTime", value_type::time, true},
    {"lastModifiedDateTime", value_type::time, true},
    {"createdDateTime", value_type::time, true},
    {"subject", value_type::text, true},
    {"importance", value_type::text, true},
    {"internetMessageId", value_type::text, false},
    {"conversationId", value_type::text, false},
    {"from/emailAddress/address", value_type::text, true},
    {"from/emailAddress/name", value_type::text, true},
};

const property_info* find_property(std::string_view name) {
  for (const auto& p : filterable)
    if (net::iequals(p.name, name)) return &p;
  return nullptr;
}

std::string unknown_property(std::string_view name) {
  return "Could not find a property named '" + std::string{name} +
         "' on type 'microsoft.graph.message'.";
}

/// Splits a filter into tokens: identifiers (with '/'), quoted strings, bare literals
/// (numbers, date-times), and single-character punctuation.
struct token {
  enum class kind { ident, string, bare, punct, end } type;
  std::string text;
};

std::vector<token> tokenize(std::string_view s, std::string& error) {
  std::vector<token> out;
  std::size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (c == '\'') {
      std::string text;
      ++i;
      bool closed = false;
      while (i < s.size()) {
        if (s[i] == '\'') {
          if (i + 1 < s.size() && s[i + 1] == '\'') {
            text.push_back('\'');
            i += 2;
            continue;
          }
          closed = true;
          ++i;
          break;
        }
        text.push_back(s[i++]);
      }
      if (!closed) {
        error = "unterminated string literal";
        return {};
      }
      out.push_back({token::kind::string, std::move(text)});
    } else if (c == '(' || c == ')' || c == ':' || c == ',') {
      out.push_back({token::kind::punct, std::string(1, c)});
      ++i;
    } else if (std::isdigit(static_cast<unsigned char>(c)) || c == '-') {
      std::size_t start = i;
      while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) ||
                              s[i] == '-' || s[i] == ':' || s[i] == '.' || s[i] == '+'))
        ++i;
      out.push_back({token::kind::bare, std::string{s.substr(start, i - start)}});
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      std::size_t start = i;
      while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) ||
                              s[i] == '_' || s[i] == '/' || s[i] == '.'))
        ++i;
      out.push_back({token::kind::ident, std::string{s.substr(start, i - start)}});
    } else {
      error = std::string{"unexpected character '"} + c + "'";
      return {};
    }
  }
  out.push_back({token::kind::end, {}});
  return out;
}

class parser {
public:
  parser(std::vector<token> tokens, std::string& error)
      : tokens_(std::move(tokens)), error_(error) {}

  std::optional<filter> parse() {
    auto f = parse_or();
    if (!f) return std::nullopt;
    if (peek().type != token::kind::end) return fail("unexpected '" + peek().text + "'");
    return f;
  }

private:
  const token& peek() const { return tokens_[pos_]; }
  const token& next() { return tokens_[pos_ < tokens_.size() - 1 ? pos_++ : pos_]; }
  bool is_word(const char* w) const {
    return peek().type == token::kind::ident && net::iequals(peek().text, w);
  }
  bool is_punct(const char* p) const {
    return peek().type == token::kind::punct && peek().text == p;
  }
  std::nullopt_t fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
    return std::nullopt;
  }

  std::optional<filter> parse_or() {
    auto left = parse_and();
    if (!left) return std::nullopt;
    if (!is_word("or")) return left;
    filter node{filter::kind::any_of, {}, {}, {}, {std::move(*left)}};
    while (is_word("or")) {
      next();
      auto right = parse_and();
      if (!right) return std::nullopt;
      node.children.push_back(std::move(*right));
    }
    return node;
  }

  std::optional<filter> parse_and() {
    auto left = parse_unary();
    if (!left) return std::nullopt;
    if (!is_word("and")) return left;
    filter node{filter::kind::all_of, {}, {}, {}, {std::move(*left)}};
    while (is_word("and")) {
      next();
      auto right = parse_unary();
      if (!right) return std::nullopt;
      node.children.push_back(std::move(*right));
    }
    return node;
  }

  std::optional<filter> parse_unary() {
    if (is_word("not")) {
      next();
      auto inner = parse_unary();
      if (!inner) return std::nullopt;
      return filter{filter::kind::negation, {}, {}, {}, {std::move(*inner)}};
    }
    if (is_punct("(")) {
      next();
      auto inner = parse_or();
      if (!inner) return std::nullopt;
      if (!is_punct(")")) return fail("missing ')'");
      next();
      return inner;
    }
    if (peek().type != token::kind::ident) return fail("expected a property name");
    auto name = next().text;
    if (net::iequals(name, "categories/any")) return parse_any();
    auto* info = find_property(name);
    if (!info) return fail(unknown_property(name));
    if (peek().type != token::kind::ident)
      return fail("expected an operator after " + name);
    auto op = net::to_lower(next().text);
    static const char* ops[] = {"eq", "ne", "gt", "ge", "lt", "le"};
    if (std::find_if(std::begin(ops), std::end(ops),
                     [&](const char* o) { return op == o; }) == std::end(ops))
      return fail("unknown operator '" + op + "'");
    auto value = parse_literal(*info);
    if (!value) return std::nullopt;
    return filter{filter::kind::comparison, info->name, op, std::move(*value), {}};
  }

  std::optional<filter> parse_any() {
    // categories/any(c:c eq 'Name')
    if (!is_punct("(")) return fail("expected '(' after any");
    next();
    if (peek().type != token::kind::ident) return fail("expected a range variable");
    auto var = next().text;
    if (!is_punct(":")) return fail("expected ':' in lambda");
    next();
    if (peek().type != token::kind::ident || peek().text != var)
      return fail("lambda must compare its range variable");
    next();
    if (!is_word("eq")) return fail("only 'eq' is supported inside categories/any");
    next();
    if (peek().type != token::kind::string) return fail("expected a string literal");
    auto name = next().text;
    if (!is_punct(")")) return fail("missing ')'");
    next();
    return filter{filter::kind::has_category, "categories", "eq", name, {}};
  }

  std::optional<literal> parse_literal(const property_info& info) {
    const auto& t = next();
    switch (info.type) {
    case value_type::boolean:
      if (t.type == token::kind::ident && (t.text == "true" || t.text == "false"))
        return literal{t.text == "true"};
      return fail(std::string{"expected true or false for "} + info.name);
    case value_type::text:
      if (t.type == token::kind::string) return literal{t.text};
      if (t.type == token::kind::ident && t.text == "null") return literal{};
      return fail(std::string{"expected a string literal for "} + info.name);
    case value_type::time:
      if (t.type == token::kind::bare) {
        if (auto time = net::parse_rfc3339(t.text)) return literal{*time};
      }
      return fail("invalid DateTimeOffset literal '" + t.text + "'");
    }
    return fail("unsupported literal");
  }

  std::vector<token> tokens_;
  std::size_t pos_ = 0;
  std::string& error_;
};

literal field_value(const message& m, const std::string& property) {
  if (property == "isRead") return m.is_read;
  if (property == "isDraft") return false;
  if (property == "hasAttachments") return has_attachments(m);
  if (property == "receivedDateTime" || property == "createdDateTime") return m.received;
  if (property == "sentDateTime") return m.sent;
  if (property == "lastModifiedDateTime") return m.modified;
  if (property == "subject") return subject_of(m);
  if (property == "importance") return importance_of(m);
  if (property == "internetMessageId") return m.internet_message_id;
  if (property == "conversationId") return m.conversation_id;
  if (property == "from/emailAddress/address") return from_address(m);
  if (property == "from/emailAddress/name") return from_name(m);
  return {};
}

int compare(const literal& a, const literal& b) {
  if (a.index() != b.index()) return a.index() < b.index() ? -1 : 1;
  return std::visit(
      [&](const auto& x) -> int {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          return 0;
        } else if constexpr (std::is_same_v<T, std::string>) {
          // Exchange compares strings case-insensitively.
          auto l = net::to_lower(x), r = net::to_lower(std::get<T>(b));
          return l < r ? -1 : (l == r ? 0 : 1);
        } else {
          const auto& y = std::get<T>(b);
          return x < y ? -1 : (x == y ? 0 : 1);
        }
      },
      a);
}

} // namespace

std::optional<filter> parse_filter(std::string_view text, std::string& error) {
  error.clear();
  auto tokens = tokenize(text, error);
  if (!error.empty()) return std::nullopt;
  return parser{std::move(tokens), error}.parse();
}

bool matches(const filter& f, const message& m) {
  switch (f.type) {
  case filter::kind::all_of:
    return std::all_of(f.children.begin(), f.children.end(),
                       [&](const filter& c) { return matches(c, m); });
  case filter::kind::any_of:
    return std::any_of(f.children.begin(), f.children.end(),
                       [&](const filter& c) { return matches(c, m); });
  case filter::kind::negation:
    return !matches(f.children.front(), m);
  case filter::kind::has_category: {
    const auto& want = std::get<std::string>(f.value);
    return std::any_of(m.categories.begin(), m.categories.end(),
                       [&](const std::string& c) { return net::iequals(c, want); });
  }
  case filter::kind::comparison: {
    int c = compare(field_value(m, f.property), f.value);
    if (f.op == "eq") return c == 0;
    if (f.op == "ne") return c != 0;
    if (f.op == "gt") return c > 0;
    if (f.op == "ge") return c >= 0;
    if (f.op == "lt") return c < 0;
    return c <= 0;
  }
  }
  return false;
}

std::vector<std::string> properties_in_order(const filter& f) {
  std::vector<std::string> out;
  if (f.type == filter::kind::comparison || f.type == filter::kind::has_category) {
    out.push_back(f.property);
  } else {
    for (const auto& c : f.children) {
      auto sub = properties_in_order(c);
      out.insert(out.end(), sub.begin(), sub.end());
    }
  }
  return out;
}

std::optional<std::vector<order_key>> parse_orderby(std::string_view text,
                                                    std::string& error) {
  std::vector<order_key> out;
  while (!text.empty()) {
    auto comma = text.find(',');
    auto part = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    while (!part.empty() && part.front() == ' ')
      part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ')
      part.remove_suffix(1);
    auto space = part.find(' ');
    auto name = part.substr(0, space);
    order_key key;
    if (space != std::string_view::npos) {
      auto dir = part.substr(space + 1);
      while (!dir.empty() && dir.front() == ' ')
        dir.remove_prefix(1);
      if (net::iequals(dir, "desc"))
        key.descending = true;
      else if (!net::iequals(dir, "asc")) {
        error = "Invalid $orderby direction '" + std::string{dir} + "'";
        return std::nullopt;
      }
    }
    auto* info = find_property(name);
    if (!info || !info->sortable) {
      error = unknown_property(name);
      return std::nullopt;
    }
    key.property = info->name;
    out.push_back(std::move(key));
  }
  if (out.empty()) {
    error = "empty $orderby";
    return std::nullopt;
  }
  return out;
}

bool is_inefficient(const std::optional<filter>& f, const std::vector<order_key>& order) {
  if (!f || order.empty()) return false;
  auto props = properties_in_order(*f);
  if (props.size() < order.size()) return true;
  for (std::size_t i = 0; i < order.size(); ++i)
    if (props[i] != order[i].property) return true;
  return false;
}

bool less(const message& a, const message& b, const std::vector<order_key>& order) {
  for (const auto& key : order) {
    int c = compare(field_value(a, key.property), field_value(b, key.property));
    if (c != 0) return key.descending ? c > 0 : c < 0;
  }
  if (order.empty()) {
    if (a.received != b.received) return a.received > b.received;
  }
  return a.id < b.id; // stable, deterministic paging
}

std::optional<std::vector<std::string>> parse_select(std::string_view text,
                                                     std::string& error) {
  std::vector<std::string> out;
  const auto& known = message_properties();
  while (!text.empty()) {
    auto comma = text.find(',');
    auto name = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    while (!name.empty() && name.front() == ' ')
      name.remove_prefix(1);
    while (!name.empty() && name.back() == ' ')
      name.remove_suffix(1);
    auto it = std::find_if(known.begin(), known.end(),
                           [&](const std::string& k) { return net::iequals(k, name); });
    if (it == known.end()) {
      error = unknown_property(name);
      return std::nullopt;
    }
    out.push_back(*it);
  }
  return out;
}

bool is_size_expand(std::string text) {
  text.erase(std::remove(text.begin(), text.end(), ' '), text.end());
  return net::iequals(text,
                      "singleValueExtendedProperties($filter=ideq'Integer0x0E08')") ||
         net::iequals(text, "singleValueExtendedProperties($filter=ideq'Integer0xe08')");
}

} // namespace graph_sim::odata

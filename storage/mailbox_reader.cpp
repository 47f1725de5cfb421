// mailbox_from_json: a stored mailbox record read field by field as the JSON text goes
// by, without building a document. The REGISTRY reads every record at a start, before
// any mailbox polls: 100,000 parsed into documents took half of its 1.2 s load, read by
// nlohmann's SAX interface still 0.4 s.
// Lenient as the other readers (storage/json_fields.hpp): a missing or mistyped field
// reads as empty, a field given twice keeps its last value, other fields are skipped.

#include "storage/records.hpp"

#include <nlohmann/json.hpp>

namespace storage {

namespace {

/// The text field a top-level key names (the status as its name), or none.
std::string* text_field(mailbox_record& out, std::string& status, std::string_view k) {
  if (k == "id") return &out.id;
  if (k == "account_id") return &out.account_id;
  if (k == "address") return &out.address;
  if (k == "status") return &status;
  if (k == "created_at") return &out.created_at;
  if (k == "connected_at") return &out.connected_at;
  if (k == "state_hash") return &out.state_hash;
  if (k == "state_expires_at") return &out.state_expires_at;
  if (k == "tenant_id") return &out.tenant_id;
  return nullptr;
}

/// nlohmann's SAX interface: each event fills the field its key named.
class mailbox_reader {
public:
  explicit mailbox_reader(mailbox_record& out) : out_{out} {}

  std::string status;

  bool key(std::string& k) {
    text_ = nullptr;
    number_ = nullptr;
    error_next_ = false;
    if (depth_ == 1) {
      if (k == "last_error") {
        out_.last_error.reset();
        error_next_ = true;
      } else if (k == "poll_interval_s") {
        number_ = &out_.poll_interval_s;
      } else if (k == "backfill_days") {
        number_ = &out_.backfill_days;
      } else {
        text_ = text_field(out_, status, k);
      }
    } else if (depth_ == 2 && in_error_) {
      auto& e = *out_.last_error;
      text_ = k == "code"      ? &e.code
              : k == "message" ? &e.message
              : k == "at"      ? &e.at
              : k == "step"    ? &e.step
                               : nullptr;
    }
    // The last occurrence of a field wins, whatever it holds.
    if (text_) text_->clear();
    if (number_) *number_ = 0;
    return true;
  }

  bool string(std::string& s) {
    if (text_) *text_ = std::move(s);
    return value();
  }
  bool number_integer(std::int64_t v) {
    if (number_) *number_ = v;
    return value();
  }
  bool number_unsigned(std::uint64_t v) {
    if (number_) *number_ = static_cast<std::int64_t>(v);
    return value();
  }
  bool number_float(double, const std::string&) { return value(); }
  bool boolean(bool) { return value(); }
  bool null() { return value(); }
  bool binary(nlohmann::json::binary_t&) { return value(); }

  bool start_object(std::size_t) {
    if (depth_ == 0 && seen_root_) return false; // a second document
    seen_root_ = true;
    ++depth_;
    if (depth_ == 2 && error_next_) {
      out_.last_error.emplace();
      in_error_ = true;
    }
    return value();
  }
  bool end_object() {
    if (depth_ == 2) in_error_ = false;
    --depth_;
    return true;
  }
  bool start_array(std::size_t) {
    if (depth_ == 0) return false; // not an object
    ++depth_;
    return value();
  }
  bool end_array() {
    --depth_;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::json::exception&) {
    return false;
  }

  /// The text was one JSON object.
  bool whole() const { return seen_root_ && depth_ == 0; }

private:
  /// A value was read: the next one needs a key of its own.
  bool value() {
    text_ = nullptr;
    number_ = nullptr;
    error_next_ = false;
    return depth_ > 0; // a scalar alone is not a record
  }

  mailbox_record& out_;
  int depth_ = 0;
  bool seen_root_ = false;
  bool in_error_ = false;   ///< inside the object of "last_error"
  bool error_next_ = false; ///< the value of "last_error" comes next
  std::string* text_ = nullptr;
  std::int64_t* number_ = nullptr;
};

/// The common case without nlohmann's lexer, which copies every string a character at a
/// time: one flat object whose strings hold no escape, no control character and nothing
/// beyond ASCII, whose numbers are integers of up to 18 digits and whose "last_error" is
/// not an object. False for anything else (the SAX reader then reads the text).
class plain_reader {
public:
  explicit plain_reader(std::string_view text) : t_{text} {}

  bool read(mailbox_record& out, std::string& status) {
    if (!eat('{')) return false;
    if (eat('}')) return end();
    for (;;) {
      std::string_view k;
      if (!text(k) || !eat(':')) return false;
      std::string* field = nullptr;
      std::int64_t* number = nullptr;
      if (k == "poll_interval_s")
        number = &out.poll_interval_s;
      else if (k == "backfill_days")
        number = &out.backfill_days;
      else if (k == "last_error")
        out.last_error.reset();
      else
        field = text_field(out, status, k);
      // The last occurrence of a field wins, whatever it holds.
      if (field) field->clear();
      if (number) *number = 0;
      ws();
      if (i_ >= t_.size()) return false;
      auto c = t_[i_];
      if (c == '"') {
        std::string_view v;
        if (!text(v)) return false;
        if (field) field->assign(v);
      } else if (c == '-' || (c >= '0' && c <= '9')) {
        std::int64_t v = 0;
        if (!integer(v)) return false;
        if (number) *number = v;
      } else if (!literal("null") && !literal("true") && !literal("false")) {
        return false; // an object, an array, or not JSON
      }
      if (eat(',')) continue;
      if (eat('}')) return end();
      return false;
    }
  }

private:
  void ws() {
    while (i_ < t_.size() &&
           (t_[i_] == ' ' || t_[i_] == '\t' || t_[i_] == '\n' || t_[i_] == '\r'))
      ++i_;
  }
  bool eat(char c) {
    ws();
    if (i_ >= t_.size() || t_[i_] != c) return false;
    ++i_;
    return true;
  }
  bool end() {
    ws();
    return i_ == t_.size();
  }
  bool text(std::string_view& out) {
    if (!eat('"')) return false;
    auto start = i_;
    for (; i_ < t_.size(); ++i_) {
      auto c = static_cast<unsigned char>(t_[i_]);
      if (c == '"') {
        out = t_.substr(start, i_++ - start);
        return true;
      }
      if (c == '\\' || c < 0x20 || c >= 0x80) return false;
    }
    return false;
  }
  bool integer(std::int64_t& out) {
    bool negative = t_[i_] == '-';
    if (negative) ++i_;
    auto start = i_;
    std::int64_t v = 0;
    for (; i_ < t_.size() && t_[i_] >= '0' && t_[i_] <= '9'; ++i_)
      v = v * 10 + (t_[i_] - '0');
    auto digits = i_ - start;
    if (digits == 0 || digits > 18 || (digits > 1 && t_[start] == '0')) return false;
    if (i_ < t_.size() && (t_[i_] == '.' || t_[i_] == 'e' || t_[i_] == 'E')) return false;
    out = negative ? -v : v;
    return true;
  }
  bool literal(std::string_view word) {
    if (t_.substr(i_, word.size()) != word) return false;
    i_ += word.size();
    return true;
  }

  std::string_view t_;
  std::size_t i_ = 0;
};

} // namespace

std::optional<mailbox_record> mailbox_from_json(std::string_view text) {
  mailbox_record x;
  std::string status;
  if (!plain_reader{text}.read(x, status)) {
    x = mailbox_record{};
    mailbox_reader reader{x};
    if (!nlohmann::json::sax_parse(text, &reader) || !reader.whole()) return std::nullopt;
    status = std::move(reader.status);
  }
  if (x.id.empty() || x.account_id.empty()) return std::nullopt;
  auto status_value = mailbox_status_from(status);
  if (!status_value) return std::nullopt;
  x.status = *status_value;
  return x;
}

} // namespace storage

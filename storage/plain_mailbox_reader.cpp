#include "storage/plain_mailbox_reader.hpp"

#include <cstdint>

namespace storage::detail {

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

/// The field of "last_error" a key names, or none.
std::string* error_field(error_record& e, std::string_view k) {
  if (k == "code") return &e.code;
  if (k == "message") return &e.message;
  if (k == "at") return &e.at;
  if (k == "step") return &e.step;
  return nullptr;
}

class plain_reader {
public:
  explicit plain_reader(std::string_view text) : t_{text} {}

  bool read(mailbox_record& out, std::string& status) {
    return object([&](std::string_view k) {
             std::string* field = nullptr;
             std::int64_t* number = nullptr;
             if (k == "poll_interval_s")
               number = &out.poll_interval_s;
             else if (k == "backfill_days")
               number = &out.backfill_days;
             else if (k == "last_error")
               return last_error(out);
             else
               field = text_field(out, status, k);
             return value(field, number);
           }) &&
           end();
  }

private:
  /// `{`, then each key handed to `member` (which reads its value), then `}`.
  template <class Member>
  bool object(Member member) {
    if (!eat('{')) return false;
    if (eat('}')) return true;
    for (;;) {
      std::string_view k;
      if (!text(k) || !eat(':') || !member(k)) return false;
      if (eat(',')) continue;
      return eat('}');
    }
  }

  /// A flat object of strings; anything but an object makes it none.
  bool last_error(mailbox_record& out) {
    out.last_error.reset(); // the last occurrence of a field wins
    ws();
    if (i_ >= t_.size() || t_[i_] != '{') return value(nullptr, nullptr);
    auto& e = out.last_error.emplace();
    return object([&](std::string_view k) { return value(error_field(e, k), nullptr); });
  }

  /// A scalar value: a string into `field`, an integer into `number` (each, if given,
  /// emptied first: the last occurrence of a field wins, whatever it holds). False for
  /// an object, an array or what is not JSON.
  bool value(std::string* field, std::int64_t* number) {
    if (field) field->clear();
    if (number) *number = 0;
    ws();
    if (i_ >= t_.size()) return false;
    auto c = t_[i_];
    if (c == '"') {
      std::string_view v;
      if (!text(v)) return false;
      if (field) field->assign(v);
      return true;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      std::int64_t v = 0;
      if (!integer(v)) return false;
      if (number) *number = v;
      return true;
    }
    return literal("null") || literal("true") || literal("false");
  }

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
    for (; i_ < t_.size() && t_[i_] >= '0' && t_[i_] <= '9'; ++i_) {
      if (i_ - start == 18) return false; // more digits than an int64 surely holds
      v = v * 10 + (t_[i_] - '0');
    }
    auto digits = i_ - start;
    if (digits == 0 || (digits > 1 && t_[start] == '0')) return false;
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

bool read_plain_mailbox(std::string_view text, mailbox_record& out, std::string& status) {
  return plain_reader{text}.read(out, status);
}

} // namespace storage::detail

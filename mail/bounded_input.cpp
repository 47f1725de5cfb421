#include "mail/bounded_input.hpp"

#include "mail/limits.hpp"

#include <unordered_set>

namespace mail::detail {

namespace {

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

/// Where `needle` (lower case) starts in `line`, ignoring case; npos if nowhere.
std::size_t find_nocase(std::string_view line, std::string_view needle) {
  if (line.size() < needle.size()) return std::string_view::npos;
  for (std::size_t i = 0; i + needle.size() <= line.size(); ++i) {
    std::size_t k = 0;
    while (k < needle.size() && lower(line[i + k]) == needle[k])
      ++k;
    if (k == needle.size()) return i;
  }
  return std::string_view::npos;
}

std::string_view trim_end(std::string_view s) {
  while (!s.empty() &&
         (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

/// True if `line` can be part of a header block: a field ("Name:") or a folded
/// continuation. Anything else ends the block, as it does for GMime.
bool header_like(std::string_view line) {
  if (line.empty()) return false;
  if (line[0] == ' ' || line[0] == '\t') return true;
  for (std::size_t i = 0; i < line.size(); ++i) {
    auto c = static_cast<unsigned char>(line[i]);
    if (c == ':') return i > 0;
    if (c <= ' ' || c > '~') return false;
  }
  return false;
}

bool starts_nocase(std::string_view line, std::string_view prefix) {
  return find_nocase(line.substr(0, prefix.size()), prefix) == 0;
}

/// The value of a "boundary=" parameter in a header line, if it has one.
std::string_view boundary_in(std::string_view line) {
  auto at = find_nocase(line, "boundary=");
  if (at == std::string_view::npos) return {};
  auto value = line.substr(at + 9);
  if (!value.empty() && value.front() == '"') {
    value.remove_prefix(1);
    return value.substr(0, value.find('"'));
  }
  return trim_end(value.substr(0, value.find_first_of("; \t\r\n")));
}

class bounder {
public:
  explicit bounder(std::string_view raw) : raw_(raw) {}

  bounded_input run() {
    for (std::size_t begin = 0; begin < raw_.size();) {
      auto end = raw_.find('\n', begin);
      end = end == std::string_view::npos ? raw_.size() : end + 1;
      auto line = raw_.substr(begin, end - begin);
      if (in_header_ && line != "\n" && line != "\r\n" && !header_like(line))
        end_header_block(); // a body without the blank line before it
      if (in_header_ ? !header_line(line) : !body_line(line)) {
        keep_until(begin);
        cut_ = true;
        break;
      }
      if (dropping_) {
        keep_until(begin);
        kept_from_ = end;
      }
      begin = end;
    }
    bounded_input out;
    out.problems = std::move(problems_);
    if (kept_from_ == 0 && !cut_) {
      out.text = raw_;
      return out;
    }
    if (!cut_) keep_until(raw_.size());
    out.trimmed = std::move(trimmed_);
    out.text = out.trimmed;
    return out;
  }

private:
  /// Copies what is kept of raw_[kept_from_, to) into the output.
  void keep_until(std::size_t to) {
    if (to > kept_from_) trimmed_.append(raw_.substr(kept_from_, to - kept_from_));
    kept_from_ = to;
  }

  void end_header_block() {
    in_header_ = embedded_next_;
    embedded_next_ = false;
    block_bytes_ = 0;
    dropping_ = false;
  }

  /// Handles a line of a header block; false if the input ends before it.
  bool header_line(std::string_view line) {
    if (line == "\n" || line == "\r\n") {
      end_header_block();
      return true;
    }
    block_bytes_ += line.size();
    all_bytes_ += line.size();
    ++lines_;
    if (block_bytes_ > limits::max_header_block_bytes ||
        all_bytes_ > limits::max_all_header_bytes || lines_ > limits::max_header_lines) {
      if (!dropping_)
        problem("header fields beyond " +
                std::to_string(limits::max_header_block_bytes / 1024) +
                " KiB in one block, " +
                std::to_string(limits::max_all_header_bytes / 1024) + " KiB or " +
                std::to_string(limits::max_header_lines) + " lines in all are left out");
      dropping_ = true;
      return true;
    }
    if (auto b = boundary_in(line); !b.empty()) boundaries_.insert(std::string{b});
    if (starts_nocase(line, "content-type:") &&
        (find_nocase(line, "message/rfc822") != std::string_view::npos ||
         find_nocase(line, "message/global") != std::string_view::npos))
      embedded_next_ = true;
    return true;
  }

  /// Handles a line of a body; false if the input ends before it.
  bool body_line(std::string_view line) {
    if (line.size() < 3 || line[0] != '-' || line[1] != '-' || boundaries_.empty())
      return true;
    auto token = trim_end(line.substr(2));
    bool closing = token.size() >= 2 && token.substr(token.size() - 2) == "--";
    if (boundaries_.count(std::string{token}) != 0) {
      closing = false;
    } else if (!closing ||
               boundaries_.count(std::string{token.substr(0, token.size() - 2)}) == 0) {
      return true; // not a delimiter
    }
    if (closing) return true;
    if (++parts_ > limits::max_parts) {
      problem("more than " + std::to_string(limits::max_parts) +
              " MIME parts: the rest are left out");
      return false;
    }
    in_header_ = true; // the part's header block follows
    return true;
  }

  void problem(std::string text) { problems_.push_back(std::move(text)); }

  std::string_view raw_;
  std::string trimmed_;
  std::size_t kept_from_ = 0; ///< raw_[.., kept_from_) is decided
  bool cut_ = false;
  bool in_header_ = true; ///< the message starts with its header block
  bool embedded_next_ = false;
  bool dropping_ = false;
  std::size_t block_bytes_ = 0;
  std::size_t all_bytes_ = 0;
  std::size_t lines_ = 0;
  std::size_t parts_ = 0;
  std::unordered_set<std::string> boundaries_;
  std::vector<std::string> problems_;
};

} // namespace

bounded_input bound_input(std::string_view raw) {
  return bounder{raw}.run();
}

} // namespace mail::detail

#pragma once

#include <gmime/gmime.h>

#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

/// Collecting parse problems (internal to mail/).
namespace mail::detail {

/// Appends problem descriptions to a list, each at most once, in the order first seen,
/// and at most `max_problems` of them: a hostile message can hold a problem per line.
class problem_sink {
public:
  explicit problem_sink(std::vector<std::string>& problems) : problems_(problems) {}

  static constexpr std::size_t max_problems = 50;

  /// Adds `problem` (made printable UTF-8) unless the list already holds it or is full;
  /// the first problem past the limit adds a last entry that says more were left out.
  void add(std::string problem);

  /// GMimeParserWarningFunc; `user_data` is a problem_sink.
  static void on_warning(gint64 offset, GMimeParserWarning code, const gchar* item,
                         gpointer user_data);

private:
  std::vector<std::string>& problems_;
  std::unordered_set<std::string> seen_;
  bool full_ = false;
};

/// `text` as valid UTF-8 without control characters, cut after about `max_bytes`.
std::string printable(std::string_view text, std::size_t max_bytes = 80);

} // namespace mail::detail

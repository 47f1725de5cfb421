#pragma once

#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

/// The addresses of every connected mailbox, in any account: mail from one of them is a
/// loop. The REGISTRY writes it; the CONVERTERs, the HELPDESK and the REST front read it
/// from their own threads.
namespace exc {

class address_book {
public:
  void add(std::string_view address);
  /// Many at once (a start's 100,000), at one lock and one growth of the set.
  void add(const std::vector<std::string>& addresses);
  void remove(std::string_view address);
  /// Case-insensitive.
  bool contains(std::string_view address) const;

private:
  mutable std::shared_mutex mutex_;
  std::unordered_set<std::string> addresses_; ///< lower case
};

} // namespace exc

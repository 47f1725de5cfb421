#include "storage/address_book.hpp"

#include "net/url.hpp"

#include <mutex>

namespace exc {

void address_book::add(std::string_view address) {
  std::unique_lock lock{mutex_};
  addresses_.insert(net::to_lower(address));
}

void address_book::add(const std::vector<std::string>& addresses) {
  std::unique_lock lock{mutex_};
  addresses_.reserve(addresses_.size() + addresses.size());
  for (const auto& a : addresses)
    addresses_.insert(net::to_lower(a));
}

void address_book::remove(std::string_view address) {
  std::unique_lock lock{mutex_};
  addresses_.erase(net::to_lower(address));
}

bool address_book::contains(std::string_view address) const {
  auto lower = net::to_lower(address);
  std::shared_lock lock{mutex_};
  return addresses_.count(lower) > 0;
}

} // namespace exc

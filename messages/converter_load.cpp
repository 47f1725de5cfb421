#include "messages/converter_load.hpp"

#include <algorithm>

namespace exc {

converter_load::converter_load(std::size_t converters, std::uint64_t byte_budget)
    : size_(std::max<std::size_t>(converters, 1)),
      counts_(new std::atomic<std::uint32_t>[size_]), byte_budget_(byte_budget) {
  for (std::size_t i = 0; i < size_; ++i)
    counts_[i] = 0;
}

converter_load::lease::lease(converter_load& load, std::size_t index)
    : load_(load), index_(index) {
  ++load_.counts_[index_];
}

converter_load::lease::~lease() {
  --load_.counts_[index_];
}

std::shared_ptr<converter_load::lease> converter_load::acquire() {
  // A race between two MAILBOXes picking at once only makes the choice approximate.
  std::size_t best = 0;
  for (std::size_t i = 1; i < size_; ++i)
    if (counts_[i].load() < counts_[best].load()) best = i;
  return std::make_shared<lease>(*this, best);
}

std::uint32_t converter_load::in_flight(std::size_t i) const {
  return counts_[i].load();
}

converter_load::reservation::reservation(converter_load& load, std::uint64_t bytes)
    : load_(load), bytes_(bytes) {}

converter_load::reservation::~reservation() {
  load_.reserved_ -= bytes_;
}

std::shared_ptr<converter_load::reservation>
converter_load::reserve(std::uint64_t bytes) {
  auto held = reserved_.load();
  for (;;) {
    bool fits = held == 0 || (bytes <= byte_budget_ && held <= byte_budget_ - bytes);
    if (!fits) return nullptr;
    if (reserved_.compare_exchange_weak(held, held + bytes)) break;
  }
  return std::make_shared<reservation>(*this, bytes);
}

} // namespace exc

#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

/// How many conversions each CONVERTER of the pool has in flight, so that a MAILBOX
/// hands its mail to the least loaded one (a slow mail keeps one CONVERTER busy, the
/// others take the rest). A MAILBOX converts one mail at a time, so it never holds more
/// than one CONVERTER. Shared by every MAILBOX; thread-safe.
namespace exc {

class converter_load {
public:
  explicit converter_load(std::size_t converters);

  /// The least loaded CONVERTER (the lowest index among equals), counted as one more
  /// conversion in flight until its lease ends.
  class lease {
  public:
    lease(converter_load& load, std::size_t index);
    ~lease();
    lease(const lease&) = delete;
    lease& operator=(const lease&) = delete;
    std::size_t index() const { return index_; }

  private:
    converter_load& load_;
    std::size_t index_;
  };

  /// A lease on the least loaded CONVERTER; shared, so that whichever response handler
  /// of the conversion runs (or none, if the MAILBOX dies first) ends it.
  std::shared_ptr<lease> acquire();

  std::size_t size() const { return size_; }
  std::uint32_t in_flight(std::size_t i) const;

private:
  std::size_t size_;
  std::unique_ptr<std::atomic<std::uint32_t>[]> counts_;
};

} // namespace exc

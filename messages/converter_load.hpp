#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

/// How many conversions each CONVERTER of the pool has in flight, so that a MAILBOX
/// hands its mail to the least loaded one (a slow mail keeps one CONVERTER busy, the
/// others take the rest). A MAILBOX converts one mail at a time, so it never holds more
/// than one CONVERTER. And how many bytes of mail are on their way through conversion
/// in the whole process (downloading, queued at a CONVERTER, converting, being
/// stored), within a byte budget: a conversion takes about twice its mail's size in
/// memory, so the budget bounds what conversion holds however many mailboxes receive
/// large mail at once. Shared by every MAILBOX; thread-safe.
namespace exc {

class converter_load {
public:
  /// @param converters the pool's size
  /// @param byte_budget bytes of mail that may be on their way through conversion
  explicit converter_load(std::size_t converters, std::uint64_t byte_budget = UINT64_MAX);

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

  /// Bytes of the budget held for one mail until it ends (its last holder drops it).
  class reservation {
  public:
    reservation(converter_load& load, std::uint64_t bytes);
    ~reservation();
    reservation(const reservation&) = delete;
    reservation& operator=(const reservation&) = delete;
    std::uint64_t bytes() const { return bytes_; }

  private:
    converter_load& load_;
    std::uint64_t bytes_;
  };

  /// Reserves `bytes` for one mail if they fit in what the budget has left; nullptr if
  /// not (the caller tries again later). A mail larger than the whole budget fits when
  /// nothing else is reserved, so no mail waits forever for room that cannot come.
  std::shared_ptr<reservation> reserve(std::uint64_t bytes);

  std::uint64_t reserved() const { return reserved_.load(); }
  std::uint64_t byte_budget() const { return byte_budget_; }

private:
  std::size_t size_;
  std::unique_ptr<std::atomic<std::uint32_t>[]> counts_;
  std::uint64_t byte_budget_;
  std::atomic<std::uint64_t> reserved_{0};
};

} // namespace exc

// fuzz-convert: a raw message, as a sender wrote it, through the CONVERTER's decision
// (MIME parsing, header decoding, HTML to text, loop and machine checks).
#include "actors/converter.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto* connected = [] {
    auto* book = new exc::address_book;
    book->add("support@example.test");
    return book;
  }();
  exc::inbound_mail base;
  base.account_id = "acc_fuzz";
  base.mailbox_id = "mb_fuzz";
  base.graph_id = "AAMk-fuzz";
  base.received_at = "2026-11-25T10:00:00Z";
  base.message_id = "graph-id@example.test";
  // No time budget: a slow input is a libFuzzer timeout, not a caught out_of_time.
  exc::convert_mail(std::string{reinterpret_cast<const char*>(data), size},
                    std::move(base), *connected);
  return 0;
}

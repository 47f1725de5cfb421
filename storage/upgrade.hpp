#pragma once

#include "storage/db.hpp"

#include <caf/error.hpp>

#include <cstdint>

/// Brings a database an earlier build wrote up to db::schema_version, one step per
/// version. A step only adds what the new version needs (writes that may be repeated),
/// and the new version is written once they are durable: a process that dies during a
/// step runs it again at the next start.
namespace storage {

/// Version 2: the per-mailbox indexes of tickets and rejections (helpdesk.hpp), read
/// by the listings of one mailbox.
caf::error upgrade_to_2(db& d);

/// Version 3: the index of open journal entries (helpdesk.hpp, open_key), which delta
/// rounds need to find what must be tried again.
caf::error upgrade_to_3(db& d);

/// Runs every step from `stored` (< db::schema_version) on, writing each new version.
caf::error upgrade(db& d, std::uint32_t stored);

} // namespace storage

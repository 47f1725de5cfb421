#pragma once

#include "mail/message.hpp"

#include <optional>
#include <string>

namespace mail {

/// Whether a message was written by a machine (an auto-reply, a bounce, bulk mail), by
/// the union of the rules the established helpdesks use:
/// - `Auto-Submitted` other than `no` (RFC 3834);
/// - `X-Autoreply`, `X-Autorespond` or `X-Autoresponder` present;
/// - `X-Auto-Response-Suppress` naming `All` or `AutoReply`;
/// - `Precedence` or `X-Precedence` of `junk` or `auto_reply`;
/// - a delivery-status report (`multipart/report; report-type=delivery-status`) or
///   `X-Failed-Recipients`;
/// - a sender `mailer-daemon@…` or `postmaster@…`, or an empty `Return-Path` (`<>`).
/// Returns the rule that matched, for people (e.g. "Precedence: bulk"); nullopt if none.
std::optional<std::string> automatic_reason(const message& msg);

/// Whether a message came through a mailing list or is bulk mail: `List-Id` present,
/// or `Precedence`/`X-Precedence` of `list` or `bulk`. A person may well have written
/// it (mail to a customer's group address carries these), so it is not automatic;
/// the account decides. Returns the rule that matched, e.g. "List-Id: <a.b.c>".
std::optional<std::string> list_reason(const message& msg);

} // namespace mail

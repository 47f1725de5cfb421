#pragma once

#include <caf/atom.hpp>

/// Every atom the actors exchange, declared once (at most 10 characters each).
namespace exc::atom {

/// Prefixes self-messages that other actors must not send.
using internal = caf::atom_constant<caf::atom("internal")>;
constexpr internal internal_v{};
/// Asks for a mailbox's access token.
using token = caf::atom_constant<caf::atom("token")>;
constexpr token token_v{};
/// Exchanges an authorization code for tokens.
using redeem = caf::atom_constant<caf::atom("redeem")>;
constexpr redeem redeem_v{};
/// Takes over a grant for a mailbox (stores its refresh token).
using adopt = caf::atom_constant<caf::atom("adopt")>;
constexpr adopt adopt_v{};
/// Reports an access token that Graph refused.
using invalidate = caf::atom_constant<caf::atom("invalidate")>;
constexpr invalidate invalidate_v{};
/// Drops a mailbox's grant.
using forget = caf::atom_constant<caf::atom("forget")>;
constexpr forget forget_v{};
/// Registers the listener for token events.
using subscribe = caf::atom_constant<caf::atom("subscribe")>;
constexpr subscribe subscribe_v{};
/// A mailbox's grant is gone.
using reauth = caf::atom_constant<caf::atom("reauth")>;
constexpr reauth reauth_v{};
/// The app's own credentials were refused, or work again.
using app_status = caf::atom_constant<caf::atom("appstatus")>;
constexpr app_status app_status_v{};
/// A mailbox's poll timer fired.
using poll = caf::atom_constant<caf::atom("poll")>;
constexpr poll poll_v{};
/// A mailbox reports the outcome of a poll.
using polled = caf::atom_constant<caf::atom("polled")>;
constexpr polled polled_v{};
/// Restarts a mailbox actor after a failure.
using restart = caf::atom_constant<caf::atom("restart")>;
constexpr restart restart_v{};
/// Turns a message's raw MIME into an inbound mail.
using convert = caf::atom_constant<caf::atom("convert")>;
constexpr convert convert_v{};
/// Stores an inbound mail as a ticket, comment or rejection with its journal entry.
using ingest = caf::atom_constant<caf::atom("ingest")>;
constexpr ingest ingest_v{};
/// Turns a rejected mail into a ticket or comment after all (an admin's decision).
using recover = caf::atom_constant<caf::atom("recover")>;
constexpr recover recover_v{};
/// Counts a try of a message before it starts (so a crash during it counts too).
using attempt = caf::atom_constant<caf::atom("attempt")>;
constexpr attempt attempt_v{};
/// Records a failed try of a message (and quarantines it after too many).
using failed = caf::atom_constant<caf::atom("failed")>;
constexpr failed failed_v{};
/// Records that a message carries its labels in Exchange.
using label = caf::atom_constant<caf::atom("label")>;
constexpr label label_v{};
/// A child has nothing left to do.
using idle = caf::atom_constant<caf::atom("idle")>;
constexpr idle idle_v{};
using labelled = caf::atom_constant<caf::atom("labelled")>;
constexpr labelled labelled_v{};
/// New account settings for a mailbox (labels, mark-as-read).
using settings = caf::atom_constant<caf::atom("settings")>;
constexpr settings settings_v{};
/// The next step of an actor's own work loop.
using step = caf::atom_constant<caf::atom("step")>;
constexpr step step_v{};
/// A FETCHER downloaded a message (its MAILBOX counts it in the fetch window).
using downloaded = caf::atom_constant<caf::atom("download")>;
constexpr downloaded downloaded_v{};
/// A FETCHER's cycle is over (how it went).
using fetched = caf::atom_constant<caf::atom("fetched")>;
constexpr fetched fetched_v{};

/// The outbox has mail for the mailbox: its SENDER drains it.
using wake = caf::atom_constant<caf::atom("wake")>;
constexpr wake wake_v{};
/// Stores an agent's comment on a ticket (and queues its notification).
using comment = caf::atom_constant<caf::atom("comment")>;
constexpr comment comment_v{};
/// Queues a mail for an external helpdesk.
using outbound = caf::atom_constant<caf::atom("outbound")>;
constexpr outbound outbound_v{};
/// Asks for everything written so far to be made durable (a share of a group commit).
using sync = caf::atom_constant<caf::atom("sync")>;
constexpr sync sync_v{};
/// The STORAGE WRITER's requests: commit a batch; answer once every write queued before
/// is applied.
using commit = caf::atom_constant<caf::atom("commit")>;
constexpr commit commit_v{};
using barrier = caf::atom_constant<caf::atom("barrier")>;
constexpr barrier barrier_v{};
/// A mailbox's Graph gate: a slot for one request, and its return.
using acquire = caf::atom_constant<caf::atom("acquire")>;
constexpr acquire acquire_v{};
using release = caf::atom_constant<caf::atom("release")>;
constexpr release release_v{};
/// A SENDER reports how its mailbox's sending goes.
using sent = caf::atom_constant<caf::atom("sent")>;
constexpr sent sent_v{};

// The REGISTRY's requests (accounts, mailboxes, sign-in) and the MAILBOX's status.
/// Finds the account of an API key.
using authenticate = caf::atom_constant<caf::atom("auth")>;
constexpr authenticate authenticate_v{};
/// Creates an account.
using create = caf::atom_constant<caf::atom("create")>;
constexpr create create_v{};
/// Lists every account.
using accounts = caf::atom_constant<caf::atom("accounts")>;
constexpr accounts accounts_v{};
/// Reads one account.
using account = caf::atom_constant<caf::atom("account")>;
constexpr account account_v{};
/// Registers a mailbox to connect.
using connect = caf::atom_constant<caf::atom("connect")>;
constexpr connect connect_v{};
/// Lists an account's mailboxes.
using mailboxes = caf::atom_constant<caf::atom("mailboxes")>;
constexpr mailboxes mailboxes_v{};
/// Reads one mailbox.
using mailbox = caf::atom_constant<caf::atom("mailbox")>;
constexpr mailbox mailbox_v{};
/// Starts a new sign-in for a mailbox.
using reauthorize = caf::atom_constant<caf::atom("reauthz")>;
constexpr reauthorize reauthorize_v{};
/// Pauses a mailbox.
using pause = caf::atom_constant<caf::atom("pause")>;
constexpr pause pause_v{};
/// Resumes a paused mailbox.
using resume = caf::atom_constant<caf::atom("resume")>;
constexpr resume resume_v{};
/// Sends what waits (the GRAPH BATCHER's requests).
using flush = caf::atom_constant<caf::atom("flush")>;
constexpr flush flush_v{};
/// Deletes a mailbox.
using remove = caf::atom_constant<caf::atom("remove")>;
constexpr remove remove_v{};
/// A browser came back from Microsoft's sign-in.
using callback = caf::atom_constant<caf::atom("callback")>;
constexpr callback callback_v{};
/// Where a mailbox's outbound mail comes from (address, header names).
using origin = caf::atom_constant<caf::atom("origin")>;
constexpr origin origin_v{};
/// The app's own credentials: refused or fine.
using health = caf::atom_constant<caf::atom("health")>;
constexpr health health_v{};
/// An administrator's consent for a whole Microsoft tenant (its link, its return).
using consent = caf::atom_constant<caf::atom("consent")>;
constexpr consent consent_v{};
/// An account's tenants (admin consent).
using tenants = caf::atom_constant<caf::atom("tenants")>;
constexpr tenants tenants_v{};
/// A MAILBOX's live status (last poll, throttling, sending).
using status = caf::atom_constant<caf::atom("status")>;
constexpr status status_v{};

/// A change or lifecycle notification from Graph for a mailbox.
using notify = caf::atom_constant<caf::atom("notify")>;
constexpr notify notify_v{};
/// A SUBSCRIBER reports its mailbox's subscription.
using subscribed = caf::atom_constant<caf::atom("subscribed")>;
constexpr subscribed subscribed_v{};
/// Deliver (webhook events) again.
using retry = caf::atom_constant<caf::atom("retry")>;
constexpr retry retry_v{};

} // namespace exc::atom

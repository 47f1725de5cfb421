#!/usr/bin/env bash
# The outbound benchmark (issue 6): the drain rate of one mailbox with a backlog of
# outbound mail under the default send limits (10 per 60 s on both sides), as a fraction
# of the permitted rate (takes about two minutes). Writes the figures into
# docs/benchmarks.md. Usage: tools/bench/send.sh [MAILS]   (default 21)
set -euo pipefail
cd "$(dirname "$0")/../.."
mails=${1:-21}
bash tools/build.sh normal graph-sim exconnectd bench-driver >/dev/null
source tools/stack.sh
source tools/bench/write-section.sh
dir=$PWD/bench-data

echo "== send drain: one mailbox, $mails mails, default send limits on both sides"
start_stack "$dir"
drain=$(bench_driver send-drain --mails "$mails")
echo "$drain"
stop_stack

write_section send "Outbound" "Measured $(date -u +%Y-%m-%d) by \`tools/bench/send.sh $mails\` on $(nproc) cores, graph-sim and
exconnectd on the same machine over TLS on loopback.

Drain: one mailbox with a backlog of $mails outbound mails (queued through
\`POST /api/v1/mailboxes/{id}/outbound\`, one recipient each) under the default send
limits on both sides (10 mails per 60 s, 50 MB per 300 s, 10,000 recipients per 24 h).
The first 10 go at once; mail n may go at floor(n / 10) x 60 s, so the last one at
$(( (mails - 1) / 10 * 60 )) s after the first. exconnectd counts a send when Graph has answered, so its
window can only end later than graph-sim's, never earlier.

\`\`\`
$drain
\`\`\`"

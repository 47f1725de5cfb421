#!/usr/bin/env bash
# Push vs polling (issue 15): N empty mailboxes of one tenant, first polling every 60 s,
# then (a fresh stack) each subscribed to change notifications and polling every 15
# minutes as a safety net. Each run counts Graph's requests over an idle minute, then
# mail arrives at RATE per second for SECONDS to mailboxes drawn at random, and prints
# arrival-to-ticket p50/p99/max and the requests per mail. Writes the figures into
# docs/benchmarks.md.
# Usage: tools/bench/push.sh [MAILBOXES [SECONDS [RATE]]]   (default 1000 60 10)
set -euo pipefail
cd "$(dirname "$0")/../.."
mailboxes=${1:-1000}
seconds=${2:-60}
rate=${3:-10}
bash tools/build.sh normal graph-sim exconnectd bench-driver >/dev/null
source tools/stack.sh
source tools/bench/write-section.sh
dir=$PWD/bench-data

start_stack "$dir" -- --poll-interval 60
echo "== polling: $mailboxes mailboxes polling every 60 s, $rate mails per second for $seconds s"
polling=$(bench_driver latency --threads 8 --daemon-pid "$daemon_pid" --settle-s 10 \
  --measure-s "$seconds" --rate "$rate" --mailboxes "$mailboxes")
echo "$polling"
stop_stack

start_stack "$dir" -- --poll-interval 60 --push-notifications on --push-poll-interval 900
echo "== push: $mailboxes mailboxes subscribed, $rate mails per second for $seconds s"
push=$(bench_driver latency --push on --threads 8 --daemon-pid "$daemon_pid" --settle-s 10 \
  --measure-s "$seconds" --rate "$rate" --mailboxes "$mailboxes")
echo "$push"
stop_stack

write_section "push-$mailboxes" "Push and delta vs polling ($mailboxes mailboxes)" "Measured $(date -u +%Y-%m-%d) by \`tools/bench/push.sh $mailboxes $seconds $rate\` on $(nproc) cores
($(lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2; exit}')), graph-sim and exconnectd on the same machine (graph-sim
over TLS, exconnectd's notification endpoint over plain HTTP on loopback). Two fresh
stacks: the mailboxes poll every 60 s; then they are subscribed to change notifications
(\`--push-notifications on\`) and poll every 15 minutes as a safety net. Each run counts
the Graph requests graph-sim answers over an idle minute (polls, delta rounds,
subscription renewals; a \`\$batch\` and each request in it count separately) and from the first arrival until every mail has its ticket; the
mail goes to mailboxes drawn at random (fixed seed). Arrival is the driver's clock when
it delivered the mail; the ticket's \`created_at\` (whole seconds) is taken as the end of
its second, so the push figures are upper bounds rounded up to the next second
(\`tests/daemon/push.cpp\` measures 100 mails to the millisecond).

Polling every 60 s:

\`\`\`
$polling
\`\`\`

Change notifications, polling every 15 minutes:

\`\`\`
$push
\`\`\`"

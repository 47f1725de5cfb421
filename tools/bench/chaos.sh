#!/usr/bin/env bash
# The chaos run with 100 SIGKILLs (ctest runs 10) and the isolation measurement
# (issue 12); writes both into docs/benchmarks.md. Takes about eight minutes.
# Usage: tools/bench/chaos.sh [KILLS]   (default 100)
set -euo pipefail
cd "$(dirname "$0")/../.."
kills=${1:-100}
bash tools/build.sh normal chaos graph-sim exconnectd >/dev/null
source tools/bench/write-section.sh
machine="$(nproc) cores ($(lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2; exit}'))"

echo "== chaos: $kills SIGKILLs"
start=$(date +%s)
status=0
chaos=$(build/tools/chaos/chaos --kills "$kills" --mails-per-round 4 --seed 12 | grep -v '^20') ||
  status=1
echo "$chaos"
took=$(( $(date +%s) - start ))
write_section chaos "Chaos" "Measured $(date -u +%Y-%m-%d) by \`tools/bench/chaos.sh $kills\` on $machine, in $took s.
Six mailboxes; each round delivers 4 mails and posts 2 agent replies (public: mailed),
with graph-sim's faults on (5 % 500/503, with \`Retry-After\` every other round and
without it in the others, 1 % dropped connections, 0–40 ms latency, every access token
expired every third round), then SIGKILLs exconnectd after 0.2–1.5 s and starts it
again. After the last round the faults stop and the run waits until every mail is
labelled and the outbox is drained, then checks exactly-once (a ticket, comment or
rejection per mail; one send per queued email, by Message-ID in graph-sim's sent log)
and graph-sim's limit counters. The account has a webhook whose receiver
(\`tools/webhook-receiver\`) fails 20 % of the calls, half of them after taking the
event; the run checks that, after dropping repeats by event id, it took exactly one
event per ticket, comment, rejection and sent email, each ticket's in order, and that
every signature verified. ctest runs the same with 10 kills.

\`\`\`
$chaos
\`\`\`"

echo "== isolation"
isolation=$(build/tools/chaos/chaos --isolation --mailboxes 6 | grep -v '^20') || status=1
echo "$isolation"
write_section isolation "Isolation" "Measured $(date -u +%Y-%m-%d) by \`tools/bench/chaos.sh\` (\`chaos --isolation\`) on $machine.
Arrival-to-ticket latency of six healthy mailboxes (each gets a mail every 3 s for a
minute; the time from graph-sim's delivery until the ticket shows in the REST listing,
watched every 20 ms; poll interval 1 s), first alone, then beside a mailbox whose grant
is revoked, one whose every PATCH fails (500), one whose every request fails (500) and
one holding a mail that always fails conversion (40 MB of HTML-only \`<title></title>\`:
linear since issue 13, about a second to turn into text; exconnectd runs with
\`--conversion-timeout 0.2\`, so every try is stopped after 0.2 s), each also
getting ordinary mail. The p99 must stay within 10 % of the clean run's, and the
unconvertible mail must end as a \`processing_failed\` rejection (five tries,
\`--retry-initial 1\`) while the mail behind it in its mailbox becomes tickets.

\`\`\`
$isolation
\`\`\`"
exit $status

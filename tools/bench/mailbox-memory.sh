#!/usr/bin/env bash
# What an idle MAILBOX actor costs in resident memory, at 100,000 mailboxes (aim: at most
# 10 KiB each with all its actors). Builds the benchmark, runs it, and writes the
# figures into docs/benchmarks.md. Usage: tools/bench/mailbox-memory.sh [N]
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-100000}
bash tools/build.sh normal bench-mailbox-memory >/dev/null
out=$(build/tools/bench/bench-mailbox-memory "$n")
echo "$out"
source tools/bench/write-section.sh
write_section mailbox-memory "Idle mailbox memory" "Measured $(date -u +%Y-%m-%d) by \`tools/bench/mailbox-memory.sh $n\`: $n MAILBOX actors spawned as the
REGISTRY spawns them (config with real-length ids and addresses, poll timer, peers; a
SENDER only for an outbox with mail to send, none here), each after a first poll whose
listing failed at once, so every one is idle on its timer with no FETCHER, LABELER or
SENDER. Resident memory of the process before and after, each after \`malloc_trim\`
(here all 100,000 first polls run at once, and malloc keeps the pages they used until
asked; the figure before the trim is printed too); $(nproc) cores.

\`\`\`
$out
\`\`\`

This is the MAILBOX (with its Graph gate) alone: an idle mailbox has no FETCHER (one
exists only while a poll cycle works on mail its listing found), no LABELER (only while there are labels to set) and no
SENDER (only while its outbox has mail). Three more polls each do not make it grow; the
unit tests check that an ended FETCHER's memory is released and that one poll timer is
pending per mailbox. The REGISTRY's record of the mailbox (a few
hundred bytes) and the journal in RocksDB come on top. The design allows 10 KiB per mailbox."

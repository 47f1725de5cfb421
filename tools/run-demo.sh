#!/usr/bin/env bash
# The README's first command: installs dependencies, builds, and runs the demo —
# graph-sim (a stand-in for Microsoft Graph) over TLS with sample mailboxes, and
# exconnectd connecting them through OAuth consent.
# Usage: tools/run-demo.sh [--keep-running]
set -euo pipefail
cd "$(dirname "$0")/.."

keep_running=0
for arg in "$@"; do
  case "$arg" in
    --keep-running) keep_running=1 ;;
    -h|--help) sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run-demo: unknown option $arg (try --help)" >&2; exit 2 ;;
  esac
done

bash tools/install-deps.sh
echo "== building"
bash tools/build.sh normal

data=$PWD/demo-data
source tools/stack.sh
echo "== starting graph-sim over TLS (a throwaway CA) and exconnectd; state and logs in $data"
start_stack "$data" -- --poll-interval 2
echo "   graph-sim is serving $sim_url (login service, Graph v1.0, control API /_sim/)"
echo "   exconnectd is serving $api_url (REST API /api/v1, /oauth/callback, /metrics)"
echo

build/tools/demo/exconnect-demo --graph-sim "$sim_url" --ca-file "$data/ca.pem" \
  --mail-dir tools/demo/mail --exconnect "$api_url" \
  --admin-token-file "$data/exconnect/admin.token" --client-id $client_id \
  --client-secret-file "$data/client.secret"

if [ $keep_running -eq 1 ]; then
  echo
  echo "graph-sim keeps running at $sim_url (CA: $data/ca.pem), exconnectd at $api_url"
  echo "(admin token in $data/exconnect/admin.token); Ctrl-C stops both."
  wait $daemon_pid
fi
echo
echo "demo finished."

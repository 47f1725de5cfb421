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
rm -rf "$data"
mkdir -p "$data"
echo "== creating a throwaway certificate authority for graph-sim's TLS in $data"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout "$data/ca.key" -out "$data/ca.pem" -days 7 -subj "/CN=exconnect demo CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout "$data/server.key" -out "$data/server.csr" -subj "/CN=localhost" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > "$data/server.ext"
openssl x509 -req -in "$data/server.csr" -CA "$data/ca.pem" -CAkey "$data/ca.key" \
  -CAcreateserial -out "$data/server.pem" -days 7 -extfile "$data/server.ext" 2>/dev/null

echo "== starting graph-sim"
build/tools/graph-sim/graph-sim --port 0 --port-file "$data/graph-sim.port" \
  --tls-cert "$data/server.pem" --tls-key "$data/server.key" 2>"$data/graph-sim.log" &
sim_pid=$!
daemon_pid=
cleanup() {
  [ -n "$daemon_pid" ] && kill $daemon_pid 2>/dev/null && wait $daemon_pid 2>/dev/null
  kill $sim_pid 2>/dev/null || true
  wait $sim_pid 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 200); do
  [ -s "$data/graph-sim.port" ] && break
  kill -0 $sim_pid 2>/dev/null || { cat "$data/graph-sim.log" >&2; exit 1; }
  sleep 0.05
done
[ -s "$data/graph-sim.port" ] || { echo "graph-sim did not start" >&2; exit 1; }
sim_url="https://127.0.0.1:$(cat "$data/graph-sim.port")"
echo "   graph-sim is serving $sim_url (login service, Graph v1.0, control API /_sim/)"
echo

echo "== starting exconnectd (data in $data/exconnect, log in $data/exconnectd.log)"
client_id=demo-connector
head -c 24 /dev/urandom | base64 > "$data/client.secret"
chmod 600 "$data/client.secret"
build/app/exconnectd --data-dir "$data/exconnect" --listen 127.0.0.1:0 \
  --port-file "$data/exconnectd.port" --graph-url "$sim_url/v1.0" --login-url "$sim_url" \
  --ca-file "$data/ca.pem" --client-id $client_id --client-secret-file "$data/client.secret" \
  --poll-interval 2 2>"$data/exconnectd.log" &
daemon_pid=$!
for _ in $(seq 200); do
  [ -s "$data/exconnectd.port" ] && break
  kill -0 $daemon_pid 2>/dev/null || { cat "$data/exconnectd.log" >&2; exit 1; }
  sleep 0.05
done
[ -s "$data/exconnectd.port" ] || { echo "exconnectd did not start" >&2; exit 1; }
api_url="http://127.0.0.1:$(cat "$data/exconnectd.port")"
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

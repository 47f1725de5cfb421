#!/usr/bin/env bash
# graph-sim's ceiling: requests/s for the inbox list, $value and PATCH over keep-alive on
# loopback, measured with wrk beside nginx (one worker) serving a response of the same
# size in the same run. graph-sim and nginx each get core 0; wrk runs on core 1.
# Writes the figures to docs/benchmarks.md. Usage: tools/bench/graph-sim-ceiling.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
duration=${1:-8}
connections=16

bash tools/install-deps.sh >/dev/null
if ! command -v wrk >/dev/null || ! command -v nginx >/dev/null; then
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends wrk nginx-light
fi
bash tools/build.sh normal graph-sim bench-setup >/dev/null

work=$(mktemp -d)
mkdir -p "$work/www"
chmod 755 "$work" # nginx workers run as nobody
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

wait_port() { # FILE PID
  for _ in $(seq 200); do [ -s "$1" ] && return 0; kill -0 "$2" 2>/dev/null || return 1; sleep 0.05; done
  return 1
}

# Limits lifted: the ceiling, not Exchange's rules, is measured here.
taskset -c 0 build/tools/graph-sim/graph-sim --threads 1 --port 0 --port-file "$work/sim.port" \
  --concurrency 1000000 --request-rate 1000000000/1 --fetch-rate 1000000000/1 2>"$work/sim.log" &
pids+=($!)
wait_port "$work/sim.port" "${pids[-1]}" || { cat "$work/sim.log"; exit 1; }
sim="http://127.0.0.1:$(cat "$work/sim.port")"
build/tools/bench/bench-setup "$sim" "$work"

nginx_port=$((20000 + RANDOM % 20000))
cat > "$work/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx.err;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 100000000;
  client_body_temp_path $work/tmp;
  proxy_temp_path $work/tmp;
  fastcgi_temp_path $work/tmp;
  uwsgi_temp_path $work/tmp;
  scgi_temp_path $work/tmp;
  server {
    listen 127.0.0.1:$nginx_port;
    root $work/www;
    default_type application/json;
  }
}
CONF
mkdir -p "$work/tmp"
chmod -R a+rX "$work/www"
taskset -c 0 nginx -c "$work/nginx.conf" &
pids+=($!)
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$nginx_port) 2>/dev/null && break; sleep 0.05; done

token=$(cat "$work/token")
rps() { # wrk args... -> requests/s, and fails loudly on non-2xx answers
  local out
  out=$(taskset -c 1 wrk -t1 -c$connections -d${duration}s "$@")
  if grep -q "Non-2xx" <<<"$out"; then echo "wrk saw errors: $out" >&2; exit 1; fi
  awk '/Requests\/sec/ {printf "%d", $2}' <<<"$out"
}

declare -A sim_rps nginx_rps size
size[list]=$(stat -c %s "$work/www/list.json")
size[value]=$(stat -c %s "$work/www/value.eml")
size[patch]=$(stat -c %s "$work/www/patch.json")
sim_rps[list]=$(rps -H "Authorization: Bearer $token" "$sim$(cat "$work/list-path")")
nginx_rps[list]=$(rps "http://127.0.0.1:$nginx_port/list.json")
sim_rps[value]=$(rps -H "Authorization: Bearer $token" "$sim$(cat "$work/value-path")")
nginx_rps[value]=$(rps "http://127.0.0.1:$nginx_port/value.eml")
sim_rps[patch]=$(rps -s tools/bench/patch.lua -H "Authorization: Bearer $token" "$sim$(cat "$work/patch-path")")
nginx_rps[patch]=$(rps "http://127.0.0.1:$nginx_port/patch.json")

table="| request | response size | graph-sim req/s | nginx req/s (same size, GET) | graph-sim / nginx |
| --- | --- | --- | --- | --- |"
for k in list value patch; do
  name=$k; [ $k = list ] && name='GET inbox messages (10 per page)'
  [ $k = value ] && name='GET message $value'
  [ $k = patch ] && name='PATCH categories'
  ratio=$(awk -v a="${sim_rps[$k]}" -v b="${nginx_rps[$k]}" 'BEGIN {printf "%.2f", a / b}')
  table+=$'\n'"| $name | ${size[$k]} B | ${sim_rps[$k]} | ${nginx_rps[$k]} | $ratio |"
done
echo "$table"

source tools/bench/write-section.sh
write_section graph-sim-ceiling "graph-sim ceiling" "Measured $(date -u +%Y-%m-%d) by \`tools/bench/graph-sim-ceiling.sh\`: wrk 1 thread, $connections
keep-alive connections, ${duration} s per row, on loopback; graph-sim (\`--threads 1\`, limits
lifted) and nginx (1 worker) each pinned to core 0, wrk to core 1. $(nproc) cores, $(lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2; exit}').

$table"

# Sourced by tools/run-demo.sh and the benchmarks: graph-sim over TLS (with a throwaway
# CA) and exconnectd as background processes in a state directory, stopped on exit.
# Sets sim_url, api_url, client_id and the files under $stack_dir.

stack_dir=
sim_pid=
daemon_pid=
stack_daemon_args=()

stop_stack() {
  [ -n "$daemon_pid" ] && kill $daemon_pid 2>/dev/null && wait $daemon_pid 2>/dev/null
  [ -n "$sim_pid" ] && kill $sim_pid 2>/dev/null && wait $sim_pid 2>/dev/null
  return 0
}

# wait_port PID PORT_FILE LOG: waits (10 s) until the process wrote its port.
wait_port() {
  for _ in $(seq 200); do
    [ -s "$2" ] && return 0
    kill -0 "$1" 2>/dev/null || { cat "$3" >&2; return 1; }
    sleep 0.05
  done
  echo "no port in $2 after 10 s" >&2
  return 1
}

# start_stack DIR [graph-sim options] -- [exconnectd options]
start_stack() {
  stack_dir=$1
  shift
  local sim_args=() daemon_args=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do sim_args+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  daemon_args=("$@")
  rm -rf "$stack_dir"
  mkdir -p "$stack_dir"
  trap stop_stack EXIT
  local d=$stack_dir
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$d/ca.key" -out "$d/ca.pem" -days 7 -subj "/CN=exconnect throwaway CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$d/server.key" -out "$d/server.csr" -subj "/CN=localhost" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > "$d/server.ext"
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
    -CAcreateserial -out "$d/server.pem" -days 7 -extfile "$d/server.ext" 2>/dev/null

  build/tools/graph-sim/graph-sim --port 0 --port-file "$d/graph-sim.port" \
    --tls-cert "$d/server.pem" --tls-key "$d/server.key" "${sim_args[@]}" >"$d/graph-sim.log" 2>&1 &
  sim_pid=$!
  wait_port $sim_pid "$d/graph-sim.port" "$d/graph-sim.log"
  sim_url="https://127.0.0.1:$(cat "$d/graph-sim.port")"

  client_id=exconnect-connector
  head -c 24 /dev/urandom | base64 > "$d/client.secret"
  chmod 600 "$d/client.secret"
  stack_daemon_args=("${daemon_args[@]}")
  start_daemon
}

# start_daemon: exconnectd on the stack's data directory (again, e.g. after a kill),
# with the options start_stack got; waits until it listens and sets api_url.
start_daemon() {
  local d=$stack_dir
  rm -f "$d/exconnectd.port"
  build/app/exconnectd --data-dir "$d/exconnect" --listen 127.0.0.1:0 \
    --port-file "$d/exconnectd.port" --graph-url "$sim_url/v1.0" --login-url "$sim_url" \
    --ca-file "$d/ca.pem" --client-id $client_id --client-secret-file "$d/client.secret" \
    "${stack_daemon_args[@]}" >>"$d/exconnectd.log" 2>&1 &
  daemon_pid=$!
  wait_port $daemon_pid "$d/exconnectd.port" "$d/exconnectd.log"
  api_url="http://127.0.0.1:$(cat "$d/exconnectd.port")"
}

# bench_driver MODE [options]: the benchmarks' driver (tools/bench/bench_driver.cpp)
# against the running stack.
bench_driver() {
  local d=$stack_dir
  build/tools/bench/bench-driver "$@" --graph-sim "$sim_url" --ca-file "$d/ca.pem" \
    --exconnect "$api_url" --admin-token-file "$d/exconnect/admin.token" \
    --client-id "$client_id" --client-secret-file "$d/client.secret"
}

#!/usr/bin/env bash
# One go, on this machine: build the server, give it a fresh PostgreSQL database, measure the
# database's own ceiling for the hot paths with pgbench (../shared/bench/pgbench-ceiling), then
# load the server with cmd/gokart-bench (spread over 100 offers, then one hot offer) and print
# the figures with their ratios to the ceiling. Stops the server and drops the database after.
# Only ever targets 127.0.0.1. See cmd/gokart-bench/README.md.
#
# Settings (environment): CONCURRENCY=32 CLICKS=15000 OFFERS=100 CEILING_SECONDS=10 PHASE_SECONDS=30
#   BENCH_PORT=<a free port> PG_URL=postgres://postgres@127.0.0.1:5432/postgres BENCH_DB=gokart_bench_<pid>
#   OFFER_TYPE=multi SHARED_DIR=<repo>/../shared JSON=1 (print the tool's report as JSON)
#   PREFILL_CLICKS=2000000 (then give the account that many clicks and half as many conversions
#   of history and run both cases again: the flat-cost check; adds several minutes)
#   CALLBACKS=1 (the default: the account has an account-wide JSON callback endpoint on a
#   receiver the tool runs on 127.0.0.1, so every postback also goes through the callback
#   outbox; CALLBACKS=0 measures without) CALLBACKS_COMPARE=1 (then the spread case again
#   without and with the endpoint, and the ratio of postbacks/s with it to without)
#   KILL9_SECONDS=4 (the kill -9 phase's load; it always runs) PROFILE_SECONDS=5 (CPU profile
#   of each measured phase) OUT_DIR=/tmp/gokart-bench-out.<time> (kept: report, profiles, top 10s)
#   SERVER_BIN=<a server built elsewhere, e.g. from an older commit, to compare with>
#   FEED_PAGES=20000 FEED_OFFERS=10000 (the offerwall feed phase, from an account of its own;
#   FEED_PAGES=0 skips it)

# The body is one brace group, read whole before it runs, so that editing this file does not
# derail a run already going.
{
set -euo pipefail

concurrency=${CONCURRENCY:-32}
clicks=${CLICKS:-15000}
offers=${OFFERS:-100}
ceiling_secs=${CEILING_SECONDS:-10}
phase_secs=${PHASE_SECONDS:-30}
port=${BENCH_PORT:-}
pg_url=${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}
db=${BENCH_DB:-gokart_bench_$$}
offer_type=${OFFER_TYPE:-multi}
prefill_clicks=${PREFILL_CLICKS:-0}
callbacks=${CALLBACKS:-1}
kill9_secs=${KILL9_SECONDS:-4}
profile_secs=${PROFILE_SECONDS:-5}
feed_pages=${FEED_PAGES:-20000}
feed_offers=${FEED_OFFERS:-10000}
out=${OUT_DIR:-/tmp/gokart-bench-out.$(date -u +%Y%m%dT%H%M%SZ)}

say() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'cmd/gokart-bench/run.sh: %s\n' "$*" >&2; exit 1; }

repo=$(cd "$(dirname "$0")/../.." && pwd)
top=$(git -C "$repo" rev-parse --show-toplevel 2>/dev/null || echo "$repo")
shared=${SHARED_DIR:-$top/../shared}
ceiling_sh=$shared/bench/pgbench-ceiling/run.sh

# Loopback only: refuse any other database host.
case "$pg_url" in
  postgres://*@127.0.0.1:*|postgres://*@127.0.0.1/*|postgresql://*@127.0.0.1:*|postgresql://*@127.0.0.1/*) ;;
  *) die "PG_URL must point at 127.0.0.1, got $pg_url" ;;
esac
[[ $db =~ ^[a-z_][a-z0-9_]*$ ]] || die "BENCH_DB must be a plain lower-case name, got $db"
export PGOPTIONS='-c client_min_messages=warning' # no NOTICE for DROP ... IF EXISTS
command -v psql >/dev/null || die "psql not found: install the PostgreSQL client"
command -v curl >/dev/null || die "curl not found"
db_url=${pg_url%%\?*}
db_url="${db_url%/*}/$db?sslmode=disable"

# One run at a time on this machine: two would share the CPUs (and the ceiling's database), and
# both sets of figures would be wrong.
lock=${BENCH_LOCK:-/tmp/gokart-bench.lock}
if command -v flock >/dev/null; then
  exec 9>"$lock"
  if ! flock -n 9; then
    printf 'cmd/gokart-bench/run.sh: another run holds %s; waiting up to 10 minutes for it to finish\n' "$lock" >&2
    flock -w 600 9 || die "another benchmark run is still going (lock $lock)"
  fi
fi

work=$(mktemp -d /tmp/gokart-bench.XXXXXX)
server_bin=$work/gokart-bench-server
tool_bin=$work/gokart-bench
server_pid=
cleanup() {
  local rc=$?
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  psql -q "$pg_url" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  if [[ $rc -ne 0 && -s $work/server.log ]]; then
    echo "--- last lines of the server log ($work/server.log kept):" >&2
    tail -n 30 "$work/server.log" >&2
  else
    rm -rf "$work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The figures only mean something on a quiet machine: say so when it is not.
busy_pct() {
  local a b
  a=($(head -n 1 /proc/stat)); sleep 1; b=($(head -n 1 /proc/stat))
  local busy=0 all=0 i d
  for i in 1 2 3 4 5 6 7 8; do
    d=$(( ${b[i]} - ${a[i]} )); all=$(( all + d ))
    [[ $i -ne 4 && $i -ne 5 ]] && busy=$(( busy + d ))
  done
  echo $(( all > 0 ? 100 * busy / all : 0 ))
}
if [[ -r /proc/stat ]]; then
  pct=$(busy_pct)
  if [[ $pct -gt 15 ]]; then
    say "!!!!! the machine is already ${pct}% busy before the benchmark: the figures will be low and noisy"
    ps -eo pcpu,pid,args --sort=-pcpu | head -n 4 | cut -c 1-160 >&2
  fi
fi

say "build: server -> $server_bin, load generator -> $tool_bin"
if [[ -n ${SERVER_BIN:-} ]]; then
  cp "$SERVER_BIN" "$server_bin"
  (cd "$repo" && go build -o "$tool_bin" ./cmd/gokart-bench)
else
  (cd "$repo" && go build -o "$server_bin" . && go build -o "$tool_bin" ./cmd/gokart-bench)
fi

say "fresh database $db on 127.0.0.1"
psql -q "$pg_url" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
if [[ -z $port ]]; then
  port=$(free_port)
fi
pprof_port=$(free_port)
mkdir -p "$out"
# Another server already on the port would answer our readiness check and take the load.
if curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$port/"; then
  die "something already answers on 127.0.0.1:$port: choose another BENCH_PORT"
fi

# start_server starts the server (again, after the kill -9) and waits until it is ready.
start_server() {
  DATABASE_URL=$db_url ADDR=127.0.0.1:$port BASE_URL=http://127.0.0.1:$port LOG_LEVEL=warn CALLBACKS_ALLOW_PRIVATE=true \
    CLICK_RATE_LIMIT=0 POSTBACK_FAILURE_LIMIT=0 PPROF_ADDR=127.0.0.1:$pprof_port \
    "$server_bin" serve >>"$work/server.log" 2>&1 9>&- &
  server_pid=$!
  local i
  for i in $(seq 150); do
    kill -0 "$server_pid" 2>/dev/null || die "the server exited during start-up"
    curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null && break
    [[ $i -eq 150 ]] && die "the server is not ready after 30 s"
    sleep 0.2
  done
  sleep 0.2
  kill -0 "$server_pid" 2>/dev/null || die "the server exited during start-up"
}
say "server on 127.0.0.1:$port, pprof on 127.0.0.1:$pprof_port (log: $work/server.log)"
start_server

ceiling_pb=0 ceiling_click=0
if ! command -v pgbench >/dev/null; then
  say "!!!!! pgbench NOT FOUND: the database ceiling is SKIPPED and no ratios to it are reported."
  say "!!!!! Install it (Debian: apt-get install postgresql-contrib or the postgresql server package)."
elif [[ ! -f $ceiling_sh ]]; then
  say "!!!!! $ceiling_sh NOT FOUND (set SHARED_DIR): the database ceiling is SKIPPED."
else
  say "database ceiling: pgbench, $concurrency clients, ${ceiling_secs}s per script"
  ceiling_out=$(bash "$ceiling_sh" "$pg_url" "$concurrency" "$ceiling_secs") || die "the ceiling script failed"
  echo "$ceiling_out" >&2
  ceiling_pb=$(sed -n 's/^ceiling postback tps=\([0-9]*\).*/\1/p' <<<"$ceiling_out")
  ceiling_click=$(sed -n 's/^ceiling click tps=\([0-9]*\).*/\1/p' <<<"$ceiling_out")
  if [[ -z $ceiling_pb || -z $ceiling_click || $ceiling_pb -eq 0 || $ceiling_click -eq 0 ]]; then
    say "!!!!! the ceiling script reported no tps (postback '$ceiling_pb', click '$ceiling_click'): ratios to it are SKIPPED."
    ceiling_pb=${ceiling_pb:-0} ceiling_click=${ceiling_click:-0}
  fi
fi

say "load: $clicks clicks then as many postbacks per case, $concurrency concurrent clients, spread over $offers offers, then one hot offer"
json_flag=()
[[ ${JSON:-} == 1 ]] && json_flag=(-json)
cb_flag=()
[[ $callbacks == 1 ]] && cb_flag=(-callback-receiver)
uptime_before=$(uptime)
rc=0
"$tool_bin" -server "http://127.0.0.1:$port" -database-url "$db_url" -server-pid "$server_pid" \
  -concurrency "$concurrency" -clicks "$clicks" -offers "$offers" -offer-type "$offer_type" -case both -duration "${phase_secs}s" \
  -ceiling-postback-tps "$ceiling_pb" -ceiling-click-tps "$ceiling_click" -prefill-clicks "$prefill_clicks" \
  -pprof "http://127.0.0.1:$pprof_port" -profile-dir "$out" -profile-seconds "$profile_secs" \
  -timeout 40m "${cb_flag[@]}" "${json_flag[@]}" | tee "$out/report.txt" || rc=${PIPESTATUS[0]}
{ echo "load average before the load: $uptime_before"; echo "load average after the load:  $(uptime)"; } | tee -a "$out/report.txt"

# The ceiling again, after the cases: on a shared machine its speed moves during a run, and a
# ratio to a ceiling measured minutes earlier moves with it. Both ceilings and the ratios to
# each are printed; far apart, they say the run's ratios are not to be trusted.
if [[ $ceiling_pb -gt 0 && $ceiling_click -gt 0 && ${JSON:-} != 1 ]]; then
  say "database ceiling again, after the cases"
  after_out=$(bash "$ceiling_sh" "$pg_url" "$concurrency" "$ceiling_secs") || after_out=""
  after_pb=$(sed -n 's/^ceiling postback tps=\([0-9]*\).*/\1/p' <<<"$after_out")
  after_click=$(sed -n 's/^ceiling click tps=\([0-9]*\).*/\1/p' <<<"$after_out")
  python3 - "$out/report.txt" "$ceiling_pb" "$ceiling_click" "${after_pb:-0}" "${after_click:-0}" <<'PY' | tee -a "$out/report.txt" || say "!!!!! no ratios to the ceiling after the cases (see above)"
import re, sys
report, pb, click, pb2, click2 = sys.argv[1], *map(float, sys.argv[2:])
if not pb2 or not click2:
    sys.exit("the ceiling after the cases reported no tps")
print(f"\nceiling before / after the cases: postback {pb:.0f} / {pb2:.0f} tps ({100 * (pb2 / pb - 1):+.0f} %), click {click:.0f} / {click2:.0f} tps ({100 * (click2 / click - 1):+.0f} %)")
for line in open(report).read().splitlines():
    m = re.match(r"\s+((postbacks|clicks)/s \S+(?: prefilled)? / ceiling (postback|click) tps)\s+([\d.]+)$", line)
    if m:
        before, after = (pb, pb2) if m.group(3) == "postback" else (click, click2)
        r = float(m.group(4))
        print(f"  {m.group(1):<45} {r:.2f} before, {r * before / after:.2f} after, {r * before / ((before + after) / 2):.2f} to their mean")
PY
fi

# The server's CPU per request is in the table above (server CPU µs/req, from /proc); the
# profiles say where it goes. Top 10 by flat (own) time and by cumulative time, per phase.
shopt -s nullglob
profiles=("$out"/*.pprof)
if [[ ${#profiles[@]} -gt 0 ]]; then
  say "server CPU profiles (${profile_secs}s from the start of each measured phase): top 10 by flat and by cum"
  for f in "${profiles[@]}"; do
    name=$(basename "$f" .pprof)
    {
      echo "--- $name: flat"
      go tool pprof -top -nodecount=10 "$server_bin" "$f" 2>/dev/null | sed -n '/^Showing nodes/,$p' | sed 1d
      echo "--- $name: cum"
      go tool pprof -top -cum -nodecount=10 "$server_bin" "$f" 2>/dev/null | sed -n '/^ *flat/,$p'
      echo "--- $name: gokart's own functions by cum"
      go tool pprof -top -cum -nodecount=10 -show='gokart/gokart/internal' "$server_bin" "$f" 2>/dev/null | sed -n '/^ *flat/,$p'
    } >>"$out/profile-summary.txt"
  done
  cat "$out/profile-summary.txt"
else
  say "!!!!! no CPU profiles were taken (see the load generator's messages above)"
fi

if [[ $callbacks == 1 && ${CALLBACKS_COMPARE:-} == 1 && $rc -eq 0 ]]; then
  say "callbacks: the spread case without and then with an account-wide JSON endpoint (receiver on 127.0.0.1)"
  for mode in without with; do
    flags=(-case spread -json)
    [[ $mode == with ]] && flags+=(-callback-receiver)
    "$tool_bin" -server "http://127.0.0.1:$port" -database-url "$db_url" -server-pid "$server_pid" \
      -concurrency "$concurrency" -clicks "$clicks" -offers "$offers" -offer-type "$offer_type" -duration "${phase_secs}s" \
      -timeout 5m "${flags[@]}" >"$work/callbacks-$mode.json" || rc=$?
  done
  python3 - "$work/callbacks-without.json" "$work/callbacks-with.json" <<'PY' | tee -a "$out/report.txt"
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
pa, pb = (x["cases"][0]["postbacks"] for x in (a, b))
print(f"postbacks/s without callbacks {pa['rps']:.0f} (p99 {pa['p99Ms']:.1f} ms), with one JSON endpoint {pb['rps']:.0f} (p99 {pb['p99Ms']:.1f} ms): ratio {pb['rps'] / pa['rps']:.2f} (target >= 0.90)")
PY
fi

# The offerwall feed: pages of 50 cards from an account of its own with FEED_OFFERS offers, asked
# with a publishable key; the load generator in its own process, as for the cases.
if [[ $feed_pages -gt 0 ]]; then
  # After the cases the server's background work and autovacuum may still be busy: wait (up
  # to a minute) for a quiet machine, or say that it is not.
  if [[ -r /proc/stat ]]; then
    for _ in $(seq 30); do
      pct=$(busy_pct)
      [[ $pct -le 15 ]] && break
      sleep 1
    done
    [[ $pct -le 15 ]] || say "!!!!! the machine is still ${pct}% busy before the feed phase: its figures will be low and noisy"
  fi
  say "offerwall feed: $feed_pages pages of 50 cards at $concurrency clients (and a tenth as many at one) from $feed_offers offers"
  feed_rc=0
  "$tool_bin" -server "http://127.0.0.1:$port" -database-url "$db_url" -server-pid "$server_pid" \
    -concurrency "$concurrency" -feed "$feed_pages" -feed-offers "$feed_offers" -timeout 10m | tee "$out/feed.txt" || feed_rc=${PIPESTATUS[0]}
  if [[ $feed_rc -ne 0 ]]; then
    say "!!!!! the feed phase FAILED (exit $feed_rc): see above"
    [[ $rc -eq 0 ]] && rc=$feed_rc
  fi
fi

# kill -9: clicks and postbacks at full concurrency, SIGKILL to the server halfway, a restart,
# then every click answered 302 and every postback answered 200 must be in the database.
say "kill -9: ${kill9_secs}s of clicks and postbacks, kill -9 of the server (pid $server_pid) halfway, restart, look up every answer in PostgreSQL"
kill9_rc=0
"$tool_bin" -server "http://127.0.0.1:$port" -database-url "$db_url" -server-pid "$server_pid" \
  -concurrency "$concurrency" -offer-type "$offer_type" -kill9 "${kill9_secs}s" -kill9-file "$out/kill9.json" -timeout 5m || kill9_rc=$?
if [[ $kill9_rc -eq 0 ]]; then
  status=0
  wait "$server_pid" 2>/dev/null || status=$?
  [[ $status -eq 137 ]] || die "after kill -9 the server's exit status is $status, want 137 (SIGKILL)"
  start_server
  "$tool_bin" -database-url "$db_url" -kill9-check "$out/kill9.json" | tee -a "$out/report.txt" || kill9_rc=${PIPESTATUS[0]}
fi
if [[ $kill9_rc -ne 0 ]]; then
  say "!!!!! the kill -9 phase FAILED (exit $kill9_rc): see above"
  [[ $rc -eq 0 ]] && rc=4
fi
say "report, profiles and their top 10s kept in $out"
if [[ $rc -eq 3 ]]; then
  say "some requests failed: see the error counts above (server log: $work/server.log)"
  # Keep the log for a look: cleanup keeps $work when the exit code is not 0.
fi
errors_logged=$(grep -c '"level":"ERROR"' "$work/server.log" || true)
if [[ $errors_logged -gt 0 ]]; then
  say "the server logged $errors_logged errors during the run, the first ones:"
  grep -m 5 '"level":"ERROR"' "$work/server.log" >&2 || true
fi
exit "$rc"
}

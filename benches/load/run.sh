#!/usr/bin/env bash
# Load benchmark of issue 5: modgate doing the whole job (TLS, address rules, key
# check, GOPROXY parsing, routing, upstream keep-alive, access log) against Debian's
# nginx doing the same job, on this machine, in the same run, on loopback only.
#
#   benches/load/run.sh
#
# Environment (all optional):
#   BENCH_DURATION  seconds per measured run (default 5)
#   BENCH_ROUNDS    alternating rounds per scenario (default 3)
#   BENCH_THREADS   modgate server.threads = nginx worker_processes (default: nproc)
#   BENCH_CONNS     connections of the small-answer and new-connection scenarios (default 32)
#   BENCH_SCENARIOS which scenarios to run (default "small h2 newconn fullhs zip hit
#                   ziphit coldfill"); the
#                   report shows "-" for the others
#   BENCH_PERF=1    afterwards, profile modgate under the small-answer load with perf
#                   (software cpu-clock samples: no hardware counters needed)
#   BENCH_SYSCALLS=1 afterwards, count modgate's system calls per request under the
#                   small-answer load with strace -c (slows it down: counts only)
#   BENCH_KEEP=1    keep the temporary directory (configs, logs, raw results)
#   MODGATE_BIN     use this modgate binary instead of `cargo build --release --locked`
#   MODGATE_PRELOAD LD_PRELOAD for modgate only (e.g. Debian's libjemalloc2 or
#                   libmimalloc2.0, to try an allocator without rebuilding)
#   BENCH_NICE      run the whole benchmark at this nice level (e.g. -10, as root) so
#                   that other work on the machine, a build say, disturbs it less
#
# Scenarios, each run against the contenders in turn (A, B, A, B, ...):
#   small        .info/.mod answers over TLS keep-alive (wrk)
#                (with two more contenders: modgate at log.level warn and nginx with
#                access_log off)
#   h2           the same answers over HTTP/2, the protocol the go command speaks
#                (h2load: $BENCH_CONNS/4 connections with 4 streams each in flight;
#                ALPN h2 only, so a fall back to HTTP/1.1 fails instead)
#   newconn      a new TLS connection per request, wrk sending "Connection: close":
#                wrk's OpenSSL client resumes the TLS 1.3 session (PSK + ECDHE, no
#                certificate signature) on each new connection
#   fullhs       a new TLS connection per request with a full handshake (ab: fresh
#                TLS session each time, HTTP/1.0 + "Connection: close"; one client thread)
#   zip          a 50 MB .zip, 8 connections at once (wrk); peak memory of both
#   hit          small answers served from the cache: modgate with a cache section
#                against nginx with proxy_cache, both filled by the warm-up run
#   ziphit       the 50 MB .zip served from the cache, 8 connections; peak memory
#   coldfill     8 clients (curl) ask both caches at once for a 50 MB zip neither has;
#                the upstream's log says how many transfers each made
# and once straight to the upstream nginx (plain HTTP, and its own TLS port): the ceiling.
# Besides rate and p99, every run records the CPU time the contender's processes used
# (from /proc/PID/stat), divided by the requests answered: on a 2-core machine where the
# load generator competes for the same cores, that is the steadier efficiency figure.
set -euo pipefail

if [ -n "${BENCH_NICE:-}" ] && [ -z "${BENCH_NICED:-}" ]; then
  exec env BENCH_NICED=1 nice -n "$BENCH_NICE" "$0" "$@"
fi
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

duration="${BENCH_DURATION:-5}"
rounds="${BENCH_ROUNDS:-3}"
threads="${BENCH_THREADS:-$(nproc)}"
conns="${BENCH_CONNS:-32}"
h2_conns=$((conns >= 8 ? conns / 4 : 1))
warmup=1
zip_mb=50
zip_conns=8
clk_tck="$(getconf CLK_TCK)"
key="bench-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"

log() { printf '[load] %s\n' "$*" >&2; }
die() { printf '[load] FAILED: %s\n' "$*" >&2; exit 1; }

# --- tools -----------------------------------------------------------------------
scripts/deps.sh nginx:nginx-light wrk:wrk ab:apache2-utils h2load:nghttp2-client \
  curl:curl cmake:cmake ss:iproute2 pgrep:procps
[ "${BENCH_PERF:-0}" != 1 ] || scripts/deps.sh perf:linux-perf
nginx_v="$(nginx -V 2>&1)"
if ! grep -q -- '--with-http_ssl_module' <<<"$nginx_v" \
    || grep -q -- '--without-http_map_module' <<<"$nginx_v"; then
  log "this nginx lacks ssl or map; installing Debian's full nginx package"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends nginx >/dev/null
fi

if [ -n "${MODGATE_BIN:-}" ]; then
  modgate_bin="$MODGATE_BIN"
else
  log "building modgate (cargo build --release --locked)"
  cargo build --release --locked >&2
  modgate_bin="${CARGO_TARGET_DIR:-$root/target}/release/modgate"
fi
[ -x "$modgate_bin" ] || die "no modgate binary at $modgate_bin"

# --- temporary directory and cleanup ----------------------------------------------
dir="$(mktemp -d "${TMPDIR:-/tmp}/modgate-load.XXXXXX")"
chmod 755 "$dir" # nginx workers may run as an unprivileged user
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  if [ "${BENCH_KEEP:-0}" = 1 ]; then
    log "kept $dir"
  else
    rm -rf "$dir"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

used_ports=" "
free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 30000))
    case "$used_ports" in *" $port "*) continue ;; esac
    if ! ss -Htan "sport = :$port" | grep -q .; then
      used_ports+="$port "
      echo "$port"
      return
    fi
  done
}
upstream_port="$(free_port)"
upstream_tls_port="$(free_port)"
peer_port="$(free_port)"
peer_nolog_port="$(free_port)"
modgate_port="$(free_port)"
modgate_warn_port="$(free_port)"
modgate_cache_port="$(free_port)"
peer_cache_port="$(free_port)"

# --- files: GOPROXY layout, certificate, configs -----------------------------------
# Logs live apart from the configs: modgate watches its config file's directory, so
# a log written there would wake its watcher on every line.
mkdir -p "$dir/www" "$dir/logs" "$dir/upstream/tmp" "$dir/peer/tmp" "$dir/modgate" "$dir/modgate-warn" \
  "$dir/modgate-cache" "$dir/peer/cache"
small_paths=""
for m in example.com/hello golang.org/x/text; do
  mkdir -p "$dir/www/$m/@v"
  printf '{"Version":"v1.2.3","Time":"2024-01-02T03:04:05Z"}\n' >"$dir/www/$m/@v/v1.2.3.info"
  printf 'module %s\n\ngo 1.21\n' "$m" >"$dir/www/$m/@v/v1.2.3.mod"
  small_paths+="/$m/@v/v1.2.3.info /$m/@v/v1.2.3.mod "
done
mkdir -p "$dir/www/example.com/big/@v"
head -c $((zip_mb * 1000 * 1000)) /dev/urandom >"$dir/www/example.com/big/@v/v1.0.0.zip"
zip_path=/example.com/big/@v/v1.0.0.zip
# Real module zips for the caches (modgate stores only what checks out as one): 50 MB
# of random bytes, stored, under module@v1.0.1/.
make_zip() { # module version file
  python3 - "$@" <<'PY'
import os, sys, zipfile
module, version, out = sys.argv[1:]
with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
    z.writestr(f"{module}@{version}/go.mod", f"module {module}\n")
    with z.open(f"{module}@{version}/blob.bin", "w", force_zip64=True) as blob:
        for _ in range(50):
            blob.write(os.urandom(1000 * 1000))
PY
}
for m in example.com/big example.com/cold/modgate example.com/cold/nginx; do
  mkdir -p "$dir/www/$m/@v"
  printf '{"Version":"v1.0.1","Time":"2024-01-02T03:04:05Z"}\n' >"$dir/www/$m/@v/v1.0.1.info"
  printf 'module %s\n' "$m" >"$dir/www/$m/@v/v1.0.1.mod"
done
for m in example.com/big example.com/cold/modgate example.com/cold/nginx; do
  make_zip "$m" v1.0.1 "$dir/www/$m/@v/v1.0.1.zip"
done
zip_hit_path=/example.com/big/@v/v1.0.1.zip
chmod -R a+rX "$dir/www"

"$modgate_bin" cert dev --dir "$dir/certs" >/dev/null
chmod 755 "$dir/certs"

fill() { # template output [port] [log level]: the @NAME@ placeholders replaced
  sed -e "s|@DIR@|$dir|g" -e "s|@WORKERS@|$threads|g" -e "s|@THREADS@|$threads|g" \
    -e "s|@UPSTREAM_PORT@|$upstream_port|g" -e "s|@UPSTREAM_TLS_PORT@|$upstream_tls_port|g" \
    -e "s|@PEER_PORT@|$peer_port|g" -e "s|@PEER_NOLOG_PORT@|$peer_nolog_port|g" \
    -e "s|@PEER_CACHE_PORT@|$peer_cache_port|g" \
    -e "s|@KEY@|$key|g" -e "s|@PORT@|${3:-}|g" -e "s|@LOG_LEVEL@|${4:-info}|g" \
    "$1" >"$2"
}
fill "$here/upstream.nginx.conf" "$dir/upstream/nginx.conf"
fill "$here/peer.nginx.conf" "$dir/peer/nginx.conf"
fill "$here/modgate.yaml" "$dir/modgate/modgate.yaml" "$modgate_port" info
fill "$here/modgate.yaml" "$dir/modgate-warn/modgate.yaml" "$modgate_warn_port" warn
fill "$here/modgate.yaml" "$dir/modgate-cache/modgate.yaml" "$modgate_cache_port" info
# The store lives outside the config's directory, which modgate watches.
printf 'cache:\n  dir: %s\n  max_size: 2GiB\n' "$dir/modgate-store" >>"$dir/modgate-cache/modgate.yaml"
export MODGATE_BENCH_KEY="$key"

# --- start ------------------------------------------------------------------------
# Every server runs in the foreground as a child of this script, with its own prefix,
# pid file and logs: the system's nginx (/etc/nginx, its service) is never touched.
start_nginx() { # name
  nginx -t -q -p "$dir/$1/" -e "$dir/logs/$1-error.log" -c "$dir/$1/nginx.conf" \
    || die "$1 nginx: configuration rejected (see above)"
  nginx -p "$dir/$1/" -e "$dir/logs/$1-error.log" -c "$dir/$1/nginx.conf" -g 'daemon off;' \
    >"$dir/logs/$1-stdout.log" 2>&1 &
  pids+=($!)
  printf -v "${1//-/_}_pid" '%s' "$!"
}
start_modgate() { # name
  "$modgate_bin" check -c "$dir/$1/modgate.yaml" >/dev/null || die "$1: modgate check failed"
  LD_PRELOAD="${MODGATE_PRELOAD:-}" "$modgate_bin" run -c "$dir/$1/modgate.yaml" \
    >"$dir/logs/$1-stdout.log" 2>"$dir/logs/$1.log" &
  pids+=($!)
  printf -v "${1//-/_}_pid" '%s' "$!"
}
start_nginx upstream
start_nginx peer
start_modgate modgate
start_modgate modgate-warn
start_modgate modgate-cache

ca="$dir/certs/dev-ca.pem"
expect() { # status url [curl args...]: wait up to 10 s for that status
  local want="$1" url="$2" got=""
  shift 2
  for _ in $(seq 100); do
    got="$(curl -s -o /dev/null -w '%{http_code}' --cacert "$ca" "$@" "$url" || true)"
    [ "$got" = "$want" ] && return 0
    sleep 0.1
  done
  die "$url answered ${got:-nothing}, expected $want (BENCH_KEEP=1 keeps the logs)"
}
probe=/example.com/hello/@v/v1.2.3.info
expect 200 "http://127.0.0.1:$upstream_port$probe"
expect 200 "https://localhost:$upstream_tls_port$probe"
for target in "localhost:$modgate_port" "localhost:$modgate_warn_port" \
    "localhost:$peer_port" "localhost:$peer_nolog_port" \
    "localhost:$modgate_cache_port" "localhost:$peer_cache_port"; do
  expect 200 "https://$target$probe" -H "X-API-Key: $key"
  expect 401 "https://$target$probe" -H "X-API-Key: wrong"
  expect 401 "https://$target$probe"
done
for name in upstream peer modgate modgate_warn modgate_cache; do
  pid_var="${name}_pid"
  kill -0 "${!pid_var}" 2>/dev/null || die "$name exited"
done
nginx_pids() { echo "$peer_pid $(pgrep -P "$peer_pid" | tr '\n' ' ')"; }
upstream_pids() { echo "$upstream_pid $(pgrep -P "$upstream_pid" | tr '\n' ' ')"; }
log "upstream :$upstream_port (tls :$upstream_tls_port), nginx :$peer_port (no log :$peer_nolog_port)," \
  "modgate :$modgate_port (log warn :$modgate_warn_port); $threads modgate threads, $threads nginx workers"
log "load average before the runs: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews results)"
[ -z "${MODGATE_PRELOAD:-}" ] || log "modgate runs with LD_PRELOAD=$MODGATE_PRELOAD"
[ -z "${BENCH_NICE:-}" ] || log "running at nice $BENCH_NICE"

# --- measurement helpers ----------------------------------------------------------
# TLS clients connect by the name "localhost", as a real client would by a name: given
# an IP address, wrk and ab send it as SNI, which the TLS specification forbids and
# rustls answers with a warning in modgate's log on every connection. Where localhost
# does not resolve to 127.0.0.1 first, fall back to the address.
tls_host=localhost
if [ "$(getent ahosts localhost | awk 'NR==1{print $1}')" != 127.0.0.1 ]; then
  tls_host=127.0.0.1
  log "localhost does not resolve to 127.0.0.1 first: TLS clients use 127.0.0.1 (and send it as SNI)"
fi
url_of() { # contender -> base URL
  case "$1" in
    modgate) echo "https://$tls_host:$modgate_port" ;;
    modgate-warn) echo "https://$tls_host:$modgate_warn_port" ;;
    nginx) echo "https://$tls_host:$peer_port" ;;
    nginx-nolog) echo "https://$tls_host:$peer_nolog_port" ;;
    modgate-cache) echo "https://$tls_host:$modgate_cache_port" ;;
    nginx-cache) echo "https://$tls_host:$peer_cache_port" ;;
    direct-http) echo "http://127.0.0.1:$upstream_port" ;;
    direct-https) echo "https://$tls_host:$upstream_tls_port" ;;
  esac
}
pids_of() { # contender -> the processes whose CPU time counts
  case "$1" in
    modgate) echo "$modgate_pid" ;;
    modgate-warn) echo "$modgate_warn_pid" ;;
    modgate-cache) echo "$modgate_cache_pid" ;;
    nginx | nginx-nolog | nginx-cache) nginx_pids ;;
    direct-*) upstream_pids ;;
  esac
}
cpu_ticks() { # pids... -> utime+stime summed over all threads, in clock ticks
  local pid total=0 t
  for pid in "$@"; do
    t="$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)"
    total=$((total + t))
  done
  echo "$total"
}

results="$dir/results.txt" # scenario contender round rate p99_us errors cpu_us_per_req upstream_cpu_us_per_req
: >"$results"

is_zip() { [ "$1" = zip ] || [ "$1" = ziphit ]; }

# measure scenario contender round seconds: one load run; a line appended to $results
measure() {
  local scenario="$1" who="$2" round="$3" secs="$4" url out line
  local requests=0 bytes=0 duration_us=1 p99_us=0 errors=0 detail=""
  url="$(url_of "$who")"
  # shellcheck disable=SC2046
  local cpu0 up0 cpu1 up1
  cpu0="$(cpu_ticks $(pids_of "$who"))"
  # shellcheck disable=SC2046
  up0="$(cpu_ticks $(upstream_pids))"
  case "$scenario" in
    fullhs)
      # ab: one thread, HTTP/1.0, a fresh TLS session per connection (no resumption).
      out="$(ab -q -r -t "$secs" -n 100000000 -c "$conns" -H "X-API-Key: $key" \
        -H 'Connection: close' "$url${small_paths%% *}" 2>&1)" || die "ab against $who failed: $out"
      requests="$(awk '/^Complete requests:/{print $3}' <<<"$out")"
      duration_us="$(awk '/^Time taken for tests:/{printf "%d", $5 * 1e6}' <<<"$out")"
      p99_us="$(awk '$1=="99%"{print $2 * 1000}' <<<"$out")"
      local failed non2xx
      failed="$(awk '/^Failed requests:/{print $3}' <<<"$out")"
      non2xx="$(awk '/^Non-2xx responses:/{print $3}' <<<"$out")"
      errors=$((${failed:-0} + ${non2xx:-0}))
      detail="failed=${failed:-0} non2xx=${non2xx:-0}"
      [ -n "$requests" ] && [ -n "$duration_us" ] || die "ab printed no result: $out"
      ;;
    h2)
      # h2load prints no percentiles: its per-request log gives the p99. It appends
      # to that log, so each run starts a new one.
      local urls=() path done ok
      for path in $small_paths; do urls+=("$url$path"); done
      rm -f "$dir/h2load.log"
      out="$(h2load -D "$secs" -t "$((h2_conns < 2 ? 1 : 2))" -c "$h2_conns" -m 4 \
        --npn-list=h2 -H "X-API-Key: $key" --log-file "$dir/h2load.log" "${urls[@]}" 2>&1)" \
        || die "h2load against $who failed: $out"
      # "requests: N total, N started, N done, N succeeded, N failed, N errored, N timeout"
      done="$(awk '/^requests:/{print $6}' <<<"$out")"
      ok="$(awk '/^status codes:/{print $3}' <<<"$out")"
      duration_us="$(awk '/^finished in/{sub(/s,$/, "", $3); printf "%d", $3 * 1e6}' <<<"$out")"
      [ -n "$done" ] && [ -n "$ok" ] && [ -n "$duration_us" ] || die "h2load printed no result: $out"
      # Its log has a line per request: start, status, duration in µs.
      p99_us="$(awk '{print $3}' "$dir/h2load.log" | sort -n \
        | awk '{a[NR] = $1} END{i = int(NR * 0.99); if (i < NR * 0.99) i++; print (NR ? a[i] : 0)}')"
      requests="$ok"
      # Failed streams and answers other than 2xx; h2load counts both as done.
      errors=$((done - ok))
      detail="$(grep -E '^(requests|status codes):' <<<"$out" | tr '\n' ' ')"
      ;;
    *)
      local c="$conns" close=0 paths="$small_paths" timeout=5s
      case "$scenario" in
        newconn) close=1 ;;
        zip) c="$zip_conns" paths="$zip_path" timeout=60s ;;
        ziphit) c="$zip_conns" paths="$zip_hit_path" timeout=60s ;;
      esac
      out="$(WRK_PATHS="$paths" WRK_KEY="$key" WRK_CLOSE="$close" \
        wrk -t2 -c"$c" -d"${secs}s" --timeout "$timeout" -s "$here/wrk.lua" "$url" 2>&1)" \
        || die "wrk against $who failed: $out"
      line="$(grep '^RESULT ' <<<"$out")" || die "wrk printed no result: $out"
      local p50_us connect_errors read_errors write_errors status_errors timeouts
      eval "${line#RESULT }"
      errors=$((connect_errors + read_errors + write_errors + status_errors + timeouts))
      detail="connect=$connect_errors read=$read_errors write=$write_errors status=$status_errors timeout=$timeouts"
      ;;
  esac
  # shellcheck disable=SC2046
  cpu1="$(cpu_ticks $(pids_of "$who"))"
  # shellcheck disable=SC2046
  up1="$(cpu_ticks $(upstream_pids))"
  [ "$round" = warmup ] && return 0
  [ "${requests:-0}" -gt 0 ] || die "no request answered by $who in $scenario: $out"
  local rate cpu_per up_per
  if is_zip "$scenario"; then
    rate="$(awk -v b="$bytes" -v d="$duration_us" 'BEGIN{printf "%.1f", b / d}')" # MB/s
  else
    rate="$(awk -v r="$requests" -v d="$duration_us" 'BEGIN{printf "%.0f", r * 1e6 / d}')"
  fi
  local per="$requests" # CPU time per request, or for the zip per MB answered
  is_zip "$scenario" && per="$(awk -v b="$bytes" 'BEGIN{print b / 1e6}')"
  cpu_per="$(awk -v t=$((cpu1 - cpu0)) -v r="$per" -v h="$clk_tck" 'BEGIN{printf "%.1f", t * 1e6 / h / r}')"
  up_per="$(awk -v t=$((up1 - up0)) -v r="$per" -v h="$clk_tck" 'BEGIN{printf "%.1f", t * 1e6 / h / r}')"
  echo "$scenario $who $round $rate $p99_us $errors $cpu_per $up_per $detail" >>"$results"
  log "$(printf '%-8s %-13s %-5s %9s %-5s p99 %7.1f ms  cpu %7s us/%s (upstream %5s)  errors %s' \
    "$scenario" "$who" "$round" "$rate" "$(is_zip "$scenario" && echo MB/s || echo req/s)" \
    "$(awk -v p="$p99_us" 'BEGIN{print p / 1000}')" "$cpu_per" "$(is_zip "$scenario" && echo MB || echo req)" \
    "$up_per" "$errors")"
  [ "$errors" -eq 0 ] || log "  errors: $detail"
}

# scenario name contenders...: a warm-up of each, then $rounds alternating rounds
scenario() {
  local name="$1" who round
  shift
  for who in "$@"; do measure "$name" "$who" warmup "$warmup"; done
  for round in $(seq "$rounds"); do
    for who in "$@"; do measure "$name" "$who" "$round" "$duration"; done
  done
}

# Memory: sums over processes from /proc (kB).
proc_sum() { # field pids...
  local field="$1" total=0 pid v
  shift
  for pid in "$@"; do
    case "$field" in
      Pss) v="$(awk '/^Pss:/{print $2}' "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0)" ;;
      *) v="$(awk -v f="$field:" '$1==f{print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)" ;;
    esac
    total=$((total + ${v:-0}))
  done
  echo "$total"
}
sampler() { # out pids...: the peaks of summed RSS, PSS and RssAnon, sampled every 0.1 s
  local out="$1" rss pss anon max_rss=0 max_pss=0 max_anon=0
  shift
  trap 'echo "$max_rss $max_pss $max_anon" >"$out"; exit 0' TERM
  while :; do
    rss="$(proc_sum VmRSS "$@")"
    pss="$(proc_sum Pss "$@")"
    anon="$(proc_sum RssAnon "$@")"
    [ "$rss" -gt "$max_rss" ] && max_rss="$rss"
    [ "$pss" -gt "$max_pss" ] && max_pss="$pss"
    [ "$anon" -gt "$max_anon" ] && max_anon="$anon"
    sleep 0.1
  done
}

# --- scenarios --------------------------------------------------------------------
wanted="${BENCH_SCENARIOS:-small h2 newconn fullhs zip hit ziphit coldfill}"
wants() { [[ " $wanted " == *" $1 "* ]]; }
started=$SECONDS
newconn_total=0 newconn_reused=0 fullhs_total=0 fullhs_reused=0
modgate_max_rss=0 modgate_max_pss=0 modgate_max_anon=0
nginx_max_rss=0 nginx_max_pss=0 nginx_max_anon=0
if wants small; then
  scenario small modgate nginx modgate-warn nginx-nolog
  measure small direct-http 1 "$duration"
  measure small direct-https 1 "$duration"
fi

if wants h2; then
  scenario h2 modgate nginx
fi

# scenario_counting_resumption name contenders...: the scenario, then how many of the
# peer's requests in it came on a resumed TLS session ($ssl_session_reused), into
# ${name}_total and ${name}_reused
scenario_counting_resumption() {
  local name="$1" before lines
  before="$(wc -l <"$dir/logs/peer-access.log")"
  scenario "$@"
  lines="$(tail -n +"$((before + 1))" "$dir/logs/peer-access.log")"
  printf -v "${name}_total" '%s' "$(grep -c . <<<"$lines" || true)"
  printf -v "${name}_reused" '%s' "$(grep -c '"tls_reused":"r"' <<<"$lines" || true)"
}

if wants newconn; then
  scenario_counting_resumption newconn modgate nginx
  measure newconn direct-http 1 "$duration"
  measure newconn direct-https 1 "$duration"
fi

if wants fullhs; then
  scenario_counting_resumption fullhs modgate nginx
  measure fullhs direct-https 1 "$duration"
fi

if wants zip; then
  sampler "$dir/mem.modgate" "$modgate_pid" &
  sampler_modgate=$!
  # shellcheck disable=SC2046
  sampler "$dir/mem.nginx" $(nginx_pids) &
  sampler_nginx=$!
  pids+=("$sampler_modgate" "$sampler_nginx")
  scenario zip modgate nginx
  measure zip direct-http 1 "$duration"
  measure zip direct-https 1 "$duration"
  kill "$sampler_modgate" "$sampler_nginx"
  wait "$sampler_modgate" "$sampler_nginx" 2>/dev/null || true
  read -r modgate_max_rss modgate_max_pss modgate_max_anon <"$dir/mem.modgate"
  read -r nginx_max_rss nginx_max_pss nginx_max_anon <"$dir/mem.nginx"
fi
modgate_cache_max_rss=0 nginx_cache_max_rss=0
if wants hit; then
  scenario hit modgate-cache nginx-cache
fi

if wants ziphit; then
  sampler "$dir/mem.modgate-cache" "$modgate_cache_pid" &
  sampler_modgate=$!
  # shellcheck disable=SC2046
  sampler "$dir/mem.nginx-cache" $(nginx_pids) &
  sampler_nginx=$!
  pids+=("$sampler_modgate" "$sampler_nginx")
  # Filled once, whole, before the runs (a one-second warm-up would cut the fill).
  for who in modgate-cache nginx-cache; do
    curl -sf -o /dev/null --cacert "$ca" -H "X-API-Key: $key" "$(url_of "$who")$zip_hit_path" \
      || die "$who did not serve $zip_hit_path"
  done
  scenario ziphit modgate-cache nginx-cache
  kill "$sampler_modgate" "$sampler_nginx"
  wait "$sampler_modgate" "$sampler_nginx" 2>/dev/null || true
  read -r modgate_cache_max_rss _ _ <"$dir/mem.modgate-cache"
  read -r nginx_cache_max_rss _ _ <"$dir/mem.nginx-cache"
fi

cold_modgate="-" cold_nginx="-"
if wants coldfill; then
  cold() { # contender module: 8 clients at once, then the upstream transfers counted
    local url pids_=() i
    url="$(url_of "$1")/example.com/cold/$2/@v/v1.0.1.zip"
    for i in $(seq "$zip_conns"); do
      curl -s -o /dev/null --cacert "$ca" -H "X-API-Key: $key" "$url" &
      pids_+=($!)
    done
    for i in "${pids_[@]}"; do wait "$i" || die "a cold-fill client of $1 failed"; done
    grep -c "/example.com/cold/$2/" "$dir/logs/upstream-cold.log" || true
  }
  touch "$dir/logs/upstream-cold.log"
  cold_modgate="$(cold modgate-cache modgate)"
  cold_nginx="$(cold nginx-cache nginx)"
  log "cold fill of a 50 MB zip by $zip_conns clients at once: upstream transfers modgate $cold_modgate, nginx $cold_nginx"
fi

modgate_hwm="$(proc_sum VmHWM "$modgate_pid")"
# shellcheck disable=SC2046
nginx_hwm="$(proc_sum VmHWM $(nginx_pids))"
nginx_nprocs="$(nginx_pids | wc -w)"
elapsed=$((SECONDS - started))
for name in upstream peer modgate modgate_warn modgate_cache; do
  pid_var="${name}_pid"
  kill -0 "${!pid_var}" 2>/dev/null || die "$name exited during the runs"
done

# --- report -----------------------------------------------------------------------
median() { sort -n | awk '{a[NR] = $1} END{if (NR == 0) print "-"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
col() { awk -v s="$1" -v w="$2" -v c="$3" '$1 == s && $2 == w {print $c}' "$results"; }
ms() { awk -v p="$1" 'BEGIN{if (p == "-") print "-"; else printf "%.1f", p / 1000}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b}'; }
mb() { awk -v k="$1" 'BEGIN{printf "%.1f MB", k * 1024 / 1e6}'; }
row() { # label scenario contender-a contender-b
  local label="$1" s="$2" a="$3" b="$4" ma mb_ pa pb ca cb ch cs
  ma="$(col "$s" "$a" 4 | median)"
  mb_="$(col "$s" "$b" 4 | median)"
  pa="$(col "$s" "$a" 5 | median)"
  pb="$(col "$s" "$b" 5 | median)"
  ca="$(col "$s" "$a" 7 | median)"
  cb="$(col "$s" "$b" 7 | median)"
  ch="$(col "$s" direct-http 4 | median)"
  cs="$(col "$s" direct-https 4 | median)"
  printf '| %s | %s | %s | **%s** | %s / %s | %s / %s | %s / %s |\n' "$label" "$ma" "$mb_" \
    "$(ratio "$ma" "$mb_")" "$(ms "$pa")" "$(ms "$pb")" "$ca" "$cb" "$ch" "$cs"
}
errors_total="$(awk '{s += $6} END{print s + 0}' "$results")"
{
  echo
  echo "Medians of $rounds alternating runs of ${duration}s each; modgate server.threads=$threads," \
    "nginx worker_processes=$threads; load generators on the same $(nproc) cores."
  echo
  echo "| scenario | modgate | nginx | modgate/nginx | p99 ms modgate / nginx | CPU µs per request modgate / nginx | ceiling: direct http / https |"
  echo "|---|---|---|---|---|---|---|"
  row "small .info/.mod, TLS keep-alive, c=$conns (req/s)" small modgate nginx
  row "same, modgate log.level warn / nginx access_log off (req/s)" small modgate-warn nginx-nolog
  row "same over HTTP/2, h2load, $h2_conns connections × 4 streams (req/s)" h2 modgate nginx
  row "new TLS connection per request, wrk, resumed TLS 1.3 sessions, c=$conns (req/s)" newconn modgate nginx
  row "new TLS connection per request, ab, full handshakes, c=$conns (req/s)" fullhs modgate nginx
  row "50 MB zip, $zip_conns at once (MB/s; CPU µs per MB)" zip modgate nginx
  row "cache hits: small .info/.mod, modgate cache / nginx proxy_cache (req/s)" hit modgate-cache nginx-cache
  row "cache hits: 50 MB zip, $zip_conns at once (MB/s; CPU µs per MB)" ziphit modgate-cache nginx-cache
  echo
  echo "| memory, whole run | modgate | nginx ($nginx_nprocs processes) | modgate/nginx |"
  echo "|---|---|---|---|"
  echo "| peak RSS: VmHWM (nginx: summed over its processes) | $(mb "$modgate_hwm") | $(mb "$nginx_hwm") | **$(ratio "$modgate_hwm" "$nginx_hwm")** |"
  echo "| peak of summed RSS, sampled every 0.1 s during zip | $(mb "$modgate_max_rss") | $(mb "$nginx_max_rss") | $(ratio "$modgate_max_rss" "$nginx_max_rss") |"
  echo "| peak of summed PSS, sampled every 0.1 s during zip | $(mb "$modgate_max_pss") | $(mb "$nginx_max_pss") | $(ratio "$modgate_max_pss" "$nginx_max_pss") |"
  echo "| peak of summed RssAnon (heap, stacks), sampled during zip | $(mb "$modgate_max_anon") | $(mb "$nginx_max_anon") | $(ratio "$modgate_max_anon" "$nginx_max_anon") |"
  echo "| peak of summed RSS during zip cache hits (page cache not counted) | $(mb "$modgate_cache_max_rss") | $(mb "$nginx_cache_max_rss") | $(ratio "$modgate_cache_max_rss" "$nginx_cache_max_rss") |"
  echo
  echo "Cold fill, one 50 MB zip asked for by $zip_conns clients at once: upstream transfers" \
    "modgate $cold_modgate, nginx (proxy_cache_lock) $cold_nginx."
  echo
  echo "Errors over all runs: $errors_total. TLS sessions nginx resumed (\$ssl_session_reused):" \
    "$newconn_reused of $newconn_total requests with wrk, $fullhs_reused of $fullhs_total with ab."
  echo "CPU µs per request: utime+stime of the contender's processes over the run / requests" \
    "(for the zip: per MB answered). Zip ceiling https: upstream nginx serving the file over TLS itself."
  echo "Measured in ${elapsed}s. MB = 10^6 bytes; p99 = median over the rounds of each run's p99."
} | tee "$dir/table.md"

# --- optional profile -------------------------------------------------------------
if [ "${BENCH_PERF:-0}" = 1 ]; then
  if command -v perf >/dev/null; then
    log "profiling modgate under the small-answer load (perf record -e cpu-clock -g)"
    perf record -q -e cpu-clock -F 2000 -g -p "$modgate_pid" -o "$dir/perf.data" \
      -- sleep "$duration" >/dev/null 2>&1 &
    perf_pid=$!
    pids+=("$perf_pid")
    measure small modgate perf "$duration"
    wait "$perf_pid" || true
    echo
    echo "perf: modgate's top symbols under the small-answer load (self time, cpu-clock samples)"
    perf report -i "$dir/perf.data" --no-children --stdio -g none --sort symbol 2>/dev/null \
      | grep -E '^ +[0-9.]+%' | sed -e 's/ *- *- *$//' | head -40 || true
    echo
    echo "perf: by shared object"
    perf report -i "$dir/perf.data" --no-children --stdio -g none --sort dso 2>/dev/null \
      | grep -E '^ +[0-9.]+%' | sed -e 's/ *- *- *$//' | head -12 || true
  else
    log "perf is not installed (Debian package linux-perf); no profile"
  fi
fi

if [ "${BENCH_SYSCALLS:-0}" = 1 ]; then
  scripts/deps.sh strace:strace
  log "counting modgate's system calls under the small-answer load (strace -c -f)"
  strace -c -f -q -p "$modgate_pid" -o "$dir/strace.txt" &
  strace_pid=$!
  sleep 0.5
  measure small modgate strace "$duration"
  kill -INT "$strace_pid" 2>/dev/null || true
  wait "$strace_pid" || true
  requests="$(awk '$2=="modgate" && $3=="strace"{print $4 * '"$duration"'}' "$results")"
  echo
  echo "strace: modgate's system calls per request under the small-answer load (about $requests requests)"
  awk -v r="$requests" 'NR>2 && $NF!="total" && $4+0>0 {printf "  %-16s %6.2f\n", $NF, $4 / r}' "$dir/strace.txt" \
    | sort -k2 -nr | head -15
fi

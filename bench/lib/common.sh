# shellcheck shell=bash disable=SC2034
# Shared by bench/run, bench/memory and bench/probing: settings, starting and stopping the servers,
# waiting for a first answer, reading CPU time. Sourced, not run.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROOT=$(dirname "$BENCH_DIR")
LIB="$BENCH_DIR/lib"
CAROUSEL_BIN=${CAROUSEL_BIN:-$ROOT/.build/release/carousel}
PORT=${PORT:-5399}
CHECK_PORT=${CHECK_PORT:-5390}
OUT=${OUT:-$BENCH_DIR/out}
CLK_TCK=$(getconf CLK_TCK)

# Every process this script started, to stop on exit: "pid" entries.
STARTED=()

log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

require_tools() {
    local missing=()
    for t in "$@"; do command -v "$t" >/dev/null || missing+=("$t"); done
    [ ${#missing[@]} -eq 0 ] || die "missing: ${missing[*]} (scripts/setup installs them: nsd gdnsd dnsperf bind9-dnsutils util-linux procps)"
}

require_carousel() {
    [ -x "$CAROUSEL_BIN" ] || die "no Carousel binary at $CAROUSEL_BIN: build it first with
    swift build -c release --product carousel
(or point CAROUSEL_BIN at one)"
}

# Refuses to start when something already listens on the benchmark port.
require_free_port() {
    local p=$1
    if ss -Hln "( sport = :$p )" 2>/dev/null | grep -q .; then
        die "port $p is in use (set PORT=… or stop what listens there)"
    fi
}

# alive PID: the process exists and is not a zombie (killed processes linger as zombies here).
alive() {
    local s
    s=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    [ -n "$s" ] && [ "${s:0:1}" != Z ]
}

# stop_pid PID: SIGTERM to it, then SIGKILL to whatever of its tree is left after 10 s.
stop_pid() {
    local pid=$1 tree i
    alive "$pid" || { wait "$pid" 2>/dev/null || true; return 0; }
    tree=$(python3 "$LIB/benchlib.py" tree "$pid" 2>/dev/null || echo "$pid")
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 100); do
        local left=0
        for p in $tree; do alive "$p" && left=1; done
        [ $left -eq 0 ] && break
        sleep 0.1
    done
    for p in $tree; do alive "$p" && kill -KILL "$p" 2>/dev/null; done
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local i
    for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do stop_pid "${STARTED[$i]}"; done
    STARTED=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_listener PORT [count-file] [reply]: the tcp-check target (accept and close), on 0.0.0.0;
# with a reply, an agent that sends that line first.
start_listener() {
    local port=$1 count=${2:-} reply=${3:-}
    require_free_port "$port"
    python3 "$LIB/tcp-listener" "$port" ${count:+--count-file "$count"} ${reply:+--reply "$reply"} \
        2>>"$OUT/listener.log" &
    LISTENER_PID=$!
    STARTED+=("$LISTENER_PID")
    local i
    for i in $(seq 100); do
        ss -Hltn "( sport = :$port )" | grep -q . && return 0
        sleep 0.05
    done
    die "the tcp listener on port $port did not start"
}

# start_server NAME DATADIR CPUS THREADS LOG: starts Carousel, NSD or gdnsd on the generated data
# (DATADIR from bench/gen-zone), pinned to CPUS with taskset when CPUS is not empty. Sets
# SERVER_PID (the process to measure: its tree holds every process of the server) and START_NS.
start_server() {
    local name=$1 data=$2 cpus=$3 threads=$4 logf=$5
    local pin=()
    [ -n "$cpus" ] && pin=(taskset -c "$cpus")
    require_free_port "$PORT"
    START_NS=$(date +%s%N)
    case $name in
    carousel)
        local t=()
        [ "$threads" -gt 0 ] && t=(--threads "$threads")
        "${pin[@]}" "$CAROUSEL_BIN" serve --config "$data/carousel/carousel.yaml" "${t[@]}" \
            --log-level "${CAROUSEL_LOG_LEVEL:-info}" >"$logf" 2>&1 &
        ;;
    nsd)
        rm -f "$data/nsd/nsd.pid" "$data/nsd/xfrd.state"
        # -d: stay in the foreground; NSD still forks its xfrd and server processes (our tree).
        "${pin[@]}" nsd -d -c "$data/nsd/nsd.conf" >"$logf" 2>&1 &
        ;;
    gdnsd)
        rm -rf "$data/gdnsd/run" "$data/gdnsd/state"
        "${pin[@]}" gdnsd -c "$data/gdnsd" start >"$logf" 2>&1 &
        ;;
    *) die "unknown server $name (carousel, nsd or gdnsd)" ;;
    esac
    SERVER_PID=$!
    STARTED+=("$SERVER_PID")
}

stop_server() {
    stop_pid "$SERVER_PID"
    local keep=() p
    for p in "${STARTED[@]}"; do [ "$p" = "$SERVER_PID" ] || keep+=("$p"); done
    STARTED=("${keep[@]}")
}

# wait_answer NAME TIMEOUT_S LOG: polls dig every 50 ms until NAME gets an answer (NOERROR with
# records); fails if the server exits or the time runs out. Sets READY_NS.
wait_answer() {
    local qname=$1 timeout=$2 logf=$3 deadline
    deadline=$(($(date +%s%N) + timeout * 1000000000))
    while :; do
        if dig @127.0.0.1 -p "$PORT" "$qname" A +time=1 +tries=1 +noall +answer 2>/dev/null |
            grep -qE "^${qname}[[:space:]].*[[:space:]]IN[[:space:]]"; then
            READY_NS=$(date +%s%N)
            return 0
        fi
        alive "$SERVER_PID" || { tail -20 "$logf" >&2; die "the server exited before answering (log: $logf)"; }
        [ "$(date +%s%N)" -lt "$deadline" ] || { tail -20 "$logf" >&2; die "no answer for $qname after ${timeout}s (log: $logf)"; }
        sleep 0.05
    done
}

cpu_ticks() { python3 "$LIB/benchlib.py" ticks "$1"; }

# Machine and versions, for the head of every report.
describe_machine() {
    local cpu
    cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
    echo "date:     $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "machine:  $(nproc) cores ($cpu), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
    echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min averages at the start)"
    echo "carousel: $CAROUSEL_BIN ($(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?'))"
    echo "peers:    NSD $(dpkg-query -W -f='${Version}' nsd 2>/dev/null), gdnsd $(dpkg-query -W -f='${Version}' gdnsd 2>/dev/null), dnsperf $(dpkg-query -W -f='${Version}' dnsperf 2>/dev/null)"
}

warn_if_busy() {
    local load
    load=$(cut -d' ' -f1 /proc/loadavg)
    if awk -v l="$load" 'BEGIN {exit !(l >= 0.5)}'; then
        log "warning: load average $load: other work on this machine skews every figure"
    fi
}

#!/usr/bin/env bash
# Janus (Debian's 1.1.2) as the peer SFU the load test compares against.
#
#   loadtest/janus/janus.sh start   installs Janus if missing, starts it in its own
#                                   network namespace, prints its URL and pid
#   loadtest/janus/janus.sh stop    kills it and removes the namespace
#   loadtest/janus/janus.sh status  says whether it runs
#
# Janus never offers loopback candidates, so it runs in a namespace joined to the host
# by a veth pair (198.18.0.0/15, the benchmarking range, no route out) and gathers on
# that interface only. Only the VideoRoom plugin and the WebSocket transport are loaded,
# no STUN, debug_level 3. Environment: JANUS_LT_DIR (state, config and log; default
# /tmp/loadtest-janus), JANUS_LT_PORT (WebSocket port, default 8188),
# JANUS_LT_EVENT_LOOPS (Janus's event_loops; default 0 = a thread per handle, Janus's
# own default).
set -euo pipefail

NETNS=lt-janus
IF_HOST=ltj-host
IF_JANUS=ltj-janus
ADDR_HOST=198.18.0.2
ADDR_JANUS=198.18.0.1
PREFIX=30
DIR=${JANUS_LT_DIR:-/tmp/loadtest-janus}
PORT=${JANUS_LT_PORT:-8188}
EVENT_LOOPS=${JANUS_LT_EVENT_LOOPS:-0}
LIBDIR=/usr/lib/x86_64-linux-gnu/janus
URL="ws://$ADDR_JANUS:$PORT"

die() {
    echo "janus.sh: $*" >&2
    exit 1
}

running_pid() {
    [[ -f $DIR/janus.pid ]] || return 1
    local pid
    pid=$(<"$DIR/janus.pid")
    [[ -n $pid && -d /proc/$pid && $(cat "/proc/$pid/comm" 2>/dev/null) == janus ]] || return 1
    echo "$pid"
}

install_janus() {
    command -v janus >/dev/null && return
    echo "installing janus" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends janus >&2 ||
        die "apt-get install janus failed (try apt-get update first)"
}

write_config() {
    local multiarch
    multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
    LIBDIR=/usr/lib/$multiarch/janus
    [[ -f $LIBDIR/plugins/libjanus_videoroom.so ]] || die "no VideoRoom plugin in $LIBDIR"
    # Folders holding only what is used: Janus loads every .so it finds.
    rm -rf "$DIR/conf" "$DIR/plugins" "$DIR/transports" "$DIR/empty"
    mkdir -p "$DIR/conf" "$DIR/plugins" "$DIR/transports" "$DIR/empty"
    ln -s "$LIBDIR/plugins/libjanus_videoroom.so" "$DIR/plugins/"
    ln -s "$LIBDIR/transports/libjanus_websockets.so" "$DIR/transports/"
    local loops=""
    if ((EVENT_LOOPS > 0)); then loops="event_loops = $EVENT_LOOPS"; fi
    cat >"$DIR/conf/janus.jcfg" <<EOF
general: {
	configs_folder = "$DIR/conf"
	plugins_folder = "$DIR/plugins"
	transports_folder = "$DIR/transports"
	events_folder = "$DIR/empty"
	loggers_folder = "$DIR/empty"
	interface = "$ADDR_JANUS"
	debug_level = 3
	debug_colors = false
	log_to_stdout = false
	log_to_file = "$DIR/janus.log"
	session_timeout = 60
	$loops
}
certificates: {
}
media: {
}
nat: {
	nice_debug = false
	ice_enforce_list = "$IF_JANUS"
}
plugins: {
}
transports: {
}
loggers: {
}
events: {
	broadcast = false
}
EOF
    cat >"$DIR/conf/janus.transport.websockets.jcfg" <<EOF
general: {
	json = "compact"
	ws = true
	ws_port = $PORT
	ws_ip = "$ADDR_JANUS"
	wss = false
}
admin: {
	admin_ws = false
	admin_wss = false
}
EOF
    # Rooms are created by the load test (one per run), none here.
    cat >"$DIR/conf/janus.plugin.videoroom.jcfg" <<EOF
general: {
}
EOF
}

make_netns() {
    ip netns del "$NETNS" 2>/dev/null || true
    ip link del "$IF_HOST" 2>/dev/null || true
    ip netns add "$NETNS"
    ip link add "$IF_HOST" type veth peer name "$IF_JANUS"
    ip link set "$IF_JANUS" netns "$NETNS"
    ip addr add "$ADDR_HOST/$PREFIX" dev "$IF_HOST"
    ip link set "$IF_HOST" up
    ip -n "$NETNS" addr add "$ADDR_JANUS/$PREFIX" dev "$IF_JANUS"
    ip -n "$NETNS" link set "$IF_JANUS" up
    ip -n "$NETNS" link set lo up
}

# Waits until the WebSocket transport answers an HTTP request (with 4xx: it wants an
# upgrade), or Janus exits.
wait_ready() {
    local pid=$1 deadline=$((SECONDS + 20))
    while ((SECONDS < deadline)); do
        [[ -d /proc/$pid ]] || die "janus exited while starting; see $DIR/janus.out and $DIR/janus.log"
        if curl -s -o /dev/null --max-time 1 "http://$ADDR_JANUS:$PORT/"; then
            return
        fi
        sleep 0.2
    done
    die "janus did not answer on $ADDR_JANUS:$PORT within 20 s; see $DIR/janus.log"
}

start() {
    if pid=$(running_pid); then
        echo "url=$URL"
        echo "pid=$pid"
        return
    fi
    install_janus
    command -v curl >/dev/null || die "curl is needed to wait for Janus"
    mkdir -p "$DIR"
    write_config
    make_netns
    # `ip netns exec` execs the command, so $! is Janus's own pid.
    ip netns exec "$NETNS" janus -C "$DIR/conf/janus.jcfg" -F "$DIR/conf" \
        >"$DIR/janus.out" 2>&1 </dev/null &
    local pid=$!
    echo "$pid" >"$DIR/janus.pid"
    wait_ready "$pid"
    echo "url=$URL"
    echo "pid=$pid"
}

stop() {
    if pid=$(running_pid); then
        kill "$pid"
        for _ in $(seq 50); do
            [[ -d /proc/$pid ]] || break
            sleep 0.1
        done
        [[ -d /proc/$pid ]] && kill -9 "$pid"
    fi
    rm -f "$DIR/janus.pid"
    ip netns del "$NETNS" 2>/dev/null || true
    ip link del "$IF_HOST" 2>/dev/null || true
    echo "stopped"
}

status() {
    if pid=$(running_pid); then
        echo "url=$URL"
        echo "pid=$pid"
    else
        echo "not running"
        return 1
    fi
}

[[ $EUID -eq 0 ]] || die "needs root (network namespaces)"
case ${1:-} in
start) start ;;
stop) stop ;;
status) status ;;
*) die "usage: $0 start|stop|status" ;;
esac

#!/usr/bin/env bash
# The comparison of docs/benchmarks.md in one command: builds the release binaries,
# starts our server (a fresh data directory) and Janus (loadtest/janus/janus.sh), runs
# each scenario with `loadtest --target both` (ours, then Janus, same flags), and
# writes every report as JSON plus a Markdown table of the figures the benchmark page
# quotes. Run it on an otherwise idle machine; the ratio column is the result to quote.
#
#   loadtest/bench.sh [OUT_DIR]          default OUT_DIR: bench-results/<UTC time>
#
# Environment: BENCH_ENGINE (load-generator engine, default sansio), BENCH_DURATION
# (seconds of media per run, default 30), BENCH_RUNS (space-separated
# scenario:terminals, default "discussion:78 briefing:78 grid:6 grid:10 grid:14").
set -euo pipefail

cd "$(dirname "$0")/.."
OUT=${1:-bench-results/$(date -u +%Y%m%dT%H%M%SZ)}
ENGINE=${BENCH_ENGINE:-sansio}
DURATION=${BENCH_DURATION:-30}
RUNS=${BENCH_RUNS:-discussion:78 briefing:78 grid:6 grid:10 grid:14}
PORT=18480
MEDIA_PORT=41480
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

echo "bench: building release binaries" >&2
cargo build --release -p signaling -p loadtest >&2

DATA=$(mktemp -d)
SERVER_PID=
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
    loadtest/janus/janus.sh stop >/dev/null 2>&1 || true
    rm -rf "$DATA"
}
trap cleanup EXIT

target/release/hoinghi --listen 127.0.0.1:$PORT --tls off --media-port $MEDIA_PORT \
    --public-ip 127.0.0.1 --data-dir "$DATA" >"$OUT/hoinghi.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 50); do
    [ -f "$DATA/jwt.key" ] && curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break
    sleep 0.2
done
curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null || {
    echo "bench: our server did not start; see $OUT/hoinghi.log" >&2
    exit 1
}

JANUS=$(loadtest/janus/janus.sh start)
JANUS_URL=$(sed -n 's/^url=//p' <<<"$JANUS")
JANUS_PID=$(sed -n 's/^pid=//p' <<<"$JANUS")

{
    echo "| scenario | server | joined | tracks delivered | loss | latency p50 / p99 ms | p99 with joins ms | server CPU s | CPU µs / forwarded packet | Janus / ours | load generator CPU s |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|"
} >"$OUT/table.md"

for run in $RUNS; do
    scenario=${run%%:*}
    n=${run##*:}
    json="$OUT/$scenario-$n.json"
    echo "bench: $scenario with $n terminals, $DURATION s, engine $ENGINE" >&2
    status=0
    target/release/loadtest --target both --engine "$ENGINE" \
        --server "http://127.0.0.1:$PORT" --jwt-key-file "$DATA/jwt.key" \
        --server-pid "$SERVER_PID" \
        --janus-url "$JANUS_URL" --janus-pid "$JANUS_PID" \
        --scenario "$scenario" --terminals "$n" --duration "$DURATION" \
        --json "$json" >"$OUT/$scenario-$n.txt" 2>"$OUT/$scenario-$n.log" || status=$?
    if [ ! -f "$json" ]; then
        echo "bench: $scenario-$n failed (exit $status); see $OUT/$scenario-$n.log" >&2
        continue
    fi
    python3 - "$json" "$scenario" "$n" >>"$OUT/table.md" <<'EOF'
import json, sys
path, scenario, n = sys.argv[1:]
d = json.load(open(path))
ratio = d.get("cpu_us_per_forwarded_packet_ratio")
for name in ("hoinghi", "janus"):
    r = d[name]
    s = r["server"]
    cost = s.get("cpu_us_per_forwarded_packet")
    print(f"| {scenario}, {n} | {'ours' if name == 'hoinghi' else 'Janus'} "
          f"| {r['terminals_joined']} / {r['terminals']} "
          f"| {r['tracks_delivered']} / {r['tracks_expected']} "
          f"| {100 * r['loss_fraction']:.2f} % "
          f"| {r['latency_ms']['p50']:.1f} / {r['latency_ms']['p99']:.1f} "
          f"| {r['latency_with_joins_ms']['p99']:.1f} "
          f"| {s.get('cpu_seconds') or 0:.1f} "
          f"| {'n/a' if cost is None else f'{cost:.1f}'} "
          f"| {'' if name == 'janus' or ratio is None else f'{ratio:.1f}'} "
          f"| {r['loadgen']['cpu_seconds']:.1f} |")
EOF
done
cat "$OUT/table.md"
echo "bench: reports in $OUT" >&2

#!/usr/bin/env bash
# Benchmarks: cruddur-xray against the AWS CLI, side by side, against ONE emulator
# (`cruddur-xray emulator --port 0`, release build, 127.0.0.1, test credentials).
# Prints a Markdown table on stdout (progress on stderr). Never part of `cargo test`.
#
#   bash scripts/bench.sh                  # everything (about 10-20 minutes on 2 cores)
#   BENCH_SIZES="20000" bash scripts/bench.sh     # fewer trace counts
#   CARGO_TARGET_DIR=/tmp/t bash scripts/bench.sh  # the build (and binary) there
#
# Timing: hyperfine. Peak memory: /usr/bin/time -v ("Maximum resident set size").
# Request counts: the emulator's own request log (-v), lines added during one run.
# Emulator CPU: utime+stime of the emulator process from /proc/PID/stat, before and after.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO=$(pwd)

SIZES=${BENCH_SIZES:-"20000 100000"}
BIN=${CARGO_TARGET_DIR:-$REPO/target}/release/cruddur-xray
AWS=$REPO/.venv/bin/aws
PY=$REPO/.venv/bin/python

log() { printf '%s\n' "$*" >&2; }

# ---- tools ----
need_apt=()
command -v hyperfine >/dev/null || need_apt+=(hyperfine)
[ -x /usr/bin/time ] || need_apt+=(time)
if [ ${#need_apt[@]} -gt 0 ]; then
    log "installing ${need_apt[*]}"
    apt-get update -qq >&2 && apt-get install -y -qq "${need_apt[@]}" >&2
fi
bash scripts/venv.sh

log "building the release binary"
build_start=$(date +%s)
cargo build --release --locked >&2
log "release build: $(($(date +%s) - build_start)) s (0 when up to date)"

# ---- a clean environment: test credentials, empty config files, no metadata service ----
WORK=$(mktemp -d)
: >"$WORK/empty"
export AWS_ACCESS_KEY_ID=AKIDCRUDDURBENCH AWS_SECRET_ACCESS_KEY=cruddur-bench-secret
export AWS_CONFIG_FILE=$WORK/empty AWS_SHARED_CREDENTIALS_FILE=$WORK/empty
export AWS_EC2_METADATA_DISABLED=true RUST_BACKTRACE=0 NO_COLOR=1 AWS_PAGER=""
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL

"$BIN" -v emulator --port 0 >"$WORK/url" 2>"$WORK/emulator.log" &
EMU=$!
cleanup() {
    kill "$EMU" 2>/dev/null && wait "$EMU" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
for _ in $(seq 100); do [ -s "$WORK/url" ] && break; sleep 0.05; done
export AWS_ENDPOINT_URL_XRAY
AWS_ENDPOINT_URL_XRAY=$(head -n1 "$WORK/url")
log "emulator at $AWS_ENDPOINT_URL_XRAY (pid $EMU)"

region() { export AWS_REGION=$1 AWS_DEFAULT_REGION=$1; }

# ---- measuring helpers ----
TICK=$(getconf CLK_TCK)
emu_ticks() { awk '{print $14 + $15}' "/proc/$EMU/stat"; }

# hyperfine NAME ARGS... -> $WORK/NAME.json
bench() {
    local name=$1
    shift
    log "hyperfine: $name"
    hyperfine --style basic --export-json "$WORK/$name.json" "$@" >&2
}

# mean±stddev of command I in a hyperfine export, in ms or s.
mean() {
    "$PY" - "$WORK/$1.json" "$2" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))["results"][int(sys.argv[2])]
m, s = r["mean"], r["stddev"] or 0.0
print(f"{m*1000:.1f} ± {s*1000:.1f} ms" if m < 1 else f"{m:.2f} ± {s:.2f} s")
EOF
}
ratio() {
    "$PY" - "$WORK/$1.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
print(f"{r[1]['mean'] / r[0]['mean']:.0f}×")
EOF
}

# One instrumented run of a shell command: sets RSS_MIB (peak RSS of the command, or of its
# largest process for a pipeline of several), REQS (requests the emulator logged, by
# operation), NREQS and EMU_CPU (emulator CPU seconds).
instrument() {
    local before ticks
    before=$(wc -l <"$WORK/emulator.log")
    ticks=$(emu_ticks)
    /usr/bin/time -v -o "$WORK/time.txt" bash -c "$1" >"$WORK/stdout.txt" 2>"$WORK/stderr.txt" || {
        log "failed: $1"
        cat "$WORK/stderr.txt" >&2
        exit 1
    }
    sleep 0.1
    RSS_MIB=$(awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2/1024}' "$WORK/time.txt")
    EMU_CPU=$(awk -v a="$ticks" -v b="$(emu_ticks)" -v t="$TICK" 'BEGIN {printf "%.2f", (b-a)/t}')
    local lines
    lines=$(tail -n +"$((before + 1))" "$WORK/emulator.log" | grep -o ' request operation="[A-Za-z]*"' | sed 's/.*="//; s/"//' || true)
    NREQS=$(printf '%s' "$lines" | grep -c . || true)
    REQS=$(printf '%s\n' "$lines" | sort | uniq -c | awk '$2 != "" {printf "%s%s %s", sep, $1, $2; sep=", "}')
}

ROWS=()
row() {
    local out="|" cell
    for cell in "$@"; do out+=" $cell |"; done
    ROWS+=("$out")
}

# ---- 1. start-up and size ----
bench startup -N --warmup 20 --min-runs 200 "$BIN --help"
SIZE=$(stat -c %s "$BIN")
instrument "$BIN --help"
row "\`cruddur-xray --help\` start-up" "$(mean startup 0)" "" "" "peak RSS $RSS_MIB MiB; binary $(awk -v s="$SIZE" 'BEGIN {printf "%.2f MiB (%d bytes)", s/1048576, s}')"

# ---- 2. the seed flow, steady state (group and rule exist and match) ----
region eu-west-1
FILTER="'service(\"backend-flask\")'"
SEED_CRUDDUR="$BIN create-group --group-name Cruddur --filter-expression $FILTER && $BIN create-sampling-rule --file aws/json/xray.json && $BIN verify --expect-group Cruddur --expect-rule Cruddur"
SEED_AWS="{ $AWS xray get-group --group-name Cruddur >/dev/null 2>&1 || $AWS xray create-group --group-name Cruddur --filter-expression $FILTER; } && n=\$($AWS xray get-sampling-rules --query \"length(SamplingRuleRecords[?SamplingRule.RuleName=='Cruddur'])\" --output text) && { [ \"\$n\" = 1 ] || $AWS xray create-sampling-rule --cli-input-json file://aws/json/xray.json; } && $AWS xray get-groups && $AWS xray get-sampling-rules && $AWS xray get-trace-summaries --start-time \$((\$(date +%s) - 900)) --end-time \$(date +%s)"

# First run (creates both): request counts only.
instrument "$SEED_CRUDDUR"
FIRST_C="$NREQS ($REQS)"
region eu-west-2
instrument "$SEED_AWS"
FIRST_A="$NREQS ($REQS)"
row "seed flow, first run (creates group and rule): requests" "$FIRST_C" "$FIRST_A" "" "floor 9: GetGroup, CreateGroup, GetSamplingRules, CreateSamplingRule, GetGroups, GetSamplingRules, 1 GetTraceSummaries, GetTraceSegmentDestination, GetServiceGraph"

# Steady state, each tool in its own region (already seeded above).
region eu-west-1
instrument "$SEED_CRUDDUR"
SEED_C_REQ="$NREQS ($REQS)"
SEED_C_RSS=$RSS_MIB
region eu-west-2
instrument "$SEED_AWS"
SEED_A_REQ="$NREQS ($REQS)"
SEED_A_RSS=$RSS_MIB
region eu-west-1
bench seed --warmup 1 --min-runs 3 --max-runs 20 \
    -n "cruddur-xray seed" "$SEED_CRUDDUR" \
    -n "AWS CLI seed" "export AWS_REGION=eu-west-2 AWS_DEFAULT_REGION=eu-west-2; $SEED_AWS"
row "seed flow, re-run (nothing to change)" "$(mean seed 0)" "$(mean seed 1)" "$(ratio seed)" "requests: cruddur-xray $SEED_C_REQ; AWS CLI $SEED_A_REQ; floor 7. Peak RSS $SEED_C_RSS / $SEED_A_RSS MiB"

# ---- 3. verify over N traces vs get-trace-summaries over the same window ----
END=$(($(date +%s) - 60))
START=$((END - 3600))
i=0
for N in $SIZES; do
    i=$((i + 1))
    region "us-west-$i"
    log "loading $N traces into $AWS_REGION"
    load_start=$(date +%s.%N)
    "$PY" scripts/bench_load.py "$N" "$START" "$END"
    LOAD_S=$(awk -v a="$load_start" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b-a}')
    V_CRUDDUR="$BIN verify --start $START --end $END --min-traces $N"
    V_AWS="$AWS xray get-trace-summaries --start-time $START --end-time $END --query 'TraceSummaries[].Id' --output text"
    instrument "$V_CRUDDUR"
    VC="$RSS_MIB MiB, $NREQS requests ($REQS), emulator CPU ${EMU_CPU} s"
    instrument "$V_AWS"
    got=$(wc -w <"$WORK/stdout.txt")
    [ "$got" = "$N" ] || { log "the AWS CLI saw $got traces, not $N"; exit 1; }
    VA="$RSS_MIB MiB, $NREQS requests, emulator CPU ${EMU_CPU} s"
    floor=$((2 + (N + 99) / 100 + 2))
    bench "verify$N" --min-runs 2 --max-runs 10 \
        -n "cruddur-xray verify ($N)" "$V_CRUDDUR" -n "aws get-trace-summaries ($N)" "$V_AWS"
    row "verify, $N traces in 1 h" "$(mean "verify$N" 0)" "$(mean "verify$N" 1)" "$(ratio "verify$N")" "cruddur-xray: $VC. AWS CLI: $VA. Floor $floor requests. Load: ${LOAD_S} s"
done

# ---- the table ----
echo "Run $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)), load average at the end $(cut -d' ' -f1-3 /proc/loadavg); hyperfine $(hyperfine --version | cut -d' ' -f2); AWS CLI $("$AWS" --version 2>&1 | cut -d' ' -f1)."
echo
echo "| Benchmark | cruddur-xray | AWS CLI | Speed-up | Notes (peak RSS, requests, floor) |"
echo "|---|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"
echo
echo "The commands timed (the last two for the largest size):"
echo
echo '```'
for c in "$SEED_CRUDDUR" "$SEED_AWS" "$V_CRUDDUR" "$V_AWS"; do
    c=${c//$BIN/target/release/cruddur-xray}
    printf '%s\n' "${c//$AWS/.venv/bin/aws}"
done
echo '```'

#!/usr/bin/env bash
# The benchmark of DESIGN.md / issue 6: nvmeof-target pinned to CPU 0,
# `nvmeof perf --poll` pinned to CPU 1, over 127.0.0.1, a 1 GiB RAM
# namespace; every workload REPEATS times, interleaved, medians reported,
# with the target's CPU time per I/O (from /proc); iperf3 on the same two
# CPUs as the raw-TCP yardstick.
#
#   bench/run.sh [SECONDS_PER_RUN=10] [REPEATS=3]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
reps=${2:-3}

scripts/install-deps.sh
if ! command -v iperf3 >/dev/null; then
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd=sudo
  $sudo_cmd apt-get install -y -qq iperf3 >/dev/null
fi
cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DNVMEOF_TESTS=OFF \
  -DNVMEOF_BENCH=OFF >/dev/null
cmake --build build-bench -j "$(nproc)" --target nvmeof nvmeof-target >/dev/null
TARGET=build-bench/tools/nvmeof-target
TOOL=build-bench/tools/nvmeof
NQN=nqn.2024-11.io.nvmeof:bench
work=$(mktemp -d /tmp/nvmeof-bench.XXXXXX)
tpid=""
cleanup() {
  if [ -n "$tpid" ] && kill -0 "$tpid" 2>/dev/null; then kill "$tpid"; wait "$tpid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

# start_target PORT [ARGS...]: a 1 GiB RAM target on CPU 0, filled; sets tpid.
start_target() {
  local p=$1; shift
  : >"$work/target.log"
  "$TARGET" --ram 1G --nqn "$NQN" --listen "127.0.0.1:$p" --threads 1 --cpus 0 "$@" \
    >"$work/target.log" 2>&1 &
  tpid=$!
  for _ in $(seq 100); do grep -q "listening on" "$work/target.log" && break; sleep 0.1; done
  # Fill the namespace so that reads return data, not never-written zeros
  # (which the kernel maps to one shared page, always in cache).
  "$TOOL" perf --trsvcid "$p" --nqn "$NQN" --workload write --io-size 131072 \
    --queue-depth 16 --time 2 --cpu 1 -o json >/dev/null
}
stop_target() { kill "$tpid"; wait "$tpid" 2>/dev/null || true; tpid=""; }
# The target's CPU time (utime + stime) in clock ticks.
ticks() { awk '{print $14 + $15}' "/proc/$tpid/stat"; }
hz=$(getconf CLK_TCK)

# run_perf OUT ARGS...: one perf run on CPU 1, and beside its JSON the
# target's CPU seconds over the run (OUT.cpu).
run_perf() {
  local out=$1; shift
  local t0 t1
  t0=$(ticks)
  "$TOOL" perf --trsvcid "$port" --nqn "$NQN" "$@" --time "$secs" --cpu 1 -o json >"$out"
  t1=$(ticks)
  echo "$(( t1 - t0 )) $hz" >"$out.cpu"
}

# name | perf arguments. The initiator busy-polls, as spdk_nvme_perf does,
# so that what is measured is the target; the target waits in epoll.
workloads=(
  "4K randread QD1|--workload randread --io-size 4096 --queue-depth 1 --poll"
  "4K randread QD32|--workload randread --io-size 4096 --queue-depth 32 --poll"
  "4K randread QD128|--workload randread --io-size 4096 --queue-depth 128 --poll"
  "4K randwrite QD32|--workload randwrite --io-size 4096 --queue-depth 32 --poll"
  "128K read QD16|--workload read --io-size 131072 --queue-depth 16 --poll"
  "4K randread QD32 digests|--workload randread --io-size 4096 --queue-depth 32 --poll -g -G"
  "4K randwrite QD32 digests|--workload randwrite --io-size 4096 --queue-depth 32 --poll -g -G"
  "128K read QD16 digests|--workload read --io-size 131072 --queue-depth 16 --poll -g -G"
)
# Rows with the target polling: name | target arguments | perf arguments.
target_rows=(
  "4K randread QD1, target --poll|--poll|--workload randread --io-size 4096 --queue-depth 1 --poll"
  "4K randread QD1, target --poll-idle 50|--poll-idle 50|--workload randread --io-size 4096 --queue-depth 1 --poll"
  "4K randread QD32, target --poll-idle 50|--poll-idle 50|--workload randread --io-size 4096 --queue-depth 32 --poll"
  "4K randwrite QD32, target --poll-idle 50|--poll-idle 50|--workload randwrite --io-size 4096 --queue-depth 32 --poll"
)

for ((r = 0; r < reps; r++)); do
  start_target "$port"
  for i in "${!workloads[@]}"; do
    # shellcheck disable=SC2086
    run_perf "$work/w$i.r$r.json" ${workloads[$i]#*|}
  done
  stop_target
  for j in "${!target_rows[@]}"; do
    IFS='|' read -r _ targs pargs <<<"${target_rows[$j]}"
    # shellcheck disable=SC2086
    start_target "$port" $targs
    # shellcheck disable=SC2086
    run_perf "$work/w$((${#workloads[@]} + j)).r$r.json" $pargs
    stop_target
  done

  # Raw TCP on the same CPUs: iperf3 server on 0, client on 1.
  iport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  taskset -c 0 iperf3 -s -B 127.0.0.1 -p "$iport" >/dev/null 2>&1 &
  ipid=$!
  python3 - "$iport" <<'WAIT'
import socket, sys, time
for _ in range(100):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=0.2).close()
        break
    except OSError:
        time.sleep(0.05)
WAIT
  timeout $((secs + 20)) taskset -c 1 iperf3 -c 127.0.0.1 -p "$iport" -t "$secs" -J \
    >"$work/iperf.r$r.json" || true
  kill "$ipid" 2>/dev/null || true
  wait "$ipid" 2>/dev/null || true
done

python3 - "$work" "$reps" "$((${#workloads[@]} + ${#target_rows[@]}))" "${workloads[@]}" \
  "${target_rows[@]}" <<'PY'
import json, statistics, sys
work, reps, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
names = [w.split("|")[0] for w in sys.argv[4:4 + n]]
def med(xs): return statistics.median(xs) if xs else float("nan")
raw = []
for r in range(reps):
    try:
        d = json.load(open(f"{work}/iperf.r{r}.json"))
        raw.append(d["end"]["sum_received"]["bits_per_second"] / 8e6)
    except Exception:
        pass
raw_mbps = med(raw)
print(f"raw loopback TCP (iperf3, CPU 0 -> 1): {raw_mbps:,.0f} MB/s (median of {len(raw)})\n")
print("| workload | IOPS | MB/s | avg us | p50 us | p99 us | p99.9 us | target CPU | target us/IO | MB/s vs raw TCP |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for i, name in enumerate(names):
    runs = [json.load(open(f"{work}/w{i}.r{r}.json")) for r in range(reps)]
    cpu = []  # (target CPU seconds, run seconds, I/Os) per run
    for r, x in enumerate(runs):
        ticks, hz = open(f"{work}/w{i}.r{r}.json.cpu").read().split()
        cpu.append((int(ticks) / int(hz), x["seconds"], x["ios"]))
    iops = med([x["iops"] for x in runs]); mbps = med([x["mbps"] for x in runs])
    lat = lambda k: med([x["latency_us"][k] for x in runs])
    busy = med([c / s * 100 for c, s, _ in cpu if s > 0])
    us_io = med([c * 1e6 / n for c, _, n in cpu if n > 0])
    errs = sum(x["errors"] for x in runs)
    ratio = mbps / raw_mbps if raw_mbps == raw_mbps and raw_mbps > 0 else float("nan")
    print(f"| {name} | {iops:,.0f} | {mbps:,.0f} | {lat('avg'):.1f} | {lat('p50'):.1f} | "
          f"{lat('p99'):.1f} | {lat('p99_9'):.1f} | {busy:.0f}% | {us_io:.2f} | {ratio:.2f} |"
          + (f" errors {errs}" if errs else ""))
PY

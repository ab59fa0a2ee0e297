#!/usr/bin/env bash
# End to end, as a user runs them: nvmeof-target (flags, config errors,
# signals) and every verb of the nvmeof tool against it, on 127.0.0.1.
# Usage: cli_test.sh NVMEOF_TARGET NVMEOF [EMBED_TARGET [NVMEOF_CTL]]
set -uo pipefail
TARGET=$1
TOOL=$2
EMBED=${3:-}
CTL=${4:-}
work=$(mktemp -d /tmp/nvmeof-cli.XXXXXX)
pid=""
vpid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fi
  if [ -n "$vpid" ] && kill -0 "$vpid" 2>/dev/null; then kill -KILL "$vpid"; fi
  if [ -n "${npid:-}" ] && kill -0 "$npid" 2>/dev/null; then kill -KILL "$npid"; fi
  rm -rf "$work"
}
trap cleanup EXIT

pass=0
fail=0
check() {  # check NAME COMMAND...: the command must succeed
  local name=$1; shift
  if "$@" >"$work/out" 2>&1; then
    pass=$((pass + 1)); echo "ok   $name"
  else
    fail=$((fail + 1)); echo "FAIL $name"; sed 's/^/     /' "$work/out" | head -20
  fi
}
refuse() {  # refuse NAME PATTERN COMMAND...: must fail, saying PATTERN
  local name=$1 pattern=$2; shift 2
  if "$@" >"$work/out" 2>&1; then
    fail=$((fail + 1)); echo "FAIL $name (succeeded)"
  elif grep -q -- "$pattern" "$work/out"; then
    pass=$((pass + 1)); echo "ok   $name"
  else
    fail=$((fail + 1)); echo "FAIL $name (no '$pattern')"; sed 's/^/     /' "$work/out" | head -5
  fi
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# ---- config errors: refused, with the field and the reason ----
cat >"$work/bad.json" <<'JSON'
{ "subsystems": [ { "nqn": "nqn.2024-11.io.nvmeof:t",
    "namespaces": [ { "backend": "ram", "size": "1M", "block_size": 1024 } ] } ] }
JSON
refuse "bad config names the field" '\$.subsystems\[0\].namespaces\[0\].block_size' \
  "$TARGET" --config "$work/bad.json"
refuse "missing config file" 'nope.json' "$TARGET" --config "$work/nope.json"
refuse "bad --listen" 'not a numeric IPv4 or IPv6 address' "$TARGET" --ram 1M --listen localhost:4420
refuse "bad --nqn" 'nqn' "$TARGET" --ram 1M --nqn bogus
check "--print-config" "$TARGET" --ram 64M --print-config
refuse "a RAM namespace larger than memory" "does not fit in the" "$TARGET" --ram 64T

# ---- DH-HMAC-CHAP secrets: gen-dhchap-key, check-dhchap-key (nvme-cli's) ----
sec=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
# SECURITY.md 1.4's vector (checked against nvme-cli 2.3).
check "gen-dhchap-key: the transform vector" bash -c "[ \"\$('$TOOL' gen-dhchap-key --secret $sec --nqn nqn.host --hmac 1)\" = 'DHHC-1:01:yI3mmuRg+UJDXk85BFwtwbGxRfqgGJmco5HpbAnDQnDuyhrN:' ]"
check "gen-dhchap-key: short flags, another NQN" bash -c "[ \"\$('$TOOL' gen-dhchap-key -s $sec -n nqn.other -m 1 -l 32)\" = 'DHHC-1:01:wFMW0CnP+XKwLAjESQgAqNl47oQCVvkhLwi0cBSpcjPLSeSw:' ]"
check "gen-dhchap-key: no hash, the secret as it is" bash -c "'$TOOL' gen-dhchap-key -s $sec | '$TOOL' check-dhchap-key | grep -qx 'Key is valid (HMAC 0, length 32, CRC 91267e8a)'"
check "gen-dhchap-key -m 3: a random 64-byte secret that checks" bash -c "'$TOOL' check-dhchap-key -k \"\$('$TOOL' gen-dhchap-key -m 3)\" | grep -q '^Key is valid (HMAC 3, length 64, CRC [0-9a-f]\\{8\\})\$'"
check "gen-dhchap-key -l 48: a 48-byte secret" bash -c "'$TOOL' check-dhchap-key -k \"\$('$TOOL' gen-dhchap-key -l 48 -n nqn.host)\" | grep -q '(HMAC 0, length 48, '"
refuse "gen-dhchap-key --hmac 4" 'Invalid HMAC identifier 4' "$TOOL" gen-dhchap-key --hmac 4
refuse "gen-dhchap-key: a length that is not the hash's" 'Invalid key length 48 for SHA(256)' "$TOOL" gen-dhchap-key -m 1 -l 48
refuse "gen-dhchap-key --key-length 40" 'Invalid key length 40' "$TOOL" gen-dhchap-key --key-length 40
refuse "gen-dhchap-key: a secret of the wrong length" 'Invalid key length (2 bytes)' "$TOOL" gen-dhchap-key -s 0011
refuse "gen-dhchap-key: a secret that is not hex" 'Invalid secret (not hexadecimal)' "$TOOL" gen-dhchap-key -s "zz${sec:2}"
refuse "gen-dhchap-key --hmac x" 'hmac' "$TOOL" gen-dhchap-key --hmac x
check "check-dhchap-key: the vector is valid" bash -c "'$TOOL' check-dhchap-key -k 'DHHC-1:01:yI3mmuRg+UJDXk85BFwtwbGxRfqgGJmco5HpbAnDQnDuyhrN:' | grep -qx 'Key is valid (HMAC 1, length 32, CRC cd1acaee)'"
check "check-dhchap-key --key (long form)" "$TOOL" check-dhchap-key --key 'DHHC-1:01:wFMW0CnP+XKwLAjESQgAqNl47oQCVvkhLwi0cBSpcjPLSeSw:'
refuse "check-dhchap-key: bad CRC" 'CRC mismatch (key ce1acaee, crc cd1acaee)' "$TOOL" check-dhchap-key -k 'DHHC-1:01:yI3mmuRg+UJDXk85BFwtwbGxRfqgGJmco5HpbAnDQnDuyhrO:'
refuse "check-dhchap-key: not DHHC-1" 'Invalid key header' "$TOOL" check-dhchap-key -k 'DHHC-2:01:yI3mmuRg+UJDXk85BFwtwbGxRfqgGJmco5HpbAnDQnDuyhrN:'
refuse "check-dhchap-key: hash 02 with a 32-byte secret" 'Invalid key length for SHA(384)' "$TOOL" check-dhchap-key -k 'DHHC-1:02:yI3mmuRg+UJDXk85BFwtwbGxRfqgGJmco5HpbAnDQnDuyhrN:'
refuse "check-dhchap-key: hash 05" 'Invalid HMAC identifier 5' "$TOOL" check-dhchap-key -k 'DHHC-1:05:yI3mmuRg+UJDXk85BFwtwbGxRfqgGJmco5HpbAnDQnDuyhrN:'
refuse "check-dhchap-key: bad base64" 'Base64 decoding failed' "$TOOL" check-dhchap-key -k 'DHHC-1:00:yI3mmuRg+UJDXk85BFwtwbGxRfqgGJmco5Hp!AnDQnDuyhrN:'
refuse "check-dhchap-key: no trailing colon" "missing trailing ':'" "$TOOL" check-dhchap-key -k 'DHHC-1:00:yI3mmuRg+UJDXk85BFwtwbGxRfqgGJmco5HpbAnDQnDuyhrN'
refuse "check-dhchap-key: nothing on stdin" 'No key data' bash -c "'$TOOL' check-dhchap-key </dev/null"
out=$("$TOOL" check-dhchap-key -k 'DHHC-1:01:yI3mmuRg+UJDXk85BFwtwbGxRfqgGJmco5HpbAnDQnDuyhrO:' 2>&1)
if [[ $out != *yI3mmuRg* ]]; then
  pass=$((pass + 1)); echo "ok   check-dhchap-key: the key is not in the error"
else
  fail=$((fail + 1)); echo "FAIL check-dhchap-key: the key is in the error: $out"
fi

# ---- the daemon ----
port=$(free_port)
nqn=nqn.2024-11.io.nvmeof:ram0
exec 3< <("$TARGET" --ram 64M --listen "127.0.0.1:$port" --threads 2 --cpus 0-0,0 2>&1 & echo "PID $!"; wait)
read -r -t 10 first <&3 || true
pid=${first#PID }
ready=0
while read -r -t 10 line <&3; do
  case "$line" in *"listening on 127.0.0.1 port $port"*) ready=1; break;; esac
done
if [ "$ready" != 1 ]; then echo "FAIL daemon did not start"; echo "0 passed, 1 failed"; exit 1; fi
pass=$((pass + 1)); echo "ok   daemon listening on $port"
A=(-a 127.0.0.1 -s "$port" -n "$nqn")
IO=(--traddr 127.0.0.1 --trsvcid "$port" --nqn "$nqn")

check "discover lists the subsystem" bash -c "'$TOOL' discover -a 127.0.0.1 -s $port | grep -q 'subnqn:  $nqn'"
check "discover -o json" bash -c "'$TOOL' discover -a 127.0.0.1 -s $port -o json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert any(r[\"subnqn\"]==\"$nqn\" for r in d[\"records\"])'"
check "id-ctrl -o json" bash -c "'$TOOL' id-ctrl ${A[*]} -o json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"subnqn\"]==\"$nqn\" and d[\"cntrltype\"]==1 and d[\"sgls\"]!=0'"
check "id-ns" bash -c "'$TOOL' id-ns ${IO[*]} -n 1 | grep -q 'nsze    : 0x20000'"
check "list-ns" bash -c "'$TOOL' list-ns ${A[*]} | grep -q '0x1'"
head -c $((3 * 1024 * 1024)) /dev/urandom >"$work/data"   # 3 MiB: more than MDTS
check "write 3 MiB" "$TOOL" write "${IO[@]}" -s 8 -d "$work/data"
check "read it back" "$TOOL" read "${IO[@]}" -s 8 -c $((3 * 2048 - 1)) -d "$work/back"
check "data identical" cmp "$work/data" "$work/back"
head -c $((24 * 1024 * 1024)) /dev/urandom >"$work/big"   # 24 commands, 8 queue entries
check "write more than a queue's worth of commands (-Q 8)" "$TOOL" write "${IO[@]}" -Q 8 -s 16384 -d "$work/big"
check "read it back with -Q 8" bash -c "'$TOOL' read ${IO[*]} -Q 8 -s 16384 -c $((24 * 2048 - 1)) | cmp - '$work/big'"
refuse "a write that fails part way says how much was written" '1048576 of 3145728 bytes were written' "$TOOL" write "${IO[@]}" -s $((64 * 2048 - 2048)) -d "$work/data"
check "compare equal" "$TOOL" compare "${IO[@]}" -s 8 -d "$work/data"
printf 'x' | dd of="$work/data" bs=1 seek=5000 conv=notrunc 2>/dev/null
refuse "compare different" 'Compare Failure' "$TOOL" compare "${IO[@]}" -s 8 -d "$work/data"
check "write-zeroes" "$TOOL" write-zeroes "${IO[@]}" -s 8 -c 7
check "zeros read back" bash -c "'$TOOL' read ${IO[*]} -s 8 -c 7 | cmp - <(head -c 4096 /dev/zero)"
check "dsm deallocate" "$TOOL" dsm "${IO[@]}" --slbs 100,200 --blocks 8,8 --ad
check "flush" "$TOOL" flush "${IO[@]}"
check "smart log counts writes" bash -c "'$TOOL' get-log ${A[*]} -l 2 -o json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"host_write_commands\"]>=3, d'"
check "get-feature number of queues" bash -c "'$TOOL' get-feature ${A[*]} -f 7 | grep -q 'Number of Queues'"
head -c 1000 /dev/zero >"$work/odd"
refuse "odd-sized data file" 'not a multiple of the block size' "$TOOL" write "${IO[@]}" -d "$work/odd"
refuse "unknown subsystem" 'Connect Invalid Parameters' "$TOOL" id-ctrl -a 127.0.0.1 -s "$port" -n nqn.2024-11.io.nvmeof:none
refuse "LBA out of range" 'LBA Out of Range' "$TOOL" read "${IO[@]}" -s $((64 * 2048)) -c 0 -d "$work/x"
refuse "a bad --dhchap-secret names the flag and the reason" '\--dhchap-secret: DH-HMAC-CHAP key: CRC mismatch' "$TOOL" id-ctrl "${A[@]}" -S 'DHHC-1:01:yI3mmuRg+UJDXk85BFwtwbGxRfqgGJmco5HpbAnDQnDuyhrO:'
out=$("$TOOL" id-ctrl "${A[@]}" -S 'DHHC-1:01:yI3mmuRg+UJDXk85BFwtwbGxRfqgGJmco5HpbAnDQnDuyhrO:' 2>&1)
if [[ $out != *yI3mmuRg* ]]; then
  pass=$((pass + 1)); echo "ok   a bad --dhchap-secret is not echoed"
else
  fail=$((fail + 1)); echo "FAIL a bad --dhchap-secret is echoed: $out"
fi
refuse "a bad --dhchap-ctrl-secret names the flag" '\--dhchap-ctrl-secret: DH-HMAC-CHAP key: not a DHHC-1 secret' "$TOOL" read "${IO[@]}" -s 0 -c 0 -S 'DHHC-1:01:yI3mmuRg+UJDXk85BFwtwbGxRfqgGJmco5HpbAnDQnDuyhrN:' -C bogus
refuse "--dhchap-ctrl-secret alone" 'needs --dhchap-secret' "$TOOL" id-ctrl "${A[@]}" -C 'DHHC-1:01:yI3mmuRg+UJDXk85BFwtwbGxRfqgGJmco5HpbAnDQnDuyhrN:'
check "a secret for a controller that requires none goes unused" bash -c "'$TOOL' id-ctrl ${A[*]} -S 'DHHC-1:01:yI3mmuRg+UJDXk85BFwtwbGxRfqgGJmco5HpbAnDQnDuyhrN:' -C 'DHHC-1:01:wFMW0CnP+XKwLAjESQgAqNl47oQCVvkhLwi0cBSpcjPLSeSw:' -o json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"subnqn\"]==\"$nqn\"'"
check "get-feature keeps -S as the selector (--dhchap-secret long only)" bash -c "'$TOOL' get-feature ${A[*]} -f 7 -S 1 --dhchap-secret 'DHHC-1:01:yI3mmuRg+UJDXk85BFwtwbGxRfqgGJmco5HpbAnDQnDuyhrN:' | grep -q 'Default value'"
refuse "unreachable target" 'connect: Connection refused' "$TOOL" id-ctrl -a 127.0.0.1 -s "$(free_port)" -n "$nqn"
refuse "unreachable IPv6 target, address in brackets" '\[::1\]:' "$TOOL" id-ctrl -a ::1 -s "$(free_port)" -n "$nqn"
refuse "id-ns of an inactive namespace says so" 'namespace 2 is not active on this controller' "$TOOL" id-ns "${IO[@]}" -n 2
out=$("$TOOL" read "${IO[@]}" -n 9 -s 0 -c 0 2>&1)
if [[ $out == *'namespace 9 is not active on this controller'* && $out != *FAILED_PRECONDITION* && $out != *NOT_FOUND* ]]; then
  pass=$((pass + 1)); echo "ok   no internal status names in messages"
else
  fail=$((fail + 1)); echo "FAIL no internal status names in messages: $out"
fi
refuse "read to a file that cannot be written says why" 'cannot write /nonexistent/x.bin: No such file or directory' "$TOOL" read "${IO[@]}" -s 0 -c 0 -d /nonexistent/x.bin
check "get-feature names the feature" bash -c "'$TOOL' get-feature ${A[*]} -f 1 | grep -q 'Arbitration'"
check "get-feature -S 1 says default" bash -c "'$TOOL' get-feature ${A[*]} -f 7 -S 1 | grep -q 'Default value'"
refuse "get-feature -S 9" 'not in range' "$TOOL" get-feature "${A[@]}" -f 7 -S 9
refuse "get-log -l 256" 'not in range' "$TOOL" get-log "${A[@]}" -l 256
refuse "get-log -L 4294967292" 'must be a multiple of 4 from 4 to 16777216' "$TOOL" get-log "${A[@]}" -L 4294967292
refuse "get-log -L 2 MiB: read in pieces, the part past the page refused" 'Get Log Page 1: Invalid Field' "$TOOL" get-log "${A[@]}" -l 1 -L 2097152
check "discover -o json names the eflags" bash -c "'$TOOL' discover -a 127.0.0.1 -s $port -o json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert any(\"explicit discovery connections\" in r[\"eflags\"] for r in d[\"records\"]), d'"

check "perf --verify (randrw, 2 queues)" bash -c "'$TOOL' perf ${IO[*]} --workload randrw --mix 50 --io-size 8192 --queue-depth 8 -i 2 --time 2 --verify -o json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"ios\"]>0 and d[\"errors\"]==0 and d[\"verify_errors\"]==0, d'"
check "perf text output" bash -c "'$TOOL' perf ${IO[*]} --workload randread --time 1 | grep -q 'latency us: min .* avg .* p99.99 .* max'"
check "perf --threads 2 --verify: disjoint shares, merged counts" bash -c "'$TOOL' perf ${IO[*]} --workload randrw --mix 50 --queue-depth 4 --threads 2 --cpus 0 --time 2 --verify -o json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"threads\"]==2 and d[\"ios\"]>0 and d[\"errors\"]==0 and d[\"verify_errors\"]==0 and sum(b[\"count\"] for b in d[\"histogram\"])==d[\"ios\"], d'"
check "perf --plot writes an SVG of the histogram" bash -c "'$TOOL' perf ${IO[*]} --workload read --time 1 --plot '$work/lat.svg' >/dev/null && python3 -c 'import sys,xml.etree.ElementTree as E; r=E.parse(sys.argv[1]).getroot(); ns=\"{http://www.w3.org/2000/svg}\"; assert r.tag==ns+\"svg\"; g=r.find(ns+\"g\"); assert len(g.findall(ns+\"rect\"))>0' '$work/lat.svg'"
refuse "target --poll-idle out of range" "not in range" "$TARGET" --ram 1M --poll-idle 2000000
refuse "target --cpus that is not a list" "expected CPU numbers" "$TARGET" --ram 1M --cpus 0,x
refuse "target --cpus beyond the machine" "CPU 1000 is not available to this process" "$TARGET" --ram 1M --cpus 1000
refuse "target --cpus range beyond the machine" "is not available to this process (it may run on" "$TARGET" --ram 1M --cpus 0-1000
refuse "perf --cpus that is not a list" "expected CPU numbers" "$TOOL" perf "${IO[@]}" --cpus 1-0 --time 1
refuse "perf --plot to a directory that does not exist" "cannot write $work/none/x.svg" "$TOOL" perf "${IO[@]}" --time 1 --plot "$work/none/x.svg"
refuse "perf --cpu and --cpus together" "excludes" "$TOOL" perf "${IO[@]}" --cpu 0 --cpus 0 --time 1

refuse "perf --queue-depth beyond the I/O queue says both numbers" "is more than the 128 entries of each I/O queue" "$TOOL" perf "${IO[@]}" --queue-depth 256 --time 1
refuse "perf --io-size beyond MDTS" "more than the controller's largest transfer (MDTS: 1048576 bytes)" "$TOOL" perf "${IO[@]}" --io-size 2M --time 1
refuse "perf --io-size that is not a size" "not a size: '1.5K'" "$TOOL" perf "${IO[@]}" --io-size 1.5K --time 1
refuse "perf --time 0" "not in range" "$TOOL" perf "${IO[@]}" --time 0
check "perf --io-size 8K" bash -c "'$TOOL' perf ${IO[*]} --io-size 8K --time 1 -o json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"io_size\"]==8192 and d[\"ios\"]>0 and d[\"mibps\"]>0 and d[\"latency_us\"][\"min\"]<=d[\"latency_us\"][\"p90\"]<=d[\"latency_us\"][\"p99_99\"]<=d[\"latency_us\"][\"max\"], d'"

# ---- SIGTERM: a clean stop, exit 0 ----
kill -TERM "$pid"
stopped=0
while read -r -t 10 line <&3; do
  case "$line" in *"nvmeof-target: stopped"*) stopped=1; break;; esac
done
if [ "$stopped" = 1 ] && wait "$pid" 2>/dev/null; [ "$stopped" = 1 ]; then
  pass=$((pass + 1)); echo "ok   SIGTERM stops cleanly"
else
  fail=$((fail + 1)); echo "FAIL SIGTERM stop"
fi
pid=""

# ---- a file namespace: --verify under load, and a target restart ----
# Reads of a file land in a buffer of the command's slot: the data must be
# sent before the next command of the slot reuses it.
vport=$(free_port)
vnqn=nqn.2024-11.io.nvmeof:file
truncate -s 64M "$work/ns.img"
# A sparse namespace far larger than memory; under TSan, whose memory
# layout has no room for a 1 TiB mapping, a smaller one.
sparse=1T
if [ -n "${NVMEOF_TSAN:-}" ]; then sparse=16G; fi
cat >"$work/file.json" <<JSON
{ "ports": [ { "address": "127.0.0.1", "port": $vport } ],
  "subsystems": [ { "nqn": "$vnqn", "namespaces": [
    { "nsid": 1, "backend": "file", "path": "$work/ns.img" },
    { "nsid": 2, "backend": "ram", "size": "$sparse", "sparse": true },
    { "nsid": 3, "backend": "ram", "size": "1M", "read_only": true } ] } ] }
JSON
# start_daemon FD PATTERN COMMAND...: COMMAND's output on fd FD, its PID in
# started_pid; returns once it printed PATTERN (1 if it never did).
start_daemon() {
  local fd=$1 pattern=$2 first line
  shift 2
  eval "exec $fd< <(\"\$@\" 2>&1 & echo \"PID \$!\"; wait)"
  read -r -t 10 first <&"$fd" || true
  started_pid=${first#PID }
  while read -r -t 10 line <&"$fd"; do case "$line" in *"$pattern"*) return 0;; esac; done
  return 1
}
# stop_daemon FD PID: SIGTERM, then waits for its "stopped" line and exit.
stop_daemon() {
  local line
  kill -TERM "$2"
  while read -r -t 10 line <&"$1"; do case "$line" in *"nvmeof-target: stopped"*) break;; esac; done
  wait "$2" 2>/dev/null
}
start_file_target() {  # sets vpid, output on fd 6
  local st=0
  start_daemon 6 "listening on" "$TARGET" --config "$work/file.json" --threads 1 || st=1
  vpid=$started_pid
  return $st
}
stop_file_target() { stop_daemon 6 "$vpid"; vpid=""; }
if start_file_target; then
  VIO=(--traddr 127.0.0.1 --trsvcid "$vport" --nqn "$vnqn")
  check "perf --verify on a file at QD 32 x 2 queues" bash -c "'$TOOL' perf ${VIO[*]} --workload randrw --mix 50 --queue-depth 32 -i 2 --time 2 --verify -o json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"ios\"]>0 and d[\"errors\"]==0 and d[\"verify_errors\"]==0, d'"
  # 2^28 slots of 4 KiB (1 TiB): the table of written slots grows with
  # the run, not with the namespace.
  check "perf --verify on a $sparse namespace takes memory for what it touched" python3 -c '
import json, resource, subprocess, sys
out = subprocess.run(sys.argv[1:], check=True, capture_output=True, text=True).stdout
d = json.loads(out)
assert d["ios"] > 0 and d["errors"] == 0 and d["verify_errors"] == 0, d
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
assert rss < 256, f"perf used {rss} MiB"
' "$TOOL" perf "${VIO[@]}" -n 2 --workload randrw --time 1 --verify -o json
  check "perf: failed writes are errors, not I/Os, and the first is named" bash -c "'$TOOL' perf ${VIO[*]} -n 3 --workload randwrite --time 1 -o json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"ios\"]==0 and d[\"errors\"]>0 and \"Write Protected\" in d[\"first_error\"], d'"
  # Restarted under load: commands wait while the host reconnects, then go
  # on; none fails and what was written reads back.
  exec 7< <("$TOOL" perf "${VIO[@]}" --workload randrw --queue-depth 16 --time 5 --verify --ctrl-loss-tmo 20 --reconnect-delay 1 2>&1 & echo "PID $!"; wait)
  read -r -t 10 first <&7 || true
  ppid_=${first#PID }
  : >"$work/perf.out"
  while read -r -t 10 line <&7; do
    echo "$line" >>"$work/perf.out"
    case "$line" in "[  1s]"*) break;; esac
  done
  stop_file_target
  start_file_target || echo "target did not restart" >>"$work/perf.out"
  while read -r -t 30 line <&7; do echo "$line" >>"$work/perf.out"; done
  wait "$ppid_" 2>/dev/null
  check "perf across a target restart: reconnects, no errors" bash -c "grep -q 'reconnecting (1 of 1 associations)' '$work/perf.out' && grep -q 'errors 0  verify errors 0' '$work/perf.out' || { cat '$work/perf.out'; false; }"
  stop_file_target
else
  fail=$((fail + 1)); echo "FAIL file target did not start"
fi

# ---- out of file descriptors: no spin, one log line, recovery ----
if [ -n "${NVMEOF_UBSAN:-}" ]; then
  echo "skip out of file descriptors: UBSan's vptr check needs descriptors of its own (tested in the other builds)"
else
fport=$(free_port)
exec 5< <(bash -c "ulimit -n 64; exec '$TARGET' --ram 16M --listen 127.0.0.1:$fport --threads 1" 2>&1 & echo "PID $!"; wait)
read -r -t 10 first <&5 || true
fpid=${first#PID }
while read -r -t 10 line <&5; do case "$line" in *"listening on"*) break;; esac; done
cat >"$work/fds.py" <<'PY'
import socket, struct, sys, time, os
port, pid, hz = int(sys.argv[1]), sys.argv[2], os.sysconf("SC_CLK_TCK")
icreq = bytes([0, 0, 128, 0]) + struct.pack("<I", 128) + bytes(120)
def ticks():
    f = open(f"/proc/{pid}/stat").read().split(")")[1].split()
    return int(f[11]) + int(f[12])
held = []
for _ in range(100):  # more than the 64 descriptors the target may have
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(icreq)
    held.append(s)
t0 = ticks(); time.sleep(2); used = (ticks() - t0) / hz
for s in held: s.close()
# Descriptors are free again: a new connection is served.
for attempt in range(100):
    s = socket.create_connection(("127.0.0.1", port)); s.settimeout(10)
    s.sendall(icreq)
    try:
        r = s.recv(128)
    except OSError:
        r = b""
    s.close()
    if len(r) >= 8 and r[0] == 1: break
    time.sleep(0.05)
else:
    sys.exit("no ICResp after the descriptors were freed")
# A spinning listener would burn ~2 s of CPU in 2 s; a quiet one ~0.
if used > 1.0: sys.exit(f"the target spun: {used:.2f} s of CPU in 2 s")
print(f"ok: {used:.2f} s of CPU while out of descriptors")
PY
check "out of fds: no spin, served again after" python3 "$work/fds.py" "$fport" "$fpid"
kill -TERM "$fpid"
while read -r -t 10 line <&5; do
  echo "$line" >>"$work/fd.log"
  case "$line" in *"nvmeof-target: stopped"*) break;; esac
done
check "out of fds: logged once, and the recovery" bash -c "[ \$(grep -c 'out of file descriptors' '$work/fd.log') = 1 ] && grep -q 'file descriptors are available again' '$work/fd.log'"
fi

# ---- the control plane: a target that starts empty, built over JSON-RPC ----
# A client as small as rpc.py's core: one request, one response; prints the
# result as JSON, or the error's message and exits 1.
cat >"$work/rpc.py" <<'PY'
import json, socket, sys
sock, method = sys.argv[1], sys.argv[2]
params = json.loads(sys.argv[3]) if len(sys.argv) > 3 else None
req = {"jsonrpc": "2.0", "id": 1, "method": method}
if params is not None: req["params"] = params
s = socket.socket(socket.AF_UNIX); s.settimeout(30); s.connect(sock)
s.sendall(json.dumps(req).encode())
buf, dec = b"", json.JSONDecoder()
while True:
    chunk = s.recv(65536)
    if not chunk: sys.exit("connection closed without a response")
    buf += chunk
    try:
        resp, _ = dec.raw_decode(buf.decode()); break
    except ValueError:
        continue
if "error" in resp:
    print(f'error {resp["error"]["code"]}: {resp["error"]["message"]}'); sys.exit(1)
print(json.dumps(resp["result"]))
PY
sock="$work/rpc.sock"
rpc() { python3 "$work/rpc.py" "$sock" "$@"; }
start_rpc_target() {  # start_rpc_target ARGS...: sets rpid, output on fd 8
  local st=0
  start_daemon 8 "control plane on $sock" "$TARGET" --threads 1 "$@" || st=1
  rpid=$started_pid
  return $st
}
stop_rpc_target() { stop_daemon 8 "$rpid"; rpid=""; }
refuse "no subsystem, no RPC: nothing to serve" "give --ram SIZE, --config FILE or --rpc-socket" "$TARGET"
refuse "--rpc-listen without a token file" "needs --rpc-token-file" "$TARGET" --rpc-listen 127.0.0.1:1
rport=$(free_port)
rnqn=nqn.2024-11.io.nvmeof:live
if start_rpc_target --rpc-socket "$sock"; then
  pid=$rpid  # killed by the cleanup if the test dies here
  check "the socket is private (0600)" test "$(stat -c %a "$sock")" = 600
  check "rpc: spdk_get_version" bash -c "python3 '$work/rpc.py' '$sock' spdk_get_version | grep -q '\"version\"'"
  check "rpc: nvmf_create_transport TCP" rpc nvmf_create_transport '{"trtype": "TCP"}'
  check "rpc: bdev_malloc_create" rpc bdev_malloc_create '{"name": "Malloc0", "num_blocks": 4096, "block_size": 512}'
  check "rpc: nvmf_create_subsystem" rpc nvmf_create_subsystem "{\"nqn\": \"$rnqn\", \"allow_any_host\": true, \"serial_number\": \"SPDK00000000000001\"}"
  check "rpc: nvmf_subsystem_add_ns" rpc nvmf_subsystem_add_ns "{\"nqn\": \"$rnqn\", \"namespace\": {\"bdev_name\": \"Malloc0\", \"nsid\": 1}}"
  check "rpc: nvmf_subsystem_add_listener" rpc nvmf_subsystem_add_listener "{\"nqn\": \"$rnqn\", \"listen_address\": {\"trtype\": \"TCP\", \"adrfam\": \"IPv4\", \"traddr\": \"127.0.0.1\", \"trsvcid\": \"$rport\"}}"
  check "rpc: a second bdev" rpc bdev_malloc_create '{"name": "Malloc1", "num_blocks": 2048, "block_size": 512}'
  refuse "rpc: a bdev that serves a namespace already is refused, saying so" "backend Malloc0 already serves namespace 1 of $rnqn" rpc nvmf_subsystem_add_ns "{\"nqn\": \"$rnqn\", \"namespace\": {\"bdev_name\": \"Malloc0\", \"nsid\": 2}}"
  refuse "rpc: an NSID in use is refused, saying so" "NSID 1 is in use in subsystem $rnqn" rpc nvmf_subsystem_add_ns "{\"nqn\": \"$rnqn\", \"namespace\": {\"bdev_name\": \"Malloc1\", \"nsid\": 1}}"
  refuse "rpc: bdev_null_delete leaves a RAM bdev alone" "bdev Malloc1 (Malloc disk) is not of the kind this method deletes" rpc bdev_null_delete '{"name": "Malloc1"}'
  check "rpc: bdev_malloc_delete deletes it" rpc bdev_malloc_delete '{"name": "Malloc1"}'
  refuse "rpc: an unknown method is refused by name" "Method not found: nvmf_bogus" rpc nvmf_bogus
  RIO=(--traddr 127.0.0.1 --trsvcid "$rport" --nqn "$rnqn")
  head -c 65536 /dev/urandom >"$work/rdata"
  check "the nvmeof tool uses the subsystem rpc made" bash -c "'$TOOL' write ${RIO[*]} -s 0 -d '$work/rdata' && '$TOOL' read ${RIO[*]} -s 0 -c 127 | cmp - '$work/rdata'"
  check "rpc: bdev_resize grows a RAM bdev, and the host sees it" bash -c "python3 '$work/rpc.py' '$sock' bdev_resize '{\"name\": \"Malloc0\", \"new_size\": 4}' >/dev/null && '$TOOL' id-ns ${RIO[*]} -n 1 | grep -q 'nsze    : 0x2000'"
  if [ -n "$CTL" ]; then
    cnqn=nqn.2024-11.io.nvmeof:ctl
    cport=$(free_port)
    C=("$CTL" -s "$sock")
    CS="'$CTL' -s '$sock'"  # the same, inside bash -c
    check "nvmeof-ctl --help lists the verbs" bash -c "'$CTL' --help | grep -q 'subsystem' && '$CTL' bdev --help | grep -q 'resize'"
    check "nvmeof-ctl bdev ram" "${C[@]}" bdev ram CtlRam 8
    check "nvmeof-ctl subsystem create" "${C[@]}" subsystem create "$cnqn" --serial CTL0001
    check "nvmeof-ctl ns add prints the NSID" bash -c "[ \"\$($CS ns add $cnqn CtlRam)\" = 1 ]"
    check "nvmeof-ctl host add" "${C[@]}" host add "$cnqn" nqn.2024-01.io.nvmeof.test:host-a
    check "nvmeof-ctl listener add" "${C[@]}" listener add "$cnqn" 127.0.0.1 "$cport"
    check "nvmeof-ctl subsystem list shows it all" bash -c "$CS subsystem list | grep '$cnqn' | grep 'CTL0001' | grep '1=CtlRam' | grep 'host-a' | grep -q '127.0.0.1:$cport'"
    check "nvmeof-ctl -o json subsystem list" bash -c "$CS -o json subsystem list | python3 -c 'import json,sys; d=json.load(sys.stdin); s=[x for x in d if x[\"nqn\"]==\"$cnqn\"][0]; assert s[\"namespaces\"][0][\"bdev_name\"]==\"CtlRam\" and not s[\"allow_any_host\"], s'"
    check "the allowed host connects through what nvmeof-ctl made" "$TOOL" id-ns --traddr 127.0.0.1 --trsvcid "$cport" --nqn "$cnqn" --hostnqn nqn.2024-01.io.nvmeof.test:host-a -n 1
    check "nvmeof-ctl bdev null" "${C[@]}" bdev null CtlNull 16 -b 4096
    refuse "nvmeof-ctl: the target's error, exit status 1" "NSID 1 is in use in subsystem $cnqn" "${C[@]}" ns add "$cnqn" CtlNull -n 1
    check "nvmeof-ctl bdev list" bash -c "$CS bdev list | grep CtlRam | grep -q 'Malloc disk'"
    check "nvmeof-ctl call with raw JSON" bash -c "$CS call nvmf_get_subsystems '{\"nqn\": \"$cnqn\"}' | grep -q CTL0001"
    check "nvmeof-ctl subsystem delete, then bdev delete (of each kind)" bash -c "$CS subsystem delete $cnqn && $CS bdev delete CtlRam && $CS bdev delete CtlNull && ! $CS bdev list | grep -q Ctl"
    refuse "nvmeof-ctl without a daemon says so, exit status 2" "is nvmeof-target running with --rpc-socket" "$CTL" -s "$work/none.sock" version
  fi
  check "rpc: nvmeof_save_config to a file" rpc nvmeof_save_config "{\"file\": \"$work/saved.json\"}"
  stop_rpc_target
  pid=""
  check "the saved file names the bdev" grep -q '"bdev_name": "Malloc0"' "$work/saved.json"
  if start_rpc_target --rpc-socket "$sock" --config "$work/saved.json"; then
    pid=$rpid
    check "--config loads the saved state back: same namespace, same size" bash -c "'$TOOL' id-ns ${RIO[*]} -n 1 | grep -q 'nsze    : 0x2000'"
    check "rpc over a loaded config: nvmf_get_subsystems" bash -c "python3 '$work/rpc.py' '$sock' nvmf_get_subsystems | grep -q '$rnqn'"
    stop_rpc_target
    pid=""
  else
    fail=$((fail + 1)); echo "FAIL the saved config did not start"
  fi
else
  fail=$((fail + 1)); echo "FAIL RPC target did not start"
fi

# ---- metrics: the Prometheus endpoint of a running daemon ----
mport=$(free_port)
mtport=$(free_port)
if start_daemon 13 "listening on" "$TARGET" --ram 16M --listen "127.0.0.1:$mtport" --threads 1 --metrics-listen "127.0.0.1:$mport"; then
  mpid=$started_pid
  pid=$mpid
  MIO=(--traddr 127.0.0.1 --trsvcid "$mtport" --nqn "$nqn")
  head -c 8192 /dev/urandom >"$work/mdata"
  check "metrics: I/O to count" bash -c "'$TOOL' write ${MIO[*]} -s 0 -d '$work/mdata' && '$TOOL' read ${MIO[*]} -s 0 -c 15 >/dev/null"
  cat >"$work/scrape.py" <<'PY'
import sys, urllib.request
text = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=10).read().decode()
def value(name, *labels):
    for line in text.splitlines():
        if line.startswith(name + "{") and all(l in line for l in labels):
            return float(line.rsplit(" ", 1)[1])
    sys.exit(f"no {name} {labels} in:\n{text}")
nqn = 'subsystem="nqn.2024-11.io.nvmeof:ram0"'
assert value("nvmeof_namespace_commands_total", nqn, 'direction="write"') == 1
assert value("nvmeof_namespace_bytes_total", nqn, 'direction="read"') == 8192
assert value("nvmeof_namespace_latency_seconds_count", nqn) >= 2
assert "# TYPE nvmeof_thread_busy_seconds_total counter" in text
print("ok")
PY
  check "metrics: GET /metrics counts the I/O" python3 "$work/scrape.py" "$mport"
  stop_daemon 13 "$mpid"
  pid=""
else
  fail=$((fail + 1)); echo "FAIL metrics target did not start"
fi
taken=$(free_port)  # the NVMe/TCP port takes it first
refuse "metrics: an address it cannot listen on is refused, saying so" "cannot listen" "$TARGET" --ram 1M --listen "127.0.0.1:$taken" --metrics-listen "127.0.0.1:$taken"

# ---- SIGHUP: --config read again, the difference applied ----
# await_output FD PATTERN: reads the daemon's output until a line matches.
await_output() {
  local line
  while read -r -t 10 line <&"$1"; do
    echo "$line" >>"$work/hup.log"
    case "$line" in *$2*) return 0;; esac
  done
  return 1
}
hport=$(free_port)
hnqn=nqn.2024-11.io.nvmeof:hup-a
hnqn2=nqn.2024-11.io.nvmeof:hup-b
write_hup_config() {  # write_hup_config EXTRA_SUBSYSTEM_JSON
  cat >"$work/hup.json" <<JSON
{ "ports": [ { "address": "127.0.0.1", "port": $hport } ],
  "subsystems": [ { "nqn": "$hnqn", "namespaces": [ { "backend": "ram", "size": "16M" } ] }$1 ] }
JSON
}
write_hup_config ""
# systemd's side of sd_notify: a datagram socket that prints what it gets.
cat >"$work/notify.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1]); s.settimeout(60)
print("bound", flush=True)
while True:
    m = s.recv(4096).decode()
    print(m, flush=True)
    if m == "STOPPING=1": break
PY
start_daemon 12 "bound" python3 "$work/notify.py" "$work/notify.sock"
npid=$started_pid
if start_daemon 10 "listening on" env NOTIFY_SOCKET="$work/notify.sock" "$TARGET" --config "$work/hup.json" --threads 1; then
  check "sd_notify: READY=1 once it serves" await_output 12 "READY=1"
  hpid=$started_pid
  pid=$hpid
  HIO=(--traddr 127.0.0.1 --trsvcid "$hport" --nqn "$hnqn")
  refuse "before the reload, $hnqn2 is not served" "Connect Invalid Parameters" "$TOOL" id-ctrl -a 127.0.0.1 -s "$hport" -n "$hnqn2"
  # I/O on the unchanged subsystem runs across the reload.
  exec 11< <("$TOOL" perf "${HIO[@]}" --workload randrw --queue-depth 8 --time 3 --verify 2>&1 & echo "PID $!"; wait)
  read -r -t 10 first <&11 || true
  perf_pid=${first#PID }
  while read -r -t 10 line <&11; do case "$line" in "[  1s]"*) break;; esac; done
  write_hup_config ", { \"nqn\": \"$hnqn2\", \"namespaces\": [ { \"backend\": \"null\", \"size\": \"1G\" } ] }"
  kill -HUP "$hpid"
  check "SIGHUP: the reload is logged with its changes" await_output 10 "reload of $work/hup.json: 3 change(s)"
  check "sd_notify: RELOADING=1 for the reload" await_output 12 "RELOADING=1"
  check "sd_notify: READY=1 after it" await_output 12 "READY=1"
  cat <&11 >"$work/hup_perf.out"
  wait "$perf_pid" 2>/dev/null
  check "SIGHUP: I/O on the unchanged subsystem ran on, no error, no reconnect" bash -c "grep -q 'errors 0  verify errors 0' '$work/hup_perf.out' && ! grep -q reconnecting '$work/hup_perf.out' || { cat '$work/hup_perf.out'; false; }"
  check "SIGHUP: the new subsystem is served" bash -c "'$TOOL' id-ctrl -a 127.0.0.1 -s $hport -n $hnqn2 -o json | python3 -c 'import json,sys; assert json.load(sys.stdin)[\"subnqn\"]==\"$hnqn2\"'"
  echo '{ "subsystems": [ { "nqn": "bogus" } ] }' >"$work/hup.json"
  kill -HUP "$hpid"
  check "SIGHUP with a bad file: the error is logged with its path, nothing changes" await_output 10 "reload: $work/hup.json: \$.subsystems\[0\].nqn: NQN must start with 'nqn.'; nothing changed"
  check "SIGHUP with a bad file: both subsystems still served" bash -c "'$TOOL' id-ctrl -a 127.0.0.1 -s $hport -n $hnqn >/dev/null && '$TOOL' id-ctrl -a 127.0.0.1 -s $hport -n $hnqn2 >/dev/null"
  stop_daemon 10 "$hpid"
  pid=""
  check "sd_notify: STOPPING=1 on SIGTERM" await_output 12 "STOPPING=1"
else
  fail=$((fail + 1)); echo "FAIL SIGHUP target did not start"
fi
wait "$npid" 2>/dev/null

# The control plane on TCP (for a VM's guest): only with the token.
printf 'tok-%s\n' "$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$work/token"
chmod 644 "$work/token"
refuse "a token file others can read is refused" "must be private to its owner" \
  "$TARGET" --rpc-listen 127.0.0.1:1 --rpc-token-file "$work/token"
chmod 600 "$work/token"
refuse "--rpc-listen on a non-loopback address needs the explicit flag" "is not a loopback address" \
  "$TARGET" --rpc-listen 0.0.0.0:1 --rpc-token-file "$work/token"
tport=$(free_port)
if start_daemon 9 "control plane on TCP" "$TARGET" --threads 1 --rpc-listen "127.0.0.1:$tport" --rpc-token-file "$work/token"; then
  pid=$started_pid
  cat >"$work/tcp_rpc.py" <<'PY'
import json, socket, sys
port, token = int(sys.argv[1]), sys.argv[2]
def call(req):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(json.dumps(req).encode())
    buf = b""
    while True:
        chunk = s.recv(65536)
        if not chunk: return None
        buf += chunk
        try: return json.JSONDecoder().raw_decode(buf.decode())[0]
        except ValueError: continue
base = {"jsonrpc": "2.0", "id": 1, "method": "spdk_get_version"}
r = call(base)
assert r and r["error"]["code"] == -32600 and "token" in r["error"]["message"], r
r = call(dict(base, token="wrong-token-0123456789"))
assert r and "error" in r, r
r = call(dict(base, token=token))
assert r and "version" in r["result"], r
print("ok")
PY
  check "rpc over TCP: refused without the token or with a wrong one, served with it" python3 "$work/tcp_rpc.py" "$tport" "$(head -n1 "$work/token")"
  if [ -n "$CTL" ]; then
    check "nvmeof-ctl --tcp with the token file" bash -c "'$CTL' --tcp 127.0.0.1:$tport --token-file '$work/token' version | grep -q nvmeof"
  fi
  stop_daemon 9 "$pid"
  pid=""
else
  fail=$((fail + 1)); echo "FAIL TCP RPC target did not start"
fi

# ---- examples/embed_target: a program serving a Backend of its own ----
if [ -n "$EMBED" ]; then
  eport=$(free_port)
  enqn=nqn.2024-11.io.nvmeof.example:embedded
  exec 4< <("$EMBED" "$eport" 2>&1 & echo "PID $!"; wait)
  read -r -t 10 first <&4 || true
  pid=${first#PID }
  read -r -t 10 line <&4 || true
  EIO=(--traddr 127.0.0.1 --trsvcid "$eport" --nqn "$enqn")
  # Block 5 holds its LBA, a little-endian 64-bit 5, over and over.
  check "embedded target: block 5 reads its own LBA" bash -c "'$TOOL' read ${EIO[*]} -n 1 -s 5 -c 0 | cmp - <(python3 -c 'import sys; sys.stdout.buffer.write((5).to_bytes(8,\"little\")*64)')"
  head -c 4096 /dev/urandom >"$work/edata"
  check "embedded target: write then read back" bash -c "'$TOOL' write ${EIO[*]} -n 1 -s 16 -d '$work/edata' && '$TOOL' read ${EIO[*]} -n 1 -s 16 -c 7 | cmp - '$work/edata'"
  kill -TERM "$pid"
  stopped=0
  while read -r -t 10 line <&4; do
    case "$line" in *"embed_target: stopped"*) stopped=1; break;; esac
  done
  if [ "$stopped" = 1 ]; then
    pass=$((pass + 1)); echo "ok   embedded target stops on SIGTERM"
  else
    fail=$((fail + 1)); echo "FAIL embedded target stop"
  fi
  pid=""
fi

# ---- TLS PSKs: gen-tls-key, check-tls-key (nvme-cli's; SECURITY.md 2.4) ----
tls_sec=5512DBB6737D0106F65975B773DFB011FFC344BCF442E2DD6D8BC4870B5D5B03
tls_key='NVMeTLSkey-1:01:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:'
check "gen-tls-key: the spec's example interchange key" bash -c "[ \"\$('$TOOL' gen-tls-key --secret $tls_sec)\" = '$tls_key' ]"
check "gen-tls-key -m 2: libnvme's 48-byte example" bash -c "[ \"\$('$TOOL' gen-tls-key -m 2 -s ${tls_sec}FFC344BCF442E2DD6D8BC4870B5D5B03)\" = 'NVMeTLSkey-1:02:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwP/w0S89ELi3W2LxIcLXVsDn8kXZQ==:' ]"
check "check-tls-key: the spec's key is valid" bash -c "'$TOOL' check-tls-key -d '$tls_key' | grep -qx 'Key is valid (HMAC 1, length 32)'"
check "check-tls-key -I 1: libnvme's identity vector" bash -c "'$TOOL' check-tls-key -d '$tls_key' -n nqn.psk-test-host -c nqn.psk-test-subsys -I 1 | grep -qx 'NVMe1R01 nqn.psk-test-host nqn.psk-test-subsys iSbjiStwJ/1TrTvDlt2fjFmzvsytOJelidNnA+X5lEU='"
check "check-tls-key --compat: libnvme's compat identity" bash -c "'$TOOL' check-tls-key --keydata '$tls_key' --hostnqn nqn.psk-test-host --subsysnqn nqn.psk-test-subsys --identity 1 --compat | grep -qx 'NVMe1R01 nqn.psk-test-host nqn.psk-test-subsys 66GuqV08TsAGII39teWUfwQwizjv06Jy8jOcX3NAAzM='"
check "check-tls-key: identity 0 by default, key from stdin" bash -c "echo '$tls_key' | '$TOOL' check-tls-key -n nqn.psk-test-host -c nqn.psk-test-subsys | grep -qx 'NVMe0R01 nqn.psk-test-host nqn.psk-test-subsys'"
check "gen-tls-key -m 2: a random 48-byte key that checks" bash -c "'$TOOL' gen-tls-key -m 2 | '$TOOL' check-tls-key | grep -qx 'Key is valid (HMAC 2, length 48)'"
tls_bad='NVMeTLSkey-1:01:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LaZ:'
refuse "check-tls-key: a corrupted key (CRC)" 'CRC mismatch' "$TOOL" check-tls-key -d "$tls_bad" -c nqn.psk-test-subsys
out=$("$TOOL" check-tls-key -d "$tls_bad" 2>&1)
if [ -n "$out" ] && [[ "$out" != *VRLbtnN9* ]]; then
  pass=$((pass + 1)); echo "ok   check-tls-key: the key is not in the error"
else
  fail=$((fail + 1)); echo "FAIL check-tls-key: the key is in the error: $out"
fi
refuse "check-tls-key: not an interchange key" 'NVMeTLSkey-1' "$TOOL" check-tls-key -d 'DHHC-1:01:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:'
refuse "check-tls-key: hash 02 with a 32-byte key" 'does not match the hash id' "$TOOL" check-tls-key -d 'NVMeTLSkey-1:02:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:'
refuse "gen-tls-key --hmac 3" 'Invalid HMAC identifier 3' "$TOOL" gen-tls-key --hmac 3
refuse "gen-tls-key --identity 2" 'Invalid TLS identity version 2' "$TOOL" gen-tls-key --identity 2
refuse "gen-tls-key: a secret of the wrong length" 'Invalid key length (2 bytes)' "$TOOL" gen-tls-key -s 0011
refuse "gen-tls-key --insert (no kernel keyring here)" 'not supported' "$TOOL" gen-tls-key --insert -c nqn.psk-test-subsys
# ---- TLS: a port that requires it, a host with a PSK (README "TLS") ----
tport=$(free_port)
tnqn=nqn.2024-11.io.nvmeof:tls
thost=nqn.2024-11.io.nvmeof:tls-host
"$TOOL" gen-tls-key >"$work/psk"
chmod 600 "$work/psk"
cat >"$work/tls.json" <<JSON
{"keys": [{"name": "psk1", "path": "$work/psk"}],
 "subsystems": [{"nqn": "$tnqn",
                 "hosts": [{"nqn": "$thost", "psk": "psk1"}],
                 "namespaces": [{"backend": "ram", "size": "16M"}]}],
 "ports": [{"id": 1, "address": "127.0.0.1", "port": $tport,
            "params": {"tls": "required"}}]}
JSON
if start_daemon 7 "TLS required" "$TARGET" --config "$work/tls.json" --threads 1; then
  tpid=$started_pid
  TIO=(--traddr 127.0.0.1 --trsvcid "$tport" --nqn "$tnqn" --hostnqn "$thost")
  head -c 1048576 /dev/urandom >"$work/tdata"
  check "TLS: write 1 MiB with the key file" "$TOOL" write "${TIO[@]}" --tls-key "$work/psk" -s 0 -d "$work/tdata"
  check "TLS: read it back with the key itself, identity 1, digests" bash -c "'$TOOL' read ${TIO[*]} --tls --tls-key \"\$(cat '$work/psk')\" --tls-identity 1 -g -G -s 0 -c 2047 | cmp - '$work/tdata'"
  check "TLS: discovery over TLS says TLS is required" bash -c "'$TOOL' discover -a 127.0.0.1 -s $tport --hostnqn $thost --tls-key '$work/psk' | grep -q 'treq:    required'"
  refuse "TLS: a plain host is refused" 'Connection' "$TOOL" id-ctrl "${TIO[@]}"
  refuse "TLS: a wrong key is refused" 'Connection' "$TOOL" id-ctrl "${TIO[@]}" --tls-key "$("$TOOL" gen-tls-key)"
  refuse "TLS: --tls without a key" 'needs --tls-key' "$TOOL" id-ctrl "${TIO[@]}" --tls
  check "TLS: the target still serves" "$TOOL" id-ctrl "${TIO[@]}" --tls-key "$work/psk"
  stop_daemon 7 "$tpid"
else
  fail=$((fail + 1)); echo "FAIL TLS target did not start"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]

#!/usr/bin/env bash
# Issue 17 ("Performance"): how each cost grows with size or history, measured in one run on a
# quiet machine, so that every figure sits beside its limit or peer from the same run.
#   bench/scripts/cost-growth.sh DIR_ON_THE_DISK OUT_DIR     (as root: page caches are dropped)
# Raw results, JSON lines, one file per benchmark in OUT_DIR:
#   save.jsonl          save, restore, async stall at each size, with dd, torch and NDList
#                       (bench/scripts/save_vs_baselines.py; its tables in save_vs_baselines.md)
#   log.jsonl           cairn bench log --scalars S, REPS processes per S (interleaved)
#   jmh-scalars.json    JMH MetricsScalarsJmh, 3 forks per scalar count (ns per call)
#   dashboard.jsonl     cairn bench dashboard --points N, REPS processes per N (interleaved)
#   checkpoints.jsonl   cairn bench checkpoints, warm and with dropped caches
# Smaller runs (a smoke test) through the environment, for example:
#   SIZES=0.01 POINTS=10000 COUNTS=10 SCALARS=1,100 REPS=1 JMH=0 bench/scripts/cost-growth.sh ...
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
dir=${1:?folder on the disk to measure}
out=${2:?folder for the results}
sizes=${SIZES:-0.25,1,4,8}
points=${POINTS:-10000,100000,1000000,10000000}
counts=${COUNTS:-10,100,1000}
scalars=${SCALARS:-1,10,100}
reps=${REPS:-3}
jmh=${JMH:-1}
mkdir -p "$dir" "$out"
"$root/cairn" --version > /dev/null   # build first, outside any timing
jar="$root/cli/target/cairn.jar"
java_=(java -XX:MaxDirectMemorySize=64g -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$jar")
{ date -u; lscpu | grep -E 'Model name|^CPU\(s\)'; free -g | head -2; df -h "$dir" | tail -1
  java -version 2>&1 | head -1; git -C "$root" rev-parse HEAD; } > "$out/machine.txt"
rm -f "$out"/{save,log,dashboard,checkpoints}.jsonl

echo "save, restore and stall at $sizes GiB" >&2
/usr/bin/python3 "$root/bench/scripts/save_vs_baselines.py" "$dir" --sizes "$sizes" --reps "$reps" \
  --jsonl "$out/save.jsonl" > "$out/save_vs_baselines.md"

echo "metrics log at $scalars scalars per call" >&2
for ((r = 0; r < reps; r++)); do
  for s in ${scalars//,/ }; do
    "$root/cairn" bench log --dir "$dir" --scalars "$s" --json >> "$out/log.jsonl"
  done
done
if [ "$jmh" = 1 ]; then
  "${java_[@]}" org.openjdk.jmh.Main MetricsScalarsJmh -p scalars="$scalars" -f 3 \
    -rf json -rff "$out/jmh-scalars.json" > "$out/jmh-scalars.txt" 2>&1
fi

echo "dashboard at $points points" >&2
for ((r = 0; r < reps; r++)); do
  for n in ${points//,/ }; do
    "$root/cairn" bench dashboard --dir "$dir" --points "$n" --json >> "$out/dashboard.jsonl"
  done
done

echo "checkpoint store at $counts checkpoints" >&2
"$root/cairn" bench checkpoints --dir "$dir" --counts "$counts" --repeat 5 --json \
  >> "$out/checkpoints.jsonl"
"$root/cairn" bench checkpoints --dir "$dir" --counts "$counts" --repeat 5 --drop-caches --json \
  >> "$out/checkpoints.jsonl"
echo "done: $out" >&2

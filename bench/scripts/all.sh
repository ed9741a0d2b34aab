#!/usr/bin/env bash
# Every benchmark in BENCHMARKS.md, one after the other on a quiet machine.
# Usage: bench/scripts/all.sh DIR_ON_THE_DISK OUT_DIR   (needs root for dropping caches)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
dir=${1:?folder on the disk to measure}
out=${2:?folder for the results}
mkdir -p "$dir" "$out"
"$root/cairn" --version > /dev/null   # build first, outside any timing
jar="$root/cli/target/cairn.jar"
java_=(java -XX:MaxDirectMemorySize=64g -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$jar")
{ lscpu | grep -E 'Model name|^CPU\(s\)'; free -g | head -2; df -h "$dir" | tail -1; java -version 2>&1 | head -1; } > "$out/machine.txt"
# dd (write and both cold reads), torch.save/load, cairn bench save and DJL's NDList peer (cairn bench ndlist)
/usr/bin/python3 "$root/bench/scripts/save_vs_baselines.py" "$dir" --sizes 1,4 --reps 3 \
  --jsonl "$out/save_vs_baselines.jsonl" > "$out/save_vs_baselines.md"
for size in 1GiB 2GiB; do
  "$root/cairn" bench save --bytes "$size" --dir "$dir" --repeat 5 --json > "$out/bench-save-$size.json"
done
"$root/cairn" bench log --dir "$dir" --json > "$out/bench-log.json"
for s in 1 10 100; do "$root/cairn" bench log --dir "$dir" --scalars "$s" --json; done > "$out/bench-log-scalars.jsonl"
"${java_[@]}" org.openjdk.jmh.Main MetricsLogJmh -prof gc -rf json -rff "$out/jmh-metrics.json" > "$out/jmh-metrics.txt" 2>&1
"${java_[@]}" org.openjdk.jmh.Main MetricsScalarsJmh -rf json -rff "$out/jmh-scalars.json" > "$out/jmh-scalars.txt" 2>&1
"${java_[@]}" org.openjdk.jmh.Main RunLogJmh -f 3 -wi 3 -w 1 -i 5 -r 1 -rf json -rff "$out/jmh-runlog.json" > "$out/jmh-runlog.txt" 2>&1
"${java_[@]}" org.openjdk.jmh.Main SystemSamplerJmh -f 3 -wi 3 -w 1 -i 5 -r 1 -rf json -rff "$out/jmh-sampler.json" > "$out/jmh-sampler.txt" 2>&1
for i in 1 2 3; do "${java_[@]}" dev.cairn.bench.SamplerCpu "$dir/sampler" 2000; done > "$out/sampler-cpu.jsonl"
"${java_[@]}" dev.cairn.bench.OverheadBenchmark "$dir/overhead" 65 2 4000000 > "$out/overhead.json"
"$root/cairn" bench dashboard --dir "$dir" --json > "$out/bench-dashboard.json"
"$root/cairn" bench checkpoints --dir "$dir" --json > "$out/bench-checkpoints.jsonl"
# The size and history sweep of issue 17 (0.25-8 GiB, 10^4-10^7 points, ...) is
# bench/scripts/cost-growth.sh DIR OUT, on its own: it takes longer than everything above.

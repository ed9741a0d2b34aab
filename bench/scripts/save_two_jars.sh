#!/usr/bin/env bash
# Interleaved `cairn bench save` of two Cairn jars (say, before and after a change), so that a
# noisy machine affects both alike. Prints one line per run: round, label, the bench's JSON.
#   bench/scripts/save_two_jars.sh OLD.jar NEW.jar DIR [ROUNDS] [SIZE]
# Needs root for --drop-caches.
set -euo pipefail
old=$1 new=$2 dir=$3 rounds=${4:-5} size=${5:-1GiB}
for round in $(seq 1 "$rounds"); do
  for label in old new; do
    jar=$old
    [ "$label" = new ] && jar=$new
    rm -rf "$dir/two-jars" && mkdir -p "$dir/two-jars"
    line=$(nice -n -15 java -XX:MaxDirectMemorySize=64g -Dai.djl.offline=true -jar "$jar" \
      bench save --bytes "$size" --dir "$dir/two-jars" --repeat 3 --drop-caches --json | tail -1)
    echo "$round $label $line"
  done
done
rm -rf "$dir/two-jars"

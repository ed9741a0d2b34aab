#!/usr/bin/env bash
# Durable save and restore to a real HDFS (MiniDFSCluster) and a real S3 endpoint (S3Proxy, through
# S3A), Cairn beside raw Hadoop writes of the same bytes, plus the async-save stall on S3A vs local.
# Both servers run inside the benchmark's JVM; their data lives under DIR. Prints one JSON line per
# backend and size, and per stall.
#   bench/scripts/remote-save.sh DIR [RemoteSaveBenchmark options, e.g. --repeat 8 --drop-caches; --repeat is even]
# --drop-caches needs root. Runs from the bench module's own classpath (not cli/target/cairn.jar,
# which leaves Hadoop and S3Proxy out).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
dir=${1:?folder on the disk for the servers data}
shift
(cd "$root" && mvn -q -B -o -DskipTests -Dspotless.check.skip=true -Dspotbugs.skip=true \
  -pl bench -am package dependency:build-classpath -Dmdep.outputFile=target/classpath.txt >&2)
cp="$root/bench/target/classes:$(cat "$root/bench/target/classpath.txt")"
mkdir -p "$dir"
# S3Proxy brings logback at DEBUG onto the classpath: pick the simple logger, warnings only, on stderr.
exec java -Xmx6g -XX:MaxDirectMemorySize=16g \
  -Dslf4j.provider=org.slf4j.simple.SimpleServiceProvider \
  -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -Dorg.slf4j.simpleLogger.logFile=System.err \
  -cp "$cp" dev.cairn.bench.RemoteSaveBenchmark "$dir" "$@"

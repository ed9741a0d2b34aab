#!/usr/bin/env bash
# Durable save and restore to a real HDFS (MiniDFSCluster) and a real S3 endpoint (S3Proxy, through
# S3A), Cairn beside raw Hadoop writes of the same bytes, plus the async-save stall on S3A vs local.
# Both servers run inside the benchmark's JVM; their data lives under DIR. Prints one JSON line per
# backend and size, and per stall.
#   bench/scripts/remote-save.sh DIR [RemoteSaveBenchmark options, e.g. --repeat 8 --drop-caches; --repeat is even]
# --drop-caches needs root. Runs from the bench module's own classpath (bench-java.sh).
set -euo pipefail
exec "$(dirname "$0")/bench-java.sh" dev.cairn.bench.RemoteSaveBenchmark \
  "${1:?folder on the disk for the servers data}" "${@:2}"

#!/usr/bin/env bash
# Aggregate durable save bandwidth of 1, 2 and 4 ranks writing the shards of one checkpoint (rank 0
# in the benchmark's JVM, the others in JVMs of their own), to a local folder and to a MiniDFSCluster
# in the benchmark's JVM, against that process writing the same total bytes raw; plus the
# coordinator's overhead per save (tiny shares in the group against the same tiny checkpoint saved
# alone). Data lives under DIR. Prints one JSON line per backend and group size.
#   bench/scripts/group-save.sh DIR [--ranks 1,2,4] [--total-mib 1024] [--repeat 6 (even)]
#     [--backends local,hdfs] [--small-repeat 50] [--small-kib 4] [--tensors 4]
# Runs from the bench module's own classpath (bench-java.sh).
set -euo pipefail
exec "$(dirname "$0")/bench-java.sh" dev.cairn.bench.GroupSaveBenchmark \
  "${1:?folder on the disk for the checkpoints and the HDFS data}" "${@:2}"

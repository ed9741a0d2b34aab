#!/usr/bin/env bash
# Runs one of the bench module's main classes from the module's own classpath (not
# cli/target/cairn.jar, which leaves Hadoop and S3Proxy out), after building it offline:
#   bench/scripts/bench-java.sh MAIN_CLASS DIR [arguments after DIR]
# DIR is created and passed as the first argument. Used by remote-save.sh and group-save.sh.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
main=${1:?main class}
dir=${2:?folder on the disk for the benchmark data}
shift 2
(cd "$root" && mvn -q -B -o -DskipTests -Dspotless.check.skip=true -Dspotbugs.skip=true \
  -pl bench -am package dependency:build-classpath -Dmdep.outputFile=target/classpath.txt >&2)
cp="$root/bench/target/classes:$(cat "$root/bench/target/classpath.txt")"
mkdir -p "$dir"
# S3Proxy brings logback at DEBUG onto the classpath: pick the simple logger, warnings only, on
# stderr. (GroupSaveBenchmark hands these -D settings on to the JVMs of its other ranks.)
# BENCH_JAVA_OPTS adds settings, e.g. -Dcairn.bench.trace=true for GroupSaveBenchmark's timelines.
# shellcheck disable=SC2086
exec java -Xmx6g -XX:MaxDirectMemorySize=16g ${BENCH_JAVA_OPTS:-} \
  -Dslf4j.provider=org.slf4j.simple.SimpleServiceProvider \
  -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -Dorg.slf4j.simpleLogger.logFile=System.err \
  -cp "$cp" "$main" "$dir" "$@"

package dev.cairn.bench;

import dev.cairn.events.Events;
import dev.cairn.metrics.Durability;
import dev.cairn.metrics.MetricsLog;
import dev.cairn.metrics.OverflowPolicy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * JMH: training-thread cost of logging one step's {@code scalars} values through the
 * allocation-free path (one record per {@link MetricsLog#MAX_KEYS} values), so that the cost per
 * call and per value can be read at 1, 10 and 100 values. A score is nanoseconds per call; divide
 * by {@code scalars} for a value. Run: {@code java -cp cli/target/cairn.jar org.openjdk.jmh.Main
 * MetricsScalarsJmh} (add {@code -p scalars=1,10,100,1000} for other counts).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
@OperationsPerInvocation(MetricsScalarsJmh.BATCH)
public class MetricsScalarsJmh {
  static final int BATCH = 1000;

  @Param({"1", "10", "100"})
  public int scalars;

  private Path file;
  private MetricsLog log;
  private LogBenchmark.Scalars values;
  private long step;

  @Setup(Level.Trial)
  public void open() throws IOException {
    values = new LogBenchmark.Scalars(scalars);
    file = Files.createTempFile("cairn-jmh-", ".jsonl");
    log =
        MetricsLog.open(
            file,
            MetricsLogJmh.sidecar(file),
            Durability.GROUP_COMMIT,
            OverflowPolicy.BLOCK,
            // Room for an invocation's records: the writer drains between invocations, untimed.
            Math.max(1 << 12, BATCH * values.records() * 2),
            Events.NONE,
            Clock.systemUTC());
  }

  @TearDown(Level.Trial)
  public void close() throws IOException {
    log.close();
    Files.deleteIfExists(file);
    Files.deleteIfExists(MetricsLogJmh.sidecar(file));
  }

  @TearDown(Level.Invocation)
  public void drain() {
    log.flush();
  }

  @Benchmark
  public void builder() {
    for (int i = 0; i < BATCH; i++) {
      values.log(log, step++);
    }
  }
}

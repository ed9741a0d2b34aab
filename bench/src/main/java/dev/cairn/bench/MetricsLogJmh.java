package dev.cairn.bench;

import dev.cairn.events.Events;
import dev.cairn.metrics.Durability;
import dev.cairn.metrics.MetricsLog;
import dev.cairn.metrics.OverflowPolicy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * JMH: training-thread cost of one 5-scalar metrics call, allocation-free and Map variants. Run:
 * {@code java -cp cli/target/cairn.jar org.openjdk.jmh.Main MetricsLogJmh -prof gc}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
@org.openjdk.jmh.annotations.OperationsPerInvocation(MetricsLogJmh.BATCH)
public class MetricsLogJmh {
  static final int BATCH = 1000;

  private Path file;
  private MetricsLog log;
  private long step;

  @Setup(Level.Trial)
  public void open() throws IOException {
    file = Files.createTempFile("cairn-jmh-", ".jsonl");
    log =
        MetricsLog.open(
            file,
            sidecar(file), // as a run keeps one: the writer thread's work is part of the cost
            Durability.GROUP_COMMIT,
            OverflowPolicy.DROP_AND_COUNT,
            1 << 20,
            Events.NONE,
            Clock.systemUTC());
  }

  @TearDown(Level.Trial)
  public void close() throws IOException {
    log.close();
    Files.deleteIfExists(file);
    Files.deleteIfExists(sidecar(file));
  }

  @TearDown(Level.Invocation)
  public void drain() {
    log.flush();
  }

  @Benchmark
  public void builder() {
    for (int i = 0; i < BATCH; i++) {
      LogBenchmark.log5(log, step++);
    }
  }

  @Benchmark
  public void map() {
    for (int i = 0; i < BATCH; i++) {
      log.log(
          step++,
          Map.of("loss", 0.5, "val_loss", 0.5, "val_accuracy", 0.9, "lr", 1e-3, "grad_norm", 2.5));
    }
  }

  /** Where the metrics.bin of {@code file} lives. */
  static java.nio.file.Path sidecar(java.nio.file.Path file) {
    return file.resolveSibling(file.getFileName() + ".bin");
  }
}

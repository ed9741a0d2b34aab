package dev.cairn.bench;

import dev.cairn.metrics.Durability;
import dev.cairn.metrics.OverflowPolicy;
import dev.cairn.run.Cairn;
import dev.cairn.run.Run;
import dev.cairn.run.RunOptions;
import java.io.IOException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.Enumeration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
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
 * JMH: training-thread cost of one 5-scalar log call on a whole {@link Run} (progress, heartbeat
 * and every {@code RunListener} on the class path), with the TensorBoard listener attached and
 * without it. Needs {@code cairn-tensorboard} on the class path (the {@code cairn} jar has it);
 * "off" hides its service file from the {@link java.util.ServiceLoader}. Run: {@code java -cp
 * cli/target/cairn.jar org.openjdk.jmh.Main RunLogJmh}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
@OperationsPerInvocation(RunLogJmh.BATCH)
public class RunLogJmh {
  static final int BATCH = 1000;
  private static final String SERVICE = "META-INF/services/dev.cairn.run.RunListener$Factory";

  @Param({"on", "off"})
  public String tensorboard;

  private Path dir;
  private Run run;
  private long step;
  private ClassLoader previous;

  @Setup(Level.Trial)
  public void open() throws IOException {
    dir = Files.createTempDirectory("cairn-jmh-run-");
    Thread t = Thread.currentThread();
    previous = t.getContextClassLoader();
    if (tensorboard.equals("off")) {
      t.setContextClassLoader(new HidingLoader(previous));
    }
    run =
        Cairn.open(
            dir,
            RunOptions.named("jmh")
                .systemMetrics(Duration.ZERO)
                .metrics(Durability.GROUP_COMMIT, OverflowPolicy.DROP_AND_COUNT, 1 << 20));
    // The two cases must really differ: the listener writes tb/ as soon as it opens.
    boolean hasTb = Files.isDirectory(dir.resolve("jmh").resolve("tb"));
    if (hasTb != tensorboard.equals("on")) {
      throw new IllegalStateException(
          "tensorboard=" + tensorboard + " but tb/ " + (hasTb ? "exists" : "is missing"));
    }
  }

  @TearDown(Level.Trial)
  public void close() throws IOException {
    run.close();
    Thread.currentThread().setContextClassLoader(previous);
    long overflows;
    try (Stream<String> lines = Files.lines(dir.resolve("jmh").resolve("events.jsonl"))) {
      overflows = lines.filter(l -> l.contains("\"type\":\"queue_overflow\"")).count();
    }
    System.out.println("tensorboard=" + tensorboard + " queue_overflow events: " + overflows);
    List<Path> all;
    try (Stream<Path> walk = Files.walk(dir)) {
      all = walk.sorted(Collections.reverseOrder()).toList();
    }
    for (Path p : all) {
      Files.delete(p);
    }
  }

  /** Lets the writer (and through it the listeners) catch up, as between training steps. */
  @TearDown(Level.Invocation)
  public void drain() {
    run.metrics().flush();
  }

  @Benchmark
  public void builder() {
    for (int i = 0; i < BATCH; i++) {
      LogBenchmark.log5(run.metrics(), step++);
    }
  }

  @Benchmark
  public void map() {
    for (int i = 0; i < BATCH; i++) {
      run.log(
          step++,
          Map.of("loss", 0.5, "val_loss", 0.5, "val_accuracy", 0.9, "lr", 1e-3, "grad_norm", 2.5));
    }
  }

  /** Hides the run listeners' service file, so the run opens without any. */
  private static final class HidingLoader extends ClassLoader {
    HidingLoader(ClassLoader parent) {
      super(parent);
    }

    @Override
    public Enumeration<URL> getResources(String name) throws IOException {
      return name.equals(SERVICE) ? Collections.emptyEnumeration() : super.getResources(name);
    }
  }
}

package dev.cairn.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cairn.events.Events;
import dev.cairn.events.JsonLines;
import dev.cairn.system.SystemSampler;
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
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * JMH: one {@link SystemSampler#sample()} (the /proc reads, MXBean calls, and the append to a real
 * system.jsonl), what the run's sampler thread spends every 10 s. {@code path} is the PATH the
 * sampler looks for nvidia-smi in: empty means no GPU. Run: {@code java -cp cli/target/cairn.jar
 * org.openjdk.jmh.Main SystemSamplerJmh}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class SystemSamplerJmh {
  @Param({""})
  public String path;

  private Path dir;
  private JsonLines out;
  private SystemSampler sampler;

  @Setup(Level.Trial)
  public void open() throws IOException {
    dir = Files.createTempDirectory("cairn-jmh-system-");
    out = JsonLines.open(dir.resolve("system.jsonl"), false);
    sampler = new SystemSampler(dir, out, Clock.systemUTC(), path, Events.NONE, () -> 0L);
  }

  @TearDown(Level.Trial)
  public void close() throws IOException {
    out.close();
    Files.delete(dir.resolve("system.jsonl"));
    Files.delete(dir);
  }

  @Benchmark
  public ObjectNode sample() {
    return sampler.sample();
  }
}

package dev.cairn.bench;

import dev.cairn.web.Downsampling;
import java.util.Random;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * JMH: the dashboard's in-process work for one chart on a 1,000,000-point series, against the floor
 * of touching every point once (a copy). Run: {@code java -cp cli/target/cairn.jar
 * org.openjdk.jmh.Main DownsamplingJmh}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class DownsamplingJmh {
  static final int POINTS = 1_000_000;

  private final Random noise = new Random(1);
  private double[] xs;
  private double[] ys;
  private int[] chosen;

  @Setup(Level.Trial)
  public void data() {
    xs = new double[POINTS];
    ys = new double[POINTS];
    for (int i = 0; i < POINTS; i++) {
      xs[i] = i;
      ys[i] = 2.0 / (1 + i * 1e-4) + noise.nextGaussian() * 0.05;
    }
    chosen = Downsampling.lttb(xs, ys, 0, POINTS, 2000);
  }

  /** Largest-Triangle-Three-Buckets down to 2,000 points. */
  @Benchmark
  public int[] lttb2000() {
    return Downsampling.lttb(xs, ys, 0, POINTS, 2000);
  }

  /** The moving average (window 5,000) at the 2,000 chosen points. */
  @Benchmark
  public double[] movingAverage() {
    return Downsampling.movingAverageAt(ys, 0, chosen, 5000);
  }

  /** The floor: one copy of both arrays. */
  @Benchmark
  public double[][] copy() {
    return new double[][] {xs.clone(), ys.clone()};
  }
}

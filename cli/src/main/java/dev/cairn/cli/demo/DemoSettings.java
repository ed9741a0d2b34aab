package dev.cairn.cli.demo;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What the demo trains and how it checkpoints. The training settings form the run's config (a
 * resumed run must use the same ones); checkpoint triggers are not part of it, they change when
 * state is saved, not what is computed.
 */
public record DemoSettings(
    long steps,
    long seed,
    int batchSize,
    int hidden,
    float learningRate,
    int threads,
    int validateEvery,
    long checkpointEverySteps,
    Duration checkpointEvery,
    int examples) {

  static final int FEATURES = 32;
  static final int CLASSES = 10;

  /** Training examples by default. */
  public static final int TRAIN_SIZE = 16384;

  static final int VAL_SIZE = 2048;

  public DemoSettings {
    if (steps < 1) {
      throw new IllegalArgumentException("--steps must be at least 1, was " + steps);
    }
    if (examples < 64 || examples > (1 << 24) || Integer.bitCount(examples) != 1) {
      throw new IllegalArgumentException(
          "--examples must be a power of two from 64 to 16777216, was " + examples);
    }
    if (batchSize < 1 || batchSize > 4096 || examples % batchSize != 0) {
      throw new IllegalArgumentException(
          "--batch-size must divide "
              + examples
              + " (a power of two up to 4096), was "
              + batchSize);
    }
    if (hidden < 1 || hidden > 65536) {
      throw new IllegalArgumentException("--hidden must be between 1 and 65536, was " + hidden);
    }
    if (!(learningRate > 0) || !Float.isFinite(learningRate)) {
      throw new IllegalArgumentException("--lr must be a positive number, was " + learningRate);
    }
    if (threads < 1 || threads > 256) {
      throw new IllegalArgumentException("--threads must be between 1 and 256, was " + threads);
    }
    if (validateEvery < 1) {
      throw new IllegalArgumentException(
          "--validate-every must be at least 1, was " + validateEvery);
    }
    if (checkpointEverySteps < 0) {
      throw new IllegalArgumentException(
          "--checkpoint-every-steps must be 0 (off) or more, was " + checkpointEverySteps);
    }
  }

  /** The defaults of {@code cairn demo}. */
  public static DemoSettings defaults() {
    return new DemoSettings(
        10000, 42, 64, 256, 0.003f, 1, 100, 1000, Duration.ofSeconds(60), TRAIN_SIZE);
  }

  public DemoSettings withSteps(long s) {
    return new DemoSettings(
        s,
        seed,
        batchSize,
        hidden,
        learningRate,
        threads,
        validateEvery,
        checkpointEverySteps,
        checkpointEvery,
        examples);
  }

  public DemoSettings withCheckpoints(long everySteps, Duration every) {
    return new DemoSettings(
        steps,
        seed,
        batchSize,
        hidden,
        learningRate,
        threads,
        validateEvery,
        everySteps,
        every,
        examples);
  }

  /** The run's config: everything that changes the numbers. */
  Map<String, Object> config() {
    Map<String, Object> c = new LinkedHashMap<>();
    c.put("job", "cairn demo");
    c.put("model", Map.of("type", "mlp", "hidden", hidden, "layers", 2));
    c.put(
        "optimizer",
        Map.of("type", "adam", "lr", (double) learningRate, "schedule", "warmup+cosine"));
    c.put(
        "data",
        Map.of(
            "type", "synthetic gaussian mixture",
            "features", FEATURES,
            "classes", CLASSES,
            "train", examples,
            "val", VAL_SIZE));
    c.put("steps", steps);
    c.put("seed", seed);
    c.put("batch_size", batchSize);
    c.put("threads", threads);
    c.put("validate_every", validateEvery);
    return c;
  }
}

package dev.cairn.plots;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cairn.run.Cairn;
import dev.cairn.run.Run;
import dev.cairn.run.RunOptions;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PlotsTest {
  @TempDir Path runs;

  private static void await(BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for " + what);
      }
      Thread.sleep(20);
    }
  }

  private static void logSteps(Run run, long from, long to) {
    for (long s = from; s < to; s++) {
      double loss = 2.0 * Math.exp(-s / 100.0) + 0.05;
      if (s % 50 == 49) {
        run.log(s, Map.of("loss", loss, "lr", 0.001, "val_loss", loss * 1.1, "val_accuracy", 0.5));
      } else {
        run.log(s, Map.of("loss", loss, "lr", 0.001, "samples_per_s", 1000.0 + s));
      }
    }
    run.metrics().flush();
  }

  private static List<String> files(Path dir) throws Exception {
    List<String> out = new ArrayList<>();
    if (!Files.isDirectory(dir)) {
      return out;
    }
    try (Stream<Path> s = Files.list(dir)) {
      s.map(p -> String.valueOf(p.getFileName())).sorted().forEach(out::add);
    }
    return out;
  }

  @Test
  void checkpointsDrawTheDefaultAndCustomChartsAtTheirStep() throws Exception {
    try (Run run = Cairn.open(runs, RunOptions.named("r"))) {
      try (Plots plots = Plots.start(run, PlotSettings.defaults().every(null))) {
        logSteps(run, 0, 300);
        plots.series("weight_norms", 299, Map.of("layer1", 3.0, "layer2", 1.5));
        plots.series("weight_norms", 150, Map.of("layer1", 2.0, "layer2", 1.0));
        plots.histogram("weights", 299, new float[] {0.1f, 0.2f, 0.2f, -0.3f});
        var ckpt = run.checkpoints(dev.cairn.manager.CheckpointPolicy.defaults());
        ckpt.restoreLatest(new dev.cairn.manager.TensorMap("model").put("w", new float[4]));
        ckpt.onStep(299);
        ckpt.saveNow(null);
        Path dir = plots.dir();
        await(() -> Files.exists(dir.resolve("weights_latest.png")), "a round after the save");
        List<String> names = files(dir);
        assertThat(names)
            .contains(
                "loss_step_299.png",
                "loss_latest.png",
                "lr_step_299.png",
                "throughput_step_299.png",
                "accuracy_step_299.png",
                "weight_norms_step_299.png",
                "weights_step_299.png");
        BufferedImage latest = ImageIO.read(dir.resolve("loss_latest.png").toFile());
        BufferedImage step = ImageIO.read(dir.resolve("loss_step_299.png").toFile());
        assertThat(latest.getWidth()).isEqualTo(1200);
        assertThat(latest.getHeight()).isEqualTo(700);
        assertThat(latest.getRGB(600, 350)).isEqualTo(step.getRGB(600, 350));
        // Three lines in the loss chart: raw, moving average, val_loss.
        assertThat(hasColour(latest, Charts.colour(0))).isTrue();
        assertThat(hasColour(latest, Charts.colour(1))).isTrue();
        assertThat(hasColour(latest, Charts.colour(2))).isTrue();
      }
    }
  }

  static boolean hasColour(BufferedImage img, java.awt.Color c) {
    boolean[][] m = ChartsTest.mask(img, c, img.getHeight() - 80);
    for (boolean[] col : m) {
      for (boolean b : col) {
        if (b) {
          return true;
        }
      }
    }
    return false;
  }

  @Test
  void oldStepPlotsFollowTheRetentionAndRoundsDoNotPileUp() throws Exception {
    try (Run run = Cairn.open(runs, RunOptions.named("keep"))) {
      try (Plots plots = Plots.start(run, PlotSettings.defaults().every(null).keep(2))) {
        for (int round = 1; round <= 4; round++) {
          logSteps(run, (round - 1) * 100L, round * 100L);
          int before = plots.rounds();
          plots.drawNow();
          await(() -> plots.rounds() > before, "round " + round);
        }
        assertThat(files(plots.dir()).stream().filter(n -> n.startsWith("loss_step_")))
            .containsExactlyInAnyOrder("loss_step_299.png", "loss_step_399.png");
        // Many requests while drawing: most are skipped, none queue up behind the others.
        for (int i = 0; i < 200; i++) {
          plots.drawNow();
        }
        assertThat(plots.skipped()).isGreaterThan(0);
        await(() -> !Files.exists(plots.dir().resolve(".lock")), "idle");
        assertThat(plots.rounds()).isLessThan(4 + 200);
      }
    }
  }

  @Test
  void aPlotThatCannotBeWrittenBecomesAWarningAndTrainingGoesOn() throws Exception {
    Path events;
    try (Run run = Cairn.open(runs, RunOptions.named("broken"))) {
      Files.writeString(run.dir().resolve("plots"), "a file where the plots folder should be");
      try (Plots plots = Plots.start(run, PlotSettings.defaults().every(Duration.ofMillis(200)))) {
        logSteps(run, 0, 100);
        await(() -> plots.failures() > 0 && plots.rounds() > 0, "a failed plot");
        logSteps(run, 100, 200); // training goes on
        assertThat(plots.rounds()).isGreaterThan(0);
      }
      events = run.dir().resolve("events.jsonl");
    }
    assertThat(Files.readString(events))
        .contains("\"type\":\"warning\"")
        .contains("plot 'loss'")
        .contains("training goes on");
    assertThat(Files.readAllLines(runs.resolve("broken").resolve("metrics.jsonl"))).hasSize(200);
  }
}

package dev.cairn.manager;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cairn.events.JsonLines;
import dev.cairn.run.Cairn;
import dev.cairn.run.Run;
import dev.cairn.run.RunOptions;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The resume check on a real (small) training loop: SGD with momentum on a noisy linear regression,
 * killed after step 50 with the newest checkpoint at step 40, so the resume replays ten steps the
 * metrics log already has. An exact resume must raise nothing; a resume that lost the optimizer's
 * momentum or the data position must raise loss_jump.
 */
class LossContinuityTest {
  static final int FEATURES = 8;
  static final int EXAMPLES = 512;
  static final int BATCH = 16;

  @TempDir Path runs;

  /** What a broken resume forgets after restoring. */
  enum Lost {
    NOTHING,
    OPTIMIZER,
    DATA_POSITION
  }

  /** The dataset: fixed by its seed, targets from a hidden weight vector plus noise. */
  static final float[][] X = new float[EXAMPLES][FEATURES];

  static final float[] Y = new float[EXAMPLES];

  static {
    SplittableRandom r = new SplittableRandom(3);
    for (int i = 0; i < EXAMPLES; i++) {
      double y = 0;
      for (int j = 0; j < FEATURES; j++) {
        X[i][j] = (float) (r.nextDouble() * 2 - 1);
        y += X[i][j] * (j + 1);
      }
      Y[i] = (float) (y + 0.3 * (r.nextDouble() - 0.5));
    }
  }

  /** Trains steps [start, end) of a run opened here; returns nothing, the run files tell. */
  private void session(String name, long end, Lost lost) throws IOException {
    RunOptions options =
        RunOptions.named(name).config(Map.of("lr", 0.01)).progressInterval(Duration.ofHours(1));
    try (Run run = Cairn.open(runs, options)) {
      CheckpointManager m =
          run.checkpoints(
              CheckpointPolicy.builder()
                  .everySteps(20)
                  .every(null)
                  .async(false)
                  .saveOnShutdown(false, Duration.ofSeconds(1))
                  .build());
      float[] w = new float[FEATURES];
      float[] v = new float[FEATURES];
      DataCursor cursor = new DataCursor("data");
      long start =
          m.restoreLatest(
              new TensorMap("model").put("w", w), new TensorMap("optimizer").put("v", v), cursor);
      if (start > 0 && lost == Lost.OPTIMIZER) {
        java.util.Arrays.fill(v, 0);
      }
      if (start > 0 && lost == Lost.DATA_POSITION) {
        cursor.set(0, 0);
      }
      for (long step = start; step < end; step++) {
        double loss = sgdStep(w, v, (int) cursor.position());
        cursor.advance(BATCH, EXAMPLES);
        run.log(step, Map.of("loss", loss));
        m.onStep(step, Map.of("loss", loss));
      }
    }
  }

  /** One step of SGD with momentum 0.9 on the batch at {@code at}; returns the batch's loss. */
  private static double sgdStep(float[] w, float[] v, int at) {
    float[] g = new float[FEATURES];
    double loss = 0;
    for (int b = 0; b < BATCH; b++) {
      int i = (at + b) % EXAMPLES;
      double err = -Y[i];
      for (int j = 0; j < FEATURES; j++) {
        err += w[j] * X[i][j];
      }
      loss += err * err;
      for (int j = 0; j < FEATURES; j++) {
        g[j] += (float) (2 * err * X[i][j] / BATCH);
      }
    }
    for (int j = 0; j < FEATURES; j++) {
      v[j] = 0.9f * v[j] + g[j];
      w[j] -= 0.01f * v[j];
    }
    return loss / BATCH;
  }

  private List<ObjectNode> resumeEvents(Lost lost) throws IOException {
    String name = "r-" + lost.name().toLowerCase(java.util.Locale.ROOT);
    session(name, 50, Lost.NOTHING); // "killed" after step 50; newest checkpoint: step 40
    session(name, 80, lost);
    return JsonLines.read(runs.resolve(name).resolve("events.jsonl")).records();
  }

  private static List<String> types(List<ObjectNode> events) {
    return events.stream().map(e -> e.path("type").asText()).toList();
  }

  @Test
  void anExactResumeRaisesNoAlarm() throws IOException {
    List<ObjectNode> events = resumeEvents(Lost.NOTHING);
    assertThat(types(events)).contains("resumed", "resume_checked").doesNotContain("loss_jump");
    ObjectNode checked =
        events.stream()
            .filter(e -> e.path("type").asText().equals("resume_checked"))
            .findFirst()
            .orElseThrow();
    assertThat(checked.path("message").asText()).contains("resume exact");
    assertThat(checked.path("mode").asText()).isEqualTo("replayed_steps");
    assertThat(checked.path("compared").asInt()).isEqualTo(10);
  }

  @Test
  void aResumeThatLostTheOptimizerStateRaisesLossJump() throws IOException {
    assertThat(types(resumeEvents(Lost.OPTIMIZER))).contains("loss_jump");
  }

  @Test
  void aResumeThatLostTheDataPositionRaisesLossJump() throws IOException {
    assertThat(types(resumeEvents(Lost.DATA_POSITION))).contains("loss_jump");
  }
}

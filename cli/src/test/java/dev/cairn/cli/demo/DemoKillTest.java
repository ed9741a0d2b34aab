package dev.cairn.cli.demo;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cairn.checkpoint.LoadedCheckpoint;
import dev.cairn.checkpoint.Verification;
import dev.cairn.safetensors.SafetensorsFile;
import dev.cairn.safetensors.TensorInfo;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code cairn demo} in child JVMs, killed with SIGKILL at random instants and started again: the
 * final checkpoint's tensors (weights, Adam moments) and state must be byte-identical to an
 * uninterrupted run's, every resume must start from the newest checkpoint saved before the kill (no
 * committed work lost), and no exact resume raises a loss_jump alarm.
 */
class DemoKillTest {
  @TempDir Path runs;

  @Test
  void killedAndResumedDemoEndsIdenticalToUninterruptedDemo() throws Exception {
    killAndCompare(6000, 3, 2.5, 11);
  }

  /** The medium-scale run: over a minute of training, several kills ({@code mvn -Pmedium}). */
  @Test
  @Tag("medium")
  void mediumScaleKillsOverMoreThanAMinuteOfTraining() throws Exception {
    killAndCompare(50_000, 8, 20.0, 12);
  }

  /**
   * @param maxS the longest random wait between a session's first checkpoint and its kill
   */
  private void killAndCompare(long steps, int kills, double maxS, long seed) throws Exception {
    List<String> args =
        List.of(
            "--dir", runs.toString(),
            "--steps", Long.toString(steps),
            "--seed", "5",
            "--checkpoint-every-steps", "200",
            "--checkpoint-every", "2s",
            "--validate-every", "100");
    long t0 = System.nanoTime();
    assertThat(start(args, "straight").waitFor()).isZero();
    double straightSeconds = (System.nanoTime() - t0) / 1e9;

    Random r = new Random(seed);
    int killed = 0;
    Path events = runs.resolve("killed/events.jsonl");
    for (int i = 0; i < kills; i++) {
      // Kill only once this session has committed a checkpoint of its own (a signal from the
      // child, not a guess of how long the JVM and the engine take to start); the random wait
      // after it only varies where between checkpoints the kill lands, on a fast machine or a
      // loaded one.
      int savesBefore = count(events, "checkpoint_saved");
      Process p = start(args, "killed");
      if (!awaitOrExit(p, () -> count(events, "checkpoint_saved") > savesBefore)) {
        break; // finished before this kill: nothing left to interrupt
      }
      if (p.waitFor((long) (r.nextDouble() * maxS * 1000), TimeUnit.MILLISECONDS)) {
        break;
      }
      p.destroyForcibly().waitFor(); // SIGKILL
      killed++;
    }
    Process last = start(args, "killed");
    assertThat(last.waitFor(10, TimeUnit.MINUTES)).isTrue();
    assertThat(last.exitValue()).isZero();
    assertThat(killed).as("kills that landed during training").isGreaterThanOrEqualTo(2);
    System.out.printf(
        "demo kill test: %d steps, %d kills, uninterrupted run %.1f s%n",
        steps, killed, straightSeconds);

    Path a = runs.resolve("straight/checkpoints/step-" + steps);
    Path b = runs.resolve("killed/checkpoints/step-" + steps);
    assertThat(tensors(b, "model")).isEqualTo(tensors(a, "model")).isNotEmpty();
    assertThat(tensors(b, "optimizer")).isEqualTo(tensors(a, "optimizer")).isNotEmpty();
    assertThat(state(b)).isEqualTo(state(a));
    assertNoCommittedWorkLost(runs.resolve("killed"), killed);
  }

  /** Every resume starts from the newest checkpoint any earlier session had saved. */
  private static void assertNoCommittedWorkLost(Path run, int kills) throws Exception {
    ObjectMapper json = new ObjectMapper();
    long newestSaved = 0;
    int resumes = 0;
    for (String line : Files.readAllLines(run.resolve("events.jsonl"))) {
      JsonNode e = json.readTree(line);
      switch (e.path("type").asText()) {
        case "checkpoint_saved" -> newestSaved = Math.max(newestSaved, e.get("step").asLong());
        case "resumed" -> {
          resumes++;
          assertThat(e.get("step").asLong()).as("resume %d", resumes).isEqualTo(newestSaved);
        }
        case "checkpoint_skipped" -> throw new AssertionError("a damaged checkpoint: " + line);
        // The resumes are exact: the loss check must not cry wolf (it compares replayed steps).
        case "loss_jump" -> throw new AssertionError("a false loss alarm: " + line);
        default -> {}
      }
    }
    assertThat(resumes).isGreaterThanOrEqualTo(Math.min(kills, 1));
  }

  /** Waits for {@code ready}; false when the process exited first. */
  private static boolean awaitOrExit(Process p, java.util.function.BooleanSupplier ready)
      throws InterruptedException {
    while (!ready.getAsBoolean()) {
      if (p.waitFor(20, TimeUnit.MILLISECONDS)) {
        return false;
      }
    }
    return true;
  }

  private static int count(Path events, String type) {
    try {
      return (int)
          dev.cairn.events.JsonLines.read(events).records().stream()
              .filter(e -> e.path("type").asText().equals(type))
              .count();
    } catch (java.io.IOException e) {
      return 0;
    }
  }

  private static Map<String, String> tensors(Path checkpoint, String part) throws Exception {
    Map<String, String> out = new TreeMap<>();
    try (LoadedCheckpoint c = LoadedCheckpoint.open(checkpoint, Verification.FULL)) {
      SafetensorsFile f = c.tensors(part);
      for (TensorInfo t : f.tensors()) {
        out.put(t.name(), java.util.HexFormat.of().formatHex(sha256(f.bytes(t.name()))));
      }
    }
    return out;
  }

  private static byte[] sha256(byte[] b) throws Exception {
    return java.security.MessageDigest.getInstance("SHA-256").digest(b);
  }

  /** The saved components' state (optimizer counts, data cursor), without session details. */
  private static JsonNode state(Path checkpoint) throws Exception {
    try (LoadedCheckpoint c = LoadedCheckpoint.open(checkpoint, Verification.FULL)) {
      return c.json("state").get("components");
    }
  }

  private Process start(List<String> demoArgs, String run) throws Exception {
    List<String> args = new ArrayList<>(List.of("demo"));
    args.addAll(demoArgs);
    args.addAll(List.of("--run", run));
    List<String> cmd = dev.cairn.cli.ChildJvm.cairn(args);
    File log = runs.resolve(run + ".log").toFile();
    return new ProcessBuilder(cmd)
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log))
        .start();
  }
}

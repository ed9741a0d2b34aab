package dev.cairn.cli.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
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
      long saved = DemoRuns.saves(events);
      Process p = start(args, "killed");
      if (!DemoRuns.awaitSaveAfter(p, events, saved)) {
        break; // finished before this kill: nothing left to interrupt
      }
      if (!DemoRuns.awaitKillPoint(
          p, events, DemoRuns.saves(events), (long) (r.nextDouble() * maxS * 1000))) {
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
    DemoRuns.assertSameShare(a, b, 0);
    DemoRuns.assertEveryResumeFromTheNewestSave(events, Math.min(killed, 1));
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

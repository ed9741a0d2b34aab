package dev.cairn.spark.demo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cairn.cli.demo.DemoRuns;
import java.io.File;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code cairn demo --spark local[2]} as a user runs it: the command (a JVM without Spark, as
 * cairn.jar is) starts the Spark JVM. After a checkpoint, both are killed with SIGKILL, and the
 * next time the command alone (the Spark JVM must end by itself); the same command is run again,
 * and at the end every rank's share of the final checkpoint is byte for byte an uninterrupted
 * job's, and every resume started from the newest checkpoint.
 */
@Timeout(600)
class SparkDemoKillTest {
  private static final int RANKS = 2;
  private static final long STEPS = 200;

  @TempDir Path runs;

  private final List<Process> started = new ArrayList<>();

  @AfterEach
  void killLeftovers() throws Exception {
    for (Process p : started) {
      DemoRuns.killAll(p);
    }
  }

  @Test
  void aSparkDemoKilledWithItsCommandResumesAndEndsIdenticalToAnUninterruptedOne()
      throws Exception {
    Process straight = demo("straight");
    assertThat(straight.waitFor(5, TimeUnit.MINUTES)).isTrue();
    assertThat(straight.exitValue()).as(log("straight")).isZero();

    Random r = new Random(15);
    Path events = runs.resolve("killed/events.jsonl");
    int kills = 0;
    for (int i = 0; i < 2; i++) {
      long saved = DemoRuns.saves(events);
      Process p = demo("killed");
      if (!DemoRuns.awaitSaveAfter(p, events, saved)) {
        break; // finished before this kill
      }
      if (!DemoRuns.awaitKillPoint(
          p, events, DemoRuns.saves(events), (long) (r.nextDouble() * 1500))) {
        break;
      }
      if (kills == 0) {
        DemoRuns.killAll(p);
      } else {
        // The command alone: the Spark JVM sees it gone, takes a last save and exits by itself.
        List<ProcessHandle> spark = p.descendants().toList();
        assertThat(spark).isNotEmpty();
        p.destroyForcibly().waitFor();
        for (ProcessHandle h : spark) {
          assertThat(h.onExit().get(3, TimeUnit.MINUTES).isAlive()).isFalse();
        }
      }
      kills++;
    }
    Process last = demo("killed");
    assertThat(last.waitFor(5, TimeUnit.MINUTES)).isTrue();
    assertThat(last.exitValue()).as(log("killed")).isZero();
    assertThat(kills).as("kills that landed during training").isEqualTo(2);

    Path a = runs.resolve("straight/checkpoints/step-" + STEPS);
    Path b = runs.resolve("killed/checkpoints/step-" + STEPS);
    for (int rank = 0; rank < RANKS; rank++) {
      DemoRuns.assertSameShare(a, b, rank);
    }
    assertThat(DemoRuns.worldSize(b)).isEqualTo(RANKS);
    DemoRuns.assertEveryResumeFromTheNewestSave(events, kills);
  }

  /**
   * {@code cairn demo --spark local[2] --run NAME} in a JVM whose class path has no Spark runner
   * (this module's classes left out), so that it starts the Spark JVM from {@code
   * target/java.args}, as cairn.jar does.
   */
  private Process demo(String run) throws IOException {
    Path module = Path.of(System.getProperty("basedir", ".")).toAbsolutePath().normalize();
    String classPath =
        Stream.of(System.getProperty("java.class.path").split(File.pathSeparator))
            .filter(e -> !Path.of(e).toAbsolutePath().startsWith(module.resolve("target")))
            .collect(Collectors.joining(File.pathSeparator));
    List<String> cmd =
        new ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                classPath,
                "-Dai.djl.offline=true",
                "-Dcairn.home=" + module.getParent()));
    String cache = System.getProperty("DJL_CACHE_DIR");
    if (cache != null) {
      cmd.add("-DDJL_CACHE_DIR=" + cache);
      cmd.add("-DENGINE_CACHE_DIR=" + cache);
    }
    cmd.addAll(
        List.of(
            "dev.cairn.cli.Main",
            "demo",
            "--spark",
            "local[" + RANKS + "]",
            "--dir",
            runs.toString(),
            "--run",
            run,
            "--steps",
            Long.toString(STEPS),
            "--seed",
            "5",
            "--hidden",
            "32",
            "--average-every",
            "20",
            "--checkpoint-every-steps",
            "40",
            "--checkpoint-every",
            "0",
            "--validate-every",
            "100",
            "--no-plots"));
    Process p =
        new ProcessBuilder(cmd)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(runs.resolve(run + ".log").toFile()))
            .start();
    started.add(p);
    return p;
  }

  private String log(String run) throws IOException {
    return java.nio.file.Files.readString(runs.resolve(run + ".log"));
  }
}

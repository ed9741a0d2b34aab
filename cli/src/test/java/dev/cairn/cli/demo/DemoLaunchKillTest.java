package dev.cairn.cli.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code cairn launch --nproc 2 -- cairn demo}: the group killed with SIGKILL at random instants —
 * one rank (the launcher restarts the group), the launcher alone (its ranks end with it), or all of
 * them — and started again, ends with every rank's share of the final checkpoint byte-identical to
 * an uninterrupted group's, every resume starting from the newest checkpoint saved before.
 */
class DemoLaunchKillTest {
  private static final int RANKS = 2;

  @TempDir Path runs;

  private final List<Process> launched = new ArrayList<>();

  @AfterEach
  void killLeftovers() throws Exception {
    for (Process p : launched) {
      DemoRuns.killAll(p);
    }
  }

  @Test
  void aLaunchedDemoKilledAnyWayEndsIdenticalToAnUninterruptedGroup() throws Exception {
    long steps = 1200;
    List<String> demo =
        List.of(
            "--dir",
            runs.toString(),
            "--steps",
            Long.toString(steps),
            "--seed",
            "5",
            "--hidden",
            "64",
            "--checkpoint-every-steps",
            "200",
            "--checkpoint-every",
            "2s",
            "--validate-every",
            "100",
            "--no-plots");
    Process straight = launch(demo, "straight");
    assertThat(straight.waitFor(10, TimeUnit.MINUTES)).isTrue();
    assertThat(straight.exitValue()).isZero();

    Random r = new Random(17);
    Path events = runs.resolve("killed/events.jsonl");
    List<String> how = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      long saved = DemoRuns.saves(events);
      Process p = launch(demo, "killed");
      if (!DemoRuns.awaitSaveAfter(p, events, saved)) {
        break; // finished before this kill
      }
      if (!DemoRuns.awaitKillPoint(
          p, events, DemoRuns.saves(events), (long) (r.nextDouble() * 2500))) {
        break;
      }
      switch (i % 3) {
        case 0 -> {
          // One rank: the launcher stops the other and starts the group again, which resumes.
          List<ProcessHandle> ranks = p.children().toList();
          ranks.get(r.nextInt(ranks.size())).destroyForcibly();
          how.add("rank");
          if (DemoRuns.awaitSaveAfter(p, events, DemoRuns.saves(events))) {
            DemoRuns.killAll(p);
          }
        }
        case 1 -> {
          // The launcher alone: its ranks see it gone and end (with a last save) on their own.
          List<ProcessHandle> ranks = p.descendants().toList();
          p.destroyForcibly().waitFor();
          for (ProcessHandle h : ranks) {
            assertThat(h.onExit().get(3, TimeUnit.MINUTES).isAlive()).isFalse();
          }
          how.add("launcher");
        }
        default -> {
          DemoRuns.killAll(p);
          how.add("all");
        }
      }
    }
    Process last = launch(demo, "killed");
    assertThat(last.waitFor(10, TimeUnit.MINUTES)).isTrue();
    assertThat(last.exitValue()).isZero();
    assertThat(how).as("kills that landed during training").hasSizeGreaterThanOrEqualTo(2);
    System.out.println("launched demo kill test: killed " + how);

    Path a = runs.resolve("straight/checkpoints/step-" + steps);
    Path b = runs.resolve("killed/checkpoints/step-" + steps);
    for (int rank = 0; rank < RANKS; rank++) {
      DemoRuns.assertSameShare(a, b, rank);
    }
    // The replicas learned from different partitions: their weights differ.
    assertThat(DemoRuns.tensors(a, 0, "model")).isNotEqualTo(DemoRuns.tensors(a, 1, "model"));
    DemoRuns.assertEveryResumeFromTheNewestSave(events, 1);
  }

  private Process launch(List<String> demoArgs, String run) throws Exception {
    List<String> rank = new ArrayList<>(List.of("demo"));
    rank.addAll(demoArgs);
    rank.addAll(List.of("--run", run));
    List<String> args =
        new ArrayList<>(
            List.of(
                "launch",
                "--nproc",
                Integer.toString(RANKS),
                "--max-restarts",
                "10",
                "--backoff",
                "0s",
                "--stop-grace",
                "60s",
                "--"));
    args.addAll(dev.cairn.cli.ChildJvm.cairn(rank));
    File log = runs.resolve(run + ".log").toFile();
    Process p =
        new ProcessBuilder(dev.cairn.cli.ChildJvm.cairn(args))
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log))
            .start();
    launched.add(p);
    return p;
  }
}

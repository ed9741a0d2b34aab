package dev.cairn.checkpoint;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.cairn.coordination.TestGroups;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Three ranks as three JVMs save one checkpoint; one dies (halts, as kill -9) at each point of the
 * protocol. Readers then see the previous checkpoint or the new one, whole, never a mix; a new
 * group cleans up and every rank resumes from its own share of the same step.
 */
class GroupCrashTest {
  private static final int WORLD = 3;

  @TempDir Path dir;

  private final List<Process> running = new ArrayList<>();

  @AfterEach
  void killLeftovers() {
    running.forEach(Process::destroyForcibly);
  }

  /** Runs a group of JVMs to their end; each rank's output lines. */
  private List<List<String>> group(String... args) throws Exception {
    int port = TestGroups.freePort();
    List<Process> ps = new ArrayList<>();
    for (int r = 0; r < WORLD; r++) {
      List<String> cmd = new ArrayList<>();
      cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
      // Short-lived ranks: the C1 compiler and the serial collector halve the CPU each JVM burns.
      cmd.add("-XX:TieredStopAtLevel=1");
      cmd.add("-XX:+UseSerialGC");
      cmd.add("-cp");
      cmd.add(System.getProperty("java.class.path"));
      cmd.add(GroupSaveProcess.class.getName());
      cmd.addAll(List.of(args));
      ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT);
      pb.environment().keySet().removeIf(k -> k.startsWith("SLURM_") || k.startsWith("OMPI_"));
      pb.environment().putAll(TestGroups.environment(r, WORLD, port, 0));
      Process p = pb.start();
      running.add(p);
      ps.add(p);
    }
    List<List<String>> out = new ArrayList<>();
    for (Process p : ps) {
      try (BufferedReader in =
          new BufferedReader(new InputStreamReader(p.getInputStream(), UTF_8))) {
        out.add(in.lines().collect(Collectors.toList()));
      }
      assertThat(p.waitFor(240, TimeUnit.SECONDS)).isTrue();
    }
    return out;
  }

  private List<String> stepFolders() throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString())
          .filter(n -> n.startsWith("step-"))
          .sorted()
          .collect(Collectors.toList());
    }
  }

  @ParameterizedTest
  @EnumSource(GroupSaveProcess.Point.class)
  void aRankKilledAtAnyPointLeavesTheOldOrTheNewCheckpointWhole(GroupSaveProcess.Point point)
      throws Exception {
    boolean leader = point.name().contains("MANIFEST") || point.name().contains("PUBLISH");
    int victim = leader ? 0 : 2;
    List<List<String>> out = group("save", dir.toString(), Integer.toString(victim), point.name());
    for (int r = 0; r < WORLD; r++) {
      assertThat(out.get(r)).first().isEqualTo("saved 10");
    }
    assertThat(out.get(victim)).as("the victim died during the save").hasSize(1);
    boolean committed = point == GroupSaveProcess.Point.AFTER_PUBLISH;
    for (int r = 0; r < WORLD; r++) {
      if (r != victim) {
        // The others noticed at once (their timeout is minutes) and published nothing themselves.
        assertThat(out.get(r)).last().asString().startsWith("failed 20");
      }
    }

    // What a reader sees now: whole checkpoints only, the new one only if it was published.
    try (CheckpointStore reader = CheckpointStore.builder(dir).readOnly(true).open()) {
      List<Long> steps = new ArrayList<>();
      for (CheckpointInfo c : reader.list()) {
        steps.add(c.step());
        assertThat(CheckpointStore.verifyFolder(c.folder(), Verification.FULL).ok())
            .as("step %d is whole", c.step())
            .isTrue();
      }
      assertThat(steps).containsExactly(committed ? new Long[] {10L, 20L} : new Long[] {10L});
    }

    // A new group: rank 0 removes the leftovers, every rank resumes from its own share.
    List<List<String>> resumed = group("resume", dir.toString());
    long expected = committed ? 20 : 10;
    for (int r = 0; r < WORLD; r++) {
      assertThat(resumed.get(r)).containsExactly("resumed " + expected + " own");
    }
    assertThat(stepFolders())
        .containsExactly(
            committed ? new String[] {"step-10", "step-20"} : new String[] {"step-10"});
  }
}

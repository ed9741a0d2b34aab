package dev.cairn.cli.demo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cairn.cli.ChildJvm;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A resumed {@code cairn demo} in a child JVM prints nothing from libtorch on the console: the
 * engine's native warnings (glog-style lines such as {@code [W1203 12:47:37.490581709
 * LegacyTypeDispatch.h:74] Warning: AutoNonVariableTypeMode is deprecated ...}) are written by C++
 * straight to file descriptor 2, where no Java logging setting reaches them, so the test reads the
 * child's real stderr.
 */
class DemoResumeConsoleTest {
  /** libtorch's (glog's) line prefix: severity letter, MMDD, time, file:line, bracket. */
  private static final Pattern NATIVE_LINE =
      Pattern.compile("(?m)^\\[[IWEF]\\d{4} \\S+ \\S+:\\d+]");

  @TempDir Path runs;

  @Test
  void aResumePrintsNoEngineWarningOnStderr() throws Exception {
    Path events = runs.resolve("quiet/events.jsonl");

    // Far more steps than either session runs: each ends on SIGTERM (a last save, then a clean
    // exit), sent once the event it waits for is on disk. The run folder is fresh, so the first
    // checkpoint_saved and the only resumed are this test's.
    Process first = start(runs.resolve("first.err"));
    awaitEvent(first, events, "checkpoint_saved");
    first.destroy();
    assertThat(first.waitFor(2, TimeUnit.MINUTES)).isTrue();
    assertEveryStepBeforeTheLastCheckpointLogged(events);

    Path console = runs.resolve("second.err");
    Process second = start(console);
    // The parts are restored (the engine's calls that printed the warning) before the manager
    // writes "resumed", so once the event is there anything the resume printed is in the file.
    awaitEvent(second, events, "resumed");
    second.destroy();
    assertThat(second.waitFor(2, TimeUnit.MINUTES)).isTrue();
    assertEveryStepBeforeTheLastCheckpointLogged(events);

    assertThat(DemoRuns.count(events, "resumed")).as("the second session resumed").isEqualTo(1);
    String stderr = Files.readString(console, StandardCharsets.UTF_8);
    assertThat(stderr).doesNotContain("AutoNonVariableTypeMode");
    assertThat(NATIVE_LINE.matcher(stderr).find()).as("a libtorch line in:%n%s", stderr).isFalse();
    assertThat(stderr).as("Cairn's own console lines still arrive").contains("resumed");
  }

  /**
   * The losses are read from the device 32 steps at a time; a SIGTERM ends the JVM right after its
   * last save, so the steps still waiting must be logged before that save, not after it.
   */
  private static void assertEveryStepBeforeTheLastCheckpointLogged(Path events) throws IOException {
    long last = 0;
    for (var e : dev.cairn.events.JsonLines.read(events).records()) {
      if (e.path("type").asText().equals("checkpoint_saved")) {
        last = Math.max(last, e.path("step").asLong());
      }
    }
    java.util.Set<Long> logged = new java.util.HashSet<>();
    for (var m :
        dev.cairn.events.JsonLines.read(events.resolveSibling("metrics.jsonl")).records()) {
      logged.add(m.path("step").asLong());
    }
    for (long s = 0; s < last; s++) {
      assertThat(logged).as("step %d, before the checkpoint of step-%d", s, last).contains(s);
    }
  }

  private Process start(Path stderr) throws IOException {
    List<String> args =
        new ArrayList<>(
            List.of(
                "demo",
                "--dir",
                runs.toString(),
                "--run",
                "quiet",
                "--steps",
                "100000000",
                "--checkpoint-every-steps",
                "50",
                "--no-plots"));
    return new ProcessBuilder(ChildJvm.cairn(args))
        .redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .redirectError(stderr.toFile())
        .start();
  }

  /** Waits until {@code events} has an event of {@code type}; fails if the child exits first. */
  private static void awaitEvent(Process p, Path events, String type) throws InterruptedException {
    while (DemoRuns.count(events, type) == 0) {
      assertThat(p.waitFor(20, TimeUnit.MILLISECONDS))
          .as("the demo exited before a %s event", type)
          .isFalse();
    }
  }
}

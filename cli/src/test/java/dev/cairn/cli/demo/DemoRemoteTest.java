package dev.cairn.cli.demo;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cairn.checkpoint.CheckpointStore;
import dev.cairn.checkpoint.LoadedCheckpoint;
import dev.cairn.events.JsonLines;
import dev.cairn.hadoop.MiniHdfs;
import dev.cairn.hadoop.S3Endpoint;
import dev.cairn.store.Storage;
import dev.cairn.store.Storages;
import java.io.File;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.gaul.s3proxy.junit.S3ProxyExtension;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code cairn demo --dir hdfs://…} and {@code --dir s3a://…} on real servers in this JVM: a child
 * JVM ("machine A") is killed with SIGKILL once it has committed a checkpoint; a fresh child JVM
 * with an empty local folder ("machine B") resumes from the remote checkpoint and ends with tensors
 * byte-identical to an uninterrupted local run's; a third machine lists, shows and verifies the run
 * from the remote folder alone.
 */
class DemoRemoteTest {
  private static final long STEPS = 6000;

  @RegisterExtension static final MiniHdfs HDFS = new MiniHdfs();
  @RegisterExtension static final S3ProxyExtension S3 = S3Endpoint.extension();

  @TempDir static Path shared;

  private static final Map<Long, Map<String, String>> STRAIGHT = new java.util.HashMap<>();

  @TempDir Path dir;

  private static List<String> demoArgs(String runs, long steps) {
    return List.of(
        "demo",
        "--dir",
        runs,
        "--run",
        "r",
        "--steps",
        Long.toString(steps),
        "--seed",
        "5",
        "--checkpoint-every-steps",
        "200",
        "--checkpoint-every",
        "0",
        "--validate-every",
        "100",
        "--no-plots");
  }

  /** The uninterrupted run of {@code steps} on a local disk, the reference for both backends. */
  private static synchronized Map<String, String> straight(long steps) throws Exception {
    Map<String, String> known = STRAIGHT.get(steps);
    if (known != null) {
      return known;
    }
    Path runs = shared.resolve("straight-" + steps);
    Process p = start(demoArgs(runs.toString(), steps), runs, "straight");
    assertThat(p.waitFor(10, TimeUnit.MINUTES)).isTrue();
    assertThat(p.exitValue()).as(log(runs, "straight")).isZero();
    try (CheckpointStore store =
            CheckpointStore.builder(runs.resolve("r/checkpoints")).readOnly(true).open();
        LoadedCheckpoint c = store.load(steps)) {
      STRAIGHT.put(steps, DemoRuns.tensors(c, "model", "optimizer"));
    }
    return STRAIGHT.get(steps);
  }

  @Test
  void onHdfs() throws Exception {
    killAndResumeElsewhere(HDFS.freshFolder("runs").toString(), Map.of(), STEPS, 1, 0);
  }

  @Test
  void onS3() throws Exception {
    killAndResumeElsewhere(
        S3Endpoint.freshBucket(S3).resolve("runs").toString(),
        S3Endpoint.settings(S3),
        STEPS,
        1,
        0);
  }

  /**
   * SIGTERM (a preemption notice) on S3: the JVM's last save and the session's end record both
   * reach the remote folder before it exits, so another machine sees the run stopped at the step of
   * its newest checkpoint.
   */
  @Test
  void aSigtermPushesTheLastCheckpointAndTheSessionEnd() throws Exception {
    String runs = S3Endpoint.freshBucket(S3).resolve("runs").toString();
    Map<String, String> settings = S3Endpoint.settings(S3);
    List<String> args = new ArrayList<>(demoArgs(runs, 1_000_000));
    settings.forEach((k, v) -> args.addAll(List.of("-D", k + "=" + v)));
    Path machine = dir.resolve("machine-a");
    Process p = start(args, machine, "demo");
    while (newestSavedRemotely(runs, settings, dir.resolve("probe")) == 0) {
      assertThat(p.waitFor(50, TimeUnit.MILLISECONDS)).as(log(machine, "demo")).isFalse();
    }
    p.destroy();
    assertThat(p.waitFor(2, TimeUnit.MINUTES)).as(log(machine, "demo")).isTrue();

    Path reader = dir.resolve("machine-c");
    String previous = System.setProperty("cairn.local.runs", reader.toString());
    try {
      Path copy = dev.cairn.run.Cairn.localCopy(runs + "/r", settings);
      List<com.fasterxml.jackson.databind.node.ObjectNode> sessions =
          JsonLines.read(copy.resolve("sessions.jsonl")).records();
      assertThat(sessions).as("the start and the end of the session").hasSize(2);
      JsonNode end = sessions.get(1);
      assertThat(end.path("type").asText()).isEqualTo("end");
      assertThat(end.path("reason").asText()).isEqualTo("stopped");
      assertThat(end.path("detail").asText()).contains("SIGTERM");
      long endStep = end.path("step").asLong();
      try (CheckpointStore store =
          CheckpointStore.builder(Storages.open(runs + "/r/checkpoints", settings))
              .readOnly(true)
              .open()) {
        long newest =
            store.list().stream()
                .filter(c -> c.committed())
                .mapToLong(c -> c.step())
                .max()
                .orElseThrow();
        assertThat(newest)
            .as("the shutdown save is the step the session ended at")
            .isEqualTo(endStep);
        try (LoadedCheckpoint c = store.load(newest)) {
          assertThat(c.step()).isEqualTo(endStep);
        }
      }
      assertThat(newestSavedRemotely(runs, settings, dir.resolve("probe"))).isEqualTo(endStep);
    } finally {
      if (previous == null) {
        System.clearProperty("cairn.local.runs");
      } else {
        System.setProperty("cairn.local.runs", previous);
      }
    }
  }

  /** {@code mvn -Pmedium}: four kills at random instants, each session on a new machine. */
  @Test
  @Tag("medium")
  void fourKillsOnHdfsAndOnS3() throws Exception {
    killAndResumeElsewhere(HDFS.freshFolder("runs").toString(), Map.of(), 20_000, 4, 1.5);
    killAndResumeElsewhere(
        S3Endpoint.freshBucket(S3).resolve("runs").toString(),
        S3Endpoint.settings(S3),
        20_000,
        4,
        1.5);
  }

  /**
   * Sessions on machines 1..kills are killed with SIGKILL, each once the remote folder holds a
   * checkpoint of its own and then up to {@code maxWaitS} more (random); the last machine finishes.
   * Every session starts on a new machine with an empty local folder.
   */
  private void killAndResumeElsewhere(
      String runs, Map<String, String> settings, long steps, int kills, double maxWaitS)
      throws Exception {
    List<String> args = new ArrayList<>(demoArgs(runs, steps));
    settings.forEach((k, v) -> args.addAll(List.of("-D", k + "=" + v)));
    Path machines = dir.resolve(Integer.toHexString(runs.hashCode()));
    Path probe = machines.resolve("probe");
    java.util.Random random = new java.util.Random(kills);
    long savedBeforeKill = 0;
    int machine = 0;
    for (int i = 0; i < kills; i++) {
      Path here = machines.resolve("machine-" + ++machine);
      Process p = start(args, here, "demo");
      // Kill once the remote folder holds a newer checkpoint and the mirror has pushed its event
      // (a signal read from the remote side, as another machine sees it).
      long before = savedBeforeKill;
      while ((savedBeforeKill = newestSavedRemotely(runs, settings, probe)) <= before) {
        assertThat(p.waitFor(50, TimeUnit.MILLISECONDS)).as(log(here, "demo")).isFalse();
      }
      if (p.waitFor((long) (random.nextDouble() * maxWaitS * 1000), TimeUnit.MILLISECONDS)) {
        throw new AssertionError(
            "finished before its kill; give it more steps: " + log(here, "demo"));
      }
      p.destroyForcibly().waitFor();
      // A checkpoint committed and pushed between the signal and the kill counts too.
      savedBeforeKill = Math.max(savedBeforeKill, newestSavedRemotely(runs, settings, probe));
    }
    Path last = machines.resolve("machine-" + ++machine);
    Process b = start(args, last, "demo");
    assertThat(b.waitFor(10, TimeUnit.MINUTES)).isTrue();
    String out = Files.readString(last.resolve("demo.log"));
    assertThat(b.exitValue()).as(out).isZero();
    java.util.regex.Matcher m =
        java.util.regex.Pattern.compile("resuming \\S+ from step (\\d+)").matcher(out);
    assertThat(m.find()).as(out).isTrue();
    assertThat(Long.parseLong(m.group(1))).isGreaterThanOrEqualTo(savedBeforeKill);
    System.out.printf(
        "remote demo on %s: %d kill(s), the last once the remote folder had step-%d; resumed on"
            + " a fresh machine from step %s%n",
        runs, kills, savedBeforeKill, m.group(1));
    assertThat(out).containsPattern("finished \\S+/r at step " + steps);
    // Named by its URI, not as a path that lost a slash.
    assertThat(out)
        .containsPattern("final checkpoint: (hdfs|s3a)://\\S+/r/checkpoints/step-" + steps);

    Storage checkpoints = Storages.open(runs + "/r/checkpoints", settings);
    try (CheckpointStore store = CheckpointStore.builder(checkpoints).readOnly(true).open();
        LoadedCheckpoint c = store.load(steps)) {
      assertThat(DemoRuns.tensors(c, "model", "optimizer")).isEqualTo(straight(steps)).isNotEmpty();
    }

    // A third machine reads the run from the remote folder alone.
    Path machineC = dir.resolve("machine-c");
    String previous = System.setProperty("cairn.local.runs", machineC.toString());
    try {
      List<String> d = new ArrayList<>();
      settings.forEach((k, v) -> d.addAll(List.of("-D", k + "=" + v)));
      String[] listed = cairn(concat(List.of("runs", runs, "--json"), d));
      assertThat(listed[0]).as(listed[1]).isEqualTo("0");
      JsonNode runsJson = new com.fasterxml.jackson.databind.ObjectMapper().readTree(listed[1]);
      assertThat(runsJson).hasSize(1);
      assertThat(runsJson.get(0).path("status").asText()).isEqualTo("finished");
      assertThat(runsJson.get(0).path("step").asLong()).isEqualTo(steps);
      String[] verified = cairn(concat(List.of("verify", runs + "/r"), d));
      assertThat(verified[0]).as(verified[1] + verified[2]).isEqualTo("0");
      assertThat(verified[1]).contains("step-" + steps).contains(" 0 damaged");
      String[] shown = cairn(concat(List.of("show", runs + "/r", "--json"), d));
      assertThat(shown[0]).as(shown[2]).isEqualTo("0");
      JsonNode show = new com.fasterxml.jackson.databind.ObjectMapper().readTree(shown[1]);
      assertThat(show.path("sessions").size())
          .as("starts of %d sessions, the end of the last", kills + 1)
          .isEqualTo(kills + 2);
      assertThat(show.path("checkpoints").size()).isGreaterThanOrEqualTo(1);
    } finally {
      if (previous == null) {
        System.clearProperty("cairn.local.runs");
      } else {
        System.setProperty("cairn.local.runs", previous);
      }
    }
  }

  private static List<String> concat(List<String> a, List<String> b) {
    List<String> out = new ArrayList<>(a);
    out.addAll(b);
    return out;
  }

  /** {@code cairn args} in this JVM: exit code, stdout, stderr. */
  private static String[] cairn(List<String> args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code =
        dev.cairn.cli.Main.run(
            args.toArray(String[]::new), new PrintWriter(out, true), new PrintWriter(err, true));
    return new String[] {Integer.toString(code), out.toString(), err.toString()};
  }

  /** The newest checkpoint_saved step in the remote run's events, pulled as a reader would. */
  private static long newestSavedRemotely(String runs, Map<String, String> settings, Path probe)
      throws java.io.IOException {
    String previous = System.setProperty("cairn.local.runs", probe.toString());
    try {
      Path copy = dev.cairn.run.Cairn.localCopy(runs + "/r", settings);
      long newest = 0;
      for (JsonNode e : JsonLines.read(copy.resolve("events.jsonl")).records()) {
        if (e.path("type").asText().equals("checkpoint_saved")) {
          newest = Math.max(newest, e.path("step").asLong());
        }
      }
      return newest;
    } catch (IllegalArgumentException notARunYet) {
      return 0;
    } finally {
      if (previous == null) {
        System.clearProperty("cairn.local.runs");
      } else {
        System.setProperty("cairn.local.runs", previous);
      }
    }
  }

  private static String log(Path machine, String name) {
    try {
      return Files.readString(machine.resolve(name + ".log"));
    } catch (java.io.IOException e) {
      return "(no log)";
    }
  }

  /** A child JVM whose local working copies live in {@code machine} (empty: a new machine). */
  private static Process start(List<String> args, Path machine, String name) throws Exception {
    Files.createDirectories(machine);
    ProcessBuilder pb =
        new ProcessBuilder(dev.cairn.cli.ChildJvm.cairn(args))
            .redirectErrorStream(true)
            .redirectOutput(
                ProcessBuilder.Redirect.appendTo(new File(machine + "/" + name + ".log")));
    pb.environment().put("CAIRN_LOCAL_RUNS", machine.resolve("runs").toString());
    return pb.start();
  }
}

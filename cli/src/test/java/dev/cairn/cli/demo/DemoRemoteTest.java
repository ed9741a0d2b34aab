package dev.cairn.cli.demo;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cairn.checkpoint.CheckpointStore;
import dev.cairn.checkpoint.LoadedCheckpoint;
import dev.cairn.events.JsonLines;
import dev.cairn.hadoop.MiniHdfs;
import dev.cairn.hadoop.S3Endpoint;
import dev.cairn.safetensors.SafetensorsFile;
import dev.cairn.safetensors.TensorInfo;
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
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.gaul.s3proxy.junit.S3ProxyExtension;
import org.junit.jupiter.api.BeforeAll;
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
  private static final long STEPS = 2000;

  @RegisterExtension static final MiniHdfs HDFS = new MiniHdfs();
  @RegisterExtension static final S3ProxyExtension S3 = S3Endpoint.extension();

  @TempDir static Path shared;

  private static Map<String, String> straight;

  @TempDir Path dir;

  private static List<String> demoArgs(String runs) {
    return List.of(
        "demo",
        "--dir",
        runs,
        "--run",
        "r",
        "--steps",
        Long.toString(STEPS),
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

  /** The uninterrupted run on a local disk, the reference for both backends. */
  @BeforeAll
  static void uninterruptedLocalRun() throws Exception {
    Process p = start(demoArgs(shared.resolve("runs").toString()), shared, "straight");
    assertThat(p.waitFor(10, TimeUnit.MINUTES)).isTrue();
    assertThat(p.exitValue()).as(log(shared, "straight")).isZero();
    try (CheckpointStore store =
            CheckpointStore.builder(shared.resolve("runs/r/checkpoints")).readOnly(true).open();
        LoadedCheckpoint c = store.load(STEPS)) {
      straight = tensors(c);
    }
  }

  @Test
  void onHdfs() throws Exception {
    killOnOneMachineResumeOnAnother(HDFS.freshFolder("runs").toString(), Map.of());
  }

  @Test
  void onS3() throws Exception {
    killOnOneMachineResumeOnAnother(
        S3Endpoint.freshBucket(S3).resolve("runs").toString(), S3Endpoint.settings(S3));
  }

  private void killOnOneMachineResumeOnAnother(String runs, Map<String, String> settings)
      throws Exception {
    List<String> args = new ArrayList<>(demoArgs(runs));
    settings.forEach((k, v) -> args.addAll(List.of("-D", k + "=" + v)));
    Path machineA = dir.resolve("machine-a");
    Process a = start(args, machineA, "a");
    // Kill once the remote folder holds a checkpoint and the mirror has pushed its event (a
    // signal read from the remote side, as another machine sees it).
    long savedBeforeKill;
    while ((savedBeforeKill = newestSavedRemotely(runs, settings, dir.resolve("probe"))) == 0) {
      assertThat(a.waitFor(50, TimeUnit.MILLISECONDS)).as(log(machineA, "a")).isFalse();
    }
    a.destroyForcibly().waitFor();

    Path machineB = dir.resolve("machine-b");
    Process b = start(args, machineB, "b");
    assertThat(b.waitFor(10, TimeUnit.MINUTES)).isTrue();
    String out = Files.readString(machineB.resolve("b.log"));
    assertThat(b.exitValue()).as(out).isZero();
    java.util.regex.Matcher m =
        java.util.regex.Pattern.compile("resuming \\S+ from step (\\d+)").matcher(out);
    assertThat(m.find()).as(out).isTrue();
    assertThat(Long.parseLong(m.group(1))).isGreaterThanOrEqualTo(savedBeforeKill);
    System.out.printf(
        "remote demo on %s: killed once the remote folder had step-%d, resumed on a fresh"
            + " machine from step %s%n",
        runs, savedBeforeKill, m.group(1));
    assertThat(out).containsPattern("finished \\S+/r at step " + STEPS);
    // Named by its URI, not as a path that lost a slash.
    assertThat(out)
        .containsPattern("final checkpoint: (hdfs|s3a)://\\S+/r/checkpoints/step-" + STEPS);

    Storage checkpoints = Storages.open(runs + "/r/checkpoints", settings);
    try (CheckpointStore store = CheckpointStore.builder(checkpoints).readOnly(true).open();
        LoadedCheckpoint c = store.load(STEPS)) {
      assertThat(tensors(c)).isEqualTo(straight).isNotEmpty();
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
      assertThat(runsJson.get(0).path("step").asLong()).isEqualTo(STEPS);
      String[] verified = cairn(concat(List.of("verify", runs + "/r"), d));
      assertThat(verified[0]).as(verified[1] + verified[2]).isEqualTo("0");
      assertThat(verified[1]).contains("step-" + STEPS).contains(" 0 damaged");
      String[] shown = cairn(concat(List.of("show", runs + "/r", "--json"), d));
      assertThat(shown[0]).as(shown[2]).isEqualTo("0");
      JsonNode show = new com.fasterxml.jackson.databind.ObjectMapper().readTree(shown[1]);
      assertThat(show.path("sessions").size()).as("start and end of two sessions").isEqualTo(3);
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

  private static Map<String, String> tensors(LoadedCheckpoint c) throws Exception {
    Map<String, String> out = new TreeMap<>();
    for (String part : List.of("model", "optimizer")) {
      SafetensorsFile f = c.tensors(part);
      for (TensorInfo t : f.tensors()) {
        byte[] d = java.security.MessageDigest.getInstance("SHA-256").digest(f.bytes(t.name()));
        out.put(part + "/" + t.name(), java.util.HexFormat.of().formatHex(d));
      }
    }
    return out;
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

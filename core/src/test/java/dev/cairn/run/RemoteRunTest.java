package dev.cairn.run;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cairn.events.JsonLines;
import dev.cairn.manager.CheckpointManager;
import dev.cairn.manager.CheckpointPolicy;
import dev.cairn.manager.TensorMap;
import dev.cairn.store.Storage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A run whose home is remote storage, here a local folder behind the storage contract without
 * atomic renames (as an object store): checkpoints are written there, the rest is mirrored there
 * from a local working copy, and a process with an empty working copy ("another machine") goes on
 * from the remote folder alone.
 */
class RemoteRunTest {
  @TempDir Path tmp;

  private long train(Path machine, long steps) throws IOException {
    Storage runs = Storage.atWithoutAtomicRename(tmp.resolve("remote"));
    try (Run run =
        RemoteRuns.open(runs, machine, RunTest.options("mlp", Clock.systemUTC()).totalSteps(20))) {
      CheckpointManager ckpt =
          run.checkpoints(CheckpointPolicy.builder().everySteps(5).every(null).build());
      float[] w = new float[4];
      TensorMap model = new TensorMap("model").put("w", w);
      long start = ckpt.restoreLatest(model);
      assertThat(w[0]).as("restored weights").isEqualTo((float) start);
      for (long s = start; s < steps; s++) {
        w[0] = s + 1;
        run.log(s, Map.of("loss", 1.0 / (s + 1)));
        ckpt.onStep(s, Map.of("loss", 1.0 / (s + 1)));
      }
      if (steps == 20) {
        ckpt.saveFinal();
        run.finish(Map.of());
      }
      return start;
    }
  }

  @Test
  void anotherMachineResumesFromTheRemoteFolderAlone() throws IOException {
    Files.createDirectories(tmp.resolve("remote"));
    assertThat(train(tmp.resolve("machine-a"), 12)).isZero();
    Path remote = tmp.resolve("remote/mlp");
    assertThat(remote.resolve("checkpoints/step-10/manifest.json")).exists();
    assertThat(tmp.resolve("machine-a/mlp/checkpoints")).doesNotExist();

    assertThat(train(tmp.resolve("machine-b"), 20)).isEqualTo(10);

    // A reader on a third machine sees both sessions and every metric of both.
    Path c = tmp.resolve("machine-c/mlp");
    RemoteRuns.refresh(Storage.at(remote), c);
    List<ObjectNode> sessions = JsonLines.read(c.resolve("sessions.jsonl")).records();
    assertThat(sessions).extracting(s -> s.path("session").asInt()).containsExactly(1, 1, 2, 2);
    List<ObjectNode> metrics = JsonLines.read(c.resolve("metrics.jsonl")).records();
    assertThat(metrics).extracting(m -> m.path("step").asLong()).contains(0L, 11L, 19L);
    assertThat(RunStatus.of(c, Clock.systemUTC()).status()).isEqualTo("finished");
    assertThat(Files.readString(c.resolve("run.json")))
        .isEqualTo(Files.readString(tmp.resolve("machine-b/mlp/run.json")));
  }

  @Test
  void aWorkingCopyWithoutARemoteRunIsDropped() throws IOException {
    Path stale = tmp.resolve("machine/mlp");
    Files.createDirectories(stale);
    Files.writeString(stale.resolve("run.json"), "{\"id\":\"mlp\"}");
    Files.writeString(stale.resolve("sessions.jsonl"), "{\"session\":7}\n");
    Files.createDirectories(tmp.resolve("remote"));
    RemoteRuns.refresh(Storage.at(tmp.resolve("remote")).child("mlp"), stale);
    assertThat(stale).doesNotExist();
  }

  @Test
  void aMachineThatComesBackStartsFromTheRemoteFolderNotFromItsOldCopy() throws IOException {
    Files.createDirectories(tmp.resolve("remote"));
    Path a = tmp.resolve("machine-a");
    assertThat(train(a, 12)).isZero();
    // Lines A wrote but never pushed (its VM died), then the run went on on B.
    Files.writeString(
        a.resolve("mlp/metrics.jsonl"),
        "{\"step\":12,\"loss\":9.0}\n".repeat(100),
        java.nio.file.StandardOpenOption.APPEND);
    assertThat(train(tmp.resolve("machine-b"), 14)).isEqualTo(10);
    assertThat(train(a, 16)).isEqualTo(10);

    Path c = tmp.resolve("machine-c/mlp");
    RemoteRuns.refresh(Storage.at(tmp.resolve("remote/mlp")), c);
    var metrics = JsonLines.read(c.resolve("metrics.jsonl"));
    assertThat(metrics.damagedLines()).isEmpty();
    assertThat(metrics.records()).noneMatch(m -> m.path("loss").asDouble() == 9.0);
    assertThat(JsonLines.read(c.resolve("sessions.jsonl")).records())
        .extracting(x -> x.path("session").asInt())
        .containsExactly(1, 1, 2, 2, 3, 3);
    assertThat(Files.readString(a.resolve(".superseded/mlp/metrics.jsonl")))
        .as("the old copy is kept aside, not deleted")
        .contains("\"loss\":9.0");
  }

  @Test
  void readersAndTheWriterNeverShareALocalCopy() {
    String loc = "s3a://bucket/runs";
    Map<String, String> a = Map.of("fs.s3a.endpoint", "http://a:9000", "fs.s3a.access.key", "k");
    Path work = RemoteRuns.localRoot(loc, a, RemoteRuns.Use.WORK);
    assertThat(
            RemoteRuns.localRoot(
                loc + "/", Map.of("fs.s3a.endpoint", "http://a:9000"), RemoteRuns.Use.WORK))
        .as("a trailing slash and credentials do not change the folder")
        .isEqualTo(work);
    assertThat(RemoteRuns.localRoot(loc, a, RemoteRuns.Use.READ)).isNotEqualTo(work);
    assertThat(
            RemoteRuns.localRoot(
                loc, Map.of("fs.s3a.endpoint", "http://b:9000"), RemoteRuns.Use.WORK))
        .as("the same bucket name on another endpoint")
        .isNotEqualTo(work);
  }
}

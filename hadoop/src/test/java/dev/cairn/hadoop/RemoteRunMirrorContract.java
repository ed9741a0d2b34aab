package dev.cairn.hadoop;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.cairn.events.Events;
import dev.cairn.run.RunMirror;
import dev.cairn.store.Storage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A run folder's remote copy on a real backend: what a reader on another machine pulls must be what
 * the writer has, byte for byte, on storage that cannot append (S3) or may hold a killed writer's
 * partial object (HDFS).
 */
abstract class RemoteRunMirrorContract {
  @TempDir Path tmp;

  /** A fresh, empty run folder on the backend. */
  protected abstract Storage freshStorage() throws IOException;

  /** The same folder seen by another process (a new client). */
  protected abstract Storage sameFolderElsewhere(Storage s) throws IOException;

  private static Path runFolder(Path dir) throws IOException {
    Files.createDirectories(dir.resolve("plots"));
    Files.createDirectories(dir.resolve("tb"));
    Files.createDirectories(dir.resolve("checkpoints/step-1"));
    Files.writeString(dir.resolve("run.json"), "{\"id\":\"r\"}");
    Files.writeString(dir.resolve("sessions.jsonl"), "{\"type\":\"start\",\"session\":1}\n");
    lines(dir.resolve("metrics.jsonl"), 0, 50);
    Files.writeString(dir.resolve("events.jsonl"), "{\"type\":\"run_started\"}\n");
    Files.writeString(dir.resolve("training.log"), "step 1 loss 1.0\n");
    Files.writeString(dir.resolve("progress.json"), "{\"step\":50}");
    byte[] png = new byte[70_000];
    new SplittableRandom(1).nextBytes(png);
    Files.write(dir.resolve("plots/loss_latest.png"), png);
    Files.write(dir.resolve("tb/events.out.tfevents.1.host"), java.util.Arrays.copyOf(png, 999));
    Files.writeString(dir.resolve("checkpoints/step-1/model.safetensors"), "weights");
    return dir;
  }

  private static void lines(Path file, int from, int to) throws IOException {
    StringBuilder b = new StringBuilder();
    for (int i = from; i < to; i++) {
      b.append("{\"step\":").append(i).append(",\"loss\":").append(1.0 / (i + 1)).append("}\n");
    }
    Files.writeString(
        file, b.toString(), UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
  }

  private static Map<String, byte[]> files(Path dir, boolean withCheckpoints) throws IOException {
    Map<String, byte[]> out = new TreeMap<>();
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) s.filter(Files::isRegularFile)::iterator) {
        String name = dir.relativize(p).toString();
        if (withCheckpoints || !name.startsWith("checkpoints")) {
          out.put(name, Files.readAllBytes(p));
        }
      }
    }
    return out;
  }

  private static void assertSame(Path pulled, Path run) throws IOException {
    Map<String, byte[]> want = files(run, false);
    Map<String, byte[]> got = files(pulled, true);
    assertThat(got.keySet()).containsExactlyElementsOf(want.keySet());
    want.forEach((name, bytes) -> assertThat(got.get(name)).as(name).isEqualTo(bytes));
  }

  @Test
  void aReaderElsewherePullsWhatTheWriterPushedAndThenOnlyWhatIsNew() throws IOException {
    Path run = runFolder(tmp.resolve("run"));
    Storage remote = freshStorage();
    Storage reading = sameFolderElsewhere(remote);
    assertThat(RunMirror.exists(reading)).isFalse();
    Path reader = tmp.resolve("reader");
    try (RunMirror m = RunMirror.start(run, remote, Duration.ofHours(1), Events.NONE)) {
      m.pushNow();
      assertThat(RunMirror.exists(reading)).isTrue();
      RunMirror.pull(reading, reader);
      assertSame(reader, run);

      lines(run.resolve("metrics.jsonl"), 50, 60);
      String whole = Files.readString(run.resolve("metrics.jsonl"));
      Files.writeString(run.resolve("metrics.jsonl"), "{\"step\":60", StandardOpenOption.APPEND);
      Files.writeString(run.resolve("progress.json"), "{\"step\":60}");
      m.pushNow();
      RunMirror.pull(reading, reader);
      assertThat(Files.readString(reader.resolve("metrics.jsonl"))).isEqualTo(whole);
      assertThat(Files.readString(reader.resolve("progress.json"))).isEqualTo("{\"step\":60}");

      Files.writeString(run.resolve("metrics.jsonl"), "}\n", StandardOpenOption.APPEND);
      m.pushNow();
    }
    RunMirror.pull(reading, reader);
    assertSame(reader, run);
    assertThat(remote.exists("checkpoints")).isFalse();
  }

  @Test
  void aPartialObjectIsIgnoredByReadersAndRewrittenByTheNextWriter() throws IOException {
    Path run = runFolder(tmp.resolve("run"));
    Storage remote = freshStorage();
    try (RunMirror m = RunMirror.start(run, remote, Duration.ofHours(1), Events.NONE)) {
      m.pushNow();
    }
    long pushed = Files.size(run.resolve("metrics.jsonl"));
    lines(run.resolve("metrics.jsonl"), 50, 80);
    long tail = Files.size(run.resolve("metrics.jsonl")) - pushed;
    String partial = String.format("metrics.jsonl.parts/%016d-%016d", pushed, tail);
    try (Storage.Output out = remote.create(partial)) {
      out.write(ByteBuffer.wrap("{\"step\":50,\"lo".getBytes(UTF_8)));
      out.sync();
    }
    Path reader = tmp.resolve("reader");
    RunMirror.pull(sameFolderElsewhere(remote), reader);
    assertThat(Files.size(reader.resolve("metrics.jsonl"))).isEqualTo(pushed);

    // The restarted writer is another process: a new client on the same folder.
    Storage restarted = sameFolderElsewhere(remote);
    try (RunMirror m = RunMirror.start(run, restarted, Duration.ofHours(1), Events.NONE)) {
      m.pushNow();
    }
    assertThat(remote.size(partial)).isEqualTo(tail);
    RunMirror.pull(sameFolderElsewhere(remote), reader);
    assertSame(reader, run);
  }
}

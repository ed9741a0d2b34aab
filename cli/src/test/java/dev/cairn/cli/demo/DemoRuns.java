package dev.cairn.cli.demo;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cairn.checkpoint.LoadedCheckpoint;
import dev.cairn.checkpoint.Verification;
import dev.cairn.events.JsonLines;
import dev.cairn.safetensors.SafetensorsFile;
import dev.cairn.safetensors.TensorInfo;
import java.io.IOException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * What the demo's kill tests do and check, here and in other modules (cli's test jar): kill a job
 * and what it started, wait for its next checkpoint, read one rank's share of a checkpoint in full,
 * and check that every resume started from the newest checkpoint saved before it.
 */
public final class DemoRuns {
  private DemoRuns() {}

  /** Every tensor of one rank's part ("name" to the SHA-256 of its bytes), checked in full. */
  public static Map<String, String> tensors(Path checkpoint, int rank, String part)
      throws IOException {
    Map<String, String> out = new TreeMap<>();
    try (LoadedCheckpoint c = LoadedCheckpoint.open(checkpoint, Verification.FULL, rank)) {
      SafetensorsFile f = c.tensors(part);
      for (TensorInfo t : f.tensors()) {
        out.put(t.name(), HexFormat.of().formatHex(sha256(f.bytes(t.name()))));
      }
    }
    return out;
  }

  /** The SHA-256 of each tensor of the parts, named {@code part/tensor} when more than one. */
  public static Map<String, String> tensors(LoadedCheckpoint c, String... parts)
      throws IOException {
    Map<String, String> out = new TreeMap<>();
    for (String part : parts) {
      SafetensorsFile f = c.tensors(part);
      for (TensorInfo t : f.tensors()) {
        out.put(
            (parts.length > 1 ? part + "/" : "") + t.name(),
            HexFormat.of().formatHex(sha256(f.bytes(t.name()))));
      }
    }
    return out;
  }

  /** The state one rank restores (optimizer counts, data cursor), without session details. */
  public static JsonNode state(Path checkpoint, int rank) throws IOException {
    try (LoadedCheckpoint c = LoadedCheckpoint.open(checkpoint, Verification.FULL, rank)) {
      return c.json("state").get("components");
    }
  }

  /**
   * One rank's share of {@code actual} is byte for byte that of {@code expected}: the model, the
   * optimizer's state and the restored state (step counts, data cursor).
   */
  public static void assertSameShare(Path expected, Path actual, int rank) throws IOException {
    assertThat(tensors(actual, rank, "model"))
        .as("rank %d's model", rank)
        .isEqualTo(tensors(expected, rank, "model"))
        .isNotEmpty();
    assertThat(tensors(actual, rank, "optimizer"))
        .as("rank %d's optimizer", rank)
        .isEqualTo(tensors(expected, rank, "optimizer"))
        .isNotEmpty();
    assertThat(state(actual, rank)).as("rank %d's state", rank).isEqualTo(state(expected, rank));
  }

  /** How many ranks saved the checkpoint. */
  public static int worldSize(Path checkpoint) throws IOException {
    try (LoadedCheckpoint c = LoadedCheckpoint.open(checkpoint, Verification.FULL, 0)) {
      return c.manifest().worldSize();
    }
  }

  /** A command and every process it started, killed at once as by kill -9, and gone. */
  public static void killAll(Process command) throws Exception {
    List<ProcessHandle> all = new ArrayList<>(command.descendants().toList());
    command.destroyForcibly();
    all.forEach(ProcessHandle::destroyForcibly);
    command.waitFor();
    for (ProcessHandle h : all) {
      h.onExit().get(1, TimeUnit.MINUTES);
    }
  }

  /** The checkpoints saved so far, as the run's (rank 0's) events tell; 0 before there are any. */
  public static long saves(Path events) {
    return count(events, "checkpoint_saved");
  }

  /** The events of one type in an events.jsonl; 0 before it is written. */
  public static int count(Path events, String type) {
    try {
      return (int)
          JsonLines.read(events).records().stream()
              .filter(e -> e.path("type").asText().equals(type))
              .count();
    } catch (IOException notYet) {
      return 0;
    }
  }

  /**
   * Waits until the run has saved more than {@code before} checkpoints: a signal from the job, not
   * a guess of how long the JVM and the engine take to start.
   *
   * @return false when {@code p} ended first
   */
  public static boolean awaitSaveAfter(Process p, Path events, long before)
      throws InterruptedException {
    while (saves(events) <= before) {
      if (p.waitFor(20, TimeUnit.MILLISECONDS)) {
        return false;
      }
    }
    return true;
  }

  /**
   * Waits up to {@code millis} before a kill, but no longer than until the run saves more than
   * {@code saved} checkpoints: the random wait varies where between checkpoints a kill lands, and
   * the next save bounds it, so that on a fast machine a session cannot run to its end before its
   * kill (each session then moves the run on by one or two checkpoints, whatever the machine's
   * speed).
   *
   * @return false when {@code p} ended first
   */
  public static boolean awaitKillPoint(Process p, Path events, long saved, long millis)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
    while (System.nanoTime() < deadline && saves(events) <= saved) {
      long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
      if (p.waitFor(Math.max(1, Math.min(20, left)), TimeUnit.MILLISECONDS)) {
        return false;
      }
    }
    return p.isAlive();
  }

  /**
   * Every resume in the run's events starts from the newest checkpoint saved before it, or a newer
   * one whose event a kill cut off (no committed work lost), no checkpoint was found damaged, and
   * no exact resume raised a false loss alarm.
   */
  public static void assertEveryResumeFromTheNewestSave(Path events, int minResumes)
      throws IOException {
    long newestSaved = 0;
    int resumes = 0;
    for (JsonNode e : JsonLines.read(events).records()) {
      switch (e.path("type").asText()) {
        case "checkpoint_saved" -> newestSaved = Math.max(newestSaved, e.get("step").asLong());
        case "resumed" -> {
          resumes++;
          // Newer than every saved event is right too: a kill between a checkpoint's commit and
          // its event's line leaves a checkpoint no event names, and the resume finds it.
          long step = e.get("step").asLong();
          assertThat(step).as("resume %d", resumes).isGreaterThanOrEqualTo(newestSaved);
          newestSaved = step;
        }
        case "checkpoint_skipped" -> throw new AssertionError("a damaged checkpoint: " + e);
        // The resumes are exact: the loss check must not cry wolf (it compares replayed steps).
        case "loss_jump" -> throw new AssertionError("a false loss alarm: " + e);
        default -> {}
      }
    }
    assertThat(resumes).isGreaterThanOrEqualTo(minResumes);
  }

  private static byte[] sha256(byte[] bytes) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(bytes);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}

package dev.cairn.cli.demo;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cairn.checkpoint.LoadedCheckpoint;
import dev.cairn.checkpoint.Verification;
import dev.cairn.events.JsonLines;
import dev.cairn.safetensors.SafetensorsFile;
import dev.cairn.safetensors.TensorInfo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/** What the demo tests compare: a checkpoint's tensors and state, and a run's events. */
final class SavedState {
  private SavedState() {}

  /** The SHA-256 of each tensor of one part of one rank's share (rank 0: all of a process's). */
  static Map<String, String> tensors(Path checkpoint, int rank, String part) throws Exception {
    try (LoadedCheckpoint c = LoadedCheckpoint.open(checkpoint, Verification.FULL, rank)) {
      return tensors(c, part);
    }
  }

  /** The SHA-256 of each tensor of the parts, named {@code part/tensor} when more than one. */
  static Map<String, String> tensors(LoadedCheckpoint c, String... parts) throws Exception {
    Map<String, String> out = new TreeMap<>();
    for (String part : parts) {
      SafetensorsFile f = c.tensors(part);
      for (TensorInfo t : f.tensors()) {
        byte[] d = java.security.MessageDigest.getInstance("SHA-256").digest(f.bytes(t.name()));
        out.put(
            (parts.length > 1 ? part + "/" : "") + t.name(), java.util.HexFormat.of().formatHex(d));
      }
    }
    return out;
  }

  /** The saved components' state (optimizer counts, data cursor), without session details. */
  static JsonNode components(Path checkpoint, int rank) throws Exception {
    try (LoadedCheckpoint c = LoadedCheckpoint.open(checkpoint, Verification.FULL, rank)) {
      return new ObjectMapper().readTree(c.json("state").get("components").toString());
    }
  }

  /**
   * Asserts that rank {@code rank}'s share of checkpoint {@code b} holds what {@code a}'s does:
   * byte-identical model and optimizer tensors, and the same components' state.
   */
  static void assertIdentical(Path a, Path b, int rank) throws Exception {
    assertThat(tensors(b, rank, "model")).isEqualTo(tensors(a, rank, "model")).isNotEmpty();
    assertThat(tensors(b, rank, "optimizer")).isEqualTo(tensors(a, rank, "optimizer")).isNotEmpty();
    assertThat(components(b, rank)).isEqualTo(components(a, rank));
  }

  /** Waits for {@code ready}; false when the process exited first. */
  static boolean awaitOrExit(Process p, java.util.function.BooleanSupplier ready)
      throws InterruptedException {
    while (!ready.getAsBoolean()) {
      if (p.waitFor(20, java.util.concurrent.TimeUnit.MILLISECONDS)) {
        return false;
      }
    }
    return true;
  }

  /** Events of a type in an events.jsonl; 0 before it is written. */
  static int count(Path events, String type) {
    try {
      return (int)
          JsonLines.read(events).records().stream()
              .filter(e -> e.path("type").asText().equals(type))
              .count();
    } catch (IOException e) {
      return 0; // not written yet
    }
  }

  /**
   * Every resume started from the newest checkpoint any earlier session had saved (no committed
   * work lost); no damaged checkpoint was met and no exact resume raised a false loss alarm.
   */
  static void assertResumesFromNewestSave(Path events, int minResumes) throws Exception {
    ObjectMapper json = new ObjectMapper();
    long newestSaved = 0;
    int resumes = 0;
    for (String line : Files.readAllLines(events)) {
      JsonNode e = json.readTree(line);
      switch (e.path("type").asText()) {
        case "checkpoint_saved" -> newestSaved = Math.max(newestSaved, e.get("step").asLong());
        case "resumed" -> {
          resumes++;
          assertThat(e.get("step").asLong()).as("resume %d", resumes).isEqualTo(newestSaved);
        }
        case "checkpoint_skipped" -> throw new AssertionError("a damaged checkpoint: " + line);
        // The resumes are exact: the loss check must not cry wolf (it compares replayed steps).
        case "loss_jump" -> throw new AssertionError("a false loss alarm: " + line);
        default -> {}
      }
    }
    assertThat(resumes).isGreaterThanOrEqualTo(minResumes);
  }
}

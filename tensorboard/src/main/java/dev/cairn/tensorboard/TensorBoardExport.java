package dev.cairn.tensorboard;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cairn.events.JsonLines;
import dev.cairn.run.RunFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/** Writes TensorBoard event files for runs made before (or without) this module. */
public final class TensorBoardExport {
  private TensorBoardExport() {}

  /**
   * Writes one event file in {@code runDir/tb/} with every scalar of metrics.jsonl and the run's
   * config. Where the steps go back (a session resumed from a checkpoint and logged those steps
   * again) a session start is written, so TensorBoard keeps only the newer points.
   *
   * @return the file written
   * @throws IllegalArgumentException when runDir is not a run, or already has event files
   */
  public static Path export(Path runDir) throws IOException {
    requireExportable(runDir);
    RunFiles files = new RunFiles(runDir);
    List<ObjectNode> records = JsonLines.read(files.metrics()).records();
    long firstMillis = records.isEmpty() ? System.currentTimeMillis() : millis(records.get(0));
    String config = TensorBoardFactory.configMarkdown(files.runJson());
    try (EventFile file = EventFile.create(files.tensorboard(), firstMillis, "export")) {
      long previous = Long.MIN_VALUE;
      for (ObjectNode r : records) {
        long step = r.path("step").asLong();
        double wall = millis(r) / 1000.0;
        if (previous == Long.MIN_VALUE && config != null) {
          file.write(EventEncoder.text(wall, step, "config", config));
        } else if (step <= previous) {
          file.write(EventEncoder.sessionStart(wall, step, "cairn session resumed"));
        }
        previous = step;
        List<String> keys = new ArrayList<>();
        List<Double> values = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = r.fields(); it.hasNext(); ) {
          Map.Entry<String, JsonNode> e = it.next();
          if (e.getValue().isNumber() && !e.getKey().equals("step")) {
            keys.add(e.getKey());
            values.add(e.getValue().asDouble());
          }
        }
        double[] v = values.stream().mapToDouble(Double::doubleValue).toArray();
        file.write(EventEncoder.scalars(wall, step, keys.toArray(new String[0]), v, keys.size()));
      }
      return file.path();
    }
  }

  /**
   * Checks that {@link #export} would write: a run folder without event files.
   *
   * @throws IllegalArgumentException naming what is wrong
   */
  public static void requireExportable(Path runDir) throws IOException {
    RunFiles files = new RunFiles(runDir);
    if (!Files.exists(files.runJson())) {
      throw new IllegalArgumentException(runDir + " is not a run folder (no run.json)");
    }
    if (EventFile.anyIn(files.tensorboard())) {
      throw new IllegalArgumentException(
          files.tensorboard()
              + " already holds TensorBoard event files; remove them to export"
              + " again");
    }
  }

  private static long millis(ObjectNode r) {
    try {
      return Instant.parse(r.path("time").asText()).toEpochMilli();
    } catch (RuntimeException e) {
      return 0;
    }
  }
}

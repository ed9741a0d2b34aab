package dev.cairn.web;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cairn.metrics.MetricsFile;
import dev.cairn.run.RunFiles;
import dev.cairn.run.RunStatus;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * One run as the dashboard follows it: its folder, and the metrics of each of its ranks as the
 * catalog keeps them (rank 0's are the run's own; a run of one process has only those).
 */
final class RunView {
  /** The largest run.json read (a config can be long, never this long). */
  static final long MAX_RUN_JSON_BYTES = 4 << 20;

  private final Path dir;
  private final RunFiles files;
  private final RunCatalog catalog;

  RunView(Path dir, RunCatalog catalog) {
    this.dir = dir;
    this.files = new RunFiles(dir);
    this.catalog = catalog;
  }

  String name() {
    Path f = dir.getFileName();
    return f == null ? dir.toString() : f.toString();
  }

  Path dir() {
    return dir;
  }

  RunFiles files() {
    return files;
  }

  /** The run's metrics (rank 0's), brought up to date with the file. */
  MetricsFile metrics() throws IOException {
    return metrics(0);
  }

  /**
   * The metrics of rank {@code rank} (0 to {@link #worldSize()} - 1, checked by the caller),
   * brought up to date with its file: read incrementally, each call parsing only the lines written
   * since the previous one, the first from the rank's metrics.bin sidecar as far as it goes.
   */
  MetricsFile metrics(int rank) throws IOException {
    MetricsFile m = catalog.followed(this, rank);
    m.poll();
    return m;
  }

  /** The ranks of the run's group, from its run.json; 1 for a run of one process. */
  int worldSize() throws IOException {
    return RunStatus.worldSize(runJson());
  }

  /** The run's run.json; a 422 when it is over {@link #MAX_RUN_JSON_BYTES}. */
  JsonNode runJson() throws IOException {
    if (Files.size(files.runJson()) > MAX_RUN_JSON_BYTES) {
      throw new ApiError(
          422, "run '" + name() + "' has a run.json over 4 MiB, more than the dashboard reads");
    }
    return Json.MAPPER.readTree(files.runJson().toFile());
  }
}

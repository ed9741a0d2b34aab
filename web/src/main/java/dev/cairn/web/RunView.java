package dev.cairn.web;

import dev.cairn.metrics.MetricsFile;
import dev.cairn.run.RunFiles;
import java.io.IOException;
import java.nio.file.Path;

/**
 * One run as the dashboard follows it: its folder and its metrics, read incrementally (each request
 * parses only the lines written since the previous one), within the catalog's limits. The first
 * read takes what it can from the run's metrics.bin, the sidecar the job keeps as it logs.
 */
final class RunView {
  private final Path dir;
  private final RunFiles files;
  private final MetricsFile metrics;

  RunView(Path dir, RunCatalog.Limits limits) {
    this.dir = dir;
    this.files = new RunFiles(dir);
    this.metrics =
        new MetricsFile(
            files.metrics(),
            files.metricsSidecar(),
            limits.pointsPerSeries(),
            limits.metricNames(),
            limits.budget());
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

  /** The metrics, brought up to date with the file. */
  MetricsFile metrics() throws IOException {
    metrics.poll();
    return metrics;
  }

  /** Drops the metrics held in memory (read again when next asked for). */
  void forget() {
    metrics.close();
  }
}

package dev.cairn.web;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cairn.metrics.PointBudget;
import dev.cairn.run.RunFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A new server reads the run written to last, and only that one, before it is asked for. */
class WarmUpTest {
  @TempDir Path runs;

  @Test
  void theRunWrittenToLastIsReadAheadAndNoOther() throws Exception {
    run("a", 30, Instant.parse("2026-01-01T00:00:03Z"));
    run("b", 20, Instant.parse("2026-01-01T00:00:09Z")); // the newest, though not last by name
    run("c", 10, Instant.parse("2026-01-01T00:00:01Z"));
    PointBudget budget = PointBudget.of(1_000_000);
    RunCatalog catalog = new RunCatalog(runs, new RunCatalog.Limits(1024, 100, budget));

    WarmUp.run(catalog);

    assertThat(catalog.followedFiles()).isEqualTo(1);
    long held = budget.held();
    assertThat(held).as("b's points are in memory").isPositive();
    // b is read: asking for it reads nothing more, and holds what it held.
    assertThat(catalog.resolve("b").metrics().series("loss").size()).isEqualTo(20);
    assertThat(catalog.followedFiles()).isEqualTo(1);
    assertThat(budget.held()).isEqualTo(held);
  }

  @Test
  void aRunWithoutMetricsCountsByItsRunJsonAndAnEmptyFolderHasNone() throws Exception {
    assertThat(WarmUp.newest(new RunCatalog(runs, limits()).runs())).isNull();
    run("old", 5, Instant.parse("2026-01-01T00:00:01Z"));
    RunFiles fresh = new RunFiles(runs.resolve("fresh"));
    Files.createDirectories(fresh.dir());
    Files.writeString(fresh.runJson(), "{\"id\":\"fresh\"}");
    Files.setLastModifiedTime(
        fresh.runJson(), FileTime.from(Instant.parse("2026-01-02T00:00:00Z")));

    RunCatalog catalog = new RunCatalog(runs, limits());
    assertThat(WarmUp.newest(catalog.runs())).isEqualTo(catalog.resolve("fresh").dir());
    WarmUp.run(catalog); // a run with no metrics yet is no failure
    assertThat(catalog.followedFiles()).isEqualTo(1);
  }

  private static RunCatalog.Limits limits() {
    return new RunCatalog.Limits(1024, 100, PointBudget.of(1_000_000));
  }

  private void run(String name, int steps, Instant modified) throws IOException {
    RunFiles f = new RunFiles(runs.resolve(name));
    Files.createDirectories(f.dir());
    Files.writeString(f.runJson(), "{\"id\":\"" + name + "\"}");
    StringBuilder lines = new StringBuilder();
    for (int s = 0; s < steps; s++) {
      lines.append("{\"step\":").append(s).append(",\"loss\":").append(1.0 / (s + 1)).append("}\n");
    }
    Files.writeString(f.metrics(), lines);
    Files.setLastModifiedTime(f.metrics(), FileTime.from(modified));
  }
}

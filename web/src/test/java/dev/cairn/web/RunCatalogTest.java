package dev.cairn.web;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cairn.metrics.PointBudget;
import dev.cairn.run.RunFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the catalog holds in memory stays bounded however many ranks a run has. */
class RunCatalogTest {
  private static final int STEPS = 100;

  @TempDir Path runs;

  @Test
  void aRunOfManyRanksIsFollowedWithinTheSameBoundAsRuns() throws Exception {
    int world = 3 * RunCatalog.FOLLOWED;
    RunFiles run = new RunFiles(runs.resolve("wide"));
    Files.createDirectories(run.dir());
    Files.writeString(run.runJson(), "{\"id\":\"wide\",\"world_size\":" + world + "}");
    for (int r = 0; r < world; r++) {
      RunFiles mine = run.forRank(r);
      Files.createDirectories(mine.dir());
      StringBuilder lines = new StringBuilder();
      for (int s = 0; s < STEPS; s++) {
        lines.append("{\"step\":").append(s).append(",\"loss\":").append(loss(r, s)).append("}\n");
      }
      Files.writeString(mine.metrics(), lines);
    }
    PointBudget budget = PointBudget.of(1_000_000);
    RunCatalog catalog = new RunCatalog(runs, new RunCatalog.Limits(1024, 100, budget));
    RunView view = catalog.resolve("wide");
    assertThat(view.worldSize()).isEqualTo(world);

    assertThat(view.metrics(0).series("loss").size()).isEqualTo(STEPS);
    long oneFile = budget.held();
    for (int r = 0; r < world; r++) {
      double[] last = view.metrics(r).series("loss").last();
      assertThat(last).as("rank %d", r).containsExactly(STEPS - 1, loss(r, STEPS - 1));
      assertThat(catalog.followedFiles()).isLessThanOrEqualTo(RunCatalog.FOLLOWED);
    }
    assertThat(catalog.followedFiles()).isEqualTo(RunCatalog.FOLLOWED);
    assertThat(budget.held())
        .as("the files no longer followed gave their points back")
        .isEqualTo(RunCatalog.FOLLOWED * oneFile);
    // A rank let go is read again when asked for, whole.
    assertThat(view.metrics(0).series("loss").size()).isEqualTo(STEPS);
    assertThat(budget.held()).isEqualTo(RunCatalog.FOLLOWED * oneFile);
  }

  private static double loss(int rank, int step) {
    return rank + 1.0 / (step + 1);
  }
}

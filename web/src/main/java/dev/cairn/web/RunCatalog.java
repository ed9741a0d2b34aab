package dev.cairn.web;

import dev.cairn.checkpoint.Names;
import dev.cairn.metrics.MetricsFile;
import dev.cairn.metrics.PointBudget;
import dev.cairn.run.RunFiles;
import dev.cairn.run.RunStatus;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The runs the dashboard may show: the run folders directly under one folder (or that folder alone
 * when it is a run). A name from a request is checked against the safe-name pattern and then looked
 * up among the folders that exist; it never becomes a path by itself. A run folder that is a
 * symbolic link is not shown: what the dashboard serves is what lies in the runs folder, not what a
 * link there points to. Followed metrics (in memory) are kept for the most recently used few, a
 * run's ranks counted one each, all drawing their points from one {@link PointBudget}.
 */
final class RunCatalog {
  /**
   * Metrics files followed at once, the most recently used kept. A run of several ranks counts one
   * per rank it is asked for, so N ranks cost what N runs of one process did and the bound holds
   * whatever the world size: the points of every file come from one {@link PointBudget} (with more
   * series, each one's fair share is smaller), and this count bounds what the budget does not, each
   * file's metric names and its series' first room. One request asks for at most {@link
   * Api#MAX_RANKS} ranks, half of this, so its own files do not push each other out.
   */
  static final int FOLLOWED = 32;

  /** What following runs may cost: points per metric, metric names per run, points in all. */
  record Limits(int pointsPerSeries, int metricNames, PointBudget budget) {}

  /** One followed metrics file: a run's folder and the rank whose metrics it holds. */
  private record Followed(Path dir, int rank) {}

  private final Path root;
  private final boolean single;
  private final Limits limits;
  private final Map<Followed, MetricsFile> followed =
      new LinkedHashMap<>(16, 0.75f, true) {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<Followed, MetricsFile> eldest) {
          if (size() > FOLLOWED) {
            eldest.getValue().close(); // its points go back to the budget
            return true;
          }
          return false;
        }
      };

  RunCatalog(Path root, Limits limits) {
    this.root = root.toAbsolutePath().normalize();
    this.single = RunStatus.isRun(this.root);
    this.limits = limits;
  }

  Path root() {
    return root;
  }

  /** The run folders, sorted by name; links are left out. */
  List<Path> runs() {
    if (single) {
      return List.of(root);
    }
    try {
      List<Path> out = new ArrayList<>();
      for (Path dir : RunStatus.runsIn(root)) {
        if (!Files.isSymbolicLink(dir)) {
          out.add(dir);
        }
      }
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The run with this folder name; 400 for a name that is not safe, 404 for an unknown one. */
  RunView resolve(String name) {
    if (!Names.isSafe(name)) {
      throw ApiError.badRequest(
          "run name '"
              + printable(name)
              + "' is not allowed: use 1 to 64 letters, digits, '.', '-' or '_'");
    }
    for (Path dir : runs()) {
      Path file = dir.getFileName();
      if (file != null && file.toString().equals(name)) {
        return view(dir);
      }
    }
    // The runs folder's path is not named: a client has no business knowing it.
    throw ApiError.notFound("no run named '" + name + "' in this dashboard's runs folder");
  }

  RunView view(Path dir) {
    return new RunView(dir, this);
  }

  /**
   * The followed metrics of one rank of a run (0: the run's own), made when first asked for; found
   * only through {@link dev.cairn.run.RunFiles#forRank}, never from a request's text.
   */
  synchronized MetricsFile followed(RunView run, int rank) {
    return followed.computeIfAbsent(
        new Followed(run.dir(), rank),
        k -> {
          RunFiles f = run.files().forRank(rank);
          return new MetricsFile(
              f.metrics(),
              f.metricsSidecar(),
              limits.pointsPerSeries(),
              limits.metricNames(),
              limits.budget());
        });
  }

  /** How many metrics files are followed now (at most {@link #FOLLOWED}). */
  synchronized int followedFiles() {
    return followed.size();
  }

  /** A name quoted back in an error, cut short and without control characters. */
  static String printable(String s) {
    if (s == null) {
      return "";
    }
    String cut = s.length() > 80 ? s.substring(0, 80) + "..." : s;
    return cut.replaceAll("\\p{Cntrl}", "?");
  }
}

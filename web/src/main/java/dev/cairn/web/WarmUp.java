package dev.cairn.web;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cairn.run.RunFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a new server does while it starts, on threads of its own: it reads the metrics of the run
 * written to most recently (the one a user opening the dashboard most likely looks at first) and
 * loads the classes that thin a series and write it as JSON. On a cold JVM, reading a million-point
 * run and loading Jetty's request path are each a large part of the first answer; done in parallel,
 * from the moment the server is asked to start, the first request finds the run read or being read
 * (it waits for that read, under the metrics file's lock, never reads twice).
 *
 * <p>Nothing comes from a request: the run is one the catalog lists, its files are found by {@link
 * RunFiles}, and its points come from the catalog's budget like any followed run's (it is the first
 * followed run; the least recently used ones are dropped as before). A failure only costs the
 * speed-up: it is logged at debug level and the request reads the run as it always did.
 */
final class WarmUp {
  private static final Logger LOG = LoggerFactory.getLogger(WarmUp.class);

  private WarmUp() {}

  /**
   * Starts reading {@code catalog}'s newest run and, beside it, loading the classes of an answer,
   * each on a daemon thread of its own (on a cold JVM both are mostly single-threaded work).
   */
  static void start(RunCatalog catalog) {
    daemon("cairn-dashboard-warm-up-run", () -> run(catalog));
    daemon(
        "cairn-dashboard-warm-up-json",
        () -> {
          try {
            encodeOnce();
          } catch (IOException | RuntimeException e) {
            LOG.debug("dashboard warm-up stopped: {}", e.toString());
          }
        });
  }

  private static void daemon(String name, Runnable work) {
    Thread t = new Thread(work, name);
    t.setDaemon(true); // never keeps a JVM alive: a server closed meanwhile just drops it
    t.start();
  }

  /** Reads the newest run's metrics into the catalog. */
  static void run(RunCatalog catalog) {
    try {
      Path newest = newest(catalog.runs());
      if (newest != null) {
        catalog.view(newest).metrics();
      }
    } catch (IOException | RuntimeException e) {
      LOG.debug("dashboard warm-up stopped: {}", e.toString());
    }
  }

  /**
   * The run whose metrics.jsonl (or run.json, for a run without metrics) was modified last; null
   * when there is none.
   */
  static Path newest(List<Path> runs) {
    Path best = null;
    FileTime bestTime = null;
    for (Path dir : runs) {
      RunFiles f = new RunFiles(dir);
      FileTime t = modified(f.metrics());
      if (t == null) {
        t = modified(f.runJson());
      }
      if (t != null && (bestTime == null || t.compareTo(bestTime) > 0)) {
        best = dir;
        bestTime = t;
      }
    }
    return best;
  }

  private static FileTime modified(Path file) {
    try {
      return Files.getLastModifiedTime(file);
    } catch (IOException e) {
      return null;
    }
  }

  /** Loads the classes of one answer: thinning, the JSON tree and its writer. */
  static void encodeOnce() throws IOException {
    int n = 64;
    double[] xs = new double[n];
    double[] ys = new double[n];
    for (int i = 0; i < n; i++) {
      xs[i] = i;
      ys[i] = 1.0 / (1 + i);
    }
    int[] at = Downsampling.lttb(xs, ys, 0, n, 16);
    ObjectNode o = Json.MAPPER.createObjectNode();
    o.put("total_points", n);
    o.set("steps", Json.doubles(xs, at));
    o.set("values", Json.doubles(ys, at));
    Json.MAPPER.writeValueAsBytes(o);
  }
}

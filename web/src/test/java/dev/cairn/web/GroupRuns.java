package dev.cairn.web;

import dev.cairn.coordination.Coordinator;
import dev.cairn.coordination.Coordinators;
import dev.cairn.run.Cairn;
import dev.cairn.run.Run;
import dev.cairn.run.RunOptions;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;

/**
 * Runs of several ranks for the dashboard's tests, made as a job makes them: a real group (one
 * thread per rank in this JVM, coordinated over loopback), each rank opening the run with its
 * coordinator, logging and finishing. Rank 0 keeps the run folder; the others write their metrics
 * (with the sidecar) and heartbeat in ranks/rank-R/.
 */
final class GroupRuns {
  private GroupRuns() {}

  /** The loss rank {@code rank} logs at {@code step}: each rank its own curve. */
  static double loss(int rank, long step) {
    return 1.0 / (step + 1) + rank;
  }

  /** The learning rate rank {@code rank} logs (constant, its own). */
  static double lr(int rank) {
    return 0.01 * (rank + 1);
  }

  /** A finished run named {@code name} of {@code world} ranks, {@code steps} steps each. */
  static void finished(Path runs, String name, int world, int steps) throws Exception {
    List<Coordinator> group = new ArrayList<>();
    try {
      group.add(Coordinators.group(0, world).rendezvous("127.0.0.1", 0).start());
      int port = Coordinators.rendezvousPort(group.get(0));
      for (int r = 1; r < world; r++) {
        group.add(Coordinators.group(r, world).rendezvous("127.0.0.1", port).start());
      }
      List<FutureTask<Void>> ranks = new ArrayList<>();
      for (int r = 0; r < world; r++) {
        int rank = r;
        FutureTask<Void> f =
            new FutureTask<>(
                () -> {
                  RunOptions o =
                      RunOptions.named(name)
                          .totalSteps(steps)
                          .systemMetrics(Duration.ZERO)
                          .coordinator(group.get(rank));
                  try (Run run = Cairn.open(runs, o)) {
                    for (long s = 0; s < steps; s++) {
                      run.log(s, Map.of("loss", loss(rank, s), "lr", lr(rank)));
                    }
                    run.finish(Map.of());
                  }
                  return null;
                });
        Thread t = new Thread(f, "rank-" + r);
        t.setDaemon(true);
        t.start();
        ranks.add(f);
      }
      for (FutureTask<Void> f : ranks) {
        try {
          f.get();
        } catch (ExecutionException e) {
          throw new AssertionError("a rank failed making run " + name, e.getCause());
        }
      }
    } finally {
      group.forEach(Coordinator::close);
    }
  }
}

package dev.cairn.cli;

import static java.nio.charset.StandardCharsets.UTF_8;

import dev.cairn.coordination.Coordinator;
import dev.cairn.coordination.Coordinators;
import java.time.Duration;
import java.util.stream.Collectors;

/**
 * A rank started by {@code cairn launch} in {@link LaunchTest}: joins the group through the
 * environment, gathers every rank's number and prints it; on attempt 0, rank 1 then fails.
 */
public final class LaunchedRank {
  private LaunchedRank() {}

  public static void main(String[] args) throws Exception {
    Duration t = Duration.ofMinutes(2);
    try (Coordinator c = Coordinators.fromEnvironment(System.getenv())) {
      String all =
          c.allGather("ranks", Integer.toString(c.rank()).getBytes(UTF_8), t).stream()
              .map(b -> new String(b, UTF_8))
              .collect(Collectors.joining(","));
      System.out.println(
          "rank " + c.rank() + " of " + c.worldSize() + ", attempt " + c.attempt() + ": " + all);
      System.out.flush();
      if (c.attempt() == 0 && c.rank() == 1) {
        System.exit(3);
      }
      c.barrier("done", t);
    }
  }
}

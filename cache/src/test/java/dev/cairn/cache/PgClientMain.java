package dev.cairn.cache;

import dev.cairn.events.Events;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * A worker of the fleet tests, in its own JVM: asks "example I" for I in FROM..TO-1 (counting down
 * when FROM > TO) through a PostgreSQL cache with THREADS threads and claims of LEASE_MS, prints
 * "ACK i" once answer i is stored, and at the end "STATS paid hits waits takeovers".
 *
 * <p>Arguments: URI API_BASE FROM TO THREADS LEASE_MS
 */
public final class PgClientMain {
  private PgClientMain() {}

  public static void main(String[] args) throws Exception {
    URI base = URI.create(args[1]);
    int from = Integer.parseInt(args[2]);
    int to = Integer.parseInt(args[3]);
    int threads = Integer.parseInt(args[4]);
    Duration lease = Duration.ofMillis(Long.parseLong(args[5]));
    RetrySettings r =
        RetrySettings.defaults().backoff(Duration.ofMillis(20), Duration.ofMillis(200));
    try (ResponseCache cache = ResponseCache.open(args[0], lease)) {
      CachedCalls calls = new CachedCalls(cache, r, Events.NONE);
      OpenAiChat chat =
          new OpenAiChat(base, null, "teacher", Price.FREE, calls, Duration.ofMinutes(5));
      ExecutorService pool = Executors.newFixedThreadPool(threads);
      List<Future<?>> done = new ArrayList<>();
      int step = from <= to ? 1 : -1;
      for (int i = from; i != to; i += step) {
        int n = i;
        done.add(
            pool.submit(
                () -> {
                  chat.ask("example " + n, 4);
                  synchronized (System.out) {
                    System.out.println("ACK " + n);
                    System.out.flush();
                  }
                  return null;
                }));
      }
      for (Future<?> f : done) {
        f.get();
      }
      pool.shutdown();
      CallStats s = calls.stats();
      System.out.println(
          "STATS " + s.paid() + " " + s.hits() + " " + s.claimWaits() + " " + s.takeovers());
      System.out.flush();
    }
  }
}

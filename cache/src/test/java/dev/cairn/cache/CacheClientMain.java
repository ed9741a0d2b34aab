package dev.cairn.cache;

import dev.cairn.events.Events;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A child process of the tests: asks "example FROM" .. "example TO-1" through the cache and prints
 * "ACK i" once answer i is stored (what a training job would have acted on).
 */
public final class CacheClientMain {
  private CacheClientMain() {}

  public static void main(String[] args) throws Exception {
    Path db = Path.of(args[0]);
    URI base = URI.create(args[1]);
    int from = Integer.parseInt(args[2]);
    int to = Integer.parseInt(args[3]);
    RetrySettings r =
        RetrySettings.defaults().backoff(Duration.ofMillis(20), Duration.ofMillis(200));
    try (ResponseCache cache = ResponseCache.open(db)) {
      CachedCalls calls = new CachedCalls(cache, r, Events.NONE);
      OpenAiChat chat =
          new OpenAiChat(base, null, "teacher", Price.FREE, calls, Duration.ofSeconds(10));
      for (int i = from; i < to; i++) {
        chat.ask("example " + i, 4);
        System.out.println("ACK " + i);
        System.out.flush();
      }
    }
  }
}

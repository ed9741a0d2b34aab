package dev.cairn.cache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cairn.events.Events;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Child JVMs: killed with -9 mid-run, and two processes sharing one cache file. */
class ProcessesTest {
  @TempDir Path dir;

  private static Process child(Path db, FakeApi api, int from, int to) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(CacheClientMain.class.getName());
    cmd.add(db.toString());
    cmd.add(api.base().toString());
    cmd.add(Integer.toString(from));
    cmd.add(Integer.toString(to));
    return new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
  }

  @Test
  void afterAKillOnlyTheCallInFlightIsPaidAgain() throws Exception {
    Path db = dir.resolve("responses.db");
    try (FakeApi api = new FakeApi()) {
      api.delayMillis = 15;
      Set<Integer> acked = new HashSet<>();
      Process p = child(db, api, 0, 400);
      try (BufferedReader r =
          new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          acked.add(Integer.parseInt(line.substring(4)));
          if (acked.size() == 60) {
            p.destroyForcibly(); // SIGKILL in the middle of the run
            break;
          }
        }
      }
      p.waitFor(30, TimeUnit.SECONDS);
      int paidBeforeKill = api.requests.get();
      Process again = child(db, api, 0, 400);
      assertThat(again.waitFor(2, TimeUnit.MINUTES)).isTrue();
      assertThat(again.exitValue()).isZero();

      for (int i : acked) {
        assertThat(api.count("example " + i))
            .as("acknowledged answer %d paid once", i)
            .isEqualTo(1);
      }
      int repeated = 0;
      for (int i = 0; i < 400; i++) {
        int c = api.count("example " + i);
        assertThat(c).as("example %d", i).isBetween(1, 2);
        repeated += c - 1;
      }
      // Only what was in flight at the kill (answered or not yet stored) is asked again.
      assertThat(repeated).isLessThanOrEqualTo(paidBeforeKill - acked.size());
      assertThat(repeated).isLessThanOrEqualTo(1);
      try (ResponseCache c = ResponseCache.open(db)) {
        assertThat(c.size()).isEqualTo(400);
      }
    }
  }

  @Test
  void twoProcessesShareOneCacheFile() throws Exception {
    Path db = dir.resolve("shared.db");
    try (FakeApi api = new FakeApi()) {
      // The child asks 0..199 while this process asks 100..299: 100..199 are asked by both.
      Process p = child(db, api, 0, 200);
      try (ResponseCache cache = ResponseCache.open(db)) {
        CachedCalls calls =
            new CachedCalls(
                cache,
                RetrySettings.defaults().backoff(Duration.ofMillis(20), Duration.ofMillis(200)),
                Events.NONE);
        OpenAiChat chat =
            new OpenAiChat(api.base(), null, "teacher", Price.FREE, calls, Duration.ofSeconds(10));
        for (int i = 299; i >= 100; i--) {
          assertThat(chat.ask("example " + i, 4).content()).isEqualTo("7");
        }
        assertThat(p.waitFor(2, TimeUnit.MINUTES)).isTrue();
        assertThat(p.exitValue()).isZero();
        assertThat(cache.size()).isEqualTo(300);
        // Everything the other process stored is a hit here.
        long before = api.requests.get();
        for (int i = 0; i < 300; i++) {
          assertThat(chat.ask("example " + i, 4).fromCache()).isTrue();
        }
        assertThat(api.requests.get()).isEqualTo(before);
      }
      for (int i = 0; i < 300; i++) {
        assertThat(api.count("example " + i)).isBetween(1, 2);
      }
    }
  }
}

package dev.cairn.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cairn.events.EventType;
import dev.cairn.events.Events;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CachedCallsTest {
  @TempDir Path dir;

  private FakeApi api;
  private ResponseCache cache;
  private final List<String> events = Collections.synchronizedList(new ArrayList<>());
  private final Events recorder =
      (type, step, message, fields) -> events.add(type.wireName() + ": " + message);

  private static final Price PRICE = new Price(1.0, 2.0); // per million tokens

  @BeforeEach
  void start() throws Exception {
    api = new FakeApi();
    cache = ResponseCache.open(dir.resolve("cache").resolve("responses.db"));
  }

  @AfterEach
  void stop() throws Exception {
    cache.close();
    api.close();
  }

  private OpenAiChat client(RetrySettings r) {
    return new OpenAiChat(
        api.base(),
        "sk-test",
        "teacher-1",
        PRICE,
        new CachedCalls(cache, r, recorder),
        r.timeout());
  }

  private static RetrySettings fast() {
    return RetrySettings.defaults()
        .backoff(Duration.ofMillis(20), Duration.ofMillis(200))
        .timeout(Duration.ofSeconds(5));
  }

  @Test
  void serverErrorsRateLimitsDropsAndTimeoutsAreRetriedUntilAnAnswer() throws Exception {
    OpenAiChat chat = client(fast().timeout(Duration.ofMillis(400)));
    CachedCalls calls = callsOf(chat);
    api.script.add(new FakeApi.Status(500, null));
    api.script.add(new FakeApi.Status(503, null));
    Answer a = chat.ask("five hundreds", 4);
    assertThat(a.content()).isEqualTo("7");
    assertThat(a.attempts()).isEqualTo(3);
    assertThat(api.count("five hundreds")).isEqualTo(3);

    api.script.add(new FakeApi.Status(429, "1"));
    long t0 = System.nanoTime();
    chat.ask("rate limited", 4);
    assertThat((System.nanoTime() - t0) / 1e9).as("Retry-After: 1 honoured").isGreaterThan(0.95);
    assertThat(api.count("rate limited")).isEqualTo(2);

    api.script.add(new FakeApi.Drop());
    chat.ask("dropped", 4);
    assertThat(api.count("dropped")).isEqualTo(2);

    api.script.add(new FakeApi.Slow(1500));
    chat.ask("slow", 4);
    assertThat(api.count("slow")).isEqualTo(2);

    CallStats s = calls.stats();
    assertThat(s.paid()).isEqualTo(4);
    assertThat(s.retries()).isEqualTo(5);
    assertThat(s.failedAttempts()).isEqualTo(5);
    assertThat(s.connectionFailures()).as("drop + timeout").isEqualTo(2);
    assertThat(s.cost())
        .isCloseTo(4 * (12 * 1.0 + 1 * 2.0) / 1e6, org.assertj.core.data.Offset.offset(1e-12));
    assertThat(cache.size()).isEqualTo(4);
  }

  private CachedCalls callsOf(OpenAiChat chat) throws Exception {
    java.lang.reflect.Field f = OpenAiChat.class.getDeclaredField("calls");
    f.setAccessible(true);
    return (CachedCalls) f.get(chat);
  }

  @Test
  void otherClientErrorsAreNotRetried() throws Exception {
    OpenAiChat chat = client(fast());
    api.script.add(new FakeApi.Status(400, null));
    assertThatThrownBy(() -> chat.ask("bad request", 4))
        .isInstanceOf(CallFailedException.class)
        .hasMessageContaining("refused the request (HTTP 400")
        .hasMessageContaining("not retried");
    assertThat(api.count("bad request")).isEqualTo(1);
    assertThat(cache.size()).isZero();
    assertThat(events).anyMatch(e -> e.startsWith("api_call_failed"));
  }

  @Test
  void breakerOpensAfterRepeatedFailuresFailsFastThenClosesAgain() throws Exception {
    // A deadline shorter than the breaker's delay: a call that cannot wait fails at once.
    OpenAiChat chat =
        client(
            fast().attempts(1).breaker(3, Duration.ofMillis(500)).deadline(Duration.ofMillis(100)));
    for (int i = 0; i < 3; i++) {
      api.script.add(new FakeApi.Status(500, null));
      int n = i;
      assertThatThrownBy(() -> chat.ask("failing " + n, 4)).isInstanceOf(CallFailedException.class);
    }
    long opened = System.nanoTime();
    assertThat(events).anyMatch(e -> e.startsWith("api_circuit_open"));
    int before = api.requests.get();
    assertThatThrownBy(() -> chat.ask("while open", 4))
        .isInstanceOf(CallFailedException.class)
        .hasMessageContaining("circuit breaker is open");
    assertThat(api.requests.get()).as("no request while open").isEqualTo(before);
    // Failsafe's breaker keeps its own time, so wait for the condition: keep asking until it
    // lets a call through. Every refused call must not reach the server, and the first one let
    // through must come after the breaker's delay.
    Answer after = null;
    long deadline = opened + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
    while (after == null && System.nanoTime() < deadline) {
      try {
        after = chat.ask("after the delay", 4);
      } catch (CallFailedException e) {
        assertThat(e).hasMessageContaining("circuit breaker is open");
        assertThat(api.requests.get()).isEqualTo(before);
        java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
      }
    }
    assertThat(after).as("the breaker let a call through").isNotNull();
    assertThat(System.nanoTime() - opened).isGreaterThanOrEqualTo(450_000_000L);
    assertThat(after.content()).isEqualTo("7");
    assertThat(events).anyMatch(e -> e.startsWith("api_circuit_closed"));
    assertThat(callsOf(chat).stats().breakerOpened()).isEqualTo(1);
  }

  @Test
  void anOpenBreakerIsAPauseWithinTheDeadline() throws Exception {
    // Three failed first attempts in a row open the breaker; the calls that meet it open wait for
    // it to half-open and are answered, none fails.
    OpenAiChat chat = client(fast().breaker(3, Duration.ofMillis(300)));
    for (int i = 0; i < 3; i++) {
      api.script.add(new FakeApi.Status(500, null));
    }
    List<Answer> answers = Collections.synchronizedList(new ArrayList<>());
    List<Throwable> failures = Collections.synchronizedList(new ArrayList<>());
    List<Thread> threads = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      int n = i;
      Thread t =
          new Thread(
              () -> {
                try {
                  answers.add(chat.ask("prompt " + n, 4));
                } catch (Exception e) {
                  failures.add(e);
                }
              });
      threads.add(t);
    }
    // The first call alone meets the three failures (its retries), so the breaker opens.
    answers.add(chat.ask("first", 4));
    threads.forEach(Thread::start);
    for (Thread t : threads) {
      t.join();
    }
    assertThat(failures).isEmpty();
    assertThat(answers).hasSize(7).allMatch(a -> a.content().equals("7"));
    assertThat(events).anyMatch(e -> e.startsWith("api_circuit_open"));
    CallStats s = callsOf(chat).stats();
    assertThat(s.breakerOpened()).isEqualTo(1);
    assertThat(s.failedCalls()).isZero();
  }

  @Test
  void aRepeatedRequestIsAnsweredFromTheCacheAndCountedAsSaved() throws Exception {
    OpenAiChat chat = client(fast());
    Answer first = chat.ask("same", 4);
    Answer second = chat.ask("same", 4);
    assertThat(first.fromCache()).isFalse();
    assertThat(second.fromCache()).isTrue();
    assertThat(second.content()).isEqualTo(first.content());
    assertThat(api.count("same")).isEqualTo(1);
    CallStats s = callsOf(chat).stats();
    assertThat(s.hits()).isEqualTo(1);
    assertThat(s.saved()).isEqualTo(first.cost()).isPositive();
    // Another parameter is another question.
    chat.ask("same", 5);
    assertThat(api.count("same")).isEqualTo(2);
    // Key order does not matter.
    ObjectNode a = Requests.JSON.createObjectNode().put("b", 1).put("a", 2);
    ObjectNode b = Requests.JSON.createObjectNode().put("a", 2).put("b", 1);
    assertThat(Requests.key(Requests.canonical(a))).isEqualTo(Requests.key(Requests.canonical(b)));
  }

  @Test
  void concurrentIdenticalRequestsAreSentOnce() throws Exception {
    OpenAiChat chat = client(fast());
    api.delayMillis = 300;
    ExecutorService pool = Executors.newFixedThreadPool(8);
    CountDownLatch go = new CountDownLatch(1);
    List<Future<Answer>> fs = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      fs.add(
          pool.submit(
              () -> {
                go.await();
                return chat.ask("together", 4);
              }));
    }
    go.countDown();
    for (Future<Answer> f : fs) {
      assertThat(f.get().content()).isEqualTo("7");
    }
    pool.shutdown();
    assertThat(api.count("together")).isEqualTo(1);
    CallStats s = callsOf(chat).stats();
    assertThat(s.paid()).isEqualTo(1);
    assertThat(s.coalesced() + s.hits()).isEqualTo(7);
  }

  @Test
  void garbageOrCutShortAnswersAreRetriedAndNeverCached() throws Exception {
    OpenAiChat chat = client(fast().attempts(2));
    api.script.add(new FakeApi.Garbage());
    api.script.add(new FakeApi.Truncated());
    assertThatThrownBy(() -> chat.ask("garbled", 4))
        .isInstanceOf(CallFailedException.class)
        .hasMessageContaining("not JSON (or was cut short)");
    assertThat(cache.size()).isZero();
    assertThat(chat.ask("garbled", 4).content()).isEqualTo("7");
    assertThat(cache.size()).isEqualTo(1);
  }

  @Test
  void aFullCacheStillReturnsThePaidAnswerWithAWarning() throws Exception {
    OpenAiChat chat = client(fast());
    api.answer = p -> "x".repeat(2000);
    ((SqliteCache) cache).maxPages(8);
    int stored = 0;
    Answer last = null;
    for (int i = 0; i < 50 && callsOf(chat).stats().storeFailures() == 0; i++) {
      last = chat.ask("big " + i, 4);
      stored++;
    }
    assertThat(callsOf(chat).stats().storeFailures()).isEqualTo(1);
    assertThat(last).isNotNull();
    assertThat(last.content()).startsWith("xxx");
    assertThat(events).anyMatch(e -> e.contains("could not be cached") && e.contains("is full"));
    assertThat(cache.size()).isLessThan(stored);
  }

  @Test
  void foreignOrDamagedFilesAreRefusedAndLeftAlone() throws Exception {
    Path text = dir.resolve("notes.db");
    Files.writeString(text, "these are my notes, not a database\n");
    assertThatThrownBy(() -> ResponseCache.open(text))
        .isInstanceOf(CacheFileException.class)
        .hasMessageContaining("not an SQLite database");
    assertThat(Files.readString(text)).isEqualTo("these are my notes, not a database\n");

    Path other = dir.resolve("other.db");
    try (var c = java.sql.DriverManager.getConnection("jdbc:sqlite:" + other);
        var st = c.createStatement()) {
      st.executeUpdate("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)");
    }
    byte[] before = Files.readAllBytes(other);
    assertThatThrownBy(() -> ResponseCache.open(other))
        .isInstanceOf(CacheFileException.class)
        .hasMessageContaining("another program (tables: users)");
    assertThat(Files.readAllBytes(other)).isEqualTo(before);

    Path damaged = dir.resolve("damaged.db");
    try (ResponseCache c = ResponseCache.open(damaged)) {
      for (int i = 0; i < 200; i++) {
        c.put(
            new CachedAnswer(
                "k" + i,
                "{}",
                ContentCodec.wrap("{}", "v" + i),
                1,
                1,
                0,
                1,
                1,
                java.time.Instant.now()));
      }
    }
    byte[] b = Files.readAllBytes(damaged);
    for (int i = 4096; i < b.length; i += 97) {
      b[i] = (byte) 0x5A; // scribble over the pages after the header
    }
    Files.write(damaged, b);
    assertThatThrownBy(() -> ResponseCache.open(damaged))
        .isInstanceOf(CacheFileException.class)
        .hasMessageContaining("damaged");
  }

  static boolean isEvent(String e, EventType t) {
    return e.startsWith(t.wireName());
  }
}

package dev.cairn.cli.demo;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.cairn.cache.Price;
import dev.cairn.cache.RetrySettings;
import dev.cairn.cli.Main;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code cairn demo --teacher}: labels through the response cache, never paid for twice. */
class DemoTeacherTest {
  @TempDir Path dir;

  private HttpServer server;
  private final Map<String, AtomicInteger> perPrompt = new ConcurrentHashMap<>();
  private final AtomicInteger requests = new AtomicInteger();
  private volatile long delayMillis;

  /** Fail the first ten requests, then the first attempt of about a quarter of the prompts. */
  private volatile boolean flaky;

  /** Answer nothing but 500s. */
  private volatile boolean down;

  private final AtomicInteger arrivals = new AtomicInteger();

  @BeforeEach
  void start() throws Exception {
    ObjectMapper json = new ObjectMapper();
    // Without TCP_NODELAY the JDK server's small answers wait ~40 ms for delayed ACKs.
    System.setProperty("sun.net.httpserver.nodelay", "true");
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext(
        "/v1/chat/completions",
        ex -> {
          try (ex) {
            JsonNode body = json.readTree(ex.getRequestBody());
            String prompt = body.path("messages").path(0).path("content").asText();
            requests.incrementAndGet();
            int attempt =
                perPrompt.computeIfAbsent(prompt, k -> new AtomicInteger()).incrementAndGet();
            if (down) {
              fail(ex, 500, null);
              return;
            }
            // The first ten requests all fail (a bad moment: the breaker, 5 in a row, surely
            // opens), then the first attempt of about a quarter of the prompts.
            boolean burst = flaky && arrivals.getAndIncrement() < 10;
            if (burst || (flaky && attempt == 1 && Math.floorMod(prompt.hashCode(), 4) == 0)) {
              switch (Math.floorMod(prompt.hashCode() / 4, 3)) {
                case 0 -> fail(ex, 500, null);
                case 1 -> fail(ex, 429, "1");
                default -> {
                  return; // a dropped connection: closed without an answer
                }
              }
              return;
            }
            if (delayMillis > 0) {
              Thread.sleep(delayMillis);
            }
            String answer = Integer.toString(Math.floorMod(prompt.hashCode(), 10));
            byte[] b =
                ("{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\""
                        + answer
                        + "\"}}],\"usage\":{\"prompt_tokens\":90,\"completion_tokens\":1}}")
                    .getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, b.length);
            try (OutputStream out = ex.getResponseBody()) {
              out.write(b);
            }
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        });
    server.setExecutor(Executors.newFixedThreadPool(16));
    server.start();
  }

  private static void fail(com.sun.net.httpserver.HttpExchange ex, int code, String retryAfter)
      throws java.io.IOException {
    if (retryAfter != null) {
      ex.getResponseHeaders().add("Retry-After", retryAfter);
    }
    byte[] b = "{\"error\":{\"message\":\"flaky\"}}".getBytes(StandardCharsets.UTF_8);
    ex.sendResponseHeaders(code, b.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(b);
    }
  }

  @AfterEach
  void stop() {
    server.stop(0);
  }

  private String url() {
    return "http://127.0.0.1:" + server.getAddress().getPort() + "/v1";
  }

  private String[] demo(String run, String... more) {
    List<String> a =
        new ArrayList<>(
            List.of(
                "demo",
                "--dir",
                dir.toString(),
                "--run",
                run,
                "--steps",
                "40",
                "--hidden",
                "16",
                "--validate-every",
                "20",
                "--no-plots",
                "--teacher",
                url(),
                "--teacher-price",
                "0.15,0.60",
                "--examples",
                "1024"));
    a.addAll(List.of(more));
    return a.toArray(String[]::new);
  }

  @Test
  void labelsComeFromTheTeacherOnceAndFromTheCacheAfterwards() throws Exception {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    assertThat(Main.run(demo("t1"), new PrintWriter(out, true), new PrintWriter(err, true)))
        .as(err.toString())
        .isZero();
    assertThat(out.toString())
        .contains("teacher labels: 1024 answers, 0 from the cache, 1024 paid");
    assertThat(requests.get()).isEqualTo(1024);
    String metrics = Files.readString(dir.resolve("t1").resolve("metrics.jsonl"));
    assertThat(metrics).contains("\"teacher_paid_calls\":1024.0");

    // Another run sharing the cache file pays nothing.
    StringWriter out2 = new StringWriter();
    Path cache = dir.resolve("t1").resolve("cache").resolve("responses.db");
    assertThat(
            Main.run(
                demo("t2", "--cache", cache.toString()),
                new PrintWriter(out2, true),
                new PrintWriter(err, true)))
        .isZero();
    assertThat(out2.toString()).contains("1024 from the cache, 0 paid");
    assertThat(requests.get()).isEqualTo(1024);
  }

  @Test
  void aRerunAfterKillMinus9PaysOnlyForWhatItHadNotReceived() throws Exception {
    delayMillis = 20;
    List<String> cmd = dev.cairn.cli.ChildJvm.cairn(List.of(demo("killed")));
    Path log = dir.resolve("killed.log");
    Process p =
        new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (requests.get() < 300 && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertThat(requests.get()).as("labelling started").isGreaterThanOrEqualTo(300);
    p.destroyForcibly().waitFor(); // SIGKILL while labelling
    int paidBeforeKill = requests.get();
    assertThat(paidBeforeKill).isLessThan(1024);

    Process again =
        new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    assertThat(again.waitFor(5, TimeUnit.MINUTES)).isTrue();
    assertThat(again.exitValue()).as(Files.readString(log)).isZero();
    int repeated = 0;
    for (AtomicInteger c : perPrompt.values()) {
      assertThat(c.get()).isBetween(1, 2);
      repeated += c.get() - 1;
    }
    assertThat(perPrompt).hasSize(1024);
    // At most the requests in flight at the kill (8 threads) are asked again.
    assertThat(repeated).isLessThanOrEqualTo(8);
    assertThat(Files.readString(log))
        .containsPattern("teacher labels: 1024 answers, \\d+ from the cache, \\d+ paid");
  }

  @Test
  void aFlakyTeacherPausesTheJobInsteadOfEndingIt() throws Exception {
    flaky = true;
    // The breaker's usual 30 s pause, shortened so the test does not sit through it.
    RetrySettings retry =
        RetrySettings.defaults()
            .backoff(Duration.ofMillis(50), Duration.ofSeconds(1))
            .breaker(5, Duration.ofSeconds(1));
    TeacherLabels.Teacher teacher =
        new TeacherLabels.Teacher(
            java.net.URI.create(url()), "m", null, Price.FREE, null, 8, retry);
    DemoSettings settings = new DemoSettings(40, 42, 64, 16, 0.003f, 1, 20, 20, null, 1024);
    StringWriter out = new StringWriter();
    DemoJob.Result r =
        new DemoJob(settings, dir, "flaky")
            .plots(null)
            .teacher(teacher)
            .console(new PrintWriter(out, true))
            .run();
    assertThat(r.endStep()).isEqualTo(40);
    assertThat(out.toString()).contains("teacher labels: 1024 answers");
    String events = Files.readString(dir.resolve("flaky/events.jsonl"));
    assertThat(events).as("the breaker opened and the job went on").contains("api_circuit_open");
    assertThat(events).doesNotContain("api_call_failed");
    assertThat(perPrompt).hasSize(1024);
    assertThat(perPrompt.values()).allMatch(c -> c.get() <= 4);
    String log = Files.readString(dir.resolve("flaky/training.log"));
    assertThat(log).doesNotContain("ClosedChannelException").doesNotContain("sleep interrupted");
  }

  @Test
  void aTeacherDownPastTheDeadlineFailsWithOneClearLine() throws Exception {
    down = true;
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code =
        Main.run(
            demo("down", "--teacher-deadline", "2s"),
            new PrintWriter(out, true),
            new PrintWriter(err, true));
    assertThat(code).isNotZero();
    List<String> lines = err.toString().lines().toList();
    assertThat(lines).hasSize(1);
    assertThat(lines.get(0)).startsWith("cairn demo: ").contains("API");
    String events = Files.readString(dir.resolve("down/events.jsonl"));
    assertThat(events).doesNotContain("sleep interrupted").doesNotContain("stopped while");
    List<String> ends =
        Files.readAllLines(dir.resolve("down/sessions.jsonl")).stream()
            .filter(l -> l.contains("\"end\""))
            .toList();
    assertThat(ends).singleElement().asString().contains("\"failed\"");
    assertThat(Files.readString(dir.resolve("down/training.log")))
        .doesNotContain("ClosedChannelException");
  }

  @Test
  void runsSharingOnePostgresCachePayForEachLabelOnce() throws Exception {
    try (EmbeddedPostgres pg = EmbeddedPostgres.builder().start()) {
      String uri = "postgresql://postgres@127.0.0.1:" + pg.getPort() + "/postgres";
      StringWriter err = new StringWriter();
      StringWriter out1 = new StringWriter();
      assertThat(
              Main.run(
                  demo("p1", "--cache", uri), new PrintWriter(out1, true), new PrintWriter(err)))
          .as(err.toString())
          .isZero();
      assertThat(out1.toString()).contains("0 from the cache, 1024 paid").contains("cache " + uri);
      StringWriter out2 = new StringWriter();
      assertThat(
              Main.run(
                  demo("p2", "--cache", uri), new PrintWriter(out2, true), new PrintWriter(err)))
          .as(err.toString())
          .isZero();
      assertThat(out2.toString()).contains("1024 from the cache, 0 paid");
      assertThat(requests.get()).isEqualTo(1024);
      assertThat(Files.exists(dir.resolve("p1/cache/responses.db"))).isFalse();
    }
  }

  @Test
  void aBadCacheUriIsOneLineBeforeTheRunStarts() {
    StringWriter err = new StringWriter();
    int code =
        Main.run(
            demo("baduri", "--cache", "postgresql://cairn:hunter2@db.example"),
            new PrintWriter(new StringWriter(), true),
            new PrintWriter(err, true));
    assertThat(code).isEqualTo(2);
    assertThat(err.toString().lines().toList())
        .containsExactly(
            "cairn demo: response cache postgresql://cairn:***@db.example is not a PostgreSQL"
                + " URI: name one database after the server, like"
                + " postgresql://user:password@host:5432/database");
    assertThat(Files.exists(dir.resolve("baduri"))).isFalse();
  }

  @Test
  void anUnreachableCacheDatabaseIsOneLine() throws Exception {
    int free;
    try (java.net.ServerSocket s =
        new java.net.ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      free = s.getLocalPort();
    }
    StringWriter err = new StringWriter();
    int code =
        Main.run(
            demo("nodb", "--cache", "postgresql://cairn:hunter2@127.0.0.1:" + free + "/cache"),
            new PrintWriter(new StringWriter(), true),
            new PrintWriter(err, true));
    assertThat(code).isEqualTo(1);
    assertThat(err.toString().lines().toList())
        .containsExactly(
            "cairn demo: response cache postgresql://cairn@127.0.0.1:"
                + free
                + "/cache: cannot reach PostgreSQL at 127.0.0.1:"
                + free
                + " (connection refused); check the host and port, and that the server is"
                + " running");
    assertThat(requests.get()).isZero();
  }

  @Test
  void aBadTeacherDeadlineIsOneLineNamingTheOption() {
    StringWriter err = new StringWriter();
    int code =
        Main.run(
            demo("bad", "--teacher-deadline", "soon"),
            new PrintWriter(new StringWriter(), true),
            new PrintWriter(err, true));
    assertThat(code).isEqualTo(2);
    assertThat(err.toString()).contains("--teacher-deadline").contains("not a duration");
  }
}

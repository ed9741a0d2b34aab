package dev.cairn.cli.demo;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.cairn.cli.Main;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
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
            perPrompt.computeIfAbsent(prompt, k -> new AtomicInteger()).incrementAndGet();
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
}

package dev.cairn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code cairn serve} and {@code cairn demo --serve}, each in its own JVM, seen over HTTP. */
class ServeCommandTest {
  private static final Pattern URL =
      Pattern.compile("Cairn dashboard: (http://127\\.0\\.0\\.1:(\\d+)/#token=([0-9a-f]{64}))");

  @TempDir Path dir;

  /** Reads the child's output until the dashboard line; returns {port, token}. */
  private static String[] dashboardLine(Process p, List<String> seen) throws IOException {
    BufferedReader r =
        new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    String line;
    while ((line = r.readLine()) != null) {
      seen.add(line);
      Matcher m = URL.matcher(line);
      if (m.find()) {
        Thread drain = new Thread(() -> r.lines().forEach(l -> {}), "drain");
        drain.setDaemon(true);
        drain.start();
        return new String[] {m.group(2), m.group(3)};
      }
    }
    throw new AssertionError("no dashboard URL printed: " + seen);
  }

  private static HttpResponse<String> get(String port, String token, String path)
      throws IOException, InterruptedException {
    return HttpClient.newHttpClient()
        .send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .header("Authorization", "Bearer " + token)
                .build(),
            HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void demoServesItsOwnRunWhileTraining() throws Exception {
    Process p =
        new ProcessBuilder(
                ChildJvm.cairn(
                    List.of(
                        "demo",
                        "--dir",
                        dir.toString(),
                        "--steps",
                        "100000",
                        "--no-plots",
                        "--serve=0")))
            .redirectErrorStream(true)
            .start();
    List<String> seen = new ArrayList<>();
    try {
      String[] pt = dashboardLine(p, seen);
      JsonNode run = null;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
      while (System.nanoTime() < deadline) {
        HttpResponse<String> r = get(pt[0], pt[1], "/api/runs/demo");
        if (r.statusCode() == 200) {
          run = Json.MAPPER.readTree(r.body());
          if (run.path("status").asText().equals("running") && run.path("step").asLong() > 0) {
            break;
          }
        }
        Thread.sleep(100);
      }
      assertThat(run).isNotNull();
      assertThat(run.path("status").asText()).isEqualTo("running");
      assertThat(run.path("config").path("job").asText()).isEqualTo("cairn demo");
      HttpResponse<String> page = get(pt[0], pt[1], "/");
      assertThat(page.statusCode()).isEqualTo(200);
      assertThat(page.body()).contains("Cairn dashboard");
    } finally {
      p.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    }
  }

  @Test
  void serveListsRunsOfOtherProcessesAndStopsOnSigterm() throws Exception {
    StringWriter out = new StringWriter();
    int code =
        Main.run(
            new String[] {"demo", "--dir", dir.toString(), "--steps", "50", "--no-plots"},
            new PrintWriter(out),
            new PrintWriter(new StringWriter()));
    assertThat(code).as(out.toString()).isZero();
    Process p =
        new ProcessBuilder(ChildJvm.cairn(List.of("serve", dir.toString(), "--port", "0")))
            .redirectErrorStream(true)
            .start();
    try {
      String[] pt = dashboardLine(p, new ArrayList<>());
      HttpResponse<String> r = get(pt[0], pt[1], "/api/runs");
      assertThat(r.statusCode()).isEqualTo(200);
      JsonNode runs = Json.MAPPER.readTree(r.body());
      assertThat(runs).hasSize(1);
      assertThat(runs.get(0).path("name").asText()).isEqualTo("demo");
      assertThat(runs.get(0).path("status").asText()).isEqualTo("finished");
      assertThat(get(pt[0], "f".repeat(64), "/api/runs").statusCode()).isEqualTo(401);
      p.destroy(); // SIGTERM: the shutdown hook closes the server
      assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    } finally {
      p.destroyForcibly();
    }
  }

  @Test
  void refusesAMissingFolderABadPortAndAnUnwritableTokenFile() throws Exception {
    StringWriter err = new StringWriter();
    int code =
        Main.run(
            new String[] {"serve", dir.resolve("nope").toString()},
            new PrintWriter(new StringWriter()),
            new PrintWriter(err));
    assertThat(code).isEqualTo(2);
    assertThat(err.toString()).contains("no runs folder at").doesNotContain("Exception");
    StringWriter err2 = new StringWriter();
    int code2 =
        Main.run(
            new String[] {"serve", dir.toString(), "--port", "70000"},
            new PrintWriter(new StringWriter()),
            new PrintWriter(err2));
    assertThat(code2).isEqualTo(2);
    assertThat(err2.toString()).contains("port must be 0 to 65535");
    java.nio.file.Path blocker = dir.resolve("a-file");
    java.nio.file.Files.writeString(blocker, "x");
    StringWriter err3 = new StringWriter();
    int code3 =
        Main.run(
            new String[] {
              "serve",
              dir.toString(),
              "--port",
              "0",
              "--token-file",
              blocker.resolve("token").toString()
            },
            new PrintWriter(new StringWriter()),
            new PrintWriter(err3));
    assertThat(code3).isEqualTo(2);
    assertThat(err3.toString())
        .contains("cannot keep the dashboard token in")
        .contains("--token-file");
  }

  @Test
  void listeningBeyondLoopbackWarns() throws Exception {
    StringWriter err = new StringWriter();
    try (dev.cairn.web.Dashboard d =
        ServeCommand.start(dir, "0.0.0.0", 0, dir.resolve("token"), new PrintWriter(err))) {
      assertThat(d.loopbackOnly()).isFalse();
      assertThat(err.toString())
          .startsWith("warning: the dashboard listens on 0.0.0.0:" + d.port())
          .contains("unencrypted");
      String token = java.nio.file.Files.readString(dir.resolve("token")).trim();
      assertThat(get(String.valueOf(d.port()), token, "/api/runs").statusCode()).isEqualTo(200);
    }
    StringWriter quiet = new StringWriter();
    try (dev.cairn.web.Dashboard d =
        ServeCommand.start(dir, "127.0.0.1", 0, dir.resolve("token"), new PrintWriter(quiet))) {
      assertThat(d.loopbackOnly()).isTrue();
      assertThat(quiet.toString()).isEmpty();
    }
  }
}

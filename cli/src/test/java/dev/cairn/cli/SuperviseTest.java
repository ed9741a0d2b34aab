package dev.cairn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cairn.run.Cairn;
import dev.cairn.run.Run;
import dev.cairn.run.RunOptions;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SuperviseTest {
  @TempDir Path dir;

  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private int cairn(String... args) {
    return Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
  }

  @Test
  void alwaysFailingCommandGivesUpWithItsExitCode() throws Exception {
    Path count = dir.resolve("count");
    int code =
        cairn(
            "supervise",
            "--max-restarts",
            "2",
            "--backoff",
            "10ms",
            "--",
            "sh",
            "-c",
            "echo x >> '" + count + "'; exit 3");
    assertThat(code).isEqualTo(3);
    assertThat(Files.readAllLines(count)).hasSize(3); // first attempt + 2 restarts
    assertThat(err.toString())
        .contains("exited with code 3; restart 1 of 2")
        .contains("restart 2 of 2")
        .contains("giving up after 2 restarts");
  }

  @Test
  void notifyPostsToTheWebhookWhenTheJobIsKilledAndWhenSupervisionGivesUp() throws Exception {
    List<String> texts = java.util.Collections.synchronizedList(new ArrayList<>());
    com.sun.net.httpserver.HttpServer server =
        com.sun.net.httpserver.HttpServer.create(new java.net.InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext(
        "/",
        ex -> {
          texts.add(
              new ObjectMapper()
                  .readTree(ex.getRequestBody().readAllBytes())
                  .path("text")
                  .asText());
          ex.sendResponseHeaders(200, -1);
          ex.close();
        });
    server.start();
    try {
      String url =
          "http://127.0.0.1:" + server.getAddress().getPort() + "/hooks/secret-part-of-url";
      int code =
          cairn(
              "supervise",
              "--max-restarts",
              "1",
              "--backoff",
              "10ms",
              "--notify",
              url,
              "--",
              "sh",
              "-c",
              "kill -9 $$");
      assertThat(code).isEqualTo(137);
    } finally {
      server.stop(0);
    }
    // close() of the webhook waited for the queue: both alerts arrived before supervise returned
    assertThat(texts)
        .containsExactly(
            "Cairn: the supervised job (sh): the job was killed by SIGKILL (exit code 137);"
                + " cairn supervise restarts it (1 of 1) in 0.0 s",
            "Cairn: the supervised job (sh): the job was killed by SIGKILL (exit code 137);"
                + " cairn supervise gave up after 1 restart");
    assertThat(out.toString() + err.toString()).doesNotContain("secret-part-of-url");
  }

  @Test
  void flakyCommandSucceedsOnTheThirdAttempt() throws Exception {
    Path count = dir.resolve("count");
    String script =
        "echo x >> '" + count + "'; [ $(wc -l < '" + count + "') -ge 3 ] && exit 0; exit 1";
    long t0 = System.nanoTime();
    int code =
        cairn("supervise", "--max-restarts", "5", "--backoff", "200ms", "--", "sh", "-c", script);
    long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    assertThat(code).isZero();
    assertThat(Files.readAllLines(count)).hasSize(3);
    // Backoff: at least half of 200 ms, then half of 400 ms (equal jitter).
    assertThat(ms).isGreaterThanOrEqualTo(300);
    assertThat(err.toString()).contains("restart 2 of 5").doesNotContain("restart 3");
  }

  @Test
  void commandKilledBySignalIsRestartedAndReportedAsSuch() throws Exception {
    Path count = dir.resolve("count");
    int code =
        cairn(
            "supervise",
            "--max-restarts",
            "1",
            "--backoff",
            "10ms",
            "--",
            "sh",
            "-c",
            "echo x >> '" + count + "'; kill -9 $$");
    assertThat(code).isEqualTo(137);
    assertThat(Files.readAllLines(count)).hasSize(2);
    assertThat(err.toString()).contains("was killed by SIGKILL (exit code 137); restart 1 of 1");
  }

  @Test
  void restartsAreRecordedAsEventsOfTheRun() throws Exception {
    Path runs = dir.resolve("runs");
    try (Run run = Cairn.open(runs, RunOptions.named("job"))) {
      run.log(0, java.util.Map.of("loss", 1.0));
    }
    Path count = dir.resolve("count");
    int code =
        cairn(
            "supervise",
            "--max-restarts",
            "1",
            "--backoff",
            "10ms",
            "--run-dir",
            runs.resolve("job").toString(),
            "--",
            "sh",
            "-c",
            "echo x >> '" + count + "'; kill -9 $$");
    assertThat(code).isEqualTo(137);
    List<JsonNode> events = events(runs.resolve("job"));
    assertThat(events)
        .filteredOn(e -> e.path("type").asText().equals("restart"))
        .singleElement()
        .satisfies(
            e -> {
              assertThat(e.path("signal").asText()).isEqualTo("SIGKILL");
              assertThat(e.path("exit_code").asInt()).isEqualTo(137);
              assertThat(e.path("restart").asInt()).isEqualTo(1);
            });
    assertThat(events)
        .anyMatch(
            e ->
                e.path("type").asText().equals("warning")
                    && e.path("message").asText().contains("supervisor gave up"));
  }

  @Test
  void aCairnJobTellsTheSupervisorWhereItsRunIs() throws Exception {
    // A real Cairn job (the demo, tiny) that exits 1 after its first complete run: the
    // supervisor learns the run folder from the job itself and records the restart there.
    Path runs = dir.resolve("runs");
    Path marker = dir.resolve("second");
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String demo =
        "'"
            + java
            + "' -Dai.djl.offline=true -cp '"
            + System.getProperty("java.class.path")
            + "' dev.cairn.cli.Main demo --dir '"
            + runs
            + "' --run small --steps 30"
            + " --validate-every 10 --hidden 16";
    String script =
        demo + " || exit 9; [ -f '" + marker + "' ] && exit 0; touch '" + marker + "'; exit 1";
    int code =
        cairn("supervise", "--max-restarts", "2", "--backoff", "10ms", "--", "sh", "-c", script);
    assertThat(code).isZero();
    assertThat(events(runs.resolve("small")))
        .filteredOn(e -> e.path("type").asText().equals("restart"))
        .singleElement()
        .satisfies(e -> assertThat(e.path("exit_code").asInt()).isEqualTo(1));
  }

  @Test
  void sigtermIsForwardedToTheCommandAndEndsSupervision() throws Exception {
    Path started = dir.resolve("started");
    Path got = dir.resolve("got");
    String script =
        "trap 'echo term > \""
            + got
            + "\"; exit 0' TERM; echo up > '"
            + started
            + "';"
            + " while true; do sleep 0.05; done";
    List<String> args =
        new ArrayList<>(List.of("supervise", "--max-restarts", "3", "--backoff", "10ms", "--"));
    args.addAll(List.of("sh", "-c", script));
    List<String> cmd = ChildJvm.cairn(args);
    Process supervisor =
        new ProcessBuilder(cmd)
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve("supervisor.log").toFile())
            .start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!Files.exists(started) && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertThat(started).exists();
    supervisor.destroy(); // SIGTERM to the supervisor
    assertThat(supervisor.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(Files.readString(got).trim()).isEqualTo("term");
    assertThat(supervisor.exitValue()).isZero();
    assertThat(Files.readString(dir.resolve("supervisor.log"))).doesNotContain("restart");
  }

  private static List<JsonNode> events(Path run) throws Exception {
    ObjectMapper json = new ObjectMapper();
    List<JsonNode> out = new ArrayList<>();
    for (String line : Files.readAllLines(run.resolve("events.jsonl"))) {
      out.add(json.readTree(line));
    }
    return out;
  }
}

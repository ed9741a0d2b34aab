package dev.cairn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cairn.hadoop.S3Endpoint;
import dev.cairn.manager.CheckpointManager;
import dev.cairn.manager.CheckpointPolicy;
import dev.cairn.manager.TensorMap;
import dev.cairn.run.Cairn;
import dev.cairn.run.Run;
import dev.cairn.run.RunOptions;
import dev.cairn.web.Dashboard;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.gaul.s3proxy.junit.S3ProxyExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code cairn serve s3a://…}: the dashboard shows copies of the remote runs, and their checkpoint
 * table lists and verifies the checkpoints where the job wrote them (a copy holds none).
 */
class RemoteServeTest {
  @RegisterExtension static final S3ProxyExtension S3 = S3Endpoint.extension();

  @TempDir Path dir;

  @Test
  void theCheckpointTableOfARemoteRunReadsTheRemoteCheckpoints() throws Exception {
    String runs = S3Endpoint.freshBucket(S3).resolve("runs").toString();
    Map<String, String> settings = S3Endpoint.settings(S3);
    System.setProperty("cairn.local.runs", dir.resolve("job-machine").toString());
    try (Run run = Cairn.open(runs, settings, RunOptions.named("r").totalSteps(4))) {
      CheckpointManager ckpt =
          run.checkpoints(CheckpointPolicy.builder().everySteps(2).every(null).build());
      float[] w = new float[8];
      TensorMap model = new TensorMap("model").put("w", w);
      ckpt.restoreLatest(model);
      for (long s = 0; s < 4; s++) {
        w[0] = s + 1;
        run.log(s, Map.of("loss", 1.0 / (s + 1)));
        ckpt.onStep(s, Map.of("loss", 1.0 / (s + 1)));
      }
      ckpt.saveFinal();
      run.finish(Map.of());
    } finally {
      System.clearProperty("cairn.local.runs");
    }

    Locations where = new Locations();
    where.settings.putAll(settings);
    System.setProperty("cairn.local.runs", dir.resolve("reader").toString());
    try {
      Path copies = where.runs(runs);
      assertThat(copies.resolve("r/checkpoints")).as("a copy holds no checkpoints").doesNotExist();
      try (Dashboard d =
          ServeCommand.start(
              copies,
              "127.0.0.1",
              0,
              dir.resolve("token"),
              new PrintWriter(new StringWriter()),
              "copies",
              where.checkpointsOfRuns(runs),
              true)) {
        String token = Files.readString(dir.resolve("token")).trim();
        JsonNode rows = checkpoints(d, token);
        assertThat(rows).extracting(r -> r.path("step").asLong()).containsExactly(4L, 2L);
        assertThat(rows.get(0).path("latest").asBoolean()).isTrue();
        assertThat(rows.get(0).path("path").asText()).isEqualTo(runs + "/r/checkpoints/step-4");
        // Verified in the background, reading the remote bytes: wait for the verdicts (the
        // deadline only turns a hang into a failure).
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.MINUTES.toNanos(5);
        while (!rows.get(0).path("verified").asText().equals("ok")
            || !rows.get(1).path("verified").asText().equals("ok")) {
          assertThat(rows.get(0).path("verified").asText()).isIn("pending", "ok");
          assertThat(rows.get(1).path("verified").asText()).isIn("pending", "ok");
          assertThat(System.nanoTime()).as("verified within 5 minutes").isLessThan(deadline);
          Thread.sleep(50);
          rows = checkpoints(d, token);
        }
      }
    } finally {
      System.clearProperty("cairn.local.runs");
    }
  }

  private static JsonNode checkpoints(Dashboard d, String token) throws Exception {
    HttpResponse<String> r =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + d.port() + "/api/runs/r/checkpoints"))
                    .header("Authorization", "Bearer " + token)
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return new ObjectMapper().readTree(r.body());
  }
}

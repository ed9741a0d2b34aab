package dev.cairn.web;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cairn.run.Cairn;
import dev.cairn.run.Run;
import dev.cairn.run.RunOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Stop follows the save's rules: token, Origin, POST only, a running job only. */
class StopApiTest {
  @TempDir Path runs;

  @Test
  void stopIsRefusedWithoutOriginOnGetAndForARunThatIsNotRunning() throws Exception {
    try (Run r = Cairn.open(runs, RunOptions.named("done").systemMetrics(Duration.ZERO))) {
      r.log(0, Map.of("loss", 1.0));
      r.finish(Map.of());
    }
    try (Dashboard d = Dashboard.builder(runs).port(0).start()) {
      String token = Files.readString(d.tokenFile()).trim();
      Map<String, String> auth = Map.of("Authorization", "Bearer " + token);
      Map<String, String> post = new HashMap<>(auth);
      post.put("Origin", "http://127.0.0.1:" + d.port());

      RawHttp.Response noOrigin = RawHttp.send(d.port(), "POST", "/api/runs/done/stop", auth, "{}");
      assertThat(noOrigin.status()).isEqualTo(403);
      Map<String, String> evil = new HashMap<>(auth);
      evil.put("Origin", "http://evil.example");
      assertThat(RawHttp.send(d.port(), "POST", "/api/runs/done/stop", evil, "{}").status())
          .isEqualTo(403);
      assertThat(
              RawHttp.send(
                      d.port(),
                      "POST",
                      "/api/runs/done/stop",
                      Map.of("Origin", post.get("Origin")),
                      "{}")
                  .status())
          .isEqualTo(401);
      assertThat(RawHttp.send(d.port(), "GET", "/api/runs/done/stop", auth, null).status())
          .isIn(404, 405);
      RawHttp.Response finished = RawHttp.send(d.port(), "POST", "/api/runs/done/stop", post, "{}");
      assertThat(finished.status()).isEqualTo(409);
      assertThat(new ObjectMapper().readTree(finished.body()).path("error").asText())
          .contains("is finished")
          .contains("only a running job can be stopped");
      assertThat(RawHttp.send(d.port(), "POST", "/api/runs/nope/stop", post, "{}").status())
          .isEqualTo(404);
    }
    assertThat(runs.resolve("done/control")).as("nothing was requested").doesNotExist();
  }

  @Test
  void aReadOnlyDashboardRefusesEveryControlWithItsReason() throws Exception {
    try (Run r = Cairn.open(runs, RunOptions.named("live").systemMetrics(Duration.ZERO))) {
      r.log(0, Map.of("loss", 1.0));
      try (Dashboard d =
          Dashboard.builder(runs).port(0).readOnly("copies of runs in s3a://b/runs").start()) {
        String token = Files.readString(d.tokenFile()).trim();
        Map<String, String> post = new HashMap<>();
        post.put("Authorization", "Bearer " + token);
        post.put("Origin", "http://127.0.0.1:" + d.port());
        for (String path :
            new String[] {
              "/api/runs/live/stop",
              "/api/runs/live/checkpoints",
              "/api/runs/live/checkpoints/step-1/pin",
              "/api/runs/live/checkpoints/step-1/unpin"
            }) {
          RawHttp.Response answer = RawHttp.send(d.port(), "POST", path, post, "{}");
          assertThat(answer.status()).as(path).isEqualTo(409);
          assertThat(new ObjectMapper().readTree(answer.body()).path("error").asText())
              .isEqualTo("copies of runs in s3a://b/runs");
        }
        assertThat(RawHttp.send(d.port(), "GET", "/api/runs/live", post, null).status())
            .isEqualTo(200);
      }
    }
    assertThat(runs.resolve("live/control")).as("nothing was requested").doesNotExist();
  }
}

package dev.cairn.web;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cairn.run.Cairn;
import dev.cairn.run.Run;
import dev.cairn.run.RunFiles;
import dev.cairn.run.RunOptions;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The dashboard answers the same from a run's metrics.bin as from its metrics.jsonl alone: an old
 * run folder without the sidecar, one whose sidecar was cut by a crash, and a run with a whole one
 * show the same names and the same points.
 */
class DashboardSidecarTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String KEYS = "keys=loss,lr,val_loss,steps_per_s&max_points=5000";

  @TempDir Path runs;

  @Test
  void aRunIsAnsweredTheSameWithItsSidecarWithoutItAndWithATornOne() throws Exception {
    try (Run run = Cairn.open(runs, RunOptions.named("whole").totalSteps(30_000))) {
      for (int s = 0; s < 30_000; s++) {
        run.log(
            s,
            s % 500 == 0
                ? Map.of("loss", 1.0 / (1 + s), "lr", 1e-3, "val_loss", 2.0 / (1 + s))
                : Map.of("loss", 1.0 / (1 + s) + (s % 3) * 1e-4, "lr", 1e-3));
      }
      run.finish(Map.of());
    }
    Path whole = runs.resolve("whole");
    assertThat(new RunFiles(whole).metricsSidecar()).isRegularFile();
    copy(whole, runs.resolve("old"));
    Files.delete(new RunFiles(runs.resolve("old")).metricsSidecar());
    copy(whole, runs.resolve("torn"));
    try (FileChannel ch =
        FileChannel.open(
            new RunFiles(runs.resolve("torn")).metricsSidecar(), StandardOpenOption.WRITE)) {
      ch.truncate(ch.size() * 2 / 3); // mid-block, as a kill -9 leaves it
    }

    try (Dashboard d = Dashboard.builder(runs).port(0).start()) {
      String token = Files.readString(d.tokenFile()).trim();
      JsonNode expected = metrics(d, token, "old");
      assertThat(expected.path("series").path("loss").path("total_points").asInt())
          .isEqualTo(30_000);
      assertThat(expected.path("series").path("val_loss").path("total_points").asInt())
          .isEqualTo(60);
      for (String run : List.of("whole", "torn")) {
        JsonNode got = metrics(d, token, run);
        assertThat(got.path("series")).as(run).isEqualTo(expected.path("series"));
        assertThat(got.path("last_step")).isEqualTo(expected.path("last_step"));
        assertThat(status(d, token, run).path("metrics"))
            .isEqualTo(status(d, token, "old").path("metrics"));
      }
    }
  }

  private static JsonNode metrics(Dashboard d, String token, String run) throws IOException {
    return get(d, token, "/api/runs/" + run + "/metrics?" + KEYS);
  }

  private static JsonNode status(Dashboard d, String token, String run) throws IOException {
    return get(d, token, "/api/runs/" + run);
  }

  private static JsonNode get(Dashboard d, String token, String path) throws IOException {
    RawHttp.Response r =
        RawHttp.send(d.port(), "GET", path, Map.of("Authorization", "Bearer " + token), null);
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    return JSON.readTree(r.body());
  }

  private static void copy(Path from, Path to) throws IOException {
    try (Stream<Path> all = Files.walk(from)) {
      for (Path p : (Iterable<Path>) all::iterator) {
        Path target = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(target);
        } else {
          Files.copy(p, target);
        }
      }
    }
  }
}

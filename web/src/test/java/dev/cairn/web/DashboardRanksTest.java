package dev.cairn.web;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cairn.run.Cairn;
import dev.cairn.run.Run;
import dev.cairn.run.RunFiles;
import dev.cairn.run.RunOptions;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The metrics of every rank of a run of several ranks: each rank's series as its own metrics.jsonl
 * holds it, one or all of them per request, a rank outside the group refused in one line, and a run
 * of one process answered as before.
 */
class DashboardRanksTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int WORLD = 3;
  private static final int STEPS = 300;

  @TempDir static Path runs;
  static Dashboard dashboard;
  static String token;

  @BeforeAll
  static void start() throws Exception {
    GroupRuns.finished(runs, "group", WORLD, STEPS);
    try (Run r = Cairn.open(runs, RunOptions.named("alone").totalSteps(STEPS))) {
      for (int s = 0; s < STEPS; s++) {
        r.log(s, Map.of("loss", GroupRuns.loss(0, s), "lr", GroupRuns.lr(0)));
      }
      r.finish(Map.of());
    }
    // A run of more ranks than one answer holds (only its run.json is needed for that).
    Files.createDirectories(runs.resolve("wide"));
    Files.writeString(runs.resolve("wide/run.json"), "{\"id\":\"wide\",\"world_size\":20}");
    dashboard = Dashboard.builder(runs).port(0).start();
    token = Files.readString(dashboard.tokenFile()).trim();
  }

  @AfterAll
  static void stop() {
    if (dashboard != null) {
      dashboard.close();
    }
  }

  @Test
  void eachRanksSeriesIsWhatItsMetricsFileHolds() throws Exception {
    RunFiles group = new RunFiles(runs.resolve("group"));
    for (int r = 1; r < WORLD; r++) {
      assertThat(group.rank(r).metricsSidecar()).as("rank %d's sidecar", r).isRegularFile();
    }
    JsonNode all = get("/api/runs/group/metrics?keys=loss,lr&ranks=all&max_points=5000");
    assertThat(all.path("world_size").asInt()).isEqualTo(WORLD);
    assertThat(all.path("ranks")).hasSize(WORLD);
    for (int r = 0; r < WORLD; r++) {
      Path file = group.forRank(r).metrics();
      JsonNode one = get("/api/runs/group/metrics?keys=loss,lr&max_points=5000&rank=" + r);
      assertThat(one.path("rank").asInt()).isEqualTo(r);
      JsonNode inAll = all.path("ranks").get(r);
      assertThat(inAll.path("rank").asInt()).isEqualTo(r);
      for (String key : List.of("loss", "lr")) {
        List<List<Double>> logged = logged(file, key);
        assertThat(logged).as("rank %d logged %s", r, key).hasSize(STEPS);
        assertThat(points(one.path("series").path(key)))
            .as("rank=%d %s", r, key)
            .containsExactlyElementsOf(logged);
        assertThat(points(inAll.path("series").path(key)))
            .as("ranks=all, rank %d %s", r, key)
            .containsExactlyElementsOf(logged);
      }
      assertThat(one.path("last_step").asLong()).isEqualTo(STEPS - 1);
      assertThat(inAll.path("missing")).isEmpty();
    }
    // Each rank its own curve: rank 2's first loss is 1 + 2, not rank 0's 1.
    assertThat(
            all.path("ranks").get(2).path("series").path("loss").path("values").get(0).asDouble())
        .isEqualTo(GroupRuns.loss(2, 0));
    // A list of ranks is answered in rank order, each once.
    JsonNode some = get("/api/runs/group/metrics?keys=loss&ranks=2,0,2");
    assertThat(some.path("ranks")).hasSize(2);
    assertThat(some.path("ranks").get(0).path("rank").asInt()).isZero();
    assertThat(some.path("ranks").get(1).path("rank").asInt()).isEqualTo(2);
    assertThat(some.path("ranks").get(1).path("series").path("loss"))
        .isEqualTo(all.path("ranks").get(2).path("series").path("loss"));
    // Without rank, the run's own metrics, which are rank 0's.
    JsonNode run = get("/api/runs/group/metrics?keys=loss,lr&max_points=5000");
    assertThat(run.path("series")).isEqualTo(all.path("ranks").get(0).path("series"));
  }

  @Test
  void theRunListAndTheRunTellTheWorldSize() throws Exception {
    JsonNode list = get("/api/runs");
    for (JsonNode r : list) {
      int expected =
          switch (r.path("name").asText()) {
            case "group" -> WORLD;
            case "wide" -> 20;
            default -> 1;
          };
      assertThat(r.path("world_size").asInt()).as(r.path("name").asText()).isEqualTo(expected);
    }
    assertThat(get("/api/runs/group").path("world_size").asInt()).isEqualTo(WORLD);
    assertThat(get("/api/runs/alone").path("world_size").asInt()).isEqualTo(1);
  }

  @Test
  void aRankOutsideTheGroupIsOneLineAndA400() throws Exception {
    String within = "rank must be a whole number from 0 to 2: run 'group' has 3 ranks";
    for (String bad :
        List.of("3", "-1", "abc", "1.0", "..%2F..%2Fx", "rank-1", "%20", "99999999999")) {
      assertRefused("/api/runs/group/metrics?keys=loss&rank=" + bad, within);
      assertRefused("/api/runs/group/metrics?keys=loss&ranks=0," + bad, within);
    }
    assertRefused("/api/runs/group/metrics?keys=loss&ranks=", within);
    assertRefused("/api/runs/group/metrics?keys=loss&rank=1&ranks=all", "not both");
    assertRefused("/api/runs/group/metrics?ranks=all", "needs keys=");
    assertRefused(
        "/api/runs/alone/metrics?keys=loss&rank=1", "rank must be 0: run 'alone' is a run of one");
    assertRefused("/api/runs/wide/metrics?keys=loss&ranks=all", "at most 16 ranks");
    StringBuilder many = new StringBuilder("k0");
    for (int i = 1; i < 32; i++) {
      many.append(",k").append(i);
    }
    assertRefused(
        "/api/runs/group/metrics?ranks=all&max_points=5000&keys=" + many,
        "at most 160000 points per answer");
    // Sixteen ranks of the wide run are one answer (none has written anything).
    JsonNode sixteen =
        get("/api/runs/wide/metrics?keys=loss&ranks=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,19");
    assertThat(sixteen.path("ranks")).hasSize(16);
    assertThat(sixteen.path("ranks").get(15).path("missing").get(0).asText()).isEqualTo("loss");
  }

  @Test
  void aRunOfOneProcessIsAnsweredAsBefore() throws Exception {
    JsonNode m = get("/api/runs/alone/metrics?keys=loss,nope&max_points=5000");
    List<String> fields = new ArrayList<>();
    m.fieldNames().forEachRemaining(fields::add);
    assertThat(fields).containsExactly("run", "last_step", "series", "missing");
    assertThat(points(m.path("series").path("loss")))
        .containsExactlyElementsOf(logged(new RunFiles(runs.resolve("alone")).metrics(), "loss"));
    assertThat(m.path("missing").get(0).asText()).isEqualTo("nope");
    // Its only rank, asked for by number, is the same series.
    JsonNode rank0 = get("/api/runs/alone/metrics?keys=loss,nope&max_points=5000&rank=0");
    assertThat(rank0.path("series")).isEqualTo(m.path("series"));
    assertThat(rank0.path("rank").asInt()).isZero();
  }

  /** (step, value) of each line of a metrics.jsonl that logs {@code key}. */
  private static List<List<Double>> logged(Path file, String key) throws IOException {
    List<List<Double>> out = new ArrayList<>();
    for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
      JsonNode n = JSON.readTree(line);
      if (n.has(key)) {
        out.add(List.of(n.path("step").asDouble(), n.path(key).asDouble()));
      }
    }
    return out;
  }

  private static List<List<Double>> points(JsonNode series) {
    List<List<Double>> out = new ArrayList<>();
    Iterator<JsonNode> steps = series.path("steps").elements();
    Iterator<JsonNode> values = series.path("values").elements();
    while (steps.hasNext()) {
      out.add(List.of(steps.next().asDouble(), values.next().asDouble()));
    }
    return out;
  }

  private static JsonNode get(String path) throws IOException {
    RawHttp.Response r = send(path);
    assertThat(r.status()).as(path + ": " + r.body()).isEqualTo(200);
    return JSON.readTree(r.body());
  }

  private static RawHttp.Response send(String path) throws IOException {
    return RawHttp.send(
        dashboard.port(), "GET", path, Map.of("Authorization", "Bearer " + token), null);
  }

  private static void assertRefused(String path, String words) throws IOException {
    RawHttp.Response r = send(path);
    assertThat(r.status()).as(path + ": " + r.body()).isEqualTo(400);
    String error = JSON.readTree(r.body()).path("error").asText();
    assertThat(error).as(path).contains(words).doesNotContain("\n");
    assertThat(r.body()).doesNotContain("Exception").doesNotContain(runs.toString());
  }
}

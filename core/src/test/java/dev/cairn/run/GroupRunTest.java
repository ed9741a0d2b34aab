package dev.cairn.run;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cairn.checkpoint.CheckpointInfo;
import dev.cairn.checkpoint.CheckpointStore;
import dev.cairn.coordination.Coordinator;
import dev.cairn.coordination.TestGroups;
import dev.cairn.manager.CheckpointManager;
import dev.cairn.manager.CheckpointPolicy;
import dev.cairn.manager.TensorMap;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Three ranks (threads) open one run: rank 0 keeps the run, the others only their own files. */
@Timeout(120)
class GroupRunTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path runs;

  private final List<Coordinator> group = new ArrayList<>();

  @AfterEach
  void closeAll() {
    group.forEach(Coordinator::close);
  }

  @Test
  void ranksMakeOneRunAndEachKeepsOnlyItsOwnMetricsAndHeartbeat() throws Exception {
    int world = 3;
    group.addAll(TestGroups.open(world));
    CheckpointPolicy policy =
        CheckpointPolicy.builder()
            .every(null)
            .everySteps(5)
            .async(false)
            .saveOnShutdown(false, Duration.ZERO)
            .build();
    List<String> ids =
        TestGroups.onEveryRank(
            world,
            rank -> {
              // A generated id: the others learn rank 0's.
              RunOptions o =
                  RunOptions.generated()
                      .systemMetrics(Duration.ZERO)
                      .totalSteps(12)
                      .coordinator(group.get(rank));
              try (Run run = Cairn.open(runs, o)) {
                CheckpointManager m = run.checkpoints(policy);
                TensorMap model = new TensorMap("model").put("w", new float[8]);
                m.restoreLatest(model);
                for (long s = 0; s < 12; s++) {
                  model.get("w")[0] = s * 10 + rank;
                  run.log(s, Map.of("loss", 1.0 / (s + 1) + rank));
                  m.onStep(s, Map.of());
                }
                m.saveFinal();
                run.finish(Map.of());
                return run.id();
              }
            });
    String id = ids.get(0);
    assertThat(ids).containsOnly(id);
    RunFiles files = new RunFiles(runs.resolve(id));
    assertThat(JSON.readTree(files.runJson().toFile()).path("world_size").asInt()).isEqualTo(3);
    assertThat(RunStatus.runsIn(runs)).containsExactly(files.dir()); // one run, not three
    assertThat(RunStatus.of(files.dir(), Clock.systemUTC()).status()).isEqualTo("finished");
    assertThat(Files.readAllLines(files.sessions(), StandardCharsets.UTF_8))
        .hasSize(2); // rank 0's start and end, once
    // Rank 0's metrics are the run's; each other rank's in its own folder, with its values.
    assertThat(lastLoss(files.metrics())).isEqualTo(1.0 / 12);
    assertThat(Files.exists(files.rank(0).dir())).isFalse();
    for (int r = 1; r < world; r++) {
      assertThat(lastLoss(files.rank(r).metrics())).isEqualTo(1.0 / 12 + r);
      JsonNode beat = JSON.readTree(files.rank(r).progress().toFile());
      assertThat(beat.path("step").asLong()).isEqualTo(12);
      assertThat(beat.path("run").asText()).isEqualTo(id);
      assertThat(Files.exists(files.rank(r).sessions())).isFalse();
      assertThat(Files.exists(files.rank(r).events())).isFalse();
    }
    try (CheckpointStore store =
        CheckpointStore.builder(files.checkpoints()).readOnly(true).open()) {
      List<Long> steps = new ArrayList<>();
      for (CheckpointInfo c : store.list()) {
        steps.add(c.step());
        assertThat(c.manifest().worldSize()).isEqualTo(3);
      }
      assertThat(steps).containsExactly(5L, 10L, 12L);
    }
  }

  private static double lastLoss(Path metrics) throws Exception {
    List<String> lines = Files.readAllLines(metrics, StandardCharsets.UTF_8);
    return JSON.readTree(lines.get(lines.size() - 1)).path("loss").asDouble();
  }

  @Test
  void aRankThatStoppedBeatingOrDiedMakesARunningRunStalledNamingIt() throws Exception {
    RunFiles f = new RunFiles(runs.resolve("r"));
    Instant now = Instant.parse("2026-12-07T12:00:00Z");
    ProcessIdentity me = ProcessIdentity.current();
    beat(f.rank(1), 3, now.minusSeconds(2), me, now.minusSeconds(3));
    beat(f.rank(2), 3, now.minusSeconds(90), me, now.minusSeconds(90));
    beat(f.rank(3), 3, now.minusSeconds(2), deadProcess(), now.minusSeconds(2));
    beat(f.rank(4), 2, now.minusSeconds(2), me, now.minusSeconds(2));
    beat(f.rank(10), 3, now.minusSeconds(1), me, now.minusSeconds(3600));
    assertThat(RunStatus.rankProblems(f, 3, now.toEpochMilli()))
        .containsExactly(
            "rank 2 stalled (heartbeat 90 s ago)",
            "rank 3 is gone",
            "rank 4 has not started",
            "rank 10 stalled (no step for 3600 s)");
    assertThat(RunStatus.rankProblems(new RunFiles(runs.resolve("alone")), 1, 0)).isEmpty();
  }

  private static void beat(
      RunFiles rank, int session, Instant heartbeat, ProcessIdentity who, Instant lastStep)
      throws Exception {
    Files.createDirectories(rank.dir());
    var o = JSON.createObjectNode();
    o.put("heartbeat", heartbeat.toString()).put("session", session).put("step", 7);
    o.put("last_step_time", lastStep.toString());
    who.writeTo(o);
    Files.writeString(rank.progress(), o.toString());
  }

  /** The identity of a process that ran and ended. */
  private static ProcessIdentity deadProcess() throws Exception {
    Process p =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-version")
            .start();
    p.waitFor();
    var o = JSON.createObjectNode();
    o.put("pid", p.pid()).put("host", Provenance.hostName());
    return ProcessIdentity.of(o);
  }
}

package dev.cairn.manager;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cairn.checkpoint.CheckpointInfo;
import dev.cairn.checkpoint.CheckpointStore;
import dev.cairn.coordination.Coordinator;
import dev.cairn.coordination.TestGroups;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The managers of N ranks (threads of one JVM) saving the same steps into one checkpoint each. */
@Timeout(120)
class GroupManagerTest {
  @TempDir Path dir;

  private final List<Coordinator> group = new ArrayList<>();

  @AfterEach
  void closeAll() {
    group.forEach(Coordinator::close);
  }

  private static <T> List<T> everyRank(int world, TestGroups.RankCall<T> call) throws Exception {
    return TestGroups.onEveryRank(world, call);
  }

  private DefaultCheckpointManager manager(int rank, CheckpointPolicy policy) throws Exception {
    CheckpointStore store =
        CheckpointStore.builder(dir).coordinator(group.get(rank)).events(e -> {}).open();
    return new DefaultCheckpointManager(
        store,
        policy,
        (type, step, message, fields) -> {},
        Clock.systemUTC(),
        1,
        null,
        Duration.ofMillis(10),
        false,
        group.get(rank));
  }

  @Test
  void everyRankSavesTheStepsRankZeroDecidesAndResumesFromItsOwnShare() throws Exception {
    int world = 3;
    group.addAll(TestGroups.open(world));
    CheckpointPolicy policy =
        CheckpointPolicy.builder()
            .every(null)
            .everySteps(10)
            .async(false) // every save ends before the next is due: no deferral, whatever the speed
            .saveOnShutdown(false, Duration.ZERO)
            .build();
    everyRank(
        world,
        r -> {
          TensorMap model = new TensorMap("model").put("w", new float[64]);
          try (DefaultCheckpointManager m = manager(r, policy)) {
            assertThat(m.restoreLatest(model)).isZero();
            for (long s = 0; s < 25; s++) {
              model.get("w")[0] = s * 10 + r; // each rank's own state
              if (r == 0 && s == 13) {
                m.requestSave("from-the-dashboard"); // arrives on rank 0 only
              }
              m.onStep(s, Map.of("loss", 1.0 / (s + 1)));
            }
            m.saveFinal();
          }
          return null;
        });
    try (CheckpointStore reader = CheckpointStore.builder(dir).readOnly(true).open()) {
      List<Long> steps = new ArrayList<>();
      for (CheckpointInfo c : reader.list()) {
        steps.add(c.step());
        assertThat(c.manifest().worldSize()).isEqualTo(world);
      }
      // 10 and 20 by the policy, 14 as rank 0 was asked (every rank saved it), 25 the final one.
      assertThat(steps).containsExactly(10L, 14L, 20L, 25L);
      assertThat(reader.list().get(1).manifest().name()).isEqualTo("from-the-dashboard");
    }
    group.forEach(Coordinator::close);
    group.clear();

    // A new group resumes: every rank gets its own state of the newest step.
    group.addAll(TestGroups.open(world));
    List<float[]> restored =
        everyRank(
            world,
            r -> {
              TensorMap model = new TensorMap("model").put("w", new float[64]);
              try (DefaultCheckpointManager m = manager(r, policy)) {
                assertThat(m.restoreLatest(model)).isEqualTo(25);
              }
              return model.get("w");
            });
    for (int r = 0; r < world; r++) {
      assertThat(restored.get(r)[0]).isEqualTo(24 * 10 + r);
    }
  }
}

package dev.cairn.cli.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cairn.manager.DataCursor;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * The demo network's weights as one array (what a Spark job averages): written in place, so the
 * trainer trains on what was written; and replicas built at once in one JVM start equal.
 */
class NetworkWeightsTest {
  private static final DemoSettings S =
      new DemoSettings(100, 3, 64, 16, 0.003f, 1, 100, 0, null, DemoSettings.TRAIN_SIZE);

  @Test
  void writtenWeightsAreTheOnesTheNextStepUpdates() {
    try (Network net = new Network(S, Network.adam(S), null)) {
      float[] w = net.read();
      assertThat(w).hasSize(32 * 16 + 16 + 16 * 16 + 16 + 16 * 10 + 10);
      for (int i = 0; i < w.length; i++) {
        w[i] = i % 7 * 0.01f;
      }
      net.write(w);
      assertThat(net.read()).isEqualTo(w);

      assertThatThrownBy(() -> net.write(new float[w.length - 1]))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining(w.length + " parameters");
      assertThat(net.read()).as("a refused write changes nothing").isEqualTo(w);

      net.step(new DataCursor("data"));
      float[] after = net.read();
      assertThat(after).isNotEqualTo(w);
      // One Adam step moves a weight by about the learning rate: it started from what was written,
      // not from the initial weights.
      int near = 0;
      for (int i = 0; i < w.length; i++) {
        near += Math.abs(after[i] - w[i]) < 0.01f ? 1 : 0;
      }
      assertThat(near).isEqualTo(w.length);
    }
  }

  @Test
  void replicasBuiltAtOnceStartFromTheSameWeights() throws Exception {
    float[] alone;
    try (Network net = new Network(S, Network.adam(S), null)) {
      alone = net.read();
    }
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      for (int round = 0; round < 3; round++) {
        List<Callable<float[]>> builds = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
          builds.add(
              () -> {
                try (Network net = new Network(S, Network.adam(S), null, 0, 1)) {
                  return net.read();
                }
              });
        }
        for (Future<float[]> f : pool.invokeAll(builds)) {
          assertThat(f.get()).isEqualTo(alone);
        }
      }
    } finally {
      pool.shutdownNow();
    }
  }
}

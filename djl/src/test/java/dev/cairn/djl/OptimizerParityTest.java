package dev.cairn.djl;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Model;
import ai.djl.training.Trainer;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/** Cairn's optimizers must compute exactly what DJL's compute: byte-identical weights. */
class OptimizerParityTest {

  private static Map<String, byte[]> trainWith(Optimizer opt) {
    try (Model m = Nets.model(7);
        Trainer t = Nets.trainer(m, opt)) {
      Nets.train(t, 0, 30);
      return Nets.weights(m);
    }
  }

  private static void assertSame(Supplier<Optimizer> djl, Supplier<Optimizer> cairn) {
    Map<String, byte[]> expected = trainWith(djl.get());
    Map<String, byte[]> actual = trainWith(cairn.get());
    assertThat(actual.keySet()).isEqualTo(expected.keySet());
    expected.forEach((k, v) -> assertThat(actual.get(k)).as(k).isEqualTo(v));
    // And training moved the weights (a parity of two no-ops would prove nothing).
    try (Model m = Nets.model(7);
        Trainer t = Nets.trainer(m, cairn.get())) {
      Map<String, byte[]> initial = Nets.weights(m);
      expected.forEach((k, v) -> assertThat(initial.get(k)).as(k).isNotEqualTo(v));
    }
  }

  @Test
  void adamMatchesDjlAdam() {
    Tracker lr =
        Tracker.cosine().setBaseValue(0.01f).optFinalValue(1e-4f).setMaxUpdates(30).build();
    assertSame(
        () -> Optimizer.adam().optLearningRateTracker(lr).optWeightDecays(1e-4f).build(),
        () ->
            CheckpointableAdam.builder().optLearningRateTracker(lr).optWeightDecays(1e-4f).build());
  }

  @Test
  void sgdWithMomentumMatchesDjlSgd() {
    assertSame(
        () ->
            Optimizer.sgd()
                .setLearningRateTracker(Tracker.fixed(0.05f))
                .optMomentum(0.9f)
                .optClipGrad(1f)
                .build(),
        () ->
            CheckpointableSgd.builder()
                .setLearningRateTracker(Tracker.fixed(0.05f))
                .optMomentum(0.9f)
                .optClipGrad(1f)
                .build());
  }
}

package dev.cairn.djl;

import ai.djl.training.GradientCollector;
import ai.djl.training.Trainer;
import java.util.function.Consumer;

/**
 * DJL's PyTorch engine lets one gradient collector collect at a time in a JVM (a static flag of its
 * PtGradientCollector; a second one throws): trainers on several threads, as the tasks of a local
 * Spark job are, take turns here for their forward and backward passes.
 */
final class GradientCollectors {
  private static final Object TURN = new Object();

  private GradientCollectors() {}

  /**
   * Runs {@code pass} with a new collector of {@code trainer}, alone in this JVM, and closes it.
   */
  static void exclusive(Trainer trainer, Consumer<GradientCollector> pass) {
    synchronized (TURN) {
      try (GradientCollector collector = trainer.newGradientCollector()) {
        pass.accept(collector);
      }
    }
  }
}

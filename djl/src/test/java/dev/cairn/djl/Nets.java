package dev.cairn.djl;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.EasyTrain;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.Batch;
import ai.djl.training.listener.TrainingListener;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.util.Pair;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/** A small MLP, deterministic batches and helpers shared by the adapter tests. */
final class Nets {
  static final int IN = 8;
  static final int CLASSES = 4;
  static final int BATCH = 16;

  private Nets() {}

  static Block mlp() {
    return new SequentialBlock()
        .add(Linear.builder().setUnits(16).build())
        .add(Activation::relu)
        .add(Linear.builder().setUnits(CLASSES).build());
  }

  static Model model(long seed) {
    Engine.getEngine("PyTorch").setRandomSeed((int) seed);
    Model m = Model.newInstance("mlp", "PyTorch");
    m.setBlock(mlp());
    return m;
  }

  static Trainer trainer(Model m, Optimizer opt, TrainingListener... listeners) {
    DefaultTrainingConfig c =
        new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss()).optOptimizer(opt);
    if (listeners.length > 0) {
      c.addTrainingListeners(listeners);
    }
    Trainer t = m.newTrainer(c);
    t.initialize(new Shape(BATCH, IN));
    return t;
  }

  /** Batch {@code step}: the same numbers in every process. */
  static Batch batch(NDManager manager, long step) {
    Random r = new Random(1000 + step);
    float[] x = new float[BATCH * IN];
    float[] y = new float[BATCH];
    for (int i = 0; i < BATCH; i++) {
      int label = r.nextInt(CLASSES);
      y[i] = label;
      for (int j = 0; j < IN; j++) {
        x[i * IN + j] = (float) r.nextGaussian() + (j % CLASSES == label ? 1.5f : 0f);
      }
    }
    NDArray data = manager.create(x, new Shape(BATCH, IN));
    NDArray labels = manager.create(y, new Shape(BATCH));
    return new Batch(
        manager,
        new ai.djl.ndarray.NDList(data),
        new ai.djl.ndarray.NDList(labels),
        BATCH,
        null,
        null,
        step,
        step);
  }

  static void train(Trainer t, long from, long to) {
    for (long s = from; s < to; s++) {
      try (NDManager m = t.getManager().newSubManager()) {
        Batch b = batch(m, s);
        EasyTrain.trainBatch(t, b);
        t.step();
      }
    }
  }

  /** Every parameter's bytes, by name. */
  static Map<String, byte[]> weights(Model m) {
    Map<String, byte[]> out = new LinkedHashMap<>();
    for (Pair<String, Parameter> p : m.getBlock().getParameters()) {
      out.put(p.getKey(), p.getValue().getArray().toByteArray());
    }
    return out;
  }
}

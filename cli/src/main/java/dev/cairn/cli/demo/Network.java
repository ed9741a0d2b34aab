package dev.cairn.cli.demo;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.EasyTrain;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.Batch;
import ai.djl.training.loss.Loss;
import ai.djl.training.tracker.Tracker;
import ai.djl.training.tracker.WarmUpTracker;
import ai.djl.util.Pair;
import dev.cairn.djl.CairnTrainingListener;
import dev.cairn.djl.CheckpointableAdam;
import dev.cairn.djl.ModelState;
import dev.cairn.manager.DataCursor;
import dev.cairn.plots.Plots;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The demo's network, optimizer and data, with or without Cairn attached (the overhead benchmark
 * runs both): a two-hidden-layer MLP classifier trained with Adam under a warm-up + cosine
 * learning-rate schedule.
 */
final class Network implements AutoCloseable, DemoJob.Weights {
  private static final Object INITIALIZATION = new Object();

  final DemoSettings settings;
  final SyntheticData data;
  final CheckpointableAdam optimizer;
  final Model model;
  final Trainer trainer;
  private final CairnTrainingListener cairn;
  private final float[] x;
  private final float[] y;

  /**
   * @param cairn the listener attached to the trainer (null: plain DJL)
   */
  Network(DemoSettings s, CheckpointableAdam optimizer, CairnTrainingListener cairn) {
    this(s, optimizer, cairn, 0, 1);
  }

  /**
   * One replica of a group: the same network and initialization on every rank, trained on the
   * rank's partition of the data (see {@link SyntheticData}).
   */
  Network(
      DemoSettings s,
      CheckpointableAdam optimizer,
      CairnTrainingListener cairn,
      int rank,
      int world) {
    this.cairn = cairn;
    this.settings = s;
    this.data =
        new SyntheticData(
            s.seed(),
            DemoSettings.FEATURES,
            DemoSettings.CLASSES,
            s.examples(),
            DemoSettings.VAL_SIZE,
            rank,
            world);
    this.optimizer = optimizer;
    this.model = Model.newInstance("cairn-demo-mlp", "PyTorch");
    model.setBlock(
        new SequentialBlock()
            .add(Linear.builder().setUnits(s.hidden()).build())
            .add(Activation::relu)
            .add(Linear.builder().setUnits(s.hidden()).build())
            .add(Activation::relu)
            .add(Linear.builder().setUnits(DemoSettings.CLASSES).build()));
    DefaultTrainingConfig config =
        new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss()).optOptimizer(optimizer);
    if (cairn != null) {
      config.addTrainingListeners(cairn);
    }
    this.trainer = model.newTrainer(config);
    // PyTorch's generator is one per process: replicas initialized at once in one JVM (the tasks
    // of a local Spark job) would take turns drawing from it and start from different weights on
    // each run. One at a time, each draws the seed's numbers.
    synchronized (INITIALIZATION) {
      Engine.getEngine("PyTorch").setRandomSeed((int) s.seed());
      trainer.initialize(new Shape(s.batchSize(), DemoSettings.FEATURES));
    }
    this.x = new float[s.batchSize() * DemoSettings.FEATURES];
    this.y = new float[s.batchSize()];
  }

  /** Adam under a linear warm-up (a tenth of the steps, at most 100) and a cosine decay. */
  static CheckpointableAdam adam(DemoSettings s) {
    long warmUp = Math.min(100, Math.max(1, s.steps() / 10));
    Tracker cosine =
        Tracker.cosine()
            .setBaseValue(s.learningRate())
            .optFinalValue(s.learningRate() / 100)
            .setMaxUpdates((int) Math.max(1, s.steps() - warmUp))
            .build();
    Tracker schedule =
        WarmUpTracker.builder()
            .setMainTracker(cosine)
            .optWarmUpSteps((int) warmUp)
            .optWarmUpBeginValue(s.learningRate() / 10)
            .build();
    return CheckpointableAdam.builder().optLearningRateTracker(schedule).build();
  }

  /**
   * Sets the engine's thread counts (the same count gives the same numbers) and, unless DJL's own
   * DJL_CACHE_DIR or ENGINE_CACHE_DIR is set, unpacks the engine into {@code cacheDir} (one per
   * user, see {@link EngineCache}). Must run before the engine loads.
   */
  static void configureEngine(int threads, Path cacheDir) {
    System.setProperty("ai.djl.pytorch.num_threads", Integer.toString(threads));
    System.setProperty("ai.djl.pytorch.num_interop_threads", Integer.toString(threads));
    if (System.getProperty("ai.djl.offline") == null) {
      System.setProperty("ai.djl.offline", "true");
    }
    for (String key : new String[] {"DJL_CACHE_DIR", "ENGINE_CACHE_DIR"}) {
      if (System.getenv(key) == null && System.getProperty(key) == null) {
        System.setProperty(key, cacheDir.toAbsolutePath().toString());
      }
    }
  }

  /** One training step on the batch at the cursor; the cursor moves after the update. */
  void step(DataCursor cursor) {
    int b = settings.batchSize();
    data.batch(cursor.epoch(), cursor.position(), b, x, y);
    try (NDManager m = trainer.getManager().newSubManager()) {
      NDArray xs = m.create(x, new Shape(b, DemoSettings.FEATURES));
      NDArray ys = m.create(y, new Shape(b));
      Batch batch = new Batch(m, new NDList(xs), new NDList(ys), b, null, null, 0, 1);
      if (cairn != null) {
        cairn.trainBatch(trainer, batch);
      } else {
        EasyTrain.trainBatch(trainer, batch);
      }
      trainer.step();
    }
    cursor.advance(b, data.epochSize());
  }

  /**
   * Model internals for the plots: the L2 norm of each layer's weights (one line per layer) and a
   * histogram of the first layer's weights. Called every validation, not every step: each value
   * read from the engine costs native calls.
   */
  void plotInternals(Plots plots, long step) {
    Map<String, Double> norms = new LinkedHashMap<>();
    float[] first = null;
    for (Pair<String, Parameter> p : model.getBlock().getParameters()) {
      if (!p.getKey().endsWith("weight")) {
        continue;
      }
      NDArray w = p.getValue().getArray();
      try (NDArray n = w.norm()) {
        norms.put(p.getKey(), (double) n.getFloat());
      }
      if (first == null) {
        first = w.toFloatArray();
      }
    }
    plots.series("weight_norms", step, norms);
    if (first != null) {
      plots.histogram("first_layer_weights", step, first);
    }
  }

  /**
   * A plain DJL step that reads its loss, the least a loop logging the loss every step pays without
   * Cairn (the overhead benchmark's second baseline): forward, loss, backward, update, {@code
   * loss.getFloat()}.
   */
  float stepReadingLoss(DataCursor cursor) {
    int b = settings.batchSize();
    data.batch(cursor.epoch(), cursor.position(), b, x, y);
    float value;
    try (NDManager m = trainer.getManager().newSubManager()) {
      NDList xs = new NDList(m.create(x, new Shape(b, DemoSettings.FEATURES)));
      NDList ys = new NDList(m.create(y, new Shape(b)));
      NDArray loss;
      try (ai.djl.training.GradientCollector collector = trainer.newGradientCollector()) {
        loss = trainer.getLoss().evaluate(ys, trainer.forward(xs, ys));
        collector.backward(loss);
      }
      trainer.step();
      value = loss.getFloat();
    }
    cursor.advance(b, data.epochSize());
    return value;
  }

  /** Loss and accuracy on the validation split: {loss, accuracy}. */
  double[] validate() {
    int n = data.valSize;
    int f = DemoSettings.FEATURES;
    try (NDManager m = trainer.getManager().newSubManager()) {
      NDArray xs = m.create(data.valX, new Shape(n, f));
      NDArray ys = m.create(data.valY, new Shape(n));
      NDList logits = trainer.evaluate(new NDList(xs));
      double loss = trainer.getLoss().evaluate(new NDList(ys), logits).getFloat();
      NDArray predicted = logits.head().argMax(1).toType(DataType.FLOAT32, false);
      double accuracy = predicted.eq(ys).toType(DataType.FLOAT32, false).mean().getFloat();
      return new double[] {loss, accuracy};
    }
  }

  @Override
  public float[] read() {
    List<float[]> parts = new ArrayList<>();
    int n = 0;
    for (Pair<String, Parameter> p : model.getBlock().getParameters()) {
      float[] values = p.getValue().getArray().toFloatArray();
      parts.add(values);
      n += values.length;
    }
    float[] all = new float[n];
    int at = 0;
    for (float[] values : parts) {
      System.arraycopy(values, 0, all, at, values.length);
      at += values.length;
    }
    return all;
  }

  @Override
  public void write(float[] values) {
    List<NDArray> arrays = new ArrayList<>();
    long total = 0;
    for (Pair<String, Parameter> p : model.getBlock().getParameters()) {
      arrays.add(p.getValue().getArray());
      total += arrays.get(arrays.size() - 1).size();
    }
    if (total != values.length) {
      throw new IllegalArgumentException(
          values.length + " values for a network of " + total + " parameters");
    }
    ByteBuffer bytes =
        ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    bytes.asFloatBuffer().put(values);
    int at = 0;
    for (NDArray a : arrays) {
      int n = Math.toIntExact(a.size()) * Float.BYTES;
      ModelState.copyInto(a, bytes.slice(at, n).order(ByteOrder.LITTLE_ENDIAN));
      at += n;
    }
  }

  @Override
  public void close() {
    try {
      trainer.close(); // the trainer's end: its listeners' final save, which may fail
    } finally {
      model.close();
    }
  }
}

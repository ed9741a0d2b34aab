package dev.cairn.djl;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Model;
import ai.djl.ndarray.NDManager;
import ai.djl.training.EasyTrain;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.ArrayDataset;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cairn.checkpoint.LoadedCheckpoint;
import dev.cairn.checkpoint.Verification;
import dev.cairn.manager.CheckpointManager;
import dev.cairn.manager.CheckpointPolicy;
import dev.cairn.run.Cairn;
import dev.cairn.run.Run;
import dev.cairn.run.RunOptions;
import dev.cairn.safetensors.SafetensorsFile;
import dev.cairn.safetensors.TensorInfo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ListenerTest {
  @TempDir Path runs;

  private static CheckpointableAdam adam() {
    return CheckpointableAdam.builder()
        .optLearningRateTracker(
            Tracker.cosine().setBaseValue(0.01f).optFinalValue(1e-4f).setMaxUpdates(40).build())
        .build();
  }

  /** Synchronous: these tests check which steps the listener saves, not how saves overlap. */
  private static CheckpointPolicy everySteps(long n) {
    return CheckpointPolicy.builder()
        .async(false)
        .everySteps(n)
        .every(null)
        .saveOnShutdown(false, java.time.Duration.ofSeconds(1))
        .build();
  }

  /** Trains steps [start, to) of run {@code name} in a fresh model, as a new process would. */
  private long session(String name, long initSeed, long to) throws Exception {
    try (Run run = Cairn.open(runs, RunOptions.named(name).totalSteps(40))) {
      CheckpointManager ckpt = run.checkpoints(everySteps(10));
      CheckpointableAdam opt = adam();
      CairnTrainingListener cairn = new CairnTrainingListener(run, ckpt, opt);
      try (Model m = Nets.model(initSeed);
          Trainer t = Nets.trainer(m, opt, cairn)) {
        long start = cairn.restore(t);
        Nets.train(t, start, to);
        return start;
      }
    }
  }

  private Map<String, byte[]> finalTensors(String run, String part) throws Exception {
    Path dir = runs.resolve(run).resolve("checkpoints").resolve("step-40");
    Map<String, byte[]> out = new java.util.TreeMap<>();
    try (LoadedCheckpoint c = LoadedCheckpoint.open(dir, Verification.FULL)) {
      SafetensorsFile f = c.tensors(part);
      for (TensorInfo t : f.tensors()) {
        out.put(t.name(), f.bytes(t.name()));
      }
    }
    return out;
  }

  @Test
  void resumedTrainingEqualsUninterruptedTraining() throws Exception {
    assertThat(session("straight", 1, 40)).isZero();

    assertThat(session("resumed", 1, 17)).isZero();
    // The second "process" initializes its model differently: only the checkpoint can make it
    // equal, and only when the optimizer's moments and step count come back too.
    assertThat(session("resumed", 99, 40)).isEqualTo(17);

    for (String part : List.of("model", "optimizer")) {
      Map<String, byte[]> a = finalTensors("straight", part);
      Map<String, byte[]> b = finalTensors("resumed", part);
      assertThat(b.keySet()).as(part).isEqualTo(a.keySet()).isNotEmpty();
      a.forEach((k, v) -> assertThat(b.get(k)).as(part + "/" + k).isEqualTo(v));
    }
    assertThat(finalTensors("straight", "optimizer").keySet())
        .anyMatch(k -> k.endsWith(".mean"))
        .anyMatch(k -> k.endsWith(".variance"));
  }

  @Test
  void djlsOwnAdamLosesItsStateOnResume() throws Exception {
    // Why the checkpointable optimizers exist: restoring the weights alone does not continue a
    // run. This is also the check that the test above can fail.
    Map<String, byte[]> straight;
    try (Model m = Nets.model(1);
        Trainer t = Nets.trainer(m, Optimizer.adam().build())) {
      Nets.train(t, 0, 20);
      straight = Nets.weights(m);
    }
    Map<String, byte[]> resumed;
    try (Model m = Nets.model(1);
        Trainer t = Nets.trainer(m, Optimizer.adam().build())) {
      Nets.train(t, 0, 10);
      Map<String, byte[]> half = Nets.weights(m);
      try (Model m2 = Nets.model(5);
          Trainer t2 = Nets.trainer(m2, Optimizer.adam().build())) {
        m2.getBlock()
            .getParameters()
            .forEach(p -> p.getValue().getArray().set(half.get(p.getKey())));
        Nets.train(t2, 10, 20);
        resumed = Nets.weights(m2);
      }
    }
    assertThat(resumed.get("01Linear_weight")).isNotEqualTo(straight.get("01Linear_weight"));
  }

  @Test
  void easyTrainFitGetsCheckpointsMetricsAndValidationLoss() throws Exception {
    Random r = new Random(3);
    int n = 128;
    float[] x = new float[n * Nets.IN];
    float[] y = new float[n];
    for (int i = 0; i < n; i++) {
      y[i] = r.nextInt(Nets.CLASSES);
      for (int j = 0; j < Nets.IN; j++) {
        x[i * Nets.IN + j] = (float) r.nextGaussian() + (j % Nets.CLASSES == (int) y[i] ? 2f : 0f);
      }
    }
    try (Run run = Cairn.open(runs, RunOptions.named("fit"));
        NDManager nd = NDManager.newBaseManager("PyTorch")) {
      ArrayDataset train =
          new ArrayDataset.Builder()
              .setData(nd.create(x, new ai.djl.ndarray.types.Shape(n, Nets.IN)))
              .optLabels(nd.create(y))
              .setSampling(Nets.BATCH, false)
              .build();
      CheckpointableAdam opt = adam();
      CairnTrainingListener cairn =
          new CairnTrainingListener(run, run.checkpoints(everySteps(5)), opt);
      try (Model m = Nets.model(1);
          Trainer t = Nets.trainer(m, opt, cairn)) {
        assertThat(cairn.restore(t)).isZero();
        EasyTrain.fit(t, 2, train, train); // 8 batches an epoch
      }
    }
    Path dir = runs.resolve("fit");
    List<String> steps = new ArrayList<>();
    try (var s = Files.list(dir.resolve("checkpoints"))) {
      s.map(p -> String.valueOf(p.getFileName()))
          .filter(f -> f.startsWith("step-"))
          .sorted()
          .forEach(steps::add);
    }
    assertThat(steps).containsExactly("step-10", "step-15", "step-16", "step-5");
    ObjectMapper json = new ObjectMapper();
    List<JsonNode> metrics = new ArrayList<>();
    for (String line : Files.readAllLines(dir.resolve("metrics.jsonl"))) {
      metrics.add(json.readTree(line));
    }
    assertThat(metrics).hasSize(16);
    assertThat(metrics).allMatch(m -> m.has("loss") && m.has("lr"));
    // val_loss belongs to the last step of each epoch.
    assertThat(metrics.stream().filter(m -> m.has("val_loss")).map(m -> m.get("step").asLong()))
        .containsExactly(7L, 15L);
    try (LoadedCheckpoint last =
        LoadedCheckpoint.open(dir.resolve("checkpoints").resolve("step-16"), Verification.SIZES)) {
      assertThat(last.manifest().metrics()).containsKey("val_loss");
    }
  }

  @Test
  void listenersTrainBatchComputesWhatEasyTrainComputesAndLogsItsLoss() throws Exception {
    Map<String, byte[]> easy;
    try (Model m = Nets.model(4);
        Trainer t = Nets.trainer(m, adam())) {
      Nets.train(t, 0, 12);
      easy = Nets.weights(m);
    }
    try (Run run = Cairn.open(runs, RunOptions.named("own-batch"))) {
      CheckpointableAdam opt = adam();
      CairnTrainingListener cairn =
          new CairnTrainingListener(run, run.checkpoints(everySteps(100)), opt);
      try (Model m = Nets.model(4);
          Trainer t = Nets.trainer(m, opt, cairn)) {
        cairn.restore(t);
        for (long s = 0; s < 12; s++) {
          try (NDManager nd = t.getManager().newSubManager()) {
            cairn.trainBatch(t, Nets.batch(nd, s));
            t.step();
          }
        }
        Map<String, byte[]> own = Nets.weights(m);
        easy.forEach((k, v) -> assertThat(own.get(k)).as(k).isEqualTo(v));
      }
    }
    ObjectMapper json = new ObjectMapper();
    List<String> lines = Files.readAllLines(runs.resolve("own-batch").resolve("metrics.jsonl"));
    assertThat(lines).hasSize(12);
    for (String line : lines) {
      double loss = json.readTree(line).path("loss").asDouble(Double.NaN);
      assertThat(loss).isFinite().isPositive();
    }
  }

  /**
   * A manager that throws from onStep (the group of ranks broke) ends training: each step is logged
   * once, with its own loss, and the final save is still attempted (and fails).
   */
  @Test
  void aStepTheManagerRefusedIsLoggedOnceWithItsOwnLoss() throws Exception {
    List<Double> straight = new ArrayList<>();
    try (Run run = Cairn.open(runs, RunOptions.named("straight-losses"))) {
      CheckpointableAdam opt = adam();
      CairnTrainingListener cairn =
          new CairnTrainingListener(run, run.checkpoints(everySteps(100)), opt);
      try (Model m = Nets.model(6);
          Trainer t = Nets.trainer(m, opt, cairn)) {
        cairn.restore(t);
        Nets.train(t, 0, 8);
      }
    }
    ObjectMapper json = new ObjectMapper();
    for (String line : Files.readAllLines(runs.resolve("straight-losses/metrics.jsonl"))) {
      straight.add(json.readTree(line).get("loss").asDouble());
    }

    java.util.concurrent.atomic.AtomicReference<Throwable> thrown =
        new java.util.concurrent.atomic.AtomicReference<>();
    try (Run run = Cairn.open(runs, RunOptions.named("broken"))) {
      CheckpointableAdam opt = adam();
      CairnTrainingListener cairn =
          new CairnTrainingListener(run, new BreaksAt(5, run.checkpoints(everySteps(100))), opt);
      try (Model m = Nets.model(6)) {
        Trainer t = Nets.trainer(m, opt, cairn);
        cairn.restore(t);
        try {
          Nets.train(t, 0, 8);
        } catch (java.io.UncheckedIOException e) {
          thrown.set(e);
        }
        try {
          t.close();
        } catch (java.io.UncheckedIOException e) {
          thrown.get().addSuppressed(e);
        }
      }
    }
    assertThat(thrown.get()).hasMessageContaining("the group broke at step 5");
    assertThat(thrown.get().getSuppressed())
        .singleElement()
        .asString()
        .contains("final checkpoint");
    List<String> lines = Files.readAllLines(runs.resolve("broken/metrics.jsonl"));
    com.fasterxml.jackson.databind.ObjectReader strict =
        json.reader()
            .with(com.fasterxml.jackson.core.JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
    List<Long> steps = new ArrayList<>();
    for (String line : lines) {
      JsonNode r = strict.readTree(line);
      steps.add(r.get("step").asLong());
      assertThat(r.get("loss").asDouble()).isEqualTo(straight.get((int) r.get("step").asLong()));
    }
    assertThat(steps).containsExactly(0L, 1L, 2L, 3L, 4L, 5L);
  }

  /**
   * On the CPU the loss is read when its batch ends: the checkpoint manager gets every step with
   * its own loss (the loss-continuity check and a checkpoint's metrics are of that step), the same
   * value metrics.jsonl holds, through the listener's own trainBatch and through EasyTrain's.
   */
  @Test
  void onTheCpuTheManagerSeesEachStepWithItsOwnLoss() throws Exception {
    for (boolean own : new boolean[] {true, false}) {
      String name = own ? "own-loss-trainbatch" : "own-loss-easytrain";
      BreaksAt seeing;
      try (Run run = Cairn.open(runs, RunOptions.named(name))) {
        CheckpointableAdam opt = adam();
        seeing = new BreaksAt(Long.MAX_VALUE, run.checkpoints(everySteps(100)));
        CairnTrainingListener cairn = new CairnTrainingListener(run, seeing, opt);
        try (Model m = Nets.model(8);
            Trainer t = Nets.trainer(m, opt, cairn)) {
          cairn.restore(t);
          for (long s = 0; s < 40; s++) {
            try (NDManager nd = t.getManager().newSubManager()) {
              if (own) {
                cairn.trainBatch(t, Nets.batch(nd, s));
              } else {
                EasyTrain.trainBatch(t, Nets.batch(nd, s));
              }
              t.step();
            }
          }
        }
      }
      ObjectMapper json = new ObjectMapper();
      List<Double> logged = new ArrayList<>();
      for (String line : Files.readAllLines(runs.resolve(name).resolve("metrics.jsonl"))) {
        logged.add(json.readTree(line).get("loss").asDouble());
      }
      assertThat(logged).as(name).hasSize(40);
      // More steps than the batch an accelerator's losses are read in: none waits for a later one.
      assertThat(seeing.seen).as(name).hasSize(40);
      for (int s = 0; s < 40; s++) {
        assertThat(seeing.seen.get(s)).as(name + " step " + s).containsEntry("loss", logged.get(s));
      }
    }
  }

  /**
   * A manager whose group breaks: onStep throws from a step on, and so does the final save. It
   * keeps the metrics of each step it was told of.
   */
  private static final class BreaksAt implements CheckpointManager {
    private final long at;
    private final CheckpointManager m;
    final List<Map<String, Double>> seen = new ArrayList<>();
    private boolean broken;

    BreaksAt(long at, CheckpointManager m) {
      this.at = at;
      this.m = m;
    }

    @Override
    public long restoreLatest(dev.cairn.manager.Checkpointable... components)
        throws java.io.IOException {
      return m.restoreLatest(components);
    }

    @Override
    public boolean onStep(long step, Map<String, Double> metrics) {
      seen.add(metrics);
      if (step >= at) {
        broken = true;
        throw new java.io.UncheckedIOException(
            new java.io.IOException("the group broke at step " + step));
      }
      return m.onStep(step, metrics);
    }

    @Override
    public String requestSave(String name) {
      return m.requestSave(name);
    }

    @Override
    public dev.cairn.checkpoint.SavedCheckpoint saveNow(String name) throws java.io.IOException {
      return m.saveNow(name);
    }

    @Override
    public void beforeSave(Runnable action) {
      m.beforeSave(action);
    }

    @Override
    public java.util.Optional<dev.cairn.checkpoint.SavedCheckpoint> saveFinal()
        throws java.io.IOException {
      if (!broken) {
        return m.saveFinal();
      }
      throw new java.io.IOException("the group broke: no final save");
    }

    @Override
    public java.util.Optional<dev.cairn.checkpoint.SavedCheckpoint> lastSaved() {
      return m.lastSaved();
    }

    @Override
    public java.util.Optional<Throwable> lastFailure() {
      return m.lastFailure();
    }

    @Override
    public dev.cairn.checkpoint.CheckpointStore store() {
      return m.store();
    }

    @Override
    public void close() throws java.io.IOException {
      m.close();
    }
  }
}

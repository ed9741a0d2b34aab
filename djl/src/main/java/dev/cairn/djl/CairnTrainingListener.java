package dev.cairn.djl;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.training.EasyTrain;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.Batch;
import ai.djl.training.listener.TrainingListener;
import ai.djl.training.listener.TrainingListenerAdapter;
import dev.cairn.events.EventType;
import dev.cairn.manager.CheckpointManager;
import dev.cairn.manager.Checkpointable;
import dev.cairn.metrics.MetricsLog;
import dev.cairn.run.Run;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Plugs a {@link Run} and its {@link CheckpointManager} into a DJL training loop, whether the loop
 * is {@code EasyTrain.fit} or a hand-written one calling {@code trainBatch} and {@code
 * trainer.step()}:
 *
 * <pre>{@code
 * CheckpointableAdam adam = CheckpointableAdam.builder().build();
 * CairnTrainingListener cairn = new CairnTrainingListener(run, run.checkpoints(policy), adam);
 * TrainingConfig config = new DefaultTrainingConfig(loss).optOptimizer(adam)
 *     .addTrainingListeners(cairn);
 * try (Trainer trainer = model.newTrainer(config)) {
 *   trainer.initialize(inputShape);
 *   long start = cairn.restore(trainer, cursor, rng);      // before the first batch; 0 when fresh
 *   for (long step = start; step < total; step++) {
 *     cairn.trainBatch(trainer, batch(step));   // or EasyTrain.trainBatch(trainer, ...)
 *     trainer.step();
 *   }
 * }                                                         // closing the trainer saves the final step
 * }</pre>
 *
 * <p>DJL tells listeners about a batch after its backward pass but before {@code trainer.step()}
 * applies the update, so step {@code s} is reported to the checkpoint manager when the next batch
 * (or the end of an epoch, or of training) shows that its update has been applied: the optimizer's
 * update count is the witness. Metrics logged per step: {@code loss} (the batch's loss from the
 * trainer's loss function), {@code lr}, and after a validation pass {@code val_loss}; add others
 * with {@link #record}.
 *
 * <p>How the loss is read depends on where it was computed. On the CPU the value is already there
 * when the backward pass returns: it is copied out at once with one read of the tensor's data (a
 * few native calls, no new tensor), and the step goes to metrics.jsonl and to the checkpoint
 * manager with its own loss. On an accelerator a read waits for the device's queue to drain, so the
 * losses stay on the device (detached from their graph) and are read {@value #LOSS_BATCH} at a time
 * in one stacked copy, then logged, every step with its own loss; the checkpoint manager then sees
 * the newest loss read so far (at most {@value #LOSS_BATCH} steps old; it uses it for the
 * loss-continuity check and the checkpoint's recorded metrics).
 */
public final class CairnTrainingListener extends TrainingListenerAdapter {
  /** Losses of an accelerator read from the device in one copy. */
  public static final int LOSS_BATCH = 32;

  private final Run run;
  private final CheckpointManager checkpoints;
  private final CheckpointableOptimizer optimizer;
  private final Map<String, Double> pendingMetrics = new HashMap<>();
  private final Map<String, Double> extra = new HashMap<>();
  private final List<NDArray> unreadLosses = new ArrayList<>();
  private final List<Unlogged> unlogged = new ArrayList<>();
  private long nextStep = -1;
  private long pendingStep = -1;
  private Object pendingLoss; // NDArray (unread) or Double
  private NDArray trainedLoss; // kept on an accelerator by trainBatch
  private double trainedLossValue; // read on the CPU by trainBatch (NaN too: a diverged run)
  private boolean trainedLossRead;
  private int updatesAtPending;
  private double lastLoss = Double.NaN;
  private double validationLossSum;
  private long validationCount;

  /** A step whose metrics wait for its loss to be read. */
  private record Unlogged(long step, Map<String, Double> metrics, int lossIndex, double loss) {}

  /**
   * @param optimizer the optimizer the trainer uses (its state is saved with the model)
   */
  public CairnTrainingListener(
      Run run, CheckpointManager checkpoints, CheckpointableOptimizer optimizer) {
    this.run = run;
    this.checkpoints = checkpoints;
    this.optimizer = optimizer;
    // Losses are read from the device in batches: before each save, log the steps still waiting,
    // so a SIGTERM that ends the JVM after its last save loses none of the steps before it.
    checkpoints.beforeSave(this::readLosses);
  }

  /**
   * Registers the model, the optimizer and {@code extra} components (data position, RNG, ...) and
   * restores the newest valid checkpoint into them. Call after {@code trainer.initialize}.
   *
   * @return the next step to run (steps completed in the restored checkpoint; 0 when fresh)
   */
  public long restore(Trainer trainer, Checkpointable... extra) throws IOException {
    List<Checkpointable> parts = new ArrayList<>();
    parts.add(ModelState.of(trainer.getModel()));
    parts.add(optimizer.state(trainer.getModel().getBlock()));
    parts.addAll(List.of(extra));
    nextStep = checkpoints.restoreLatest(parts.toArray(Checkpointable[]::new));
    return nextStep;
  }

  /** The newest training loss read from the engine (NaN before the first). */
  public double lastLoss() {
    return lastLoss;
  }

  /** The next step the listener expects (steps completed so far). */
  public long step() {
    return nextStep;
  }

  /** Adds a metric to the current step's record (for example val_accuracy after a validation). */
  public void record(String metric, double value) {
    if (pendingStep >= 0) {
      pendingMetrics.put(metric, value);
    } else {
      extra.put(metric, value);
    }
  }

  /**
   * {@code EasyTrain.trainBatch} (forward, loss, backward, then the listeners) that hands the loss
   * it computed to this listener instead of the listener evaluating the loss function a second
   * time. Same numbers as {@code EasyTrain.trainBatch}; several devices fall back to it. Trainers
   * on several threads of one JVM take turns here for the forward and backward pass (DJL's PyTorch
   * engine allows one gradient collector at a time).
   */
  public void trainBatch(Trainer trainer, Batch batch) {
    if (trainer.getDevices().length != 1) {
      EasyTrain.trainBatch(trainer, batch);
      return;
    }
    boolean cpu = onCpu(trainer.getDevices()[0]);
    TrainingListener.BatchData batchData =
        new TrainingListener.BatchData(batch, new ConcurrentHashMap<>(), new ConcurrentHashMap<>());
    // Not holding the turn while the listeners run: they may wait for other ranks (a group's
    // agreement on each step's save), which may be waiting for the turn.
    GradientCollectors.exclusive(
        trainer,
        collector -> {
          NDList labels = batch.getLabels();
          NDList predictions = trainer.forward(batch.getData(), labels);
          NDArray loss = trainer.getLoss().evaluate(labels, predictions);
          collector.backward(loss);
          trainedLoss = cpu ? loss : keep(loss);
          batchData.getLabels().put(labels.get(0).getDevice(), labels);
          batchData.getPredictions().put(predictions.get(0).getDevice(), predictions);
        });
    if (cpu) {
      // Read out of the collector, making no tensor; the loss itself stays the batch's to close.
      // Forgotten first: a loss that cannot be read must not be taken for the next step's.
      NDArray trained = trainedLoss;
      trainedLoss = null;
      trainedLossValue = scalar(trained);
      trainedLossRead = true;
    }
    trainer.notifyListeners(listener -> listener.onTrainingBatch(trainer, batchData));
  }

  @Override
  public void onTrainingBatch(Trainer trainer, TrainingListener.BatchData batchData) {
    requireRestored();
    flushIfApplied();
    Object loss;
    if (trainedLoss != null) {
      loss = trainedLoss;
    } else if (trainedLossRead) {
      loss = trainedLossValue;
    } else {
      loss = loss(trainer, batchData);
    }
    trainedLoss = null;
    trainedLossRead = false;
    pendingStep = nextStep++;
    pendingLoss = loss;
    updatesAtPending = optimizer.numUpdate();
    pendingMetrics.clear();
    pendingMetrics.putAll(extra);
    extra.clear();
  }

  @Override
  public void onValidationBatch(Trainer trainer, TrainingListener.BatchData batchData) {
    long n = batchData.getBatch().getSize();
    Object loss = loss(trainer, batchData);
    double value;
    if (loss instanceof NDArray a) {
      value = a.getFloat();
      a.close();
    } else {
      value = (Double) loss;
    }
    validationLossSum += value * n;
    validationCount += n;
  }

  /**
   * Ends a validation pass of a hand-written loop: the mean loss of the validation batches since
   * the last pass becomes {@code val_loss} of the current step. {@code EasyTrain.fit} gets this at
   * each epoch's end.
   */
  public double validationDone() {
    double mean = validationCount == 0 ? Double.NaN : validationLossSum / validationCount;
    validationLossSum = 0;
    validationCount = 0;
    if (!Double.isNaN(mean)) {
      record("val_loss", mean);
    }
    return mean;
  }

  @Override
  public void onEpoch(Trainer trainer) {
    validationDone();
    flushIfApplied(true);
    readLosses();
  }

  @Override
  public void onTrainingEnd(Trainer trainer) {
    if (nextStep < 0) {
      return; // never restored, never trained
    }
    boolean applied = flushIfApplied(true);
    readLosses();
    if (!applied && pendingStep >= 0) {
      // The loop stopped between a batch's backward pass and its update (an exception): that
      // step is not complete, so it is neither reported nor saved.
      if (pendingLoss instanceof NDArray a) {
        a.close();
      }
      run.events()
          .emit(
              EventType.WARNING,
              pendingStep,
              "training ended before step " + pendingStep + "'s update; not saved");
      pendingStep = -1;
      return;
    }
    try {
      checkpoints.saveFinal();
    } catch (IOException e) {
      throw new UncheckedIOException("final checkpoint failed: " + e.getMessage(), e);
    }
  }

  /** Reports the pending step when the optimizer shows its update was applied. */
  private boolean flushIfApplied() {
    return flushIfApplied(false);
  }

  /**
   * @param readNow read the waiting losses before reporting (at an epoch's or training's end, so
   *     the step a final or epoch checkpoint records has its own loss)
   */
  private boolean flushIfApplied(boolean readNow) {
    if (pendingStep < 0 || optimizer.numUpdate() == updatesAtPending) {
      return false;
    }
    float lr = optimizer.learningRate();
    if (!Float.isNaN(lr)) {
      pendingMetrics.put("lr", (double) lr);
    }
    if (pendingLoss instanceof NDArray a) {
      unlogged.add(new Unlogged(pendingStep, Map.copyOf(pendingMetrics), unreadLosses.size(), 0));
      unreadLosses.add(a);
      if (readNow || unreadLosses.size() >= LOSS_BATCH) {
        readLosses();
      }
    } else if (unlogged.isEmpty()) {
      // Read already (the CPU, or several devices): logged now, nothing queued.
      double loss = (Double) pendingLoss;
      log(pendingStep, loss, pendingMetrics);
      lastLoss = loss;
    } else {
      // Behind steps still on a device (it changed mid-run): logged after them, in step order.
      unlogged.add(new Unlogged(pendingStep, Map.copyOf(pendingMetrics), -1, (Double) pendingLoss));
      readLosses();
    }
    if (!Double.isNaN(lastLoss)) {
      pendingMetrics.put("loss", lastLoss);
    }
    long step = pendingStep;
    // The step is reported once, even when the manager throws (a group that broke): reported again
    // at the training's end, it would be logged twice, the second time with the previous step's
    // loss beside its own.
    pendingStep = -1;
    pendingLoss = null;
    // A copy: the manager keeps the map of the last step for the metrics of its next save.
    checkpoints.onStep(step, Map.copyOf(pendingMetrics));
    return true;
  }

  /** Reads the waiting losses in one copy and logs their steps' metrics. */
  private void readLosses() {
    float[] values = new float[0];
    if (!unreadLosses.isEmpty()) {
      try (NDArray stacked = NDArrays.stack(new NDList(unreadLosses))) {
        values = stacked.toFloatArray();
      } finally {
        unreadLosses.forEach(NDArray::close);
        unreadLosses.clear();
      }
    }
    for (Unlogged u : unlogged) {
      double loss = u.lossIndex() >= 0 ? values[u.lossIndex()] : u.loss();
      log(u.step(), loss, u.metrics());
      lastLoss = loss;
    }
    unlogged.clear();
  }

  private void log(long step, double loss, Map<String, Double> metrics) {
    MetricsLog.Record r = run.metrics().begin(step);
    r.put("loss", loss);
    // A loop, not forEach: no lambda captured on the training thread every step.
    for (Map.Entry<String, Double> e : metrics.entrySet()) {
      r.put(e.getKey(), e.getValue());
    }
    r.commit();
  }

  private static boolean onCpu(Device device) {
    return Device.Type.CPU.equals(device.getDeviceType());
  }

  /**
   * The value of a loss on the CPU, read in one copy of its data (no tensor made, unlike {@code
   * getFloat()}, which indexes first); the mean when a loss function returns several values.
   */
  private static double scalar(NDArray loss) {
    float[] values = loss.toFloatArray();
    if (values.length == 1) {
      return values[0];
    }
    double sum = 0;
    for (float v : values) {
      sum += v;
    }
    return values.length == 0 ? Double.NaN : sum / values.length;
  }

  /**
   * The loss value without its autograd graph, kept past the batch (read later with others, closed
   * by this listener). Keeping the loss itself would keep each step's graph alive, and PyTorch then
   * copies gradients instead of accumulating them in place: a few percent of a small step.
   */
  private static NDArray keep(NDArray loss) {
    NDArray value = loss.stopGradient();
    value.detach();
    return value;
  }

  private void requireRestored() {
    if (nextStep < 0) {
      throw new IllegalStateException(
          "call CairnTrainingListener.restore(trainer, ...) after trainer.initialize and before"
              + " the first batch");
    }
  }

  /**
   * The batch's mean loss: an unread engine scalar on one device, a number (weighted by each
   * device's share of the batch) on several.
   */
  private static Object loss(Trainer trainer, TrainingListener.BatchData batchData) {
    Map<Device, NDList> predictions = batchData.getPredictions();
    if (predictions.size() == 1) {
      Map.Entry<Device, NDList> e = predictions.entrySet().iterator().next();
      try (NDArray loss =
          trainer.getLoss().evaluate(batchData.getLabels().get(e.getKey()), e.getValue())) {
        return onCpu(e.getKey()) ? (Object) scalar(loss) : keep(loss);
      }
    }
    double sum = 0;
    long count = 0;
    for (Map.Entry<Device, NDList> e : predictions.entrySet()) {
      NDList labels = batchData.getLabels().get(e.getKey());
      try (NDArray loss = trainer.getLoss().evaluate(labels, e.getValue())) {
        long n = labels.head().getShape().get(0);
        sum += scalar(loss) * n;
        count += n;
      }
    }
    return count == 0 ? Double.NaN : sum / count;
  }
}

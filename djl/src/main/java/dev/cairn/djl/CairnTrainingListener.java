package dev.cairn.djl;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.training.Trainer;
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

/**
 * Plugs a {@link Run} and its {@link CheckpointManager} into a DJL training loop, whether the loop
 * is {@code EasyTrain.fit} or a hand-written one calling {@code EasyTrain.trainBatch} and {@code
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
 *     EasyTrain.trainBatch(trainer, batch(step));
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
 */
public final class CairnTrainingListener extends TrainingListenerAdapter {
  private final Run run;
  private final CheckpointManager checkpoints;
  private final CheckpointableOptimizer optimizer;
  private final Map<String, Double> pendingMetrics = new HashMap<>();
  private final Map<String, Double> extra = new HashMap<>();
  private long nextStep = -1;
  private long pendingStep = -1;
  private int updatesAtPending;
  private double validationLossSum;
  private long validationCount;

  /**
   * @param optimizer the optimizer the trainer uses (its state is saved with the model)
   */
  public CairnTrainingListener(
      Run run, CheckpointManager checkpoints, CheckpointableOptimizer optimizer) {
    this.run = run;
    this.checkpoints = checkpoints;
    this.optimizer = optimizer;
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

  @Override
  public void onTrainingBatch(Trainer trainer, TrainingListener.BatchData batchData) {
    requireRestored();
    flushIfApplied();
    double loss = meanLoss(trainer, batchData);
    pendingStep = nextStep++;
    updatesAtPending = optimizer.numUpdate();
    pendingMetrics.clear();
    pendingMetrics.put("loss", loss);
    pendingMetrics.putAll(extra);
    extra.clear();
  }

  @Override
  public void onValidationBatch(Trainer trainer, TrainingListener.BatchData batchData) {
    long n = batchData.getBatch().getSize();
    validationLossSum += meanLoss(trainer, batchData) * n;
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
    flushIfApplied();
  }

  @Override
  public void onTrainingEnd(Trainer trainer) {
    if (nextStep < 0) {
      return; // never restored, never trained
    }
    if (!flushIfApplied() && pendingStep >= 0) {
      // The loop stopped between a batch's backward pass and its update (an exception): that
      // step is not complete, so it is neither reported nor saved.
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
    if (pendingStep < 0 || optimizer.numUpdate() == updatesAtPending) {
      return false;
    }
    float lr = optimizer.learningRate();
    if (!Float.isNaN(lr)) {
      pendingMetrics.put("lr", (double) lr);
    }
    MetricsLog.Record r = run.metrics().begin(pendingStep);
    pendingMetrics.forEach(r::put);
    r.commit();
    // A copy: the manager keeps the map of the last step for the metrics of its next save.
    checkpoints.onStep(pendingStep, Map.copyOf(pendingMetrics));
    pendingStep = -1;
    return true;
  }

  private void requireRestored() {
    if (nextStep < 0) {
      throw new IllegalStateException(
          "call CairnTrainingListener.restore(trainer, ...) after trainer.initialize and before"
              + " the first batch");
    }
  }

  /** The batch's mean loss, weighted over devices by their share of the batch. */
  private static double meanLoss(Trainer trainer, TrainingListener.BatchData batchData) {
    double sum = 0;
    long count = 0;
    for (Map.Entry<Device, NDList> e : batchData.getPredictions().entrySet()) {
      NDList labels = batchData.getLabels().get(e.getKey());
      try (NDArray loss = trainer.getLoss().evaluate(labels, e.getValue())) {
        long n = labels.head().getShape().get(0);
        sum += loss.getFloat() * n;
        count += n;
      }
    }
    return count == 0 ? Double.NaN : sum / count;
  }
}

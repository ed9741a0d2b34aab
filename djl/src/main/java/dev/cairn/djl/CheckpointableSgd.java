package dev.cairn.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.training.tracker.ParameterTracker;
import ai.djl.training.tracker.Tracker;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * SGD with momentum, with the numerics of DJL's {@code ai.djl.training.optimizer.Sgd} and state
 * that Cairn saves: the momentum buffer per parameter and the update count.
 */
public final class CheckpointableSgd extends CheckpointableOptimizer {
  private final ParameterTracker learningRateTracker;
  private final float momentum;

  private CheckpointableSgd(Builder b) {
    super(b, "momentum");
    this.learningRateTracker = b.learningRateTracker;
    this.momentum = b.momentum;
  }

  public static Builder builder() {
    return new Builder();
  }

  @Override
  public void update(String parameterId, NDArray weight, NDArray grad) {
    float weightDecay = getWeightDecay();
    float lr = learningRateTracker.getNewValue(parameterId, updateCount(parameterId));
    learningRateUsed(lr);
    NDList inputs =
        momentum != 0f
            ? new NDList(weight, grad, state("momentum", parameterId, weight))
            : new NDList(weight, grad);
    weight
        .getNDArrayInternal()
        .sgdUpdate(
            inputs, new NDList(weight), lr, weightDecay, rescaleGrad, clipGrad, momentum, true);
  }

  @Override
  protected ObjectNode settings() {
    return JsonNodeFactory.instance
        .objectNode()
        .put("optimizer", "sgd")
        .put("momentum", momentum)
        .put("weight_decay", getWeightDecay())
        .put("clip_grad", clipGrad)
        .put("rescale_grad", rescaleGrad);
  }

  /** The settings of DJL's {@code Sgd.Builder}; the learning-rate tracker is required. */
  public static final class Builder extends CheckpointableOptimizer.Builder<Builder> {
    private ParameterTracker learningRateTracker;
    private float momentum;

    private Builder() {}

    @Override
    protected Builder self() {
      return this;
    }

    public Builder setLearningRateTracker(ParameterTracker tracker) {
      this.learningRateTracker = tracker;
      return this;
    }

    public Builder optMomentum(float momentum) {
      this.momentum = momentum;
      return this;
    }

    public CheckpointableSgd build() {
      if (learningRateTracker == null) {
        throw new IllegalArgumentException("SGD needs a learning-rate tracker");
      }
      return new CheckpointableSgd(this);
    }
  }

  /** A fixed learning rate, for brevity: {@code CheckpointableSgd.fixed(0.1f, 0.9f)}. */
  public static CheckpointableSgd fixed(float learningRate, float momentum) {
    return builder()
        .setLearningRateTracker(Tracker.fixed(learningRate))
        .optMomentum(momentum)
        .build();
  }
}

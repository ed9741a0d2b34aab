package dev.cairn.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.internal.NDArrayEx;
import ai.djl.training.tracker.ParameterTracker;
import ai.djl.training.tracker.Tracker;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Adam with the numerics of DJL's {@code ai.djl.training.optimizer.Adam} (the same fused engine
 * operator, bias correction and arguments; tested to give byte-identical weights) and state that
 * Cairn saves: first and second moments per parameter and the update count.
 */
public final class CheckpointableAdam extends CheckpointableOptimizer {
  private final ParameterTracker learningRateTracker;
  private final float beta1;
  private final float beta2;
  private final float epsilon;

  private CheckpointableAdam(Builder b) {
    super(b, "mean", "variance");
    this.learningRateTracker = b.learningRateTracker;
    this.beta1 = b.beta1;
    this.beta2 = b.beta2;
    this.epsilon = b.epsilon;
  }

  public static Builder builder() {
    return new Builder();
  }

  @Override
  public void update(String parameterId, NDArray weight, NDArray grad) {
    int t = updateCount(parameterId);
    double coef1 = 1.0 - Math.pow(beta1, t);
    double coef2 = 1.0 - Math.pow(beta2, t);
    float lr = learningRateTracker.getNewValue(parameterId, t);
    float lrBiasCorrection = (float) (lr * Math.sqrt(coef2) / coef1);
    float weightDecay = getWeightDecay();
    if (!Float.isFinite(lrBiasCorrection) || !Float.isFinite(weightDecay)) {
      throw new IllegalArgumentException("learning rate or weight decay is NaN or infinite");
    }
    learningRateUsed(lr);
    NDList inputs =
        new NDList(
            weight,
            grad,
            state("mean", parameterId, weight),
            state("variance", parameterId, weight));
    NDArrayEx ex = weight.getNDArrayInternal();
    ex.adamUpdate(
        inputs,
        new NDList(weight),
        lr,
        lrBiasCorrection,
        weightDecay,
        rescaleGrad,
        clipGrad,
        beta1,
        beta2,
        epsilon,
        true,
        false);
  }

  @Override
  protected ObjectNode settings() {
    return JsonNodeFactory.instance
        .objectNode()
        .put("optimizer", "adam")
        .put("beta1", beta1)
        .put("beta2", beta2)
        .put("epsilon", epsilon)
        .put("weight_decay", getWeightDecay())
        .put("clip_grad", clipGrad)
        .put("rescale_grad", rescaleGrad);
  }

  /** The settings of DJL's {@code Adam.Builder}, with the same defaults. */
  public static final class Builder extends CheckpointableOptimizer.Builder<Builder> {
    private ParameterTracker learningRateTracker = Tracker.fixed(0.001f);
    private float beta1 = 0.9f;
    private float beta2 = 0.999f;
    private float epsilon = 1e-8f;

    private Builder() {}

    @Override
    protected Builder self() {
      return this;
    }

    public Builder optLearningRateTracker(ParameterTracker tracker) {
      this.learningRateTracker = tracker;
      return this;
    }

    public Builder optBeta1(float beta1) {
      this.beta1 = beta1;
      return this;
    }

    public Builder optBeta2(float beta2) {
      this.beta2 = beta2;
      return this;
    }

    public Builder optEpsilon(float epsilon) {
      this.epsilon = epsilon;
      return this;
    }

    public CheckpointableAdam build() {
      return new CheckpointableAdam(this);
    }
  }
}

package dev.cairn.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cairn.safetensors.Tensor;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/** Deterministic checkpoints whose content can be recomputed from the step alone. */
final class Fixtures {
  private Fixtures() {}

  static float[] weights(long step, int n) {
    SplittableRandom r = new SplittableRandom(step * 7919 + n);
    float[] w = new float[n];
    for (int i = 0; i < n; i++) {
      w[i] = (float) r.nextGaussian();
    }
    return w;
  }

  static ObjectNode state(long step) {
    ObjectNode s = JsonNodeFactory.instance.objectNode();
    s.put("step", step).put("epoch", step / 10).put("cursor", step * 32);
    return s;
  }

  /** A checkpoint of about {@code floats * 6} bytes: model, optimizer and JSON state. */
  static Checkpoint checkpoint(long step, int floats) {
    return Checkpoint.at(step)
        .metric("loss", 1.0 / (step + 1))
        .metadata("note", "fixture")
        .tensors(
            "model",
            List.of(
                Tensor.of("layer0.weight", weights(step, floats), floats),
                Tensor.of("layer0.bias", weights(step + 1, 16), 16)),
            Map.of("kind", "model"))
        .tensors("optimizer", List.of(Tensor.of("m", weights(step + 2, floats / 2), floats / 2)))
        .json("state", state(step))
        .build();
  }

  /** Asserts the loaded checkpoint holds exactly what {@link #checkpoint} wrote for its step. */
  static void assertIntact(LoadedCheckpoint c, int floats) throws IOException {
    long step = c.step();
    assertThat(c.tensors("model").floats("layer0.weight")).isEqualTo(weights(step, floats));
    assertThat(c.tensors("model").floats("layer0.bias")).isEqualTo(weights(step + 1, 16));
    assertThat(c.tensors("model").metadata()).containsEntry("kind", "model");
    assertThat(c.tensors("optimizer").floats("m")).isEqualTo(weights(step + 2, floats / 2));
    assertThat(c.json("state").toString()).isEqualTo(state(step).toString());
    assertThat(c.manifest().metrics()).containsEntry("loss", 1.0 / (step + 1));
  }
}

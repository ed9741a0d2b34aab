package dev.cairn.manager;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Named float arrays (weights, optimizer moments) restored in place: the arrays the caller holds
 * are filled, so references into them stay valid.
 */
public final class TensorMap implements Checkpointable {
  private final String name;
  private final Map<String, float[]> tensors = new LinkedHashMap<>();

  public TensorMap(String name) {
    this.name = name;
  }

  /** Adds (or replaces) a tensor; the array is saved and restored in place. */
  public TensorMap put(String tensor, float[] values) {
    tensors.put(tensor, values);
    return this;
  }

  public float[] get(String tensor) {
    return tensors.get(tensor);
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public void snapshot(Snapshot out) {
    tensors.forEach((k, v) -> out.tensor(k, v, v.length));
  }

  @Override
  public void restore(Restored in) throws IOException {
    for (Map.Entry<String, float[]> e : tensors.entrySet()) {
      float[] saved = in.floats(e.getKey());
      if (saved.length != e.getValue().length) {
        throw new IllegalStateException(
            "tensor '"
                + e.getKey()
                + "' of '"
                + name
                + "' has "
                + saved.length
                + " values in the checkpoint but "
                + e.getValue().length
                + " here");
      }
      System.arraycopy(saved, 0, e.getValue(), 0, saved.length);
    }
  }
}

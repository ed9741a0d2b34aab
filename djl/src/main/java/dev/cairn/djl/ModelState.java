package dev.cairn.djl;

import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import dev.cairn.manager.Checkpointable;
import dev.cairn.manager.Restored;
import dev.cairn.manager.Snapshot;
import dev.cairn.safetensors.DType;
import dev.cairn.safetensors.TensorInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * A DJL block's parameters as a checkpoint part: one safetensors tensor per parameter, named by the
 * parameter's path in the block ({@code 01Linear_weight}, as DJL names them), so DJL's and Python's
 * safetensors readers open the part directly. Snapshots read the engine's memory through {@link
 * NDArray#toByteBuffer(boolean) toByteBuffer(true)} (no intermediate copy); restores write into the
 * existing parameter arrays, so the trainer and optimizer keep their references.
 */
public final class ModelState implements Checkpointable {
  private final String name;
  private final Block block;

  public ModelState(String name, Block block) {
    this.name = name;
    this.block = block;
  }

  /** The model's block as the part {@code model}. */
  public static ModelState of(Model model) {
    return new ModelState("model", model.getBlock());
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public void snapshot(Snapshot out) {
    for (Pair<String, Parameter> p : block.getParameters()) {
      NDArray a = p.getValue().getArray();
      out.tensor(
          p.getKey(), DTypes.of(a.getDataType()), a.getShape().getShape(), a.toByteBuffer(true));
    }
  }

  @Override
  public void restore(Restored in) throws IOException {
    Map<String, TensorInfo> saved = new HashMap<>();
    for (TensorInfo t : in.tensors()) {
      saved.put(t.name(), t);
    }
    for (Pair<String, Parameter> p : block.getParameters()) {
      NDArray a = p.getValue().getArray();
      TensorInfo t = saved.get(p.getKey());
      if (t == null) {
        throw new IllegalStateException(
            "parameter '" + p.getKey() + "' is missing from part '" + name + "' of the checkpoint");
      }
      check(p.getKey(), t, DTypes.of(a.getDataType()), a.getShape().getShape());
      DTypes.copyInto(a, in.tensor(p.getKey()));
    }
  }

  /**
   * Writes {@code values} into {@code array}'s own storage, in place, so that the trainer's and the
   * optimizer's references to it stay valid: for code that changes a model's weights between steps,
   * as averaging replicas does. The bytes are read from the buffer's position.
   *
   * @param values raw little-endian bytes of the array's data type, exactly as many as it holds
   * @throws IllegalArgumentException when the number of bytes differs from the array's size
   */
  public static void copyInto(NDArray array, ByteBuffer values) {
    long expected = array.size() * array.getDataType().getNumOfBytes();
    if (values.remaining() != expected) {
      throw new IllegalArgumentException(
          values.remaining()
              + " bytes for an array of "
              + expected
              + " ("
              + array.getDataType()
              + array.getShape()
              + ")");
    }
    DTypes.copyInto(array, values);
  }

  static void check(String what, TensorInfo saved, DType dtype, long[] shape) {
    if (saved.dtype() != dtype || !Arrays.equals(saved.shape(), shape)) {
      throw new IllegalStateException(
          "'"
              + what
              + "' is "
              + saved.dtype()
              + Arrays.toString(saved.shape())
              + " in the checkpoint but "
              + dtype
              + Arrays.toString(shape)
              + " in the model; was the network changed?");
    }
  }
}

package dev.cairn.manager;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cairn.safetensors.DType;
import java.nio.ByteBuffer;

/** Where a {@link Checkpointable} writes its state; every call copies, nothing is retained. */
public interface Snapshot {

  /** Copies the bytes from position to limit (little-endian raw data); the buffer is unchanged. */
  void tensor(String name, DType dtype, long[] shape, ByteBuffer data);

  void tensor(String name, float[] values, long... shape);

  void tensor(String name, double[] values, long... shape);

  void tensor(String name, long[] values, long... shape);

  void tensor(String name, int[] values, long... shape);

  /** Small state (counters, positions, settings); stored in state.json. */
  void json(JsonNode state);
}

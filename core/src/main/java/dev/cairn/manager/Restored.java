package dev.cairn.manager;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cairn.safetensors.TensorInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/** A component's saved state, from a verified checkpoint. */
public interface Restored {

  /** The checkpoint step (steps completed when it was taken). */
  long step();

  /** Names of the saved tensors. */
  List<TensorInfo> tensors();

  /** The bytes of a tensor: read-only, little-endian, memory-mapped (no copy). */
  ByteBuffer tensor(String name) throws IOException;

  float[] floats(String name) throws IOException;

  double[] doubles(String name) throws IOException;

  long[] longs(String name) throws IOException;

  /** The small JSON state, or null when none was saved. */
  JsonNode json();
}

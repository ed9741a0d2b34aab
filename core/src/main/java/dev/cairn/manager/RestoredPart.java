package dev.cairn.manager;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cairn.checkpoint.LoadedCheckpoint;
import dev.cairn.safetensors.SafetensorsFile;
import dev.cairn.safetensors.TensorInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/** One component's view of a loaded checkpoint. */
final class RestoredPart implements Restored {
  private final long step;
  private final SafetensorsFile tensors;
  private final JsonNode json;
  private final String name;

  RestoredPart(LoadedCheckpoint checkpoint, String name, JsonNode json) {
    this.step = checkpoint.step();
    this.name = name;
    this.tensors = checkpoint.hasPart(name) ? checkpoint.tensors(name) : null;
    this.json = json;
  }

  @Override
  public long step() {
    return step;
  }

  @Override
  public List<TensorInfo> tensors() {
    return tensors == null ? List.of() : tensors.tensors();
  }

  private SafetensorsFile file() {
    if (tensors == null) {
      throw new IllegalStateException("component '" + name + "' saved no tensors");
    }
    return tensors;
  }

  @Override
  public ByteBuffer tensor(String tensor) throws IOException {
    return file().buffer(tensor);
  }

  @Override
  public float[] floats(String tensor) throws IOException {
    return file().floats(tensor);
  }

  @Override
  public double[] doubles(String tensor) throws IOException {
    return file().doubles(tensor);
  }

  @Override
  public long[] longs(String tensor) throws IOException {
    return file().longs(tensor);
  }

  @Override
  public JsonNode json() {
    return json == null || json.isNull() ? null : json.deepCopy();
  }
}

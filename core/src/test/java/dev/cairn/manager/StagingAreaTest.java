package dev.cairn.manager;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cairn.safetensors.Tensor;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Staging buffers reserved ahead of the first snapshot, so that snapshot only copies. */
class StagingAreaTest {
  private final ExecutorService background = Executors.newSingleThreadExecutor();

  @AfterEach
  void stop() {
    background.shutdownNow();
  }

  private static TensorMap model(int floats) {
    float[] w = new float[floats];
    for (int i = 0; i < w.length; i++) {
      w[i] = i * 0.5f;
    }
    return new TensorMap("model").put("w", w).put("b", new float[] {1f, 2f, 3f});
  }

  private static StagingArea snapshot(StagingArea area, TensorMap m) {
    StagingArea.SnapshotWriter w = area.begin(m.name());
    m.snapshot(w);
    w.finish();
    return area;
  }

  private static Map<String, Map<String, Long>> sizes(TensorMap m) {
    StagingArea.Sizes s = new StagingArea.Sizes();
    m.snapshot(s);
    return Map.of(m.name(), s.bytes());
  }

  private static float[] floats(Tensor t) {
    java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate((int) t.data().byteSize());
    try {
      t.data().writeTo(java.nio.ByteBuffer.allocate(1 << 16), b::put);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    float[] out = new float[b.capacity() / 4];
    b.flip().order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
    return out;
  }

  @Test
  void aReservedAreaTakesItsFirstSnapshotWithoutAllocating() {
    TensorMap m = model(1 << 16);
    StagingArea area = new StagingArea();
    area.reserve(sizes(m), background);
    snapshot(area, m);
    assertThat(area.snapshotAllocations()).isZero();
    List<Tensor> staged = area.tensors().get("model");
    assertThat(staged).extracting(Tensor::name).containsExactly("w", "b");
    assertThat(floats(staged.get(0))).containsExactly(m.get("w"));
    assertThat(floats(staged.get(1))).containsExactly(1f, 2f, 3f);
    assertThat(area.bytes()).isEqualTo((1 << 16) * 4L + 12);
  }

  @Test
  void withoutAReservationOrForAGrownTensorTheSnapshotAllocates() {
    StagingArea plain = new StagingArea();
    snapshot(plain, model(1000));
    assertThat(plain.snapshotAllocations()).isEqualTo(2);

    StagingArea reserved = new StagingArea();
    reserved.reserve(sizes(model(1000)), background);
    snapshot(reserved, model(2000)); // "w" grew after registration, "b" did not
    assertThat(reserved.snapshotAllocations()).isEqualTo(1);
  }
}

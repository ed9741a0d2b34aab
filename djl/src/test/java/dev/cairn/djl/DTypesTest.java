package dev.cairn.djl;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link DTypes#copyInto} restores a tensor bit for bit, in place, from a read-only buffer that
 * starts inside a larger one (as a memory-mapped checkpoint's tensors do).
 */
class DTypesTest {
  // The types DJL's PyTorch engine can hold: it aborts the JVM creating BFLOAT16, INT16 or the
  // wider unsigned types, so no parameter or optimizer state has them.
  @ParameterizedTest
  @EnumSource(
      value = DataType.class,
      names = {"FLOAT32", "FLOAT64", "FLOAT16", "INT8", "UINT8", "INT32", "INT64", "BOOLEAN"})
  void copyIntoRestoresEveryBitInPlace(DataType type) {
    restoreAndCompare(type);
  }

  /** Grad mode is on in a collector, as it is by default on any thread but the engine's first. */
  @Test
  void copyIntoWorksWhileAutogradIsRecording() {
    try (GradientCollector recording = Engine.getInstance().newGradientCollector()) {
      restoreAndCompare(DataType.FLOAT32);
    }
  }

  private static void restoreAndCompare(DataType type) {
    Shape shape = new Shape(3, 5);
    int n = (int) shape.size() * type.getNumOfBytes();
    byte[] bits = new byte[n];
    new Random(type.ordinal()).nextBytes(bits);
    if (type == DataType.BOOLEAN) {
      for (int i = 0; i < n; i++) {
        bits[i] &= 1; // a bool tensor holds 0 or 1
      }
    }
    // Random bits make NaNs with payloads and subnormals in the float types: copied as bits.
    int offset = 24;
    ByteBuffer file = ByteBuffer.allocateDirect(offset + n + 8);
    file.position(offset);
    file.put(bits);
    ByteBuffer saved = file.position(offset).limit(offset + n).asReadOnlyBuffer();

    try (NDManager m = NDManager.newBaseManager()) {
      NDArray a = m.zeros(shape, type);
      boolean trainable = type.isFloating();
      if (trainable) {
        a.setRequiresGradient(true);
      }
      NDArray before = a;
      DTypes.copyInto(a, saved);

      byte[] restored = new byte[n];
      a.toByteBuffer().order(ByteOrder.nativeOrder()).get(restored);
      assertThat(restored).isEqualTo(bits);
      assertThat(a).isSameAs(before);
      assertThat(a.hasGradient()).isEqualTo(trainable);
    }
  }
}

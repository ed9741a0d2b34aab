package dev.cairn.safetensors;

/**
 * A named tensor to write: dtype, shape and its bytes. The byte count must equal the element count
 * times the dtype's size; this is checked here, before anything is written.
 */
public record Tensor(String name, DType dtype, long[] shape, TensorData data) {

  public Tensor {
    if (name == null) {
      throw new IllegalArgumentException("tensor name must not be null (it may be empty)");
    }
    if (name.equals(SafetensorsFormat.METADATA_KEY)) {
      throw new IllegalArgumentException(
          "tensor name " + SafetensorsFormat.METADATA_KEY + " is reserved by safetensors");
    }
    if (dtype == null || data == null) {
      throw new IllegalArgumentException("tensor '" + name + "' needs a dtype and data");
    }
    shape = shape.clone();
    for (long d : shape) {
      if (d < 0) {
        throw new IllegalArgumentException("tensor '" + name + "' has a negative dimension");
      }
    }
    long expected;
    try {
      expected = dtype.bytesFor(TensorInfo.elementCount(shape));
    } catch (ArithmeticException e) {
      throw new IllegalArgumentException("tensor '" + name + "' shape overflows", e);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "tensor '"
              + name
              + "' "
              + dtype
              + java.util.Arrays.toString(shape)
              + " does not fill whole bytes; safetensors stores only whole bytes",
          e);
    }
    if (expected != data.byteSize()) {
      throw new IllegalArgumentException(
          "tensor '"
              + name
              + "' has "
              + data.byteSize()
              + " bytes but "
              + dtype
              + java.util.Arrays.toString(shape)
              + " needs "
              + expected);
    }
  }

  @Override
  public long[] shape() {
    return shape.clone();
  }

  public static Tensor of(String name, float[] values, long... shape) {
    return new Tensor(name, DType.F32, shape, TensorData.of(values));
  }

  public static Tensor of(String name, double[] values, long... shape) {
    return new Tensor(name, DType.F64, shape, TensorData.of(values));
  }

  public static Tensor of(String name, long[] values, long... shape) {
    return new Tensor(name, DType.I64, shape, TensorData.of(values));
  }

  public static Tensor of(String name, int[] values, long... shape) {
    return new Tensor(name, DType.I32, shape, TensorData.of(values));
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Tensor t
        && name.equals(t.name)
        && dtype == t.dtype
        && java.util.Arrays.equals(shape, t.shape)
        && data.equals(t.data);
  }

  @Override
  public int hashCode() {
    return name.hashCode();
  }

  @Override
  public String toString() {
    return "Tensor[" + name + " " + dtype + java.util.Arrays.toString(shape) + "]";
  }
}

package dev.cairn.safetensors;

import java.util.Arrays;

/**
 * One tensor entry of a safetensors header. Offsets are relative to the start of the data section,
 * as in the format. Dimensions are unsigned 64-bit numbers held in longs: one of 2^63 or more (only
 * possible beside a zero dimension) reads as negative; print it with {@link
 * Long#toUnsignedString(long)}.
 */
public record TensorInfo(String name, DType dtype, long[] shape, long begin, long end) {

  public TensorInfo {
    shape = shape.clone();
  }

  /** Number of elements (1 for a scalar). */
  public long elementCount() {
    return elementCount(shape);
  }

  /** Bytes of data. */
  public long byteSize() {
    return end - begin;
  }

  @Override
  public long[] shape() {
    return shape.clone();
  }

  /**
   * The product of the dimensions, read as unsigned 64-bit numbers as the reference reads them
   * (only a tensor with a zero dimension can have a dimension of 2^63 or more).
   *
   * @throws ArithmeticException when a partial product exceeds 2^64 - 1 or the result 2^63 - 1
   */
  static long elementCount(long[] shape) {
    long n = 1;
    for (long d : shape) {
      long high = Math.multiplyHigh(n, d) + ((n >> 63) & d) + ((d >> 63) & n);
      if (high != 0) {
        throw new ArithmeticException("shape overflows 64 bits");
      }
      n *= d;
    }
    if (n < 0) {
      throw new ArithmeticException("shape has 2^63 or more elements");
    }
    return n;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TensorInfo t
        && name.equals(t.name)
        && dtype == t.dtype
        && Arrays.equals(shape, t.shape)
        && begin == t.begin
        && end == t.end;
  }

  @Override
  public int hashCode() {
    return name.hashCode() * 31 + Arrays.hashCode(shape);
  }

  @Override
  public String toString() {
    return name + " " + dtype + Arrays.toString(shape) + " [" + begin + ", " + end + ")";
  }
}

package dev.cairn.safetensors;

/**
 * The element types of the safetensors format, with their names in the header, in the reference
 * implementation's order: by increasing alignment. Writers lay tensors out in the reverse of this
 * order, so every tensor's data starts at an offset that is a multiple of its element size.
 *
 * <p>Sizes are counted in bits, as the reference does: {@link #F4} and the two F6 types pack
 * several elements into a byte, and a tensor of them must fill whole bytes.
 */
public enum DType {
  BOOL(8),
  /** MXFP4 (OCP microscaling), 4 bits, two elements per byte. */
  F4(4),
  /** MXFP6 E2M3 (OCP microscaling), 6 bits. */
  F6_E2M3(6),
  /** MXFP6 E3M2 (OCP microscaling), 6 bits. */
  F6_E3M2(6),
  U8(8),
  I8(8),
  F8_E5M2(8),
  F8_E4M3(8),
  /** MX scale factors (OCP microscaling): 8 exponent bits, no mantissa. */
  F8_E8M0(8),
  /** FP8 E4M3 with finite values, no negative zero (AMD). */
  F8_E4M3FNUZ(8),
  /** FP8 E5M2 with finite values, no negative zero (AMD). */
  F8_E5M2FNUZ(8),
  I16(16),
  U16(16),
  F16(16),
  BF16(16),
  I32(32),
  U32(32),
  F32(32),
  /** Complex numbers of two F32 parts (torch.complex64). */
  C64(64),
  F64(64),
  I64(64),
  U64(64);

  private final int bits;

  DType(int bits) {
    this.bits = bits;
  }

  /** Bits per element. */
  public int bitSize() {
    return bits;
  }

  /**
   * Bytes taken by {@code elements} elements of this type.
   *
   * @throws ArithmeticException when the count overflows
   * @throws IllegalArgumentException when a sub-byte type does not fill whole bytes
   */
  public long bytesFor(long elements) {
    long totalBits = Math.multiplyExact(elements, (long) bits);
    if (totalBits % 8 != 0) {
      throw new IllegalArgumentException(
          elements + " elements of " + this + " are " + totalBits + " bits, not whole bytes");
    }
    return totalBits / 8;
  }

  /** The dtype for a header name such as {@code "F32"}, or null when there is none. */
  public static DType fromHeaderName(String name) {
    for (DType d : values()) {
      if (d.name().equals(name)) {
        return d;
      }
    }
    return null;
  }
}

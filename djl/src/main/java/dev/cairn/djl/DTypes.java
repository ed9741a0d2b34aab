package dev.cairn.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import dev.cairn.safetensors.DType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** DJL data types and their safetensors names (the same table DJL's own encoder uses). */
final class DTypes {
  private static final NDIndex ALL = new NDIndex("...");

  private DTypes() {}

  /**
   * Copies {@code saved} (raw little-endian bytes of {@code array}'s dtype and shape) into {@code
   * array}'s own storage, in place, so the trainer's and optimizer's references stay valid.
   *
   * <p>Not {@link NDArray#set(java.nio.Buffer)}: on PyTorch it swaps the tensor's storage for the
   * buffer under libtorch's deprecated {@code AutoNonVariableTypeMode} guard, which prints a
   * warning straight to file descriptor 2 (the user's console, out of reach of any Java logging
   * setting) once per process. Here the mapped bytes are wrapped as a temporary array without a
   * copy and assigned with {@code array[...] = src}, one copy into the tensor's existing memory,
   * bit for bit.
   */
  static void copyInto(NDArray array, ByteBuffer saved) {
    if (array.size() == 0) {
      return;
    }
    // slice(): a direct buffer's native address is that of its position 0, which is what the
    // engine reads.
    ByteBuffer bytes = saved.slice().order(ByteOrder.LITTLE_ENDIAN);
    // Written through a view detached from autograd (PyTorch's detach shares the memory;
    // DTypesTest checks the bytes land in the array): grad mode is per thread and on by default,
    // so a restore on any thread but the one that loaded the engine (or inside a gradient
    // collector) would otherwise be refused as an in-place change of a leaf.
    try (NDManager scratch = array.getManager().newSubManager();
        NDArray target = array.stopGradient()) {
      NDArray src = scratch.create(bytes, array.getShape(), array.getDataType());
      target.set(ALL, src);
    }
  }

  static DType of(DataType t) {
    return switch (t) {
      case FLOAT32 -> DType.F32;
      case FLOAT64 -> DType.F64;
      case FLOAT16 -> DType.F16;
      case BFLOAT16 -> DType.BF16;
      case INT8 -> DType.I8;
      case UINT8 -> DType.U8;
      case INT16 -> DType.I16;
      case UINT16 -> DType.U16;
      case INT32 -> DType.I32;
      case UINT32 -> DType.U32;
      case INT64 -> DType.I64;
      case UINT64 -> DType.U64;
      case BOOLEAN -> DType.BOOL;
      default ->
          throw new IllegalArgumentException("DJL data type " + t + " has no safetensors dtype");
    };
  }
}

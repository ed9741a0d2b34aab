package dev.cairn.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import dev.cairn.safetensors.DType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** DJL data types and their safetensors names (the same table DJL's own encoder uses). */
final class DTypes {
  private DTypes() {}

  /**
   * Fills {@code array} with a copy of {@code saved}. PyTorch's {@code set} adopts a direct buffer
   * as the tensor's storage instead of copying it; the checkpoint's buffers are read-only memory
   * maps that go away when the checkpoint is closed, so they are copied into a buffer the array
   * then owns.
   */
  static void copyInto(NDArray array, ByteBuffer saved) {
    ByteBuffer owned = ByteBuffer.allocateDirect(saved.remaining()).order(ByteOrder.nativeOrder());
    owned.put(saved.duplicate()).flip();
    array.set(owned);
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

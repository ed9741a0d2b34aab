package dev.cairn.safetensors;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.WritableByteChannel;
import java.util.List;
import java.util.Map;

/**
 * Streams tensors into a safetensors file. Buffers go to the channel as they are; arrays pass
 * through one small scratch buffer; nothing is ever copied whole. Writes are split into slices of
 * at most {@link #MAX_WRITE_BYTES} so that a reader following the file (a checksum thread) can keep
 * up.
 */
public final class SafetensorsWriter {
  /** Largest single write issued to the channel. */
  public static final int MAX_WRITE_BYTES = 8 << 20;

  private static final int SCRATCH_BYTES = 1 << 20;

  private SafetensorsWriter() {}

  /** The size of the file {@link #write} would produce. */
  public static long fileSize(List<Tensor> tensors, Map<String, String> metadata) {
    long size = 8 + SafetensorsFormat.encodeHeader(tensors, metadata).length;
    for (Tensor t : tensors) {
      size += t.data().byteSize();
    }
    return size;
  }

  /**
   * Writes the whole file to {@code out} from its current position.
   *
   * @return bytes written
   */
  public static long write(
      WritableByteChannel out, List<Tensor> tensors, Map<String, String> metadata)
      throws IOException {
    byte[] header = SafetensorsFormat.encodeHeader(tensors, metadata);
    ByteBuffer prefix = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
    prefix.putLong(0, header.length);
    long[] written = {0};
    TensorData.ChunkSink sink =
        chunk -> {
          ByteBuffer view = chunk.duplicate();
          while (view.hasRemaining()) {
            ByteBuffer slice = view.slice();
            slice.limit(Math.min(MAX_WRITE_BYTES, view.remaining()));
            int n = slice.remaining();
            writeFully(out, slice);
            view.position(view.position() + n);
            written[0] += n;
          }
        };
    sink.accept(prefix);
    sink.accept(ByteBuffer.wrap(header));
    ByteBuffer scratch = ByteBuffer.allocateDirect(SCRATCH_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    for (Tensor t : tensors) {
      long before = written[0];
      t.data().writeTo(scratch, sink);
      long got = written[0] - before;
      if (got != t.data().byteSize()) {
        throw new IllegalStateException(
            "tensor '"
                + t.name()
                + "' produced "
                + got
                + " bytes, declared "
                + t.data().byteSize());
      }
    }
    return written[0];
  }

  private static void writeFully(WritableByteChannel out, ByteBuffer buffer) throws IOException {
    while (buffer.hasRemaining()) {
      out.write(buffer);
    }
  }
}

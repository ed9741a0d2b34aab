package dev.cairn.safetensors;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Streams tensors into a safetensors file. Buffers go to the channel as they are; arrays pass
 * through one small scratch buffer; nothing is ever copied whole. Writes are split into slices of
 * at most {@link #MAX_WRITE_BYTES} so that a reader following the file (a checksum thread) can keep
 * up.
 *
 * <p>Tensors are laid out as the reference writer lays them out ({@link SafetensorsFormat#layout}),
 * whatever order they are given in, so every tensor's data is aligned to its element size; for the
 * same tensors and metadata the bytes are the reference's.
 */
public final class SafetensorsWriter {
  /** Largest single write issued to the channel. */
  public static final int MAX_WRITE_BYTES = 8 << 20;

  private static final int SCRATCH_BYTES = 1 << 20;
  private static final Path SELF = Path.of("(header being written)");

  private SafetensorsWriter() {}

  /**
   * A file ready to be written: its header is encoded and has been read back by {@link
   * SafetensorsFormat#parseHeader}, so a file written from it is one the reader accepts.
   */
  public static final class Prepared {
    private final List<Tensor> ordered;
    private final byte[] header;
    private final long dataBytes;

    private Prepared(List<Tensor> ordered, byte[] header, long dataBytes) {
      this.ordered = ordered;
      this.header = header;
      this.dataBytes = dataBytes;
    }

    /** Bytes the file will have. */
    public long fileSize() {
      return 8 + header.length + dataBytes;
    }

    /**
     * Writes the whole file to {@code out} from its current position.
     *
     * @return bytes written
     */
    public long writeTo(WritableByteChannel out) throws IOException {
      return SafetensorsWriter.write(out, ordered, header);
    }
  }

  /**
   * Encodes the header and checks it with the reader's own rules.
   *
   * @throws IllegalArgumentException naming what the reader would refuse (a name given twice, a
   *     header over the format's limit, text that is not Unicode); nothing has been written
   */
  public static Prepared prepare(List<Tensor> tensors, Map<String, String> metadata) {
    List<Tensor> ordered = SafetensorsFormat.layout(tensors);
    byte[] header = SafetensorsFormat.encodeOrdered(ordered, metadata);
    long data = 0;
    for (Tensor t : ordered) {
      data += t.data().byteSize();
    }
    try {
      SafetensorsFormat.parseHeader(header, data, SELF);
    } catch (MalformedSafetensorsException e) {
      throw new IllegalArgumentException(
          "these tensors would make a safetensors file that readers refuse: " + e.getMessage(), e);
    }
    return new Prepared(ordered, header, data);
  }

  /** The size of the file {@link #write} would produce. */
  public static long fileSize(List<Tensor> tensors, Map<String, String> metadata) {
    return prepare(tensors, metadata).fileSize();
  }

  /**
   * Writes the whole file to {@code out} from its current position.
   *
   * @return bytes written
   */
  public static long write(
      WritableByteChannel out, List<Tensor> tensors, Map<String, String> metadata)
      throws IOException {
    return prepare(tensors, metadata).writeTo(out);
  }

  private static long write(WritableByteChannel out, List<Tensor> ordered, byte[] header)
      throws IOException {
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
    for (Tensor t : ordered) {
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

package dev.cairn.metrics;

import java.io.Closeable;
import java.io.IOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * Reads metrics.bin ({@link SidecarFormat}) block by block, accepting a block only when it is
 * whole, its CRC32C matches, it starts at or after the previous block's end in metrics.jsonl and it
 * ends within the metrics.jsonl size the caller read. The first block that fails ends the usable
 * part: after a crash the tail may be torn or hold garbage, and what lies past it is never used.
 * {@link #verify} checks that metrics.jsonl really holds, where the current block says it ends, the
 * line that block transcribed. Memory is bounded by the largest block ({@link
 * SidecarFormat#MAX_BODY}) and the names, whatever the file's size.
 */
final class SidecarReader implements Closeable {
  /** Receives a block's records, then its columns; the arrays are reused once a call returns. */
  interface BlockSink {
    /** The block's records: each one's step (as a reader of its line takes it) and time. */
    void records(double[] steps, long[] millis, int count);

    /**
     * One name's values in the block, in record order: {@code values[i]} was logged at {@code
     * steps[i]}; {@code firstRecord} is the index of the record holding the first of them; {@code
     * expected} is how many values of this name the sidecar holds in all, as far as a {@link
     * #count} pass saw (a hint for sizing, 0 without one).
     */
    void column(
        String name, int firstRecord, double[] steps, double[] values, int count, int expected);
  }

  private final FileChannel in;
  private final long jsonlSize;
  private final List<String> names = new ArrayList<>();
  private final CRC32C crc = new CRC32C();
  private final ByteBuffer header =
      ByteBuffer.allocate(SidecarFormat.BLOCK_HEADER).order(ByteOrder.LITTLE_ENDIAN);
  private long nameBytes;
  private ByteBuffer body = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
  private long validLength = SidecarFormat.MAGIC.length;
  private long blockStart = -1;
  private long end = -1;
  private int lastLineLength;
  private int lastLineCrc;
  private double[] steps = new double[256];
  private long[] millis = new long[256];
  private double[] xs = new double[256];
  private double[] values = new double[256];
  private int[] indices = new int[256];
  private int[] totals = new int[16]; // values per name id, from count()
  private int[] expected = new int[0];

  private SidecarReader(FileChannel in, long jsonlSize) {
    this.in = in;
    this.jsonlSize = jsonlSize;
  }

  /**
   * The sidecar at {@code file}, to be read against a metrics.jsonl of {@code jsonlSize} bytes;
   * null when there is none or its header is not this format's.
   */
  static SidecarReader open(Path file, long jsonlSize) throws IOException {
    FileChannel ch;
    try {
      ch = FileChannel.open(file, StandardOpenOption.READ);
    } catch (NoSuchFileException e) {
      return null;
    }
    SidecarReader r = new SidecarReader(ch, jsonlSize);
    ByteBuffer magic = ByteBuffer.allocate(SidecarFormat.MAGIC.length);
    if (!r.readFully(magic, 0) || !Arrays.equals(magic.array(), SidecarFormat.MAGIC)) {
      r.close();
      return null;
    }
    return r;
  }

  private boolean readFully(ByteBuffer into, long at) throws IOException {
    while (into.hasRemaining()) {
      if (in.read(into, at + into.position()) < 0) {
        return false;
      }
    }
    into.flip();
    return true;
  }

  /**
   * Reads the next block; false at the end of the usable part (end of file, a torn or damaged
   * block, a gap, a block past metrics.jsonl's size, limits exceeded). After true, the block's
   * names are known and its records can be read with {@link #records}.
   */
  boolean next() throws IOException {
    header.clear();
    if (!readFully(header, validLength)) {
      return false;
    }
    int length = header.getInt(0);
    int expectedCrc = header.getInt(4);
    if (length < SidecarFormat.BODY_MIN || length > SidecarFormat.MAX_BODY) {
      return false;
    }
    if (body.capacity() < length) {
      body = ByteBuffer.allocate(Math.max(length, 2 * body.capacity()));
      body.order(ByteOrder.LITTLE_ENDIAN);
    }
    body.clear().limit(length);
    if (!readFully(body, validLength + SidecarFormat.BLOCK_HEADER)) {
      return false;
    }
    crc.reset();
    crc.update(body.array(), 0, length);
    if ((int) crc.getValue() != expectedCrc) {
      return false;
    }
    ByteBuffer b = body;
    long start = b.getLong();
    long stop = b.getLong();
    int lineLength = b.getInt();
    int lineCrc = b.getInt();
    boolean continues = start >= Math.max(0, end);
    if (!continues
        || stop <= start
        || stop > jsonlSize
        || lineLength < 1
        || lineLength > stop - start) {
      return false;
    }
    if (!readNames(b)) {
      return false;
    }
    validLength += SidecarFormat.BLOCK_HEADER + length;
    blockStart = start;
    end = stop;
    lastLineLength = lineLength;
    lastLineCrc = lineCrc;
    return true;
  }

  private boolean readNames(ByteBuffer b) {
    int count = b.getInt();
    if (count < 0 || count > SidecarFormat.MAX_NAMES - names.size()) {
      return false;
    }
    for (int i = 0; i < count; i++) {
      if (b.remaining() < 4) {
        return false;
      }
      int len = b.getInt();
      if (len < 0 || len > b.remaining() || nameBytes + len > SidecarFormat.MAX_NAME_BYTES) {
        return false;
      }
      names.add(new String(b.array(), b.position(), len, StandardCharsets.UTF_8));
      b.position(b.position() + len);
      nameBytes += len;
    }
    return b.remaining() >= 4;
  }

  /**
   * Hands the current block's records and columns to {@code sink}. Content that breaks the format
   * (a step a reader would not take, an unknown name, an index out of order or range, a count past
   * the block) is a {@link CorruptMetricsSidecarException}: the block's checksum matched, so its
   * writer did not follow this format, and nothing in the file should be trusted.
   */
  void replay(BlockSink sink) throws CorruptMetricsSidecarException {
    ByteBuffer b = body;
    try {
      int r = b.getInt();
      long first = b.getLong();
      byte kind = b.get();
      if (r < 0 || r > b.remaining() / 8) {
        throw new CorruptMetricsSidecarException("a block claims " + r + " records");
      }
      steps = room(steps, r);
      millis = room(millis, r);
      if (kind == SidecarFormat.CONSECUTIVE) {
        for (int i = 0; i < r; i++) {
          steps[i] = checkedStep(first + i);
        }
      } else if (kind == SidecarFormat.LISTED) {
        for (int i = 0; i < r; i++) {
          steps[i] = checkedStep(b.getLong());
        }
      } else {
        throw new CorruptMetricsSidecarException("unknown step kind " + kind);
      }
      b.asLongBuffer().get(millis, 0, r);
      b.position(b.position() + 8 * r);
      sink.records(steps, millis, r);
      columns(b, r, sink);
    } catch (BufferUnderflowException | IndexOutOfBoundsException e) {
      throw new CorruptMetricsSidecarException("a block's content runs past its end");
    }
  }

  private void columns(ByteBuffer b, int r, BlockSink sink) throws CorruptMetricsSidecarException {
    int columns = b.getInt();
    int previous = -1;
    for (int c = 0; c < columns; c++) {
      int id = b.getInt();
      int count = b.getInt();
      boolean dense = b.get() == 1;
      if (id <= previous || id >= names.size() || count < 0 || (dense && count != r)) {
        throw new CorruptMetricsSidecarException("a column of id " + id + " breaks the format");
      }
      previous = id;
      if (count > b.remaining() / 8) {
        throw new CorruptMetricsSidecarException("a column claims " + count + " values");
      }
      double[] at = steps;
      int firstRecord = 0;
      if (!dense) {
        indices = room(indices, count);
        xs = room(xs, count);
        b.asIntBuffer().get(indices, 0, count);
        b.position(b.position() + 4 * count);
        int last = 0;
        for (int i = 0; i < count; i++) {
          int index = indices[i];
          if (index < last || index >= r) {
            throw new CorruptMetricsSidecarException("a column's record index is out of order");
          }
          xs[i] = steps[index];
          last = index;
        }
        at = xs;
        firstRecord = count == 0 ? 0 : indices[0];
      }
      values = room(values, count);
      b.asDoubleBuffer().get(values, 0, count);
      b.position(b.position() + 8 * count);
      if (count > 0) {
        sink.column(
            names.get(id), firstRecord, at, values, count, id < expected.length ? expected[id] : 0);
      }
    }
  }

  /**
   * Adds the current block's values per name to the totals that {@link #expected} hands to another
   * reader; a block whose content breaks the format is a {@link CorruptMetricsSidecarException}.
   */
  void count() throws CorruptMetricsSidecarException {
    ByteBuffer b = body.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    try {
      int r = b.getInt();
      b.getLong();
      boolean listed = b.get() == SidecarFormat.LISTED;
      b.position(b.position() + (listed ? 16 : 8) * r);
      int columns = b.getInt();
      for (int c = 0; c < columns; c++) {
        int id = b.getInt();
        int count = b.getInt();
        boolean dense = b.get() == 1;
        if (id < 0 || id >= names.size() || count < 0 || count > b.remaining() / 8) {
          throw new CorruptMetricsSidecarException("a column of id " + id + " breaks the format");
        }
        totals = room(totals, names.size());
        totals[id] = (int) Math.min(Integer.MAX_VALUE, (long) totals[id] + count);
        b.position(b.position() + (dense ? 8 : 12) * count);
      }
    } catch (BufferUnderflowException | IllegalArgumentException e) {
      throw new CorruptMetricsSidecarException("a block's content runs past its end");
    }
  }

  /** Uses the totals another reader's {@link #count} pass made as each column's expected size. */
  void expect(SidecarReader counted) {
    expected = Arrays.copyOf(counted.totals, counted.totals.length);
  }

  private static double checkedStep(long step) throws CorruptMetricsSidecarException {
    if (Math.abs((double) step) >= SidecarFormat.MAX_STEP) {
      throw new CorruptMetricsSidecarException("step " + step + " is out of range");
    }
    return step;
  }

  private static double[] room(double[] a, int n) {
    return a.length >= n ? a : new double[Math.max(n, 2 * a.length)];
  }

  private static long[] room(long[] a, int n) {
    return a.length >= n ? a : new long[Math.max(n, 2 * a.length)];
  }

  private static int[] room(int[] a, int n) {
    return a.length >= n ? a : new int[Math.max(n, 2 * a.length)];
  }

  /**
   * Whether metrics.jsonl holds, just before {@link #end}, the very line the current block
   * transcribed (false when no block was accepted): a metrics.jsonl replaced, cut or rewritten
   * since is not served from this sidecar.
   */
  boolean verify(Path jsonl) throws IOException {
    if (end < 0) {
      return false;
    }
    ByteBuffer line = ByteBuffer.allocate(lastLineLength);
    try (FileChannel ch = FileChannel.open(jsonl, StandardOpenOption.READ)) {
      long at = end - lastLineLength;
      while (line.hasRemaining()) {
        int r = ch.read(line, at + line.position());
        if (r < 0) {
          return false;
        }
      }
    } catch (NoSuchFileException e) {
      return false;
    }
    CRC32C c = new CRC32C();
    c.update(line.array(), 0, lastLineLength);
    return (int) c.getValue() == lastLineCrc && line.array()[lastLineLength - 1] == '\n';
  }

  /** Where the current (last accepted) block starts in metrics.jsonl; -1 before one. */
  long start() {
    return blockStart;
  }

  /** Where the last accepted block ends in metrics.jsonl; -1 before one. */
  long end() {
    return end;
  }

  /** The sidecar's bytes up to the end of the last accepted block (the header alone before one). */
  long validLength() {
    return validLength;
  }

  /** The names defined by the accepted blocks, by id. */
  List<String> names() {
    return names;
  }

  @Override
  public void close() throws IOException {
    in.close();
  }
}

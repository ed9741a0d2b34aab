package dev.cairn.metrics;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.List;

/**
 * The records of one metrics.bin block as the writer gathers them, row by row, and their encoding
 * as columns ({@link SidecarFormat}). Memory is reused from block to block; a column is held only
 * while its name has values in the current block.
 */
final class SidecarBlock {
  private static final int POOLED = 1024;

  private long[] steps = new long[256];
  private long[] millis = new long[256];
  private int records;
  private Column[] byId = new Column[16];
  private int[] active = new int[16];
  private int activeCount;
  private final ArrayDeque<Column> pool = new ArrayDeque<>();
  private ByteBuffer out = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);

  /** Adds a record; returns its index in the block. */
  int record(long step, long time) {
    if (records == steps.length) {
      steps = Arrays.copyOf(steps, 2 * records);
      millis = Arrays.copyOf(millis, 2 * records);
    }
    steps[records] = step;
    millis[records] = time;
    return records++;
  }

  /** Adds a value of name {@code id} to record {@code record} (the latest one). */
  void value(int id, int record, double v) {
    if (id >= byId.length) {
      byId = Arrays.copyOf(byId, Math.max(id + 1, 2 * byId.length));
    }
    Column c = byId[id];
    if (c == null) {
      c = pool.isEmpty() ? new Column() : pool.pop();
      byId[id] = c;
      if (activeCount == active.length) {
        active = Arrays.copyOf(active, 2 * activeCount);
      }
      active[activeCount++] = id;
    }
    c.add(record, v);
  }

  /**
   * The block, header included, ready to write: the body length is set, the CRC slot (bytes 4 to 7)
   * left for the caller.
   */
  ByteBuffer encode(long start, long end, int lastLength, int lastCrc, List<byte[]> names) {
    Arrays.sort(active, 0, activeCount);
    boolean consecutive = true;
    for (int i = 1; i < records && consecutive; i++) {
      consecutive = steps[i] == steps[0] + i;
    }
    long size = SidecarFormat.BLOCK_HEADER + SidecarFormat.BODY_MIN;
    for (byte[] n : names) {
      size += 4 + n.length;
    }
    size += (consecutive ? 0 : 8L * records) + 8L * records;
    for (int a = 0; a < activeCount; a++) {
      Column c = byId[active[a]];
      size += 9 + (c.dense(records) ? 0 : 4L * c.n) + 8L * c.n;
    }
    if (size > SidecarFormat.MAX_BODY) {
      throw new IllegalStateException("a metrics.bin block of " + size + " bytes is too large");
    }
    if (out.capacity() < size) {
      out = ByteBuffer.allocate((int) Math.max(size, 2L * out.capacity()));
      out.order(ByteOrder.LITTLE_ENDIAN);
    }
    out.clear();
    out.putInt((int) (size - SidecarFormat.BLOCK_HEADER)).putInt(0);
    out.putLong(start).putLong(end).putInt(lastLength).putInt(lastCrc);
    out.putInt(names.size());
    for (byte[] n : names) {
      out.putInt(n.length).put(n);
    }
    out.putInt(records).putLong(records == 0 ? 0 : steps[0]);
    out.put(consecutive ? SidecarFormat.CONSECUTIVE : SidecarFormat.LISTED);
    if (!consecutive) {
      out.asLongBuffer().put(steps, 0, records);
      out.position(out.position() + 8 * records);
    }
    out.asLongBuffer().put(millis, 0, records);
    out.position(out.position() + 8 * records);
    out.putInt(activeCount);
    for (int a = 0; a < activeCount; a++) {
      Column c = byId[active[a]];
      boolean dense = c.dense(records);
      out.putInt(active[a]).putInt(c.n).put((byte) (dense ? 1 : 0));
      if (!dense) {
        out.asIntBuffer().put(c.records, 0, c.n);
        out.position(out.position() + 4 * c.n);
      }
      out.asDoubleBuffer().put(c.values, 0, c.n);
      out.position(out.position() + 8 * c.n);
    }
    out.flip();
    return out;
  }

  /** Forgets the records, keeping the memory for the next block. */
  void clear() {
    for (int a = 0; a < activeCount; a++) {
      Column c = byId[active[a]];
      byId[active[a]] = null;
      c.n = 0;
      if (pool.size() < POOLED) {
        pool.push(c);
      }
    }
    activeCount = 0;
    records = 0;
  }

  /** One name's values in the block and the records they belong to. */
  private static final class Column {
    int[] records = new int[8];
    double[] values = new double[8];
    int n;

    void add(int record, double v) {
      if (n == values.length) {
        records = Arrays.copyOf(records, 2 * n);
        values = Arrays.copyOf(values, 2 * n);
      }
      records[n] = record;
      values[n++] = v;
    }

    /** One value per record, in order: the record indices need not be written. */
    boolean dense(int blockRecords) {
      if (n != blockRecords) {
        return false;
      }
      for (int i = 0; i < n; i++) {
        if (records[i] != i) {
          return false;
        }
      }
      return true;
    }
  }
}

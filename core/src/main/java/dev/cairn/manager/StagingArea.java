package dev.cairn.manager;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cairn.safetensors.DType;
import dev.cairn.safetensors.Tensor;
import dev.cairn.safetensors.TensorData;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The buffers a snapshot copies into. Buffers are kept between saves and reused when the tensor
 * still fits, so a steady-state snapshot allocates nothing large: the training thread pays one
 * memory copy per tensor. {@link #reserve} allocates and warms them ahead of the first snapshot, on
 * another thread, so that the first save costs the training thread no more than later ones. The
 * area holds one copy of the registered state's bytes in direct memory for the manager's life.
 */
final class StagingArea {
  private static final class Slot {
    DType dtype;
    long[] shape;
    ByteBuffer buffer;
  }

  private final Map<String, Map<String, Slot>> parts = new LinkedHashMap<>();
  private final Map<String, JsonNode> json = new LinkedHashMap<>();
  private long bytes;
  private java.util.concurrent.Future<?> reserving;
  private int snapshotAllocations;

  /**
   * Allocates, on {@code executor}, a buffer for each tensor {@code sizes} names (part → tensor →
   * bytes), as a {@link Sizes} pass measured them, and {@link #warm warms} each. The next {@link
   * #begin} waits for it; a failure (too little direct memory) only leaves the allocation to the
   * snapshot, as without it.
   */
  void reserve(
      Map<String, Map<String, Long>> sizes, java.util.concurrent.ExecutorService executor) {
    awaitReserved(); // one reservation at a time touches the slots
    reserving =
        executor.submit(
            () ->
                sizes.forEach(
                    (part, tensors) -> {
                      Map<String, Slot> slots =
                          parts.computeIfAbsent(part, p -> new LinkedHashMap<>());
                      tensors.forEach(
                          (name, size) -> {
                            if (size <= Integer.MAX_VALUE && !slots.containsKey(name)) {
                              Slot s = new Slot();
                              s.buffer =
                                  ByteBuffer.allocateDirect(size.intValue())
                                      .order(ByteOrder.LITTLE_ENDIAN);
                              warm(s.buffer);
                              slots.put(name, s);
                            }
                          });
                    }));
  }

  /**
   * Copies a new buffer's halves into each other (zeros over zeros) with the bulk copy a snapshot
   * makes. Allocation already zeroed every page, yet on the project's VM the first copy into such a
   * buffer took 1.4 to 1.7 times a later one (issue 17: 256 MiB copied into buffers allocated on
   * another thread, two sessions of interleaved rounds under load; median first/later 1.42 and 1.65
   * with no pass, 1.26 and 1.09 after this one; rewriting the pages from a 1 MiB buffer did not
   * help, 1.53). Done here, off the training thread, at no cost in memory.
   */
  static void warm(ByteBuffer b) {
    int half = b.capacity() / 2;
    b.put(0, b, half, half);
    b.put(half, b, 0, half);
  }

  /** Starts a new snapshot; slots of tensors not written again are dropped at {@link #finish}. */
  SnapshotWriter begin(String part) {
    awaitReserved();
    return new SnapshotWriter(part);
  }

  /** Waits for a {@link #reserve} in progress; the thread that snapshots calls it. */
  void awaitReserved() {
    java.util.concurrent.Future<?> r = reserving;
    if (r == null) {
      return;
    }
    reserving = null;
    try {
      r.get(); // also makes the reserved slots visible to this thread
    } catch (java.util.concurrent.ExecutionException e) {
      // Out of direct memory, say: the snapshot allocates what is missing and reports it.
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * Measures what a component's snapshot would stage, without copying: tensor name → bytes. Used at
   * registration to {@link #reserve} the staging buffers.
   */
  static final class Sizes implements Snapshot {
    private final Map<String, Long> bytes = new LinkedHashMap<>();

    Map<String, Long> bytes() {
      return bytes;
    }

    @Override
    public void tensor(String name, DType dtype, long[] shape, ByteBuffer data) {
      bytes.put(name, (long) data.remaining());
    }

    @Override
    public void tensor(String name, float[] values, long... shape) {
      bytes.put(name, values.length * 4L);
    }

    @Override
    public void tensor(String name, double[] values, long... shape) {
      bytes.put(name, values.length * 8L);
    }

    @Override
    public void tensor(String name, long[] values, long... shape) {
      bytes.put(name, values.length * 8L);
    }

    @Override
    public void tensor(String name, int[] values, long... shape) {
      bytes.put(name, values.length * 4L);
    }

    @Override
    public void json(JsonNode state) {
      // Small state is copied at the snapshot; nothing to reserve.
    }
  }

  long bytes() {
    return bytes;
  }

  /** Buffers that snapshots (not {@link #reserve}) had to allocate, so far. */
  int snapshotAllocations() {
    return snapshotAllocations;
  }

  /** The tensors of each part, as views of the staging buffers. */
  Map<String, List<Tensor>> tensors() {
    // Loops, not forEach, on a snapshot's path: see DefaultCheckpointManager.rehearse.
    Map<String, List<Tensor>> out = new LinkedHashMap<>();
    for (Map.Entry<String, Map<String, Slot>> p : parts.entrySet()) {
      List<Tensor> list = new ArrayList<>();
      for (Map.Entry<String, Slot> e : p.getValue().entrySet()) {
        Slot s = e.getValue();
        list.add(new Tensor(e.getKey(), s.dtype, s.shape, TensorData.of(s.buffer.duplicate())));
      }
      if (!list.isEmpty()) {
        out.put(p.getKey(), list);
      }
    }
    return out;
  }

  Map<String, JsonNode> json() {
    return json;
  }

  /** Writes one component's state into the area. */
  final class SnapshotWriter implements Snapshot {
    private final String part;
    private final Map<String, Slot> slots;
    private final Map<String, Slot> seen = new LinkedHashMap<>();

    SnapshotWriter(String part) {
      this.part = part;
      Map<String, Slot> known = parts.get(part);
      if (known == null) {
        known = new LinkedHashMap<>();
        parts.put(part, known);
      }
      this.slots = known;
      json.remove(part);
    }

    private ByteBuffer slot(String name, DType dtype, long[] shape, long size) {
      if (seen.containsKey(name)) {
        throw new IllegalArgumentException(
            "component '" + part + "' wrote tensor '" + name + "' twice in one snapshot");
      }
      if (size > Integer.MAX_VALUE) {
        throw new IllegalArgumentException(
            "tensor '" + name + "' is over 2 GiB; split it into several tensors");
      }
      Slot s = slots.get(name);
      if (s == null) {
        s = new Slot();
      }
      if (s.buffer == null || s.buffer.capacity() < size) {
        s.buffer = ByteBuffer.allocateDirect((int) size).order(ByteOrder.LITTLE_ENDIAN);
        snapshotAllocations++;
      }
      s.dtype = dtype;
      s.shape = shape.clone();
      s.buffer.clear().limit((int) size);
      seen.put(name, s);
      return s.buffer;
    }

    @Override
    public void tensor(String name, DType dtype, long[] shape, ByteBuffer data) {
      ByteBuffer b = slot(name, dtype, shape, data.remaining());
      b.put(data.duplicate()).flip();
      check(name, dtype, shape, b);
    }

    @Override
    public void tensor(String name, float[] values, long... shape) {
      ByteBuffer b = slot(name, DType.F32, shape, values.length * 4L);
      b.asFloatBuffer().put(values);
      check(name, DType.F32, shape, b);
    }

    @Override
    public void tensor(String name, double[] values, long... shape) {
      ByteBuffer b = slot(name, DType.F64, shape, values.length * 8L);
      b.asDoubleBuffer().put(values);
      check(name, DType.F64, shape, b);
    }

    @Override
    public void tensor(String name, long[] values, long... shape) {
      ByteBuffer b = slot(name, DType.I64, shape, values.length * 8L);
      b.asLongBuffer().put(values);
      check(name, DType.I64, shape, b);
    }

    @Override
    public void tensor(String name, int[] values, long... shape) {
      ByteBuffer b = slot(name, DType.I32, shape, values.length * 4L);
      b.asIntBuffer().put(values);
      check(name, DType.I32, shape, b);
    }

    /** Validates shape against size now, on the caller's thread, where the mistake is. */
    private void check(String name, DType dtype, long[] shape, ByteBuffer b) {
      new Tensor(name, dtype, shape, TensorData.of(b.duplicate()));
    }

    @Override
    public void json(JsonNode state) {
      json.put(part, state == null ? null : state.deepCopy());
    }

    /** Drops tensors this component no longer writes. */
    void finish() {
      slots.keySet().retainAll(seen.keySet());
      slots.putAll(seen);
      long total = 0;
      for (Map<String, Slot> p : parts.values()) {
        for (Slot s : p.values()) {
          total += s.buffer.limit();
        }
      }
      bytes = total;
    }
  }
}

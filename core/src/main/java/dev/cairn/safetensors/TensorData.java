package dev.cairn.safetensors;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The bytes of one tensor, little-endian, handed to a writer in chunks so that no full copy of the
 * tensor is ever made: buffers are written as they are (in bounded slices), primitive arrays are
 * encoded through the writer's small reusable scratch buffer.
 */
public interface TensorData {

  /** Total bytes this tensor contributes to the file. */
  long byteSize();

  /**
   * Passes the bytes in order to {@code sink}. A buffer handed to the sink is only valid during
   * that call; {@code scratch} is a direct little-endian buffer the implementation may fill.
   */
  void writeTo(ByteBuffer scratch, ChunkSink sink) throws IOException;

  /** Receives consecutive chunks of tensor bytes. */
  @FunctionalInterface
  interface ChunkSink {
    void accept(ByteBuffer chunk) throws IOException;
  }

  /**
   * Raw little-endian bytes from {@code position} to {@code limit} of each buffer, which are not
   * modified (the writer works on duplicates). Direct buffers are written without any copy.
   */
  static TensorData of(ByteBuffer... buffers) {
    ByteBuffer[] views = new ByteBuffer[buffers.length];
    long total = 0;
    for (int i = 0; i < buffers.length; i++) {
      views[i] = buffers[i].duplicate();
      total += views[i].remaining();
    }
    long size = total;
    return new TensorData() {
      @Override
      public long byteSize() {
        return size;
      }

      @Override
      public void writeTo(ByteBuffer scratch, ChunkSink sink) throws IOException {
        for (ByteBuffer b : views) {
          ByteBuffer view = b.duplicate();
          // Heap buffers are sliced so the JDK's temporary direct copy stays small.
          int step = view.isDirect() ? Integer.MAX_VALUE : scratch.capacity();
          while (view.hasRemaining()) {
            int n = Math.min(step, view.remaining());
            ByteBuffer slice = view.slice();
            slice.limit(n);
            sink.accept(slice);
            view.position(view.position() + n);
          }
        }
      }
    };
  }

  static TensorData of(byte[] values) {
    return of(ByteBuffer.wrap(values));
  }

  static TensorData of(float[] values) {
    return new ArrayData(values.length, 4) {
      @Override
      void put(ByteBuffer out, int from, int count) {
        out.asFloatBuffer().put(values, from, count);
      }
    };
  }

  static TensorData of(double[] values) {
    return new ArrayData(values.length, 8) {
      @Override
      void put(ByteBuffer out, int from, int count) {
        out.asDoubleBuffer().put(values, from, count);
      }
    };
  }

  static TensorData of(long[] values) {
    return new ArrayData(values.length, 8) {
      @Override
      void put(ByteBuffer out, int from, int count) {
        out.asLongBuffer().put(values, from, count);
      }
    };
  }

  static TensorData of(int[] values) {
    return new ArrayData(values.length, 4) {
      @Override
      void put(ByteBuffer out, int from, int count) {
        out.asIntBuffer().put(values, from, count);
      }
    };
  }

  static TensorData of(short[] values) {
    return new ArrayData(values.length, 2) {
      @Override
      void put(ByteBuffer out, int from, int count) {
        out.asShortBuffer().put(values, from, count);
      }
    };
  }

  static TensorData of(boolean[] values) {
    return new ArrayData(values.length, 1) {
      @Override
      void put(ByteBuffer out, int from, int count) {
        for (int i = 0; i < count; i++) {
          out.put(i, values[from + i] ? (byte) 1 : (byte) 0);
        }
      }
    };
  }

  /** Encodes a primitive array through the scratch buffer, one scratch-full at a time. */
  abstract class ArrayData implements TensorData {
    private final int length;
    private final int elementBytes;

    ArrayData(int length, int elementBytes) {
      this.length = length;
      this.elementBytes = elementBytes;
    }

    abstract void put(ByteBuffer littleEndianOut, int from, int count);

    @Override
    public long byteSize() {
      return (long) length * elementBytes;
    }

    @Override
    public void writeTo(ByteBuffer scratch, ChunkSink sink) throws IOException {
      int perChunk = scratch.capacity() / elementBytes;
      for (int from = 0; from < length; from += perChunk) {
        int count = Math.min(perChunk, length - from);
        scratch.clear().order(ByteOrder.LITTLE_ENDIAN);
        put(scratch, from, count);
        scratch.limit(count * elementBytes);
        sink.accept(scratch);
      }
    }
  }
}

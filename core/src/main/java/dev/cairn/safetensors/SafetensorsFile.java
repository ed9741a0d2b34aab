package dev.cairn.safetensors;

import dev.cairn.store.Storage;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A safetensors file opened for reading. The header is read and validated on open; tensor data is
 * memory-mapped on request (where the storage maps; else copied once) and handed out as read-only
 * little-endian buffers. Mapped buffers stay valid after {@link #close()}.
 */
public final class SafetensorsFile implements Closeable {
  private final Path path;
  private final Storage.Input input;
  private final SafetensorsFormat.Header header;
  private final byte[] lengthPrefix;
  private final byte[] headerJson;

  private SafetensorsFile(
      Path path,
      Storage.Input input,
      SafetensorsFormat.Header header,
      byte[] lengthPrefix,
      byte[] headerJson) {
    this.path = path;
    this.input = input;
    this.header = header;
    this.lengthPrefix = lengthPrefix;
    this.headerJson = headerJson;
  }

  /** Opens and validates a file. */
  public static SafetensorsFile open(Path file) throws IOException {
    return open(local(file), file, false);
  }

  /**
   * Validates the file behind an open input (of any {@link Storage}) and takes ownership of it.
   *
   * @param name used in error messages
   * @throws MalformedSafetensorsException naming the file, offset and problem
   */
  public static SafetensorsFile open(Storage.Input input, Path name) throws IOException {
    return open(input, name, false);
  }

  private static Storage.Input local(Path file) throws IOException {
    Path abs = file.toAbsolutePath();
    return Storage.at(abs.getParent()).open(String.valueOf(abs.getFileName()));
  }

  /**
   * Opens a file to look at it: tensors of a dtype this version does not know are listed in {@code
   * header().unknownDtypes()} instead of failing the file; everything else is checked as by {@link
   * #open(Path)}. What {@code cairn inspect} uses.
   */
  public static SafetensorsFile openForInspection(Path file) throws IOException {
    return open(local(file), file, true);
  }

  private static SafetensorsFile open(Storage.Input input, Path name, boolean allowUnknownDtypes)
      throws IOException {
    try {
      long size = input.size();
      ByteBuffer prefix = ByteBuffer.allocate(8);
      if (size >= 8) {
        readFully(input, prefix, 0);
      }
      long n = SafetensorsFormat.headerLength(prefix, size, name);
      ByteBuffer json = ByteBuffer.allocate((int) n);
      readFully(input, json, 8);
      SafetensorsFormat.Header header =
          SafetensorsFormat.parseHeader(json.array(), size - 8 - n, name, allowUnknownDtypes);
      return new SafetensorsFile(name, input, header, prefix.array(), json.array());
    } catch (IOException | RuntimeException e) {
      try {
        input.close();
      } catch (IOException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
  }

  private static void readFully(Storage.Input ch, ByteBuffer dst, long position)
      throws IOException {
    long pos = position;
    while (dst.hasRemaining()) {
      int n = ch.read(dst, pos);
      if (n < 0) {
        throw new java.io.EOFException("unexpected end of file at byte " + pos);
      }
      pos += n;
    }
  }

  public Path path() {
    return path;
  }

  /**
   * The file's first {@code header().dataStart()} bytes, as read when it was opened: the 8-byte
   * length and the JSON header. A reader that checksums the whole file starts from these instead of
   * reading them again.
   */
  public ByteBuffer headerBytes() {
    ByteBuffer b = ByteBuffer.allocate(lengthPrefix.length + headerJson.length);
    return b.put(lengthPrefix).put(headerJson).flip();
  }

  /** Tensors in data order. */
  public List<TensorInfo> tensors() {
    return header.tensors();
  }

  /** The {@code __metadata__} map (empty when absent). */
  public Map<String, String> metadata() {
    return header.metadata();
  }

  public SafetensorsFormat.Header header() {
    return header;
  }

  /** The entry for a tensor name; IllegalArgumentException listing the names when absent. */
  public TensorInfo info(String name) {
    TensorInfo t = header.tensor(name);
    if (t == null) {
      List<String> names = new ArrayList<>();
      header.tensors().forEach(x -> names.add(x.name()));
      throw new IllegalArgumentException(path + " has no tensor '" + name + "'; it has " + names);
    }
    return t;
  }

  /**
   * The tensor's bytes, memory-mapped, read-only and little-endian. A tensor over 2 GiB does not
   * fit one buffer: use {@link #slices}.
   */
  public ByteBuffer buffer(String name) throws IOException {
    TensorInfo t = info(name);
    if (t.byteSize() > Integer.MAX_VALUE) {
      throw new IllegalStateException(
          "tensor '"
              + name
              + "' is "
              + t.byteSize()
              + " bytes, more than one ByteBuffer holds; read it with slices()");
    }
    return map(header.dataStart() + t.begin(), t.byteSize());
  }

  /** The tensor's bytes as consecutive mapped slices of at most {@code maxBytes} each. */
  public List<ByteBuffer> slices(String name, int maxBytes) throws IOException {
    TensorInfo t = info(name);
    List<ByteBuffer> out = new ArrayList<>();
    long start = header.dataStart() + t.begin();
    for (long off = 0; off < t.byteSize(); off += maxBytes) {
      out.add(map(start + off, Math.min(maxBytes, t.byteSize() - off)));
    }
    return out;
  }

  /** Copies a F32 tensor into a new array. */
  public float[] floats(String name) throws IOException {
    TensorInfo t = require(name, DType.F32);
    float[] out = new float[Math.toIntExact(t.elementCount())];
    buffer(name).asFloatBuffer().get(out);
    return out;
  }

  /** Copies a F64 tensor into a new array. */
  public double[] doubles(String name) throws IOException {
    TensorInfo t = require(name, DType.F64);
    double[] out = new double[Math.toIntExact(t.elementCount())];
    buffer(name).asDoubleBuffer().get(out);
    return out;
  }

  /** Copies a I64 tensor into a new array. */
  public long[] longs(String name) throws IOException {
    TensorInfo t = require(name, DType.I64);
    long[] out = new long[Math.toIntExact(t.elementCount())];
    buffer(name).asLongBuffer().get(out);
    return out;
  }

  /** Copies any tensor's raw bytes into a new array. */
  public byte[] bytes(String name) throws IOException {
    ByteBuffer b = buffer(name);
    byte[] out = new byte[b.remaining()];
    b.get(out);
    return out;
  }

  private TensorInfo require(String name, DType dtype) {
    TensorInfo t = info(name);
    if (t.dtype() != dtype) {
      throw new IllegalArgumentException(
          "tensor '" + name + "' in " + path + " is " + t.dtype() + ", not " + dtype);
    }
    return t;
  }

  private ByteBuffer map(long position, long size) throws IOException {
    if (size == 0) {
      return ByteBuffer.allocate(0).asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }
    return input.map(position, size).order(ByteOrder.LITTLE_ENDIAN);
  }

  @Override
  public void close() throws IOException {
    input.close();
  }
}

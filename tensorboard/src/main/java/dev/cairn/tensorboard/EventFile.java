package dev.cairn.tensorboard;

import java.io.Closeable;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.stream.Stream;

/**
 * One TensorBoard event file, {@code events.out.tfevents.<unix-seconds>.<host>.<session>}, created
 * new (never reopened: each session rolls to its own file, as TensorBoard expects) and only
 * appended to. Records are buffered and handed to the OS by {@link #flush}; {@link #close} forces
 * them to disk. Not thread-safe: one writer thread owns it.
 */
final class EventFile implements Closeable {
  /** What TensorBoard looks for in a file name. */
  static final String PREFIX = "events.out.tfevents.";

  private final Path path;
  private final FileChannel channel;
  private final ByteBuffer buffer = ByteBuffer.allocate(1 << 16);

  private EventFile(Path path, FileChannel channel) {
    this.path = path;
    this.channel = channel;
  }

  /**
   * Creates the file in {@code folder} (created when missing) and writes its first record, the file
   * version.
   */
  static EventFile create(Path folder, long wallMillis, String suffix) throws IOException {
    Files.createDirectories(folder);
    String name = PREFIX + (wallMillis / 1000) + "." + host() + "." + suffix;
    Path p = folder.resolve(name);
    FileChannel ch = FileChannel.open(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    EventFile f = new EventFile(p, ch);
    f.write(EventEncoder.fileVersion(wallMillis / 1000.0));
    return f;
  }

  /** True when {@code folder} holds an event file. */
  static boolean anyIn(Path folder) throws IOException {
    if (!Files.isDirectory(folder)) {
      return false;
    }
    try (Stream<Path> s = Files.list(folder)) {
      return s.anyMatch(p -> p.getFileName().toString().startsWith(PREFIX));
    }
  }

  Path path() {
    return path;
  }

  /** Appends one Event (framed) to the buffer, writing the buffer out when it is full. */
  void write(byte[] event) throws IOException {
    ByteBuffer framed = TfRecords.frame(event);
    if (framed.remaining() > buffer.remaining()) {
      flush();
    }
    if (framed.remaining() > buffer.capacity()) {
      writeFully(framed);
    } else {
      buffer.put(framed);
    }
  }

  /** Hands buffered records to the OS (readers see them; a crash of the JVM does not lose them). */
  void flush() throws IOException {
    buffer.flip();
    writeFully(buffer);
    buffer.clear();
  }

  private void writeFully(ByteBuffer b) throws IOException {
    while (b.hasRemaining()) {
      channel.write(b);
    }
  }

  @Override
  public void close() throws IOException {
    try {
      flush();
      channel.force(false);
    } finally {
      channel.close();
    }
  }

  private static String host() {
    String h;
    try {
      h = InetAddress.getLocalHost().getHostName();
    } catch (IOException | RuntimeException e) {
      h = "localhost";
    }
    String safe = h.replaceAll("[^A-Za-z0-9._-]", "_");
    return safe.isEmpty() ? "localhost" : safe;
  }
}

package dev.cairn.events;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cairn.store.Fsync;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * An append-only JSON-lines file (events.jsonl, sessions.jsonl). Each record is one write of one
 * whole line; a torn last line left by a crash is cut off when the file is opened again, and damage
 * before the tail is reported, never silently dropped.
 */
public final class JsonLines implements AutoCloseable {
  static final ObjectMapper JSON = new ObjectMapper();

  private final Path file;
  private final FileChannel channel;
  private final boolean syncEachLine;

  private JsonLines(Path file, FileChannel channel, boolean syncEachLine) {
    this.file = file;
    this.channel = channel;
    this.syncEachLine = syncEachLine;
  }

  /** What reading a JSON-lines file found. */
  public record ReadResult(
      List<ObjectNode> records, List<String> damagedLines, long tornTailBytes) {}

  /**
   * Opens for appending, repairing a torn last line (a crash mid-write) by truncating it.
   *
   * @param syncEachLine fsync after every line (for rare, important records)
   */
  public static JsonLines open(Path file, boolean syncEachLine) throws IOException {
    boolean created = !Files.exists(file);
    FileChannel ch =
        FileChannel.open(
            file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.READ);
    try {
      long keep = completeLength(ch);
      if (keep < ch.size()) {
        ch.truncate(keep);
        Fsync.channel(ch);
      }
      ch.position(keep);
      if (created && syncEachLine) {
        // The file's name must be durable too, or a power cut takes every synced line with it.
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
          Fsync.folder(parent);
        }
      }
      return new JsonLines(file, ch, syncEachLine);
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw e;
    }
  }

  /** Length of the file up to and including its last newline. */
  public static long completeLength(FileChannel ch) throws IOException {
    long size = ch.size();
    long pos = size;
    ByteBuffer b = ByteBuffer.allocate(8192);
    while (pos > 0) {
      int n = (int) Math.min(b.capacity(), pos);
      b.clear().limit(n);
      ch.read(b, pos - n);
      for (int i = n - 1; i >= 0; i--) {
        if (b.get(i) == '\n') {
          return pos - n + i + 1;
        }
      }
      pos -= n;
    }
    return 0;
  }

  /** Appends one record as one line. */
  public synchronized void append(ObjectNode record) throws IOException {
    byte[] line = (JSON.writeValueAsString(record) + "\n").getBytes(StandardCharsets.UTF_8);
    // A FileChannel closes itself for everyone when a thread is interrupted in it: an interrupted
    // background thread's event would close events.jsonl for the whole session. The flag is put
    // back afterwards.
    boolean interrupted = Thread.interrupted();
    try {
      ByteBuffer b = ByteBuffer.wrap(line);
      while (b.hasRemaining()) {
        channel.write(b);
      }
      if (syncEachLine) {
        Fsync.data(channel);
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  public synchronized void sync() throws IOException {
    Fsync.data(channel);
  }

  public Path file() {
    return file;
  }

  @Override
  public synchronized void close() throws IOException {
    channel.close();
  }

  /**
   * Reads every complete line. A last line without a newline is a torn write (counted, not
   * returned); a complete line that is not a JSON object is damage and is listed.
   */
  public static ReadResult read(Path file) throws IOException {
    if (!Files.exists(file)) {
      return new ReadResult(List.of(), List.of(), 0);
    }
    byte[] all = Files.readAllBytes(file);
    List<ObjectNode> records = new ArrayList<>();
    List<String> damaged = new ArrayList<>();
    int start = 0;
    int lineNo = 0;
    for (int i = 0; i < all.length; i++) {
      if (all[i] == '\n') {
        lineNo++;
        String line = new String(all, start, i - start, StandardCharsets.UTF_8);
        start = i + 1;
        if (line.isBlank()) {
          continue;
        }
        try {
          var node = JSON.readTree(line);
          if (node instanceof ObjectNode o) {
            records.add(o);
          } else {
            damaged.add(file.getFileName() + " line " + lineNo + ": not a JSON object");
          }
        } catch (IOException e) {
          damaged.add(file.getFileName() + " line " + lineNo + ": not valid JSON");
        }
      }
    }
    return new ReadResult(records, damaged, all.length - start);
  }
}

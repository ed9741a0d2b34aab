package dev.cairn.metrics;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Follows a JSON-lines file: each poll hands over the complete lines added since the last one; a
 * line still being written waits for the next poll, a damaged line (a crash mid-write) is skipped.
 * A file that shrank was replaced, and is read again from the start.
 *
 * <p>Memory and work stay bounded whatever the file holds: a line longer than the line limit (by
 * default {@link #DEFAULT_MAX_LINE_BYTES}) is skipped and counted, never buffered; and an
 * unfinished last line is not read again from its start on every poll: the search for its end goes
 * on where the previous poll stopped, and the line is read once, when it is complete.
 */
public final class JsonlTail {
  /** The longest line handed over by default (4 MiB: 250,000 metrics in one record). */
  public static final int DEFAULT_MAX_LINE_BYTES = 4 << 20;

  private static final int CHUNK = 1 << 20;

  /**
   * The tree parser, made on first use: {@link MetricsFile} hands lines to its own streaming parser
   * and never needs it, and making an ObjectMapper loads some 700 classes (in a cold dashboard,
   * about as long as reading a million points from metrics.bin).
   */
  private static final class Trees {
    static final ObjectMapper JSON = new ObjectMapper();
  }

  /** Receives one line's bytes (without the newline); must not keep the array. */
  public interface LineSink {
    void line(byte[] bytes, int offset, int length);
  }

  private final Path file;
  private final int maxLineBytes;
  private long offset; // where the next line starts
  private long scanned; // no newline in [offset, scanned)
  private long skipped;
  private long bytesRead;

  public JsonlTail(Path file) {
    this(file, DEFAULT_MAX_LINE_BYTES);
  }

  /** A tail handing over lines of at most {@code maxLineBytes} bytes; longer ones are skipped. */
  public JsonlTail(Path file, int maxLineBytes) {
    if (maxLineBytes < 1) {
      throw new IllegalArgumentException("the line limit must be positive, not " + maxLineBytes);
    }
    this.file = file;
    this.maxLineBytes = maxLineBytes;
  }

  /**
   * Parses each new line as JSON.
   *
   * @return true when the file was replaced by a shorter one and reading started over
   */
  public boolean poll(Consumer<JsonNode> lines) throws IOException {
    return poll(
        () -> {},
        (b, off, len) -> {
          JsonNode n = parse(b, off, len);
          if (n != null) {
            lines.accept(n);
          }
        });
  }

  /**
   * Hands over each new non-blank line's bytes, without parsing (for readers with their own fast
   * parser); {@code onRestart} runs before any line when the file was replaced.
   *
   * @return true when reading started over
   */
  public boolean poll(Runnable onRestart, LineSink sink) throws IOException {
    return poll(onRestart, sink, Long.MAX_VALUE);
  }

  /**
   * As {@link #poll(Runnable, LineSink)}, reading no further than byte {@code limit} of the file (a
   * line ending past it waits for a later poll).
   */
  boolean poll(Runnable onRestart, LineSink sink, long limit) throws IOException {
    long size;
    try {
      size = Files.size(file);
    } catch (NoSuchFileException e) {
      return false;
    }
    boolean restarted = false;
    if (size < scanned) {
      rewind();
      restarted = true;
      onRestart.run();
    }
    size = Math.min(size, limit);
    if (size <= scanned) {
      return restarted;
    }
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      byte[] buf = new byte[(int) Math.min(CHUNK, Math.max(4096, size - scanned))];
      ByteBuffer bb = ByteBuffer.wrap(buf);
      long pos = scanned;
      while (pos < size) {
        bb.clear();
        bb.limit((int) Math.min(buf.length, size - pos));
        int r = ch.read(bb, pos);
        if (r <= 0) {
          break;
        }
        bytesRead += r;
        long chunkStart = pos;
        pos += r;
        for (int i = 0; i < r; i++) {
          if (buf[i] != '\n') {
            continue;
          }
          long end = chunkStart + i;
          long len = end - offset;
          if (len > maxLineBytes) {
            skipped++;
          } else if (offset >= chunkStart) {
            deliver(sink, buf, (int) (offset - chunkStart), (int) len);
          } else {
            // Begun in an earlier chunk or poll: read once, now that it is complete.
            byte[] line = new byte[(int) len];
            readFully(ch, ByteBuffer.wrap(line), offset);
            deliver(sink, line, 0, line.length);
          }
          offset = end + 1;
        }
      }
      scanned = pos;
    }
    return restarted;
  }

  /** Where the next line starts: every line before it was handed over (or skipped). */
  long offset() {
    return offset;
  }

  /**
   * Goes on from {@code lineStart}, the start of a line at or past {@link #offset}: the lines
   * before it were read by other means (metrics.bin).
   */
  void skipTo(long lineStart) {
    if (lineStart < offset) {
      throw new IllegalArgumentException(
          "cannot go back from byte " + offset + " to " + lineStart + "; rewind instead");
    }
    offset = lineStart;
    scanned = lineStart;
  }

  /** Starts again from the beginning of the file at the next poll. */
  public void rewind() {
    offset = 0;
    scanned = 0;
  }

  /** Lines skipped so far for being longer than the line limit. */
  public long skippedLines() {
    return skipped;
  }

  /** Bytes read from the file so far (what polling costs). */
  public long bytesRead() {
    return bytesRead;
  }

  /**
   * The last {@code maxLines} complete lines of a file, parsed, oldest first, reading at most
   * {@code maxBytes} from its end: what a page shows of a long log without holding all of it. A
   * line cut by that window, a damaged line or a blank one is left out; a missing file has none.
   */
  public static List<JsonNode> lastLines(Path file, int maxLines, int maxBytes) throws IOException {
    byte[] buf;
    long from;
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      long size = ch.size();
      from = Math.max(0, size - maxBytes);
      buf = new byte[(int) (size - from)];
      readFully(ch, ByteBuffer.wrap(buf), from);
    } catch (NoSuchFileException e) {
      return List.of();
    }
    ArrayDeque<JsonNode> out = new ArrayDeque<>();
    int end = buf.length;
    // A last line without its newline is still being written.
    while (end > 0 && buf[end - 1] != '\n') {
      end--;
    }
    while (end > 0 && out.size() < maxLines) {
      int nl = end - 1; // buf[nl] == '\n'
      int start = nl;
      while (start > 0 && buf[start - 1] != '\n') {
        start--;
      }
      if (start == 0 && from > 0) {
        break; // cut by the window
      }
      JsonNode n = parse(buf, start, nl - start);
      if (n != null) {
        out.addFirst(n);
      }
      end = start;
    }
    return new ArrayList<>(out);
  }

  private static JsonNode parse(byte[] b, int off, int len) {
    int s = off;
    while (s < off + len && (b[s] == ' ' || b[s] == '\t' || b[s] == '\r')) {
      s++;
    }
    if (s == off + len) {
      return null;
    }
    try {
      return Trees.JSON.readTree(b, off, len);
    } catch (IOException e) {
      return null; // a damaged line
    }
  }

  private static void readFully(FileChannel ch, ByteBuffer into, long at) throws IOException {
    long p = at;
    while (into.hasRemaining()) {
      int r = ch.read(into, p);
      if (r < 0) {
        throw new IOException("file shrank while being read");
      }
      p += r;
    }
  }

  private static void deliver(LineSink sink, byte[] b, int off, int len) {
    int end = off + len;
    int s = off;
    while (s < end && (b[s] == ' ' || b[s] == '\t' || b[s] == '\r')) {
      s++;
    }
    if (s < end) {
      sink.line(b, off, len);
    }
  }
}

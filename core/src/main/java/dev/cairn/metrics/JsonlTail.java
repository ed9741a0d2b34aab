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
import java.util.Arrays;
import java.util.function.Consumer;

/**
 * Follows a JSON-lines file: each poll hands over the complete lines added since the last one; a
 * line still being written waits for the next poll, a damaged line (a crash mid-write) is skipped.
 * A file that shrank was replaced, and is read again from the start.
 */
public final class JsonlTail {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Receives one line's bytes (without the newline); must not keep the array. */
  public interface LineSink {
    void line(byte[] bytes, int offset, int length);
  }

  private final Path file;
  private long offset;

  public JsonlTail(Path file) {
    this.file = file;
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
          JsonNode n;
          try {
            n = JSON.readTree(b, off, len);
          } catch (IOException e) {
            return; // a damaged line
          }
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
    long size;
    try {
      size = Files.size(file);
    } catch (NoSuchFileException e) {
      return false;
    }
    boolean restarted = false;
    if (size < offset) {
      offset = 0;
      restarted = true;
      onRestart.run();
    }
    if (size == offset) {
      return restarted;
    }
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      byte[] buf = new byte[(int) Math.min(1 << 20, Math.max(4096, size - offset))];
      ByteBuffer bb = ByteBuffer.wrap(buf);
      byte[] carry = new byte[0];
      int carryLen = 0;
      long pos = offset;
      while (pos < size) {
        bb.clear();
        bb.limit((int) Math.min(buf.length, size - pos));
        int r = ch.read(bb, pos);
        if (r <= 0) {
          break;
        }
        long chunkStart = pos;
        pos += r;
        int start = 0;
        for (int i = 0; i < r; i++) {
          if (buf[i] != '\n') {
            continue;
          }
          if (carryLen > 0) {
            carry = append(carry, carryLen, buf, start, i - start);
            deliver(sink, carry, 0, carryLen + i - start);
            carryLen = 0;
          } else {
            deliver(sink, buf, start, i - start);
          }
          offset = chunkStart + i + 1;
          start = i + 1;
        }
        if (start < r) {
          carry = append(carry, carryLen, buf, start, r - start);
          carryLen += r - start;
        }
      }
    }
    return restarted;
  }

  private static byte[] append(byte[] carry, int carryLen, byte[] src, int off, int len) {
    byte[] out =
        carry.length >= carryLen + len ? carry : Arrays.copyOf(carry, 2 * (carryLen + len));
    System.arraycopy(src, off, out, carryLen, len);
    return out;
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

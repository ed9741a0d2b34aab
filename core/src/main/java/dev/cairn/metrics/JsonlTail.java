package dev.cairn.metrics;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.function.Consumer;

/**
 * Follows a JSON-lines file: each {@link #poll} hands over the complete lines added since the last
 * one, parsed; a line still being written waits for the next poll, a damaged line (a crash
 * mid-write) is skipped.
 */
public final class JsonlTail {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path file;
  private long offset;

  public JsonlTail(Path file) {
    this.file = file;
  }

  /**
   * @return true when the file was replaced by a shorter one and reading started over
   */
  public boolean poll(Consumer<JsonNode> lines) throws IOException {
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
    }
    if (size == offset) {
      return restarted;
    }
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      ByteBuffer buf = ByteBuffer.allocate(1 << 20);
      ByteArrayOutputStream line = new ByteArrayOutputStream();
      long pos = offset;
      while (pos < size) {
        buf.clear();
        int r = ch.read(buf, pos);
        if (r <= 0) {
          break;
        }
        pos += r;
        buf.flip();
        while (buf.hasRemaining()) {
          byte b = buf.get();
          if (b != '\n') {
            line.write(b);
            continue;
          }
          offset += line.size() + 1;
          String text = line.toString(StandardCharsets.UTF_8);
          line.reset();
          if (text.isBlank()) {
            continue;
          }
          JsonNode n;
          try {
            n = JSON.readTree(text);
          } catch (IOException e) {
            continue;
          }
          lines.accept(n);
        }
      }
    }
    return restarted;
  }
}

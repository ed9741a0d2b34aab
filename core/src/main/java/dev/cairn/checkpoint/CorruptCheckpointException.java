package dev.cairn.checkpoint;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A checkpoint that fails verification: a missing or unsealed manifest, a size or checksum
 * mismatch, a malformed part. Names the file and, where it applies, the byte offset.
 */
public final class CorruptCheckpointException extends IOException {
  private static final long serialVersionUID = 1L;
  private final String file;
  private final long offset;

  public CorruptCheckpointException(Path file, long offset, String problem, Throwable cause) {
    super(file + (offset >= 0 ? " (byte " + offset + ")" : "") + ": " + problem, cause);
    this.file = String.valueOf(file);
    this.offset = offset;
  }

  public CorruptCheckpointException(Path file, String problem) {
    this(file, -1, problem, null);
  }

  public String file() {
    return file;
  }

  /** Byte offset of the problem in {@link #file()}, or -1 when it is about the whole file. */
  public long offset() {
    return offset;
  }
}

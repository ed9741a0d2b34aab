package dev.cairn.safetensors;

import java.io.IOException;
import java.nio.file.Path;

/** A safetensors file that breaks the format; names the file, the byte offset and the problem. */
public final class MalformedSafetensorsException extends IOException {
  private static final long serialVersionUID = 1L;
  private final String file;
  private final long offset;

  public MalformedSafetensorsException(Path file, long offset, String problem) {
    super(file + ": malformed safetensors at byte " + offset + ": " + problem);
    this.file = String.valueOf(file);
    this.offset = offset;
  }

  /** The file, as given to the reader. */
  public String file() {
    return file;
  }

  /** Byte offset in the file where the problem was found. */
  public long offset() {
    return offset;
  }
}

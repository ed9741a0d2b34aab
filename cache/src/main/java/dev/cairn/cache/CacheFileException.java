package dev.cairn.cache;

import java.io.IOException;

/** The cache file cannot be used: not a database, another program's database, damaged, full. */
public final class CacheFileException extends IOException {
  private static final long serialVersionUID = 1L;

  public CacheFileException(String message, Throwable cause) {
    super(message, cause);
  }
}

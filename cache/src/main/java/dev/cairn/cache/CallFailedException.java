package dev.cairn.cache;

import java.io.IOException;

/** A call that did not succeed within its retries (or was refused: 4xx, open circuit). */
public final class CallFailedException extends IOException {
  private static final long serialVersionUID = 1L;

  public CallFailedException(String message, Throwable cause) {
    super(message, cause);
  }
}

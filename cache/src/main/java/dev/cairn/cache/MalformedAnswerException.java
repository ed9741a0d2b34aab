package dev.cairn.cache;

import java.io.IOException;

/** The server answered 200 with something that is not the expected JSON (or was cut short). */
public final class MalformedAnswerException extends IOException {
  private static final long serialVersionUID = 1L;

  public MalformedAnswerException(String message, Throwable cause) {
    super(message, cause);
  }
}

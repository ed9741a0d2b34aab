package dev.cairn.cache;

import java.io.IOException;
import java.time.Duration;

/** An HTTP answer that is not a success; 429 and 5xx are retried, other statuses are not. */
public final class HttpStatusException extends IOException {
  private static final long serialVersionUID = 1L;

  private final int status;
  private final transient Duration retryAfter;

  public HttpStatusException(int status, Duration retryAfter, String body) {
    super("HTTP " + status + (body == null || body.isBlank() ? "" : ": " + abbreviate(body)));
    this.status = status;
    this.retryAfter = retryAfter;
  }

  private static String abbreviate(String s) {
    String one = s.replace('\n', ' ').strip();
    return one.length() > 200 ? one.substring(0, 200) + "..." : one;
  }

  public int status() {
    return status;
  }

  /** The server's Retry-After, or null. */
  public Duration retryAfter() {
    return retryAfter;
  }

  public boolean retryable() {
    return status == 429 || status >= 500;
  }
}

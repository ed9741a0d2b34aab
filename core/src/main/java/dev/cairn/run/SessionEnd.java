package dev.cairn.run;

import java.util.Locale;

/**
 * How a session of a run ended, as its end record in sessions.jsonl says ({@code "reason"}). A
 * session with no end record was killed (kill -9, power loss, OOM killer): {@link RunStatus} then
 * says running, stalled or dead from the process and its heartbeat.
 */
public enum SessionEnd {
  /** The run's work is done: results.json is written. */
  FINISHED,
  /**
   * Ended on purpose before the work was done: closed by the program, shut down by SIGTERM or
   * SIGINT (a preemption notice, Ctrl-C), or asked to stop. Resuming continues it.
   */
  STOPPED,
  /** Ended by an error ({@link Run#fail}). Resuming retries it. */
  FAILED;

  /** The word in sessions.jsonl and {@code cairn runs}. */
  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /**
   * The end state an end record names; records of older versions ({@code "closed"}) and unknown
   * words read as {@link #STOPPED}, since the session did end.
   */
  public static SessionEnd fromWire(String reason) {
    for (SessionEnd e : values()) {
      if (e.wireName().equals(reason)) {
        return e;
      }
    }
    return STOPPED;
  }
}

package dev.cairn.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * Which process a session runs in: host, pid and the process's start time. The start time tells a
 * live session from an unrelated process that got the same pid after the session's was gone.
 */
record ProcessIdentity(String host, long pid, Instant started) {
  /** Two readings of one process's start time differ by clock-tick rounding at most. */
  private static final Duration SAME_START = Duration.ofSeconds(1);

  /** What is known, from this machine, about a recorded process. */
  enum Liveness {
    /** On this host, with the recorded start time (or none recorded): the session's process. */
    ALIVE,
    /** On this host and gone, or its pid now belongs to a process started at another time. */
    GONE,
    /** Another host's process (or no pid recorded): only its heartbeat can tell. */
    UNKNOWN
  }

  static ProcessIdentity current() {
    ProcessHandle self = ProcessHandle.current();
    return new ProcessIdentity(
        Provenance.hostName(), self.pid(), self.info().startInstant().orElse(null));
  }

  /** Reads {@code host}, {@code pid} and {@code process_start} of a record. */
  static ProcessIdentity of(JsonNode record) {
    Instant started = null;
    JsonNode s = record.path("process_start");
    if (s.isTextual()) {
      try {
        started = Instant.parse(s.asText());
      } catch (RuntimeException e) {
        started = null;
      }
    }
    return new ProcessIdentity(
        record.path("host").asText(""), record.path("pid").asLong(-1), started);
  }

  void writeTo(ObjectNode record) {
    record.put("pid", pid).put("host", host);
    if (started != null) {
      record.put("process_start", started.toString());
    }
  }

  /** Checks, from this process, whether the recorded process still runs. */
  Liveness liveness() {
    if (pid <= 0 || !host.equals(Provenance.hostName())) {
      return Liveness.UNKNOWN;
    }
    Optional<ProcessHandle> h = ProcessHandle.of(pid);
    if (h.isEmpty() || !h.get().isAlive()) {
      return Liveness.GONE;
    }
    Optional<Instant> now = h.get().info().startInstant();
    if (started != null
        && now.isPresent()
        && Duration.between(started, now.get()).abs().compareTo(SAME_START) > 0) {
      return Liveness.GONE; // the pid was reused by another process
    }
    return Liveness.ALIVE;
  }
}

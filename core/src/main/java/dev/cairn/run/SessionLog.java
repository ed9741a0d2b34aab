package dev.cairn.run;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cairn.events.JsonLines;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

/**
 * sessions.jsonl, the one reader and writer of its records: a {@code start} record per process
 * start (session number, time, process identity, previous session's outcome, paused time) and an
 * {@code end} record when the session ends ({@link SessionEnd} as {@code reason}, step, active
 * time). Each record is fsynced: they are rare and say whether a run is alive.
 */
final class SessionLog implements AutoCloseable {
  static final String START = "start";
  static final String END = "end";

  /** What sessions.jsonl says so far. */
  record History(int sessions, int lastSession, ObjectNode lastStart, ObjectNode lastEnd) {
    static final History NONE = new History(0, 0, null, null);

    /** The last session's end state; null while it has no end record. */
    SessionEnd lastEndState() {
      return lastEnd == null ? null : SessionEnd.fromWire(lastEnd.path("reason").asText());
    }

    /** The process that wrote the last start record (null before any). */
    ProcessIdentity lastProcess() {
      return lastStart == null ? null : ProcessIdentity.of(lastStart);
    }

    /** "none", "crashed" or "clean": how the previous session ended, for the next start record. */
    String previousOutcome() {
      return lastStart == null ? "none" : lastEnd == null ? "crashed" : "clean";
    }
  }

  private final JsonLines lines;
  private final int session;

  private SessionLog(JsonLines lines, int session) {
    this.lines = lines;
    this.session = session;
  }

  static History read(Path file) throws IOException {
    return history(JsonLines.read(file).records());
  }

  static History history(List<ObjectNode> records) {
    int count = 0;
    int last = 0;
    ObjectNode lastStart = null;
    ObjectNode lastEnd = null;
    for (ObjectNode r : records) {
      String type = r.path("type").asText();
      if (type.equals(START)) {
        count++;
        last = r.path("session").asInt(last + 1);
        lastStart = r;
        lastEnd = null;
      } else if (type.equals(END)) {
        lastEnd = r;
      }
    }
    return new History(count, last, lastStart, lastEnd);
  }

  /** Appends the start record of {@code session} and keeps the file open for its end. */
  static SessionLog start(
      Path file,
      int session,
      Instant time,
      String previous,
      double pausedSeconds,
      String fingerprint)
      throws IOException {
    JsonLines lines = JsonLines.open(file, true);
    try {
      ObjectNode start = JsonNodeFactory.instance.objectNode();
      start.put("type", START).put("session", session).put("time", time.toString());
      ProcessIdentity.current().writeTo(start);
      start.put("previous", previous).put("paused_seconds", pausedSeconds);
      start.put("config_fingerprint", fingerprint);
      lines.append(start);
      return new SessionLog(lines, session);
    } catch (IOException | RuntimeException e) {
      lines.close();
      throw e;
    }
  }

  /** Appends the end record (fsynced before return). */
  void end(Instant time, SessionEnd state, String detail, long step, double activeSeconds)
      throws IOException {
    ObjectNode end = JsonNodeFactory.instance.objectNode();
    end.put("type", END).put("session", session).put("time", time.toString());
    end.put("reason", state.wireName());
    if (detail != null && !detail.isBlank()) {
      end.put("detail", detail);
    }
    end.put("step", Math.max(0, step)).put("active_seconds", activeSeconds);
    lines.append(end);
  }

  @Override
  public void close() throws IOException {
    lines.close();
  }
}

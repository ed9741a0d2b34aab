package dev.cairn.run;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cairn.events.EventType;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;

/** Where a training job starts: {@code try (Run run = Cairn.open(runsDir, options)) { ... }}. */
public final class Cairn {
  private Cairn() {}

  /**
   * Opens the run {@code runsDir/<name>}, creating it, or resuming it when it exists: a new session
   * starts, leftovers of a crash are cleaned up, and a changed config is refused (or recorded, when
   * allowed).
   *
   * @throws ConfigChangedException when the config differs and the options do not allow it
   */
  public static Run open(Path runsDir, RunOptions options) throws IOException {
    return DefaultRun.open(runsDir, options);
  }

  /**
   * The environment variable a supervisor sets to a file path; a run opened in that process writes
   * its folder there.
   */
  public static final String SUPERVISOR_RUN_FILE = DefaultRun.SUPERVISOR_RUN_FILE;

  /**
   * Appends an event to a run that no process has open, such as a supervisor recording that it
   * restarts the run's crashed job. Attributed to the run's latest session and step.
   */
  public static void appendEvent(Path runDir, EventType type, String message, ObjectNode fields)
      throws IOException {
    RunStatus status = RunStatus.of(runDir, Clock.systemUTC());
    try (EventLog log = new EventLog(new RunFiles(runDir), Clock.systemUTC(), status.sessions())) {
      log.emit(type, status.step(), message, fields);
    }
  }
}

package dev.cairn.run;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cairn.events.EventType;
import dev.cairn.store.Storages;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;

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
   * Opens the run {@code NAME} in a runs folder given as a location: a plain path or {@code
   * file://} (the same as {@link #open(Path, RunOptions)}), or a URI of remote storage such as
   * {@code hdfs://namenode/runs} or {@code s3a://bucket/runs} (with module cairn-hadoop on the
   * class path). A remote run keeps its checkpoints in the remote folder and mirrors everything
   * else there every 5 s and after each checkpoint, from a local working copy (in the user cache
   * folder, or {@code -Dcairn.local.runs} / {@code CAIRN_LOCAL_RUNS}); started on another machine,
   * it pulls the run first and resumes from the remote checkpoints.
   *
   * @param storageSettings settings of the storage (Hadoop keys such as {@code fs.s3a.endpoint})
   */
  public static Run open(
      String runsLocation, Map<String, String> storageSettings, RunOptions options)
      throws IOException {
    if (Storages.isLocal(runsLocation)) {
      return open(Storages.localPath(runsLocation), options);
    }
    return RemoteRuns.open(runsLocation, storageSettings, options);
  }

  /**
   * The run folder at a location, on this machine: a local run's own folder, or for a remote run
   * (such as {@code s3a://bucket/runs/NAME}) a local copy brought up to date from it, for reading
   * (status, metrics, events).
   *
   * @throws IllegalArgumentException when the remote folder holds no run
   */
  public static Path localCopy(String runLocation, Map<String, String> storageSettings)
      throws IOException {
    if (Storages.isLocal(runLocation)) {
      return Storages.localPath(runLocation);
    }
    return RemoteRuns.pull(runLocation, storageSettings);
  }

  /**
   * A runs folder at a location, on this machine: the folder itself, or for a remote one a local
   * folder holding an up-to-date copy of each of its runs, for listings and the dashboard.
   */
  public static Path localCopyOfRuns(String runsLocation, Map<String, String> storageSettings)
      throws IOException {
    if (Storages.isLocal(runsLocation)) {
      return Storages.localPath(runsLocation);
    }
    return RemoteRuns.pullAll(runsLocation, storageSettings);
  }

  /**
   * The folder on this machine that holds the working copies of the runs this machine trains in a
   * runs folder: the folder itself when it is local. A dashboard in the training process serves
   * this one (its Save and Stop reach the job through it).
   */
  public static Path workingCopiesOf(String runsLocation, Map<String, String> storageSettings) {
    if (Storages.isLocal(runsLocation)) {
      return Storages.localPath(runsLocation);
    }
    return RemoteRuns.localRoot(runsLocation, storageSettings, RemoteRuns.Use.WORK);
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

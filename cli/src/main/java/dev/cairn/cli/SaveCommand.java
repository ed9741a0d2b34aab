package dev.cairn.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cairn.control.ControlFolder;
import dev.cairn.control.SaveRequest;
import dev.cairn.events.JsonLines;
import dev.cairn.run.RunStatus;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.locks.LockSupport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code cairn save}: ask a running job to save a checkpoint now, and wait for the answer. */
@Command(
    name = "save",
    mixinStandardHelpOptions = true,
    description =
        "Ask the running job of RUN_DIR to save a checkpoint at its next step (through its"
            + " control folder) and wait until it answers with where the checkpoint went.")
final class SaveCommand implements Callable<Integer> {
  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Parameters(paramLabel = "RUN_DIR")
  Path dir;

  @Option(names = "--name", description = "name the checkpoint (named checkpoints are pinned)")
  String name;

  @Option(
      names = "--timeout",
      defaultValue = "5m",
      paramLabel = "DURATION",
      description = "how long to wait for the job (default ${DEFAULT-VALUE})")
  String timeout;

  /**
   * Waits for the job's answer to request {@code id}: its save_request_done event, or null at the
   * deadline; a save_request_failed answer is thrown as the job's error.
   */
  static ObjectNode awaitAnswer(Path dir, String id, long deadlineNanos) throws IOException {
    while (System.nanoTime() < deadlineNanos) {
      for (ObjectNode e : JsonLines.read(new dev.cairn.run.RunFiles(dir).events()).records()) {
        if (!id.equals(e.path("request_id").asText())) {
          continue;
        }
        String type = e.path("type").asText();
        if (type.equals("save_request_done")) {
          return e;
        }
        if (type.equals("save_request_failed")) {
          throw new IllegalStateException("the job could not save: " + e.path("error").asText());
        }
      }
      LockSupport.parkNanos(200_000_000L);
    }
    return null;
  }

  @Override
  public Integer call() throws IOException {
    RunArgs.requireRun(dir);
    Duration wait = Durations.parse(timeout);
    RunStatus status = RunStatus.of(dir, Clock.systemUTC());
    if (!status.status().equals("running") && !status.status().equals("stalled")) {
      throw new IllegalStateException(
          "run " + status.id() + " is " + status.status() + ", not running; nothing was requested");
    }
    SaveRequest r = new ControlFolder(dir.resolve("control")).requestSave(name);
    PrintWriter out = spec.commandLine().getOut();
    out.printf(
        "requested a save of %s (request %s); waiting for the job...%n", status.id(), r.id());
    out.flush();
    long deadline = System.nanoTime() + wait.toNanos();
    ObjectNode e = awaitAnswer(dir, r.id(), deadline);
    if (e != null) {
      out.printf("saved step %d to %s%n", e.path("step").asLong(), e.path("path").asText());
      return 0;
    }
    throw new IllegalStateException(
        "no answer within "
            + timeout
            + "; the request stays in "
            + dir.resolve("control")
            + " and the job will pick it up at its next step");
  }
}

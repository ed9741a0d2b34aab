package dev.cairn.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cairn.control.ControlFolder;
import dev.cairn.control.SaveRequest;
import dev.cairn.run.RunFiles;
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

/** {@code cairn stop}: ask a running job to save at its next step and end its session. */
@Command(
    name = "stop",
    mixinStandardHelpOptions = true,
    description =
        "Ask the running job of RUN_DIR to save a checkpoint at its next step and then end its"
            + " session as stopped (through its control folder); waits for both. Starting the job"
            + " again resumes from that checkpoint.")
final class StopCommand implements Callable<Integer> {
  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Parameters(paramLabel = "RUN_DIR")
  Path dir;

  @Option(
      names = "--timeout",
      defaultValue = "5m",
      paramLabel = "DURATION",
      description = "how long to wait for the job (default ${DEFAULT-VALUE})")
  String timeout;

  @Override
  public Integer call() throws IOException {
    RunArgs.requireRun(dir);
    Duration wait = Durations.parse(timeout);
    RunStatus status = RunStatus.of(dir, Clock.systemUTC());
    if (!running(status)) {
      throw new IllegalStateException(
          "run " + status.id() + " is " + status.status() + ", not running; nothing was requested");
    }
    SaveRequest r = new ControlFolder(new RunFiles(dir).control()).requestStop();
    PrintWriter out = spec.commandLine().getOut();
    out.printf(
        "asked %s to stop (request %s); waiting for its last checkpoint...%n", status.id(), r.id());
    out.flush();
    long deadline = System.nanoTime() + wait.toNanos();
    ObjectNode saved = SaveCommand.awaitAnswer(dir, r.id(), deadline);
    if (saved == null) {
      throw new IllegalStateException(
          "no answer within "
              + timeout
              + "; the request stays in "
              + new RunFiles(dir).control()
              + " and the job will pick it up at its next step");
    }
    out.printf("saved step %d to %s%n", saved.path("step").asLong(), saved.path("path").asText());
    out.flush();
    while (System.nanoTime() < deadline) {
      RunStatus now = RunStatus.of(dir, Clock.systemUTC());
      if (!running(now)) {
        out.printf("run %s is %s at step %d%n", now.id(), now.status(), now.step());
        return 0;
      }
      LockSupport.parkNanos(200_000_000L);
    }
    throw new IllegalStateException(
        "the job saved but has not ended its session within "
            + timeout
            + "; is its training loop"
            + " checking CheckpointManager.stopRequested()?");
  }

  private static boolean running(RunStatus s) {
    return s.status().equals("running") || s.status().equals("stalled");
  }
}

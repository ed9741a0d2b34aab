package dev.cairn.cli;

import dev.cairn.cli.supervise.Supervisor;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The restart options {@code cairn supervise} and {@code cairn launch} share, written once. */
final class RestartOptions {
  @Option(
      names = "--max-restarts",
      defaultValue = "3",
      paramLabel = "K",
      description = "restarts before giving up (default ${DEFAULT-VALUE})")
  int maxRestarts;

  @Option(
      names = "--backoff",
      defaultValue = "1s",
      paramLabel = "DURATION",
      description =
          "delay before the first restart, doubled for each next one (default ${DEFAULT-VALUE})")
  String backoff;

  @Option(
      names = "--max-backoff",
      defaultValue = "5m",
      paramLabel = "DURATION",
      description = "cap of the delay (default ${DEFAULT-VALUE})")
  String maxBackoff;

  /** The supervisor's settings, recording restarts in {@code runDir} when not null. */
  Supervisor.Settings settings(Path runDir) {
    return new Supervisor.Settings(
        maxRestarts, Durations.parse(backoff), Durations.parse(maxBackoff), runDir);
  }
}

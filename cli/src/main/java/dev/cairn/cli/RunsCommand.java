package dev.cairn.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.cairn.run.RunStatus;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code cairn runs}: every run under a folder with its status and progress. */
@Command(
    name = "runs",
    mixinStandardHelpOptions = true,
    description =
        "List runs with status (running, stalled, dead, finished, failed, stopped), step,"
            + " percent, ETA, latest loss, last checkpoint and heartbeat age.")
final class RunsCommand implements Callable<Integer> {
  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Parameters(
      paramLabel = "RUNS",
      defaultValue = "runs",
      description = "runs folder, or remote storage like s3a://bucket/runs (default: ./runs)")
  String location;

  @picocli.CommandLine.Mixin Locations locations;

  @Option(names = "--json", description = "one JSON array")
  boolean json;

  @Override
  public Integer call() throws IOException {
    Path runs = locations.runs(location);
    if (!Files.isDirectory(runs)) {
      throw new IllegalArgumentException(
          "no runs folder at " + runs + "; give the folder that holds your runs");
    }
    PrintWriter out = spec.commandLine().getOut();
    Clock clock = Clock.systemUTC();
    ArrayNode all = Json.MAPPER.createArrayNode();
    if (!json) {
      out.printf(
          "%-28s %-9s %10s %7s %9s %10s %12s %10s%n",
          "RUN", "STATUS", "STEP", "DONE", "ETA", "LOSS", "CHECKPOINT", "HEARTBEAT");
    }
    for (Path dir : RunStatus.runsIn(runs)) {
      RunStatus s = RunStatus.of(dir, clock);
      if (json) {
        all.add(s.toJson());
        continue;
      }
      out.printf(
          Locale.ROOT,
          "%-28s %-9s %10d %7s %9s %10s %12s %10s%n",
          s.id(),
          s.status(),
          s.step(),
          Double.isFinite(s.percent()) ? String.format(Locale.ROOT, "%.1f%%", s.percent()) : "-",
          Durations.human(s.etaSeconds()),
          Double.isFinite(s.loss()) ? String.format(Locale.ROOT, "%.4g", s.loss()) : "-",
          s.lastCheckpointStep() >= 0
              ? s.lastCheckpointStep() + " (" + Durations.human(s.lastCheckpointAgeSeconds()) + ")"
              : "-",
          Durations.human(s.heartbeatAgeSeconds()));
      for (String problem : s.rankProblems()) {
        out.printf("%-28s %s%n", "", problem);
      }
    }
    if (json) {
      out.println(Json.MAPPER.writeValueAsString(all));
    }
    return 0;
  }
}

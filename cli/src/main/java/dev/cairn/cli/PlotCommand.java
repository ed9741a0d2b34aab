package dev.cairn.cli;

import dev.cairn.metrics.MetricsFile;
import dev.cairn.metrics.Series;
import dev.cairn.plots.Charts;
import dev.cairn.plots.PlotFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code cairn plot}: a PNG of metrics from one or several runs' metrics.jsonl. */
@Command(
    name = "plot",
    mixinStandardHelpOptions = true,
    description =
        "Draws metrics of RUN_DIR (several runs are overlaid for comparison) into a PNG, from"
            + " metrics.jsonl: works for running, finished and crashed runs.")
final class PlotCommand implements Callable<Integer> {
  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Parameters(paramLabel = "RUN_DIR", arity = "1..*")
  List<Path> runs;

  @Option(
      names = {"-m", "--metric"},
      paramLabel = "M",
      description = "metric to draw, repeatable (default: loss)")
  List<String> metrics;

  @Option(
      names = "--smooth",
      defaultValue = "1",
      paramLabel = "W",
      description = "moving average over W points (default ${DEFAULT-VALUE}: raw)")
  int smooth;

  @Option(
      names = "--from",
      defaultValue = "0",
      paramLabel = "STEP",
      description = "first step drawn")
  long from;

  @Option(names = "--log", description = "logarithmic value axis")
  boolean log;

  @Option(
      names = "--width",
      defaultValue = "1200",
      description = "pixels (default ${DEFAULT-VALUE})")
  int width;

  @Option(
      names = "--height",
      defaultValue = "700",
      description = "pixels (default ${DEFAULT-VALUE})")
  int height;

  @Option(
      names = {"-o", "--output"},
      required = true,
      paramLabel = "FILE.png",
      description = "the PNG to write (replaced atomically)")
  Path output;

  @Override
  public Integer call() throws IOException {
    if (smooth < 1) {
      throw new IllegalArgumentException("--smooth must be 1 or more, was " + smooth);
    }
    if (width < 200 || height < 150 || width > 10_000 || height > 10_000) {
      throw new IllegalArgumentException("--width and --height must be 200x150 to 10000x10000");
    }
    if (!String.valueOf(output.getFileName()).toLowerCase(java.util.Locale.ROOT).endsWith(".png")) {
      throw new IllegalArgumentException("-o must name a .png file, was " + output);
    }
    Path parent = output.toAbsolutePath().getParent();
    if (parent == null || !Files.isDirectory(parent)) {
      throw new IllegalArgumentException("the folder of -o " + output + " does not exist");
    }
    List<String> wanted = metrics == null || metrics.isEmpty() ? List.of("loss") : metrics;
    List<Charts.Line> lines = new ArrayList<>();
    for (Path run : runs) {
      RunArgs.requireRun(run);
      MetricsFile m = MetricsFile.load(run.resolve("metrics.jsonl"));
      String id = String.valueOf(run.toAbsolutePath().normalize().getFileName());
      for (String metric : wanted) {
        Series s = m.series(metric);
        if (s == null) {
          throw new IllegalArgumentException(
              "run "
                  + id
                  + " has no metric '"
                  + metric
                  + "'; it has: "
                  + (m.metrics().isEmpty() ? "(none yet)" : String.join(", ", m.metrics())));
        }
        double[][] p = s.points(from);
        double[] y = smooth > 1 ? Series.movingAverage(p[1], smooth) : p[1];
        String label = (runs.size() > 1 ? id + " " : "") + metric;
        if (smooth > 1) {
          label += " (moving average of " + smooth + ")";
        }
        lines.add(new Charts.Line(label, p[0], y, Charts.colour(lines.size()), 2f));
      }
    }
    String title =
        String.join(", ", wanted) + (runs.size() > 1 ? " (" + runs.size() + " runs)" : "");
    Charts.Spec chart =
        new Charts.Spec(
            title, "step", wanted.size() == 1 ? wanted.get(0) : "value", lines, log, width, height);
    PlotFiles.writeAtomically(Charts.image(chart), output);
    spec.commandLine().getOut().println("wrote " + output);
    return 0;
  }
}

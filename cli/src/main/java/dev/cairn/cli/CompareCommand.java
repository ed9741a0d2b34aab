package dev.cairn.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cairn.run.ConfigFingerprint;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code cairn compare}: config diff and final metrics of two runs, side by side. */
@Command(
    name = "compare",
    mixinStandardHelpOptions = true,
    description = "Config differences and final metrics of two runs, side by side.")
final class CompareCommand implements Callable<Integer> {
  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Parameters(index = "0", paramLabel = "RUN_A")
  Path a;

  @Parameters(index = "1", paramLabel = "RUN_B")
  Path b;

  @Override
  public Integer call() throws IOException {
    RunArgs.requireRun(a);
    RunArgs.requireRun(b);
    PrintWriter out = spec.commandLine().getOut();
    JsonNode ra = Json.MAPPER.readTree(a.resolve("run.json").toFile());
    JsonNode rb = Json.MAPPER.readTree(b.resolve("run.json").toFile());
    out.printf("A = %s%nB = %s%n%nconfig%n", a, b);
    List<String> diff = ConfigFingerprint.diff(ra.path("config"), rb.path("config"));
    if (diff.isEmpty()) {
      out.println("  identical");
    }
    diff.forEach(d -> out.println("  " + d));
    Map<String, Double> ma = finalMetrics(a);
    Map<String, Double> mb = finalMetrics(b);
    TreeMap<String, Boolean> keys = new TreeMap<>();
    ma.keySet().forEach(k -> keys.put(k, true));
    mb.keySet().forEach(k -> keys.put(k, true));
    out.printf("%nfinal metrics%n  %-24s %14s %14s%n", "", "A", "B");
    for (String k : keys.keySet()) {
      out.printf("  %-24s %14s %14s%n", k, fmt(ma.get(k)), fmt(mb.get(k)));
    }
    return 0;
  }

  private static String fmt(Double v) {
    return v == null ? "-" : String.format(java.util.Locale.ROOT, "%.6g", v);
  }

  /** results.json's final metrics, or else the last value of each metric in metrics.jsonl. */
  static Map<String, Double> finalMetrics(Path run) throws IOException {
    Map<String, Double> out = new TreeMap<>();
    Path results = run.resolve("results.json");
    if (Files.exists(results)) {
      Json.MAPPER
          .readTree(results.toFile())
          .path("final_metrics")
          .properties()
          .forEach(e -> out.put(e.getKey(), e.getValue().asDouble()));
      return out;
    }
    for (var r : dev.cairn.events.JsonLines.read(run.resolve("metrics.jsonl")).records()) {
      r.properties()
          .forEach(
              e -> {
                if (!e.getKey().equals("step") && e.getValue().isNumber()) {
                  out.put(e.getKey(), e.getValue().asDouble());
                }
              });
    }
    return out;
  }
}

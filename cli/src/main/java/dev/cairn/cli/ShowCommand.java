package dev.cairn.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cairn.checkpoint.CheckpointInfo;
import dev.cairn.checkpoint.CheckpointStore;
import dev.cairn.events.JsonLines;
import dev.cairn.run.RunStatus;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code cairn show}: one run — config, provenance, sessions, progress, checkpoints. */
@Command(
    name = "show",
    mixinStandardHelpOptions = true,
    description = "Show one run: config, provenance, sessions, progress and checkpoints.")
final class ShowCommand implements Callable<Integer> {
  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Parameters(
      paramLabel = "RUN_DIR",
      description = "a run folder, or a remote one like s3a://bucket/runs/NAME")
  String location;

  @picocli.CommandLine.Mixin Locations locations;

  @Option(names = "--json", description = "one JSON object")
  boolean json;

  @Override
  public Integer call() throws IOException {
    Path dir = RunArgs.requireRun(locations.run(location));
    PrintWriter out = spec.commandLine().getOut();
    JsonNode run = Json.MAPPER.readTree(dir.resolve("run.json").toFile());
    RunStatus status = RunStatus.of(dir, Clock.systemUTC());
    ObjectNode o = Json.MAPPER.createObjectNode();
    o.set("run", run);
    o.set("status", status.toJson());
    ArrayNode sessions = o.putArray("sessions");
    JsonLines.read(dir.resolve("sessions.jsonl")).records().forEach(sessions::add);
    ArrayNode checkpoints = o.putArray("checkpoints");
    java.util.Optional<dev.cairn.store.Storage> stored = locations.checkpoints(location, dir);
    if (stored.isPresent()) {
      try (CheckpointStore store =
          CheckpointStore.builder(stored.get()).readOnly(true).events(e -> {}).open()) {
        for (CheckpointInfo c : store.list()) {
          ObjectNode x = checkpoints.addObject();
          x.put("step", c.step()).put("path", c.location()).put("pinned", c.pinned());
          if (c.manifest() != null) {
            x.put("name", c.manifest().name());
            x.put("created", c.manifest().created().toString());
            x.put("bytes", c.manifest().totalBytes());
            x.set("metrics", Json.MAPPER.valueToTree(c.manifest().metrics()));
          } else {
            x.put("problem", "no readable manifest");
          }
        }
      }
    }
    java.util.List<ObjectNode> system =
        JsonLines.read(new dev.cairn.run.RunFiles(dir).system()).records();
    ObjectNode latestSystem = system.isEmpty() ? null : system.get(system.size() - 1);
    o.set("system", latestSystem);
    if (json) {
      out.println(Json.MAPPER.writeValueAsString(o));
      return 0;
    }
    out.printf("run %s  (%s)%n", status.id(), status.status());
    out.printf("  folder   %s%n", location);
    if (Locations.isRemote(location)) {
      out.printf("  copy     %s%n", dir);
    }
    out.printf(
        "  created  %s on %s, git %s%s%n",
        run.path("created").asText(),
        run.path("host").asText(),
        run.path("git").path("commit").asText("-"),
        run.path("git").path("dirty").asBoolean() ? " (dirty)" : "");
    out.printf(
        "  jvm      %s %s, %d CPUs%n",
        run.path("jvm").path("vendor").asText(),
        run.path("jvm").path("version").asText(),
        run.path("cpu").path("count").asInt());
    out.printf("  config   %s%n", run.path("config"));
    out.printf(
        "  progress step %d%s, eta %s, loss %s, heartbeat %s ago%n",
        status.step(),
        status.totalSteps() > 0 ? " of " + status.totalSteps() : "",
        Durations.human(status.etaSeconds()),
        Double.isFinite(status.loss())
            ? String.format(java.util.Locale.ROOT, "%.4g", status.loss())
            : "-",
        Durations.human(status.heartbeatAgeSeconds()));
    if (run.has("world_size")) {
      out.printf(
          "  ranks    %d%s%n",
          run.path("world_size").asInt(),
          status.rankProblems().isEmpty() ? "" : ": " + String.join("; ", status.rankProblems()));
    }
    if (latestSystem != null) {
      out.printf("  system   %s%n", systemLine(latestSystem));
    }
    out.println("  sessions");
    for (JsonNode s : sessions) {
      if (s.path("type").asText().equals("start")) {
        out.printf(
            "    #%d started %s (previous: %s, paused %s)%n",
            s.path("session").asInt(),
            s.path("time").asText(),
            s.path("previous").asText(),
            Durations.human(s.path("paused_seconds").asDouble()));
      } else {
        out.printf(
            "    #%d ended   %s (%s at step %d)%n",
            s.path("session").asInt(),
            s.path("time").asText(),
            s.path("reason").asText(),
            s.path("step").asLong());
      }
    }
    out.println("  checkpoints");
    for (JsonNode c : checkpoints) {
      out.printf(
          "    step-%-8d %s%s %s%n",
          c.path("step").asLong(),
          c.path("created").asText(""),
          c.path("name").isTextual() ? " name=" + c.path("name").asText() : "",
          c.has("problem")
              ? "PROBLEM: " + c.path("problem").asText()
              : c.path("metrics").toString());
    }
    return 0;
  }

  /** The newest system.jsonl sample in one line; values the sampler could not read are left out. */
  static String systemLine(JsonNode s) {
    java.util.List<String> parts = new java.util.ArrayList<>();
    java.util.function.BiConsumer<String, String> percent =
        (label, key) -> {
          if (s.path(key).isNumber()) {
            parts.add(
                String.format(java.util.Locale.ROOT, "%s %.1f%%", label, s.path(key).asDouble()));
          }
        };
    java.util.function.BiConsumer<String, String> bytes =
        (label, key) -> {
          if (s.path(key).isNumber()) {
            parts.add(label + " " + dev.cairn.store.Bytes.human(s.path(key).asLong()));
          }
        };
    percent.accept("process CPU", "process_cpu_percent");
    percent.accept("machine CPU", "machine_cpu_percent");
    bytes.accept("RSS", "rss_bytes");
    bytes.accept("heap", "heap_used_bytes");
    bytes.accept("heap max", "heap_max_bytes");
    if (s.path("gc_seconds").isNumber()) {
      parts.add(String.format(java.util.Locale.ROOT, "GC %.1f s", s.path("gc_seconds").asDouble()));
    }
    bytes.accept("disk free", "disk_free_bytes");
    bytes.accept("written", "disk_write_bytes");
    for (int g = 0; s.has("gpu" + g + "_name"); g++) {
      String p = "gpu" + g + "_";
      StringBuilder b = new StringBuilder("gpu" + g + " " + s.path(p + "name").asText());
      if (s.path(p + "utilization_percent").isNumber()) {
        b.append(' ').append(s.path(p + "utilization_percent").asLong()).append('%');
      }
      if (s.path(p + "memory_used_bytes").isNumber()
          && s.path(p + "memory_total_bytes").isNumber()) {
        b.append(' ')
            .append(dev.cairn.store.Bytes.human(s.path(p + "memory_used_bytes").asLong()))
            .append('/')
            .append(dev.cairn.store.Bytes.human(s.path(p + "memory_total_bytes").asLong()));
      }
      if (s.path(p + "temperature_celsius").isNumber()) {
        b.append(' ').append(s.path(p + "temperature_celsius").asLong()).append(" C");
      }
      if (s.path(p + "power_watts").isNumber()) {
        b.append(
            String.format(java.util.Locale.ROOT, " %.0f W", s.path(p + "power_watts").asDouble()));
      }
      parts.add(b.toString());
    }
    return "(" + s.path("time").asText() + ") " + String.join(", ", parts);
  }
}

package dev.cairn.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cairn.events.JsonLines;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * What state a run is in, read from its folder alone (no daemon, any process): finished, failed,
 * stopped, running, stalled (process alive, no progress) or dead (process gone without ending its
 * session).
 *
 * @param heartbeatAgeSeconds NaN when the run never wrote progress
 */
public record RunStatus(
    String id,
    Path dir,
    String status,
    long step,
    long totalSteps,
    double percent,
    double etaSeconds,
    double loss,
    long lastCheckpointStep,
    double lastCheckpointAgeSeconds,
    double heartbeatAgeSeconds,
    long pid,
    String host,
    int sessions) {

  /** A heartbeat older than this means the process is frozen or gone. */
  public static final Duration HEARTBEAT_TIMEOUT = Duration.ofSeconds(30);

  /** No finished step for this long, with a fresh heartbeat, means training is stuck. */
  public static final Duration STALL_TIMEOUT = Duration.ofMinutes(10);

  private static final ObjectMapper JSON = new ObjectMapper();

  /** Whether a folder looks like a run (has run.json). */
  public static boolean isRun(Path dir) {
    return Files.isRegularFile(dir.resolve("run.json"));
  }

  /** Runs directly under a runs folder, sorted by name. */
  public static List<Path> runsIn(Path runsDir) throws IOException {
    List<Path> out = new ArrayList<>();
    try (Stream<Path> s = Files.list(runsDir)) {
      s.filter(RunStatus::isRun).sorted().forEach(out::add);
    }
    return out;
  }

  public static RunStatus of(Path dir, Clock clock) throws IOException {
    RunFiles f = new RunFiles(dir);
    if (!isRun(dir)) {
      throw new IllegalArgumentException(dir + " is not a Cairn run (no run.json)");
    }
    JsonNode run = JSON.readTree(f.runJson().toFile());
    JsonNode progress = read(f.progress());
    ObjectNode lastStart = null;
    ObjectNode lastEnd = null;
    int sessions = 0;
    for (ObjectNode r : JsonLines.read(f.sessions()).records()) {
      if (r.path("type").asText().equals("start")) {
        lastStart = r;
        lastEnd = null;
        sessions++;
      } else if (r.path("type").asText().equals("end")) {
        lastEnd = r;
      }
    }
    long now = clock.millis();
    JsonNode p = progress == null ? JsonNodeFactory.instance.objectNode() : progress;
    double heartbeatAge = age(p.path("heartbeat"), now);
    double stepAge = age(p.path("last_step_time"), now);
    long pid = p.path("pid").asLong(lastStart == null ? -1 : lastStart.path("pid").asLong(-1));
    String host = p.path("host").asText(lastStart == null ? "" : lastStart.path("host").asText(""));
    String status;
    if (Files.exists(f.results())
        || (lastEnd != null && lastEnd.path("reason").asText().equals("finished"))) {
      status = "finished";
    } else if (lastEnd != null) {
      status = lastEnd.path("reason").asText().equals("failed") ? "failed" : "stopped";
    } else if (lastStart == null) {
      status = "unknown";
    } else {
      boolean sameHost = host.equals(Provenance.hostName());
      boolean alive =
          sameHost && pid > 0 && ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
      boolean fresh = !Double.isNaN(heartbeatAge) && heartbeatAge <= HEARTBEAT_TIMEOUT.toSeconds();
      if (fresh) {
        status =
            !Double.isNaN(stepAge) && stepAge > STALL_TIMEOUT.toSeconds() ? "stalled" : "running";
      } else if (sameHost) {
        status = alive ? "stalled" : "dead";
      } else {
        // Another machine's process cannot be checked; an old heartbeat is all there is.
        status = "dead";
      }
    }
    long total = p.path("total_steps").asLong(run.path("total_steps").asLong(0));
    long step = p.path("step").asLong(0);
    JsonNode ck = p.path("last_checkpoint");
    Path name = dir.toAbsolutePath().normalize().getFileName();
    return new RunStatus(
        name == null ? dir.toString() : name.toString(),
        dir,
        status,
        step,
        total,
        total > 0 ? 100.0 * step / total : Double.NaN,
        p.path("eta_seconds").asDouble(Double.NaN),
        p.path("loss").asDouble(Double.NaN),
        ck.path("step").asLong(-1),
        age(ck.path("time"), now),
        heartbeatAge,
        pid,
        host,
        sessions);
  }

  private static JsonNode read(Path p) {
    try {
      return Files.exists(p) ? JSON.readTree(p.toFile()) : null;
    } catch (IOException e) {
      return null;
    }
  }

  private static double age(JsonNode time, long now) {
    if (!time.isTextual()) {
      return Double.NaN;
    }
    try {
      return Math.max(0, (now - Instant.parse(time.asText()).toEpochMilli()) / 1000.0);
    } catch (RuntimeException e) {
      return Double.NaN;
    }
  }

  /** As JSON, for {@code --json} and the dashboard. */
  public ObjectNode toJson() {
    ObjectNode o = JsonNodeFactory.instance.objectNode();
    o.put("id", id).put("dir", dir.toString()).put("status", status).put("step", step);
    if (totalSteps > 0) {
      o.put("total_steps", totalSteps).put("percent", percent);
    }
    putFinite(o, "eta_seconds", etaSeconds);
    putFinite(o, "loss", loss);
    if (lastCheckpointStep >= 0) {
      o.put("last_checkpoint_step", lastCheckpointStep);
      putFinite(o, "last_checkpoint_age_seconds", lastCheckpointAgeSeconds);
    }
    putFinite(o, "heartbeat_age_seconds", heartbeatAgeSeconds);
    o.put("pid", pid).put("host", host).put("sessions", sessions);
    return o;
  }

  private static void putFinite(ObjectNode o, String k, double v) {
    if (Double.isFinite(v)) {
      o.put(k, v);
    }
  }
}

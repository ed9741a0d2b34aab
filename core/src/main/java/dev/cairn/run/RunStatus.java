package dev.cairn.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
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
 * What state a run is in, read from its folder alone (no daemon, any process); see {@link State}.
 *
 * @param heartbeatAgeSeconds NaN when the run never wrote progress
 * @param worldSize the ranks of the run's group (run.json's {@code "world_size"}); 1 for a run of
 *     one process
 */
public record RunStatus(
    String id,
    Path dir,
    State state,
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
    int sessions,
    int worldSize,
    List<String> rankProblems) {

  public RunStatus {
    rankProblems = List.copyOf(rankProblems);
  }

  /**
   * A run's state. Decided in this order: an end record in sessions.jsonl (or results.json) wins;
   * without one, a process on this host is checked first (gone, or its pid taken by a process
   * started at another time: {@link #DEAD} at once, whatever the heartbeat says); only a process
   * that is alive, or on another host, is judged by its heartbeat.
   */
  public enum State {
    /** The work is done (results.json, or a session ended as finished). */
    FINISHED,
    /** The last session ended with an error. */
    FAILED,
    /** The last session ended on purpose before the work was done (closed, SIGTERM, stop). */
    STOPPED,
    /** A session is alive and beating, and a step finished within {@link #STALL_TIMEOUT}. */
    RUNNING,
    /**
     * Alive but not progressing: the heartbeat is older than {@link #HEARTBEAT_TIMEOUT} while the
     * process runs (frozen, swapped out, SIGSTOP), or no step finished within {@link
     * #STALL_TIMEOUT}.
     */
    STALLED,
    /**
     * The process is gone without ending its session (kill -9, power loss, OOM killer): on this
     * host known at once, on another when its heartbeat is older than {@link #HEARTBEAT_TIMEOUT}.
     */
    DEAD,
    /** No session ever started. */
    UNKNOWN;

    /** The word {@code cairn runs}, the dashboard and {@code --json} show. */
    public String wireName() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }

    /** Whether a process may be running this run now (a save request can be answered). */
    public boolean live() {
      return this == RUNNING || this == STALLED;
    }
  }

  /** The state's word: finished, failed, stopped, running, stalled, dead or unknown. */
  public String status() {
    return state.wireName();
  }

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
    SessionLog.History sessions = SessionLog.read(f.sessions());
    long now = clock.millis();
    JsonNode p = progress == null ? JsonNodeFactory.instance.objectNode() : progress;
    double heartbeatAge = age(p.path("heartbeat"), now);
    double stepAge = age(p.path("last_step_time"), now);
    // The start record names the session's process; progress.json may still be the previous
    // session's for a moment after a start.
    ProcessIdentity process =
        sessions.lastProcess() != null ? sessions.lastProcess() : ProcessIdentity.of(p);
    State state;
    SessionEnd end = sessions.lastEndState();
    if (Files.exists(f.results()) || end == SessionEnd.FINISHED) {
      state = State.FINISHED;
    } else if (end != null) {
      state = end == SessionEnd.FAILED ? State.FAILED : State.STOPPED;
    } else if (sessions.lastStart() == null) {
      state = State.UNKNOWN;
    } else {
      ProcessIdentity.Liveness live = process.liveness();
      boolean fresh = !Double.isNaN(heartbeatAge) && heartbeatAge <= HEARTBEAT_TIMEOUT.toSeconds();
      boolean progressing = Double.isNaN(stepAge) || stepAge <= STALL_TIMEOUT.toSeconds();
      if (live == ProcessIdentity.Liveness.GONE) {
        state = State.DEAD;
      } else if (fresh) {
        state = progressing ? State.RUNNING : State.STALLED;
      } else {
        // Alive but silent is stalled; another machine's process cannot be checked, and an old
        // heartbeat is all there is.
        state = live == ProcessIdentity.Liveness.ALIVE ? State.STALLED : State.DEAD;
      }
    }
    List<String> rankProblems = List.of();
    if (state == State.RUNNING || state == State.STALLED) {
      rankProblems = rankProblems(f, sessions.sessions(), now);
      if (!rankProblems.isEmpty()) {
        state = State.STALLED; // rank 0 beats, but the group cannot step without the others
      }
    }
    long total = p.path("total_steps").asLong(run.path("total_steps").asLong(0));
    long step = p.path("step").asLong(0);
    JsonNode ck = p.path("last_checkpoint");
    Path name = dir.toAbsolutePath().normalize().getFileName();
    return new RunStatus(
        name == null ? dir.toString() : name.toString(),
        dir,
        state,
        step,
        total,
        total > 0 ? 100.0 * step / total : Double.NaN,
        p.path("eta_seconds").asDouble(Double.NaN),
        p.path("loss").asDouble(Double.NaN),
        ck.path("step").asLong(-1),
        age(ck.path("time"), now),
        heartbeatAge,
        process.pid(),
        process.host(),
        sessions.sessions(),
        worldSize(run),
        rankProblems);
  }

  /**
   * The ranks of a run's group as its run.json says (written once, when the run is created: the
   * number of ranks is part of a run's config); 1 for a run of one process or a value that is no
   * size.
   */
  public static int worldSize(JsonNode runJson) {
    int w = runJson.path("world_size").asInt(1);
    return Math.max(1, w);
  }

  /**
   * In a run of several ranks, what is wrong with the ranks other than 0 in the current session:
   * "rank 3 is gone" (its process ended without the run ending), "rank 3 stalled (heartbeat 45 s
   * ago)", "rank 3 stalled (no step for 12m)"; a rank of an earlier session (not started yet in
   * this one) is "rank 3 has not started". Empty for a run of one process.
   */
  static List<String> rankProblems(RunFiles f, int session, long now) {
    Path ranks = f.ranks();
    if (!Files.isDirectory(ranks)) {
      return List.of();
    }
    List<String> out = new ArrayList<>();
    List<Path> folders = new ArrayList<>();
    try (Stream<Path> s = Files.list(ranks)) {
      s.filter(Files::isDirectory).forEach(folders::add);
    } catch (IOException e) {
      return List.of();
    }
    folders.sort(
        java.util.Comparator.comparingInt(
            d -> {
              String n = String.valueOf(d.getFileName());
              try {
                return Integer.parseInt(n.substring(n.indexOf('-') + 1));
              } catch (RuntimeException e) {
                return Integer.MAX_VALUE;
              }
            }));
    for (Path d : folders) {
      String rank = String.valueOf(d.getFileName()).replace('-', ' ');
      JsonNode p = read(new RunFiles(d).progress());
      if (p == null || p.path("session").asInt(-1) != session) {
        out.add(rank + " has not started");
        continue;
      }
      double heartbeat = age(p.path("heartbeat"), now);
      double step = age(p.path("last_step_time"), now);
      if (ProcessIdentity.of(p).liveness() == ProcessIdentity.Liveness.GONE) {
        out.add(rank + " is gone");
      } else if (!(heartbeat <= HEARTBEAT_TIMEOUT.toSeconds())) {
        out.add(rank + " stalled (heartbeat " + Math.round(heartbeat) + " s ago)");
      } else if (step > STALL_TIMEOUT.toSeconds()) {
        out.add(rank + " stalled (no step for " + Math.round(step) + " s)");
      }
    }
    return out;
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
    o.put("id", id).put("dir", dir.toString()).put("status", status()).put("step", step);
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
    if (worldSize > 1) {
      o.put("world_size", worldSize);
    }
    if (!rankProblems.isEmpty()) {
      var a = o.putArray("rank_problems");
      rankProblems.forEach(a::add);
    }
    return o;
  }

  private static void putFinite(ObjectNode o, String k, double v) {
    if (Double.isFinite(v)) {
      o.put(k, v);
    }
  }
}

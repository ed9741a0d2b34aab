package dev.cairn.web;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cairn.checkpoint.CheckpointInfo;
import dev.cairn.checkpoint.Names;
import dev.cairn.control.ControlFolder;
import dev.cairn.control.SaveRequest;
import dev.cairn.metrics.JsonlTail;
import dev.cairn.metrics.MetricsFile;
import dev.cairn.metrics.Series;
import dev.cairn.run.RunStatus;
import io.javalin.http.Context;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/** The REST handlers: thin translations between HTTP and the run folders. */
final class Api {
  /** Largest JSON body accepted (a save request is a name: tens of bytes). */
  static final int MAX_BODY_BYTES = 4096;

  static final int DEFAULT_POINTS = 1000;
  static final int MAX_POINTS = 5000;
  private static final int MAX_KEYS = 32;
  private static final int RECENT_EVENTS = 200;
  // What one answer reads of a run's logs: their ends, never a whole long file.
  private static final int RECENT_EVENT_BYTES = 4 << 20;
  private static final int RECENT_SESSIONS = 2000;
  private static final int RECENT_SESSION_BYTES = 1 << 20;
  private static final long MAX_RUN_JSON_BYTES = 4 << 20;

  /** Named save requests that may wait for the job at once, per run. */
  static final int MAX_PENDING_NAMED = 4;

  /** Checkpoint folder names: a checkpoint named like one would take over its Pin button. */
  private static final java.util.regex.Pattern FOLDER_LIKE =
      java.util.regex.Pattern.compile("(?i)step-[0-9]+(\\.tmp-.*)?");

  private final RunCatalog catalog;
  private final CheckpointTable checkpoints;
  private final Clock clock;

  Api(RunCatalog catalog, CheckpointTable checkpoints, Clock clock) {
    this.catalog = catalog;
    this.checkpoints = checkpoints;
    this.clock = clock;
  }

  void runs(Context ctx) throws IOException {
    ArrayNode out = Json.MAPPER.createArrayNode();
    for (Path dir : catalog.runs()) {
      try {
        out.add(status(RunStatus.of(dir, clock)));
      } catch (IOException | RuntimeException e) {
        // A run folder being created or damaged: listed, with what is wrong.
        ObjectNode o = out.addObject();
        Path f = dir.getFileName();
        o.put("name", f == null ? dir.toString() : f.toString());
        o.put("status", "unreadable");
        o.put("error", Failures.answer(e, o.path("name").asText()).getMessage());
      }
    }
    send(ctx, 200, out);
  }

  void run(Context ctx) throws IOException {
    RunView run = catalog.resolve(ctx.pathParam("run"));
    if (Files.size(run.files().runJson()) > MAX_RUN_JSON_BYTES) {
      throw new ApiError(
          422, "run '" + run.name() + "' has a run.json over 4 MiB, more than the dashboard reads");
    }
    ObjectNode o = status(RunStatus.of(run.dir(), clock));
    JsonNode runJson = Json.MAPPER.readTree(run.files().runJson().toFile());
    o.set("config", runJson.path("config"));
    o.set("run", runJson);
    o.set("progress", readOrNull(run.files().progress()));
    // "sessions" is the count (as in the status); the records go under their own key.
    ArrayNode sessions = o.putArray("session_records");
    JsonlTail.lastLines(run.files().sessions(), RECENT_SESSIONS, RECENT_SESSION_BYTES)
        .forEach(sessions::add);
    ArrayNode recent = o.putArray("events");
    JsonlTail.lastLines(run.files().events(), RECENT_EVENTS, RECENT_EVENT_BYTES)
        .forEach(recent::add);
    MetricsFile m = run.metrics();
    ArrayNode names = o.putArray("metrics");
    m.metrics().forEach(names::add);
    o.put("metric_names_limit", m.maxMetrics());
    o.put("metric_names_over_limit", m.overLimit());
    o.put("metric_lines_skipped", m.skippedLines());
    send(ctx, 200, o);
  }

  void metrics(Context ctx) throws IOException {
    RunView run = catalog.resolve(ctx.pathParam("run"));
    int maxPoints = intParam(ctx, "max_points", DEFAULT_POINTS, 2, MAX_POINTS);
    long from = longParam(ctx, "from", 0);
    String smoothParam = ctx.queryParam("smooth");
    MetricsFile m = run.metrics();
    Set<String> keys = new LinkedHashSet<>();
    String keysParam = ctx.queryParam("keys");
    if (keysParam == null || keysParam.isBlank()) {
      keys.addAll(m.metrics());
    } else {
      for (String k : keysParam.split(",")) {
        String key = k.trim();
        if (!Names.isSafe(key)) {
          throw ApiError.badRequest(
              "metric '" + RunCatalog.printable(key) + "' is not a metric name");
        }
        keys.add(key);
      }
    }
    if (keys.size() > MAX_KEYS) {
      throw ApiError.badRequest("at most " + MAX_KEYS + " metrics per request");
    }
    ObjectNode o = Json.MAPPER.createObjectNode();
    o.put("run", run.name());
    o.put("last_step", m.lastStep());
    ObjectNode series = o.putObject("series");
    ArrayNode missing = o.putArray("missing");
    if (!keys.isEmpty() && keys.stream().allMatch(k -> m.series(k) == null) && m.overLimit()) {
      throw new ApiError(
          422,
          "run '"
              + run.name()
              + "' logs more than "
              + m.maxMetrics()
              + " metric names, the most the dashboard follows per run; it holds the first "
              + m.maxMetrics()
              + " it read, and "
              + (keys.size() == 1
                  ? "'" + RunCatalog.printable(keys.iterator().next()) + "' is"
                  : "none of these is")
              + " among them");
    }
    for (String key : keys) {
      Series s = m.series(key);
      if (s == null) {
        missing.add(key);
        continue;
      }
      series.set(
          key,
          s.read(from, (xs, ys, start, end) -> thin(xs, ys, start, end, maxPoints, smoothParam)));
    }
    send(ctx, 200, o);
  }

  private static ObjectNode thin(
      double[] xs, double[] ys, int start, int end, int maxPoints, String smoothParam) {
    int[] at = Downsampling.lttb(xs, ys, start, end, maxPoints);
    ObjectNode s = Json.MAPPER.createObjectNode();
    s.put("total_points", end - start);
    s.set("steps", Json.doubles(xs, at));
    s.set("values", Json.doubles(ys, at));
    int window = smoothWindow(smoothParam, end - start);
    if (window > 0) {
      s.put("smooth_window", window);
      s.set("smoothed", Json.doubles(Downsampling.movingAverageAt(ys, start, at, window)));
    }
    return s;
  }

  /** "auto": about 1/200th of the points (at least 10); a number: that many points; else none. */
  static int smoothWindow(String param, int points) {
    if (param == null || param.isBlank() || param.equals("0")) {
      return 0;
    }
    if (param.equals("auto")) {
      return Math.max(10, points / 200);
    }
    try {
      int w = Integer.parseInt(param);
      if (w >= 1 && w <= 1_000_000) {
        return w;
      }
    } catch (NumberFormatException e) {
      // answered below
    }
    throw ApiError.badRequest("smooth must be 'auto' or a window of 1 to 1000000 points");
  }

  void checkpoints(Context ctx) throws IOException {
    RunView run = catalog.resolve(ctx.pathParam("run"));
    send(ctx, 200, checkpoints.list(run));
  }

  // One save decision at a time, so two quick requests cannot both pass the checks below.
  synchronized void save(Context ctx) throws IOException {
    RunView run = catalog.resolve(ctx.pathParam("run"));
    JsonNode body = body(ctx);
    JsonNode nameNode = body.path("name");
    String name = null;
    if (!nameNode.isMissingNode() && !nameNode.isNull()) {
      if (!nameNode.isTextual()) {
        throw ApiError.badRequest("\"name\" must be a string or null");
      }
      name = nameNode.asText().trim();
      if (name.isEmpty()) {
        name = null;
      } else if (!Names.isSafe(name)) {
        throw ApiError.badRequest(
            "checkpoint name '"
                + RunCatalog.printable(name)
                + "' is not allowed: use 1 to 64 letters, digits, '.', '-' or '_'");
      } else if (FOLDER_LIKE.matcher(name).matches()) {
        throw ApiError.badRequest(
            "checkpoint name '"
                + name
                + "' looks like a checkpoint folder (step-N); choose another name, such as '"
                + name
                + "-manual'");
      }
    }
    RunStatus status = RunStatus.of(run.dir(), clock);
    if (!status.status().equals("running") && !status.status().equals("stalled")) {
      throw ApiError.conflict(
          "run '"
              + run.name()
              + "' is "
              + status.status()
              + ": only a running job can save; start or resume it first");
    }
    Path control = run.files().control();
    if (Files.isSymbolicLink(control)) {
      throw ApiError.conflict(
          "run '"
              + run.name()
              + "' has a control folder that is a symbolic link; the dashboard does not write"
              + " through links: make control/ a plain folder in the run folder");
    }
    ControlFolder folder = new ControlFolder(control);
    List<SaveRequest> pending = folder.pending();
    if (name == null) {
      for (SaveRequest p : pending) {
        if (p.name() == null) {
          // A save that has not happened yet covers this one too: one save, not one per click.
          send(ctx, 202, accepted(run, p, status, true));
          return;
        }
      }
    } else {
      CheckpointInfo existing = checkpoints.named(run, name);
      if (existing != null) {
        throw ApiError.conflict(
            "run '"
                + run.name()
                + "' already has a checkpoint named '"
                + name
                + "' (step-"
                + existing.step()
                + "); choose another name");
      }
      long named = 0;
      for (SaveRequest p : pending) {
        if (name.equals(p.name())) {
          throw ApiError.conflict(
              "a save named '"
                  + name
                  + "' is already waiting for run '"
                  + run.name()
                  + "' (request "
                  + p.id()
                  + "); choose another name");
        }
        named += p.name() != null ? 1 : 0;
      }
      if (named >= MAX_PENDING_NAMED) {
        throw new ApiError(
            429,
            named
                + " named saves are already waiting for run '"
                + run.name()
                + "'; wait until the job has made them, then ask again");
      }
    }
    SaveRequest r = folder.requestSave(name);
    send(ctx, 202, accepted(run, r, status, false));
  }

  private static ObjectNode accepted(
      RunView run, SaveRequest r, RunStatus status, boolean coalesced) {
    ObjectNode o = Json.MAPPER.createObjectNode();
    o.put("request_id", r.id());
    o.put("run", run.name());
    if (r.name() == null) {
      o.putNull("name");
    } else {
      o.put("name", r.name());
    }
    o.put("step", status.step());
    o.put("coalesced", coalesced);
    return o;
  }

  void pin(Context ctx, boolean pin) throws IOException {
    RunView run = catalog.resolve(ctx.pathParam("run"));
    CheckpointInfo c = checkpoints.resolve(run, ctx.pathParam("ckpt"));
    checkpoints.pin(run, c, pin);
    send(ctx, 200, checkpoints.describe(run, c.step()));
  }

  /** The request body as a JSON object (empty body: {}), refused beyond MAX_BODY_BYTES. */
  static JsonNode body(Context ctx) throws IOException {
    long declared = ctx.req().getContentLengthLong();
    if (declared > MAX_BODY_BYTES) {
      throw new ApiError(413, "request body too large: at most " + MAX_BODY_BYTES + " bytes");
    }
    byte[] bytes;
    try (InputStream in = ctx.req().getInputStream()) {
      bytes = in.readNBytes(MAX_BODY_BYTES + 1);
    }
    if (bytes.length > MAX_BODY_BYTES) {
      throw new ApiError(413, "request body too large: at most " + MAX_BODY_BYTES + " bytes");
    }
    if (bytes.length == 0) {
      return Json.MAPPER.createObjectNode();
    }
    JsonNode n;
    try {
      n = Json.MAPPER.readTree(bytes);
    } catch (IOException e) {
      throw ApiError.badRequest("request body is not JSON: send {\"name\": \"...\"} or {}");
    }
    if (n == null || !n.isObject()) {
      throw ApiError.badRequest("request body must be a JSON object, like {\"name\": \"...\"}");
    }
    return n;
  }

  static ObjectNode status(RunStatus s) {
    ObjectNode o = Json.MAPPER.createObjectNode();
    o.put("name", s.id());
    o.put("status", s.status());
    o.put("step", s.step());
    o.put("total_steps", s.totalSteps());
    Json.put(o, "percent", s.percent());
    Json.put(o, "eta_seconds", s.etaSeconds());
    Json.put(o, "loss", s.loss());
    if (s.lastCheckpointStep() >= 0) {
      o.put("last_checkpoint_step", s.lastCheckpointStep());
    } else {
      o.putNull("last_checkpoint_step");
    }
    Json.put(o, "last_checkpoint_age_seconds", s.lastCheckpointAgeSeconds());
    Json.put(o, "heartbeat_age_seconds", s.heartbeatAgeSeconds());
    o.put("sessions", s.sessions());
    o.put("host", s.host());
    o.put("pid", s.pid());
    if (!s.rankProblems().isEmpty()) {
      // A run of several ranks: which rank is gone or stalled ("rank 3 stalled ...").
      var a = o.putArray("rank_problems");
      s.rankProblems().forEach(a::add);
    }
    return o;
  }

  private static JsonNode readOrNull(Path p) {
    try {
      return Files.exists(p) ? Json.MAPPER.readTree(p.toFile()) : null;
    } catch (IOException e) {
      return null; // being rewritten: the next poll has it
    }
  }

  private static int intParam(Context ctx, String name, int dflt, int min, int max) {
    long v = longParam(ctx, name, dflt);
    if (v < min || v > max) {
      throw ApiError.badRequest(name + " must be between " + min + " and " + max);
    }
    return (int) v;
  }

  private static long longParam(Context ctx, String name, long dflt) {
    String v = ctx.queryParam(name);
    if (v == null || v.isBlank()) {
      return dflt;
    }
    try {
      return Long.parseLong(v.trim());
    } catch (NumberFormatException e) {
      throw ApiError.badRequest(
          name + " must be a whole number, not '" + RunCatalog.printable(v) + "'");
    }
  }

  static void send(Context ctx, int status, JsonNode body) throws IOException {
    ctx.status(status);
    ctx.contentType("application/json");
    ctx.result(Json.MAPPER.writeValueAsBytes(body));
  }
}

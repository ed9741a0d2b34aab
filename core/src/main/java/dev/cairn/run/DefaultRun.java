package dev.cairn.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cairn.checkpoint.CheckpointEvent;
import dev.cairn.checkpoint.CheckpointStore;
import dev.cairn.checkpoint.RetentionPolicy;
import dev.cairn.checkpoint.SavedCheckpoint;
import dev.cairn.control.ControlFolder;
import dev.cairn.events.EventType;
import dev.cairn.events.Events;
import dev.cairn.events.JsonLines;
import dev.cairn.manager.CheckpointManager;
import dev.cairn.manager.CheckpointPolicy;
import dev.cairn.manager.Checkpointable;
import dev.cairn.manager.DefaultCheckpointManager;
import dev.cairn.metrics.MetricsLog;
import dev.cairn.store.AtomicFile;
import dev.cairn.store.Bytes;
import dev.cairn.store.Fsync;
import dev.cairn.store.Storage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.slf4j.LoggerFactory;

/** The {@link Run} implementation: owns the run folder's files for one session. */
final class DefaultRun implements Run {
  static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  private static final long LOW_SPACE_BYTES = 1L << 30;

  /** How long a SIGTERM's last push to a remote run folder may take before the JVM halts. */
  private static final java.time.Duration SHUTDOWN_PUSH_LIMIT = java.time.Duration.ofSeconds(20);

  private final String id;
  private final RunFiles files;
  private final RunOptions options;
  private final int session;
  private final SessionLog sessions;
  private final EventLog events;
  private final MetricsLog metrics;
  private final ProgressTracker progress;
  private final ScheduledExecutorService timer;
  private ScheduledExecutorService systemTimer;
  private JsonLines systemFile;
  private dev.cairn.system.SystemSampler systemSampler;
  private dev.cairn.alert.Webhook webhook;
  private final Map<String, Double> latest = new ConcurrentHashMap<>();
  private final Map<String, double[]> best = new ConcurrentHashMap<>();
  private volatile ManagedCheckpoints manager;
  private volatile SessionEnd endState = SessionEnd.STOPPED;
  private volatile String endDetail = "closed";
  private volatile Thread shutdownHook;
  private boolean ended;
  private volatile boolean lowSpaceReported;
  private volatile String lastMonitoringError;
  private volatile List<RunListener> listeners = List.of();
  private boolean closed;

  /** The run's remote home, or null for a local run. */
  private final Storage remote;

  private RunMirror mirror;

  private DefaultRun(
      String id,
      RunFiles files,
      RunOptions options,
      int session,
      SessionLog sessions,
      EventLog events,
      MetricsLog metrics,
      ProgressTracker progress,
      Storage remote) {
    this.id = id;
    this.remote = remote;
    this.files = files;
    this.options = options;
    this.session = session;
    this.sessions = sessions;
    this.events = events;
    this.metrics = metrics;
    this.progress = progress;
    this.timer = dev.cairn.concurrent.DaemonThreads.scheduled("cairn-progress");
  }

  static Run open(Path runsDir, RunOptions options) throws IOException {
    return open(runsDir, options, null);
  }

  /**
   * @param remote where the run's home is when it is on remote storage (see {@link RemoteRuns}):
   *     checkpoints are stored there and the rest is mirrored there; null for a local run
   */
  static Run open(Path runsDir, RunOptions options, Storage remote) throws IOException {
    dev.cairn.coordination.Coordinator group = options.coordinator;
    if (group == null || group.worldSize() == 1) {
      return openAlone(runsDir, options, remote);
    }
    if (remote != null) {
      throw new IllegalArgumentException(
          "a run of several ranks needs a runs folder on a file system every rank sees (a local"
              + " or shared folder); on HDFS or S3, use a CheckpointStore with the coordinator");
    }
    if (!group.isLeader()) {
      return RankRun.open(runsDir, options);
    }
    dev.cairn.coordination.Coordinator ch = group.channel(RankRun.CHANNEL);
    DefaultRun run;
    try {
      run = openAlone(runsDir, options, null);
    } catch (IOException | RuntimeException e) {
      try {
        ch.broadcast(RankRun.OPENED, RankRun.notOpened(e), RankRun.OPEN_TIMEOUT);
      } catch (IOException | RuntimeException told) {
        e.addSuppressed(told);
      }
      throw e;
    }
    try {
      ch.broadcast(RankRun.OPENED, RankRun.opened(run.id, run.session), RankRun.OPEN_TIMEOUT);
    } catch (IOException | RuntimeException e) {
      run.fail(e);
      run.close();
      throw e;
    }
    return run;
  }

  private static DefaultRun openAlone(Path runsDir, RunOptions options, Storage remote)
      throws IOException {
    if (Files.exists(runsDir) && !Files.isDirectory(runsDir)) {
      throw new IllegalArgumentException(runsDir + " is a file; give a folder for runs");
    }
    createDurably(runsDir);
    if (!Files.isWritable(runsDir)) {
      throw new java.nio.file.AccessDeniedException(
          runsDir.toString(), null, "runs folder is not writable");
    }
    String id = options.name != null ? options.name : generateId(runsDir, options);
    RunFiles files = new RunFiles(runsDir.resolve(id));
    String fingerprint = ConfigFingerprint.of(options.config);
    List<String> configDiff = List.of();
    boolean fresh = !Files.exists(files.runJson());
    if (!fresh) {
      JsonNode existing = JSON.readTree(files.runJson().toFile());
      String old = existing.path("config_fingerprint").asText();
      if (!old.equals(fingerprint)) {
        configDiff = ConfigFingerprint.diff(existing.path("config"), options.config);
        if (!options.allowConfigChange) {
          throw new ConfigChangedException(id, configDiff);
        }
      }
    }
    createDurably(files.dir());
    if (fresh) {
      writeRunJson(files, id, options, fingerprint);
    }
    List<Path> leftovers = new java.util.ArrayList<>();
    for (Path f : List.of(files.runJson(), files.progress(), files.results())) {
      leftovers.addAll(AtomicFile.removeLeftovers(f));
    }
    SessionLog.History past = SessionLog.read(files.sessions());
    int session = past.lastSession() + 1;
    ObjectNode lastEnd = past.lastEnd();
    JsonNode lastProgress = readJson(files.progress());
    double priorActive = lastProgress == null ? 0 : lastProgress.path("active_seconds").asDouble(0);
    long nowMillis = options.clock.millis();
    String previous = past.previousOutcome();
    double paused = 0;
    String lastSeen =
        lastEnd != null
            ? lastEnd.path("time").asText(null)
            : lastProgress != null ? lastProgress.path("heartbeat").asText(null) : null;
    if (lastSeen != null) {
      try {
        paused = Math.max(0, (nowMillis - Instant.parse(lastSeen).toEpochMilli()) / 1000.0);
      } catch (RuntimeException e) {
        paused = 0;
      }
    }
    SessionLog sessions =
        SessionLog.start(
            files.sessions(),
            session,
            Instant.ofEpochMilli(nowMillis),
            previous,
            paused,
            fingerprint);

    EventLog events = new EventLog(files, options.clock, session);
    ProgressTracker progress =
        new ProgressTracker(
            files.progress(), options.clock, id, session, options.totalSteps, priorActive);
    events.addListener(progress::event);
    events.emit(
        EventType.SESSION_STARTED,
        -1,
        fresh
            ? "run " + id + " started"
            : "session "
                + session
                + " started (previous session "
                + previous
                + (paused > 0
                    ? String.format(java.util.Locale.ROOT, ", paused %.0f s", paused)
                    : "")
                + ")");
    for (Path leftover : leftovers) {
      ObjectNode f = JsonNodeFactory.instance.objectNode();
      f.put("path", leftover.toString());
      events.emit(
          EventType.LEFTOVER_REMOVED,
          -1,
          "removed " + leftover.getFileName() + ", a half-written replacement left by a crash",
          f);
    }
    if (!configDiff.isEmpty()) {
      ObjectNode f = JsonNodeFactory.instance.objectNode();
      var d = f.putArray("diff");
      configDiff.forEach(d::add);
      events.emit(
          EventType.CONFIG_CHANGED, -1, "config changed: " + String.join("; ", configDiff), f);
    }
    for (String damaged : JsonLines.read(files.metrics()).damagedLines()) {
      events.emit(EventType.WARNING, -1, "damaged metrics record: " + damaged);
    }
    MetricsLog metrics =
        MetricsLog.open(
            files.metrics(),
            files.metricsSidecar(),
            options.durability,
            options.overflow,
            options.queueCapacity,
            events,
            options.clock);
    DefaultRun run =
        new DefaultRun(id, files, options, session, sessions, events, metrics, progress, remote);
    run.startAlerts(events);
    run.listeners = openListeners(run, events);
    metrics.setListener(run::onRecord);
    events.addListener(run::afterEvent);
    run.startTimer();
    run.startSystemMetrics();
    run.startMirror();
    run.addShutdownHook();
    tellSupervisor(files.dir());
    return run;
  }

  /** For a remote run: pushes the working copy now, every few seconds and after each save. */
  private void startMirror() {
    if (remote == null) {
      return;
    }
    RunMirror m = RunMirror.start(files.dir(), remote, RemoteRuns.MIRROR_EVERY, events);
    mirror = m;
    events.addListener(
        e -> {
          if (EventType.CHECKPOINT_SAVED.wireName().equals(e.path("type").asText())) {
            m.pushSoon();
          }
        });
  }

  /** The integrations on the class path (TensorBoard ...); one that fails to open is left out. */
  private static List<RunListener> openListeners(Run run, EventLog events) {
    List<RunListener> out = new java.util.ArrayList<>();
    for (RunListener.Factory f : java.util.ServiceLoader.load(RunListener.Factory.class)) {
      try {
        RunListener l = f.open(run);
        if (l != null) {
          out.add(l);
        }
      } catch (IOException | RuntimeException e) {
        events.emit(
            EventType.MONITORING_FAILED,
            -1,
            f.getClass().getSimpleName() + " could not start, the run goes on without it: " + e);
      }
    }
    return List.copyOf(out);
  }

  /**
   * Under {@code cairn supervise}, tells the supervisor which run folder this process uses, so it
   * can record restarts there. Best effort: supervision works without it.
   */
  private static void tellSupervisor(Path dir) {
    String file = System.getenv(SUPERVISOR_RUN_FILE);
    if (file == null || file.isBlank()) {
      return;
    }
    try {
      Files.writeString(Path.of(file), dir.toAbsolutePath().toString(), StandardCharsets.UTF_8);
    } catch (IOException | RuntimeException e) {
      LoggerFactory.getLogger(DefaultRun.class)
          .warn("could not tell the supervisor about run {}: {}", dir, e.toString());
    }
  }

  /**
   * Creates a folder (and missing parents) so that it survives a power cut: each new folder's entry
   * is fsynced in its parent. A folder that exists is left alone.
   */
  private static void createDurably(Path dir) throws IOException {
    Path abs = dir.toAbsolutePath();
    if (Files.isDirectory(abs)) {
      return;
    }
    Path parent = abs.getParent();
    if (parent != null) {
      createDurably(parent);
    }
    try {
      Files.createDirectory(abs);
    } catch (java.nio.file.FileAlreadyExistsException e) {
      if (!Files.isDirectory(abs)) {
        throw e;
      }
      return; // another process made it meanwhile
    }
    if (parent != null) {
      Fsync.folder(parent);
    }
  }

  /** Environment variable naming the file where a supervised run writes its folder. */
  static final String SUPERVISOR_RUN_FILE = "CAIRN_SUPERVISOR_RUN_FILE";

  private static JsonNode readJson(Path p) {
    try {
      return Files.exists(p) ? JSON.readTree(p.toFile()) : null;
    } catch (IOException e) {
      return null;
    }
  }

  /** An id for a run whose folder is remote (the git commit is the working directory's). */
  static String generateId(RunOptions options) {
    return generateId(Path.of(""), options);
  }

  private static String generateId(Path runsDir, RunOptions options) {
    String time =
        DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")
            .withZone(ZoneOffset.UTC)
            .format(options.clock.instant());
    JsonNode prov = Provenance.collect(runsDir.toAbsolutePath());
    String commit = prov.path("git").path("commit").asText("");
    String shortCommit = commit.length() >= 7 ? "-" + commit.substring(0, 7) : "";
    return time
        + shortCommit
        + "-"
        + String.format("%04x", ThreadLocalRandom.current().nextInt(1 << 16));
  }

  private static void writeRunJson(
      RunFiles files, String id, RunOptions options, String fingerprint) throws IOException {
    ObjectNode o = JsonNodeFactory.instance.objectNode();
    o.put("id", id);
    o.put("created", options.clock.instant().toString());
    o.set("config", options.config);
    o.put("config_fingerprint", fingerprint);
    if (options.totalSteps > 0) {
      o.put("total_steps", options.totalSteps);
    }
    if (options.coordinator != null && options.coordinator.worldSize() > 1) {
      o.put("world_size", options.coordinator.worldSize());
    }
    o.setAll(Provenance.collect(Path.of("").toAbsolutePath()));
    AtomicFile.write(files.runJson(), JSON.writeValueAsBytes(o), AtomicFile.Sync.DURABLE);
  }

  private void startTimer() {
    long ms = options.progressInterval.toMillis();
    timer.scheduleWithFixedDelay(() -> tick(true), 0, ms, TimeUnit.MILLISECONDS);
  }

  /** With RunOptions.notify: alert-worthy events go to the webhook, from its own thread. */
  private void startAlerts(EventLog log) {
    if (options.notify == null) {
      return;
    }
    dev.cairn.alert.Webhook w =
        dev.cairn.alert.Webhook.start(
            options.notify.toString(), dev.cairn.alert.Webhook.Settings.defaults(), log);
    webhook = w;
    log.addListener(
        e -> {
          String text = dev.cairn.alert.RunAlerts.forEvent(id, e);
          if (text != null) {
            w.send(text);
          }
        });
  }

  /** Samples the machine on its own thread, so a slow nvidia-smi never delays the heartbeat. */
  private void startSystemMetrics() {
    if (options.systemInterval.isZero()) {
      return;
    }
    try {
      systemFile = JsonLines.open(files.system(), false);
    } catch (IOException e) {
      events.emit(EventType.MONITORING_FAILED, -1, "system metrics are off: " + e);
      return;
    }
    systemSampler =
        new dev.cairn.system.SystemSampler(
            files.dir(),
            systemFile,
            options.clock,
            System.getenv("PATH"),
            events,
            () -> Math.max(0, progress.step()));
    systemTimer = dev.cairn.concurrent.DaemonThreads.scheduled("cairn-system");
    systemTimer.scheduleWithFixedDelay(
        systemSampler::sample, 0, options.systemInterval.toMillis(), TimeUnit.MILLISECONDS);
  }

  private void stopSystemMetrics() {
    if (systemTimer == null) {
      return;
    }
    // A last sample at the session's end, on the sampler's thread (it runs before shutdown ends).
    systemTimer.execute(systemSampler::sample);
    systemTimer.shutdown();
    try {
      if (!systemTimer.awaitTermination(10, TimeUnit.SECONDS)) {
        systemTimer.shutdownNow();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    try {
      systemFile.close();
    } catch (IOException e) {
      events.emit(EventType.MONITORING_FAILED, -1, "closing system.jsonl failed: " + e);
    }
  }

  /** Runs one progress round now (tests drive time with an injected clock). */
  void tickForTest() {
    tick(true);
  }

  /**
   * progress.json, heartbeat, disk space. Never throws.
   *
   * @param timed a round of the timer (its samples make the rates), not an extra write
   */
  private void tick(boolean timed) {
    try {
      progress.write(timed);
      long free = Files.getFileStore(files.dir()).getUsableSpace();
      long total = Files.getFileStore(files.dir()).getTotalSpace();
      boolean low = free < LOW_SPACE_BYTES || (total > 0 && free < total / 20);
      if (low && !lowSpaceReported) {
        events.emit(
            EventType.DISK_SPACE_LOW,
            progress.step(),
            "disk space low: " + Bytes.human(free) + " free in " + files.dir());
      }
      lowSpaceReported = low;
    } catch (IOException | RuntimeException e) {
      String m = e.toString();
      if (!m.equals(lastMonitoringError)) {
        events.emit(EventType.MONITORING_FAILED, -1, "writing progress.json failed: " + m);
        lastMonitoringError = m;
      }
    }
  }

  /** Metrics writer thread: keeps the latest values, the best values and the loss trend. */
  private void onRecord(long step, long time, String[] keys, double[] values, int n) {
    for (int i = 0; i < n; i++) {
      double v = values[i];
      if (!Double.isFinite(v)) {
        continue;
      }
      latest.put(keys[i], v);
      best.compute(
          keys[i],
          (k, b) -> {
            if (b == null) {
              return new double[] {v, step, v, step};
            }
            if (v < b[0]) {
              b[0] = v;
              b[1] = step;
            }
            if (v > b[2]) {
              b[2] = v;
              b[3] = step;
            }
            return b;
          });
      if (keys[i].equals("loss")) {
        progress.loss(step, v);
      }
      ManagedCheckpoints m = manager;
      if (m != null && keys[i].equals(m.policy.lossMetric())) {
        m.inner.lossLogged(step, v);
      }
    }
    for (RunListener l : listeners) {
      try {
        l.onRecord(step, time, keys, values, n);
      } catch (RuntimeException e) {
        events.emit(EventType.MONITORING_FAILED, step, "run listener failed: " + e);
      }
    }
  }

  @Override
  public void histogram(String tag, long step, float[] values) {
    long now = options.clock.millis();
    for (RunListener l : listeners) {
      try {
        l.onHistogram(tag, step, now, values);
      } catch (RuntimeException e) {
        events.emit(EventType.MONITORING_FAILED, step, "run listener failed: " + e);
      }
    }
  }

  @Override
  public String id() {
    return id;
  }

  @Override
  public Path dir() {
    return files.dir();
  }

  @Override
  public String location() {
    return remote != null ? remote.location("") : files.dir().toString();
  }

  @Override
  public int session() {
    return session;
  }

  @Override
  public Events events() {
    return events;
  }

  @Override
  public synchronized CheckpointManager checkpoints(CheckpointPolicy policy) throws IOException {
    if (manager != null) {
      if (!manager.policy.equals(policy)) {
        throw new IllegalStateException("this run's checkpoint manager has another policy");
      }
      return manager;
    }
    CheckpointStore.Builder builder =
        (remote != null
                ? CheckpointStore.builder(remote.child("checkpoints"))
                : CheckpointStore.builder(files.checkpoints()))
            .clock(options.clock)
            .events(this::storeEvent)
            .sha256(policy.sha256());
    if (options.coordinator != null) {
      builder.coordinator(options.coordinator);
    }
    CheckpointStore store = builder.open();
    DefaultCheckpointManager m =
        new DefaultCheckpointManager(
            store,
            policy,
            events,
            options.clock,
            session,
            new ControlFolder(files.control()),
            options.controlPollInterval,
            false,
            options.coordinator);
    if (policy.lossMetric() != null) {
      String metric = policy.lossMetric();
      int window = policy.lossWindow();
      m.lossesFromLog(from -> loggedValues(metric, from - window, from + LOSS_REPLAY_STEPS));
    }
    manager = new ManagedCheckpoints(m, policy);
    return manager;
  }

  /** How many replayed steps' logged losses a resume compares (see the manager's loss check). */
  private static final int LOSS_REPLAY_STEPS = 20;

  /**
   * The values earlier sessions logged for {@code metric} at steps in [from, to), the last one
   * logged per step. Streams metrics.jsonl once (at a resume); an unreadable file gives none.
   */
  private Map<Long, Double> loggedValues(String metric, long from, long to) {
    Map<Long, Double> out = new java.util.HashMap<>();
    com.fasterxml.jackson.core.JsonFactory factory = JSON.getFactory();
    try (java.io.BufferedReader r =
        Files.newBufferedReader(files.metrics(), StandardCharsets.UTF_8)) {
      String line;
      while ((line = r.readLine()) != null) {
        if (!line.contains(metric)) {
          continue;
        }
        try (com.fasterxml.jackson.core.JsonParser p = factory.createParser(line)) {
          JsonNode n = JSON.readTree(p);
          long step = n.path("step").asLong(-1);
          JsonNode v = n.get(metric);
          if (step >= from && step < to && v != null && v.isNumber()) {
            out.put(step, v.asDouble());
          }
        } catch (IOException damaged) {
          // a damaged line was reported at open; it holds nothing to compare
        }
      }
    } catch (IOException e) {
      return Map.of();
    }
    return out;
  }

  /** The store's own events, in the run's vocabulary. */
  private void storeEvent(CheckpointEvent e) {
    switch (e.type()) {
      case SKIPPED_INVALID ->
          events.emit(EventType.CHECKPOINT_SKIPPED, e.step(), e.message(), pathField(e));
      case REMOVED_LEFTOVER ->
          events.emit(EventType.LEFTOVER_REMOVED, e.step(), e.message(), pathField(e));
      case DELETED_BY_RETENTION ->
          events.emit(EventType.CHECKPOINT_DELETED, e.step(), e.message(), pathField(e));
      case MOVED_ASIDE -> events.emit(EventType.WARNING, e.step(), e.message(), pathField(e));
      default -> {
        // SAVED and SAVE_FAILED are reported, with more detail, by the manager.
      }
    }
  }

  private static ObjectNode pathField(CheckpointEvent e) {
    ObjectNode o = JsonNodeFactory.instance.objectNode();
    o.put("path", e.location());
    return o;
  }

  @Override
  public void log(long step, Map<String, Double> values) {
    metrics.log(step, values);
    progress.stepDone(step + 1);
  }

  @Override
  public MetricsLog metrics() {
    return metrics;
  }

  @Override
  public ObjectNode progress() {
    return progress.snapshot();
  }

  @Override
  public void batchSize(long samplesPerStep, long tokensPerStep) {
    progress.batch(samplesPerStep, tokensPerStep);
  }

  @Override
  public synchronized void finish(Map<String, Double> finalMetrics) throws IOException {
    metrics.flush();
    ObjectNode r = JsonNodeFactory.instance.objectNode();
    r.put("run", id);
    r.put("finished", options.clock.instant().toString());
    r.put("total_steps", Math.max(0, progress.step()));
    r.put("active_seconds", progress.activeSeconds());
    r.put("sessions", session);
    ObjectNode fm = r.putObject("final_metrics");
    latest.forEach(fm::put);
    finalMetrics.forEach(fm::put);
    String bestKey =
        manager != null && manager.policy.bestMetric() != null
            ? manager.policy.bestMetric()
            : latest.containsKey("val_loss") ? "val_loss" : "loss";
    boolean max =
        manager != null
            && manager.policy.bestMetric() != null
            && manager.policy.bestGoal() == RetentionPolicy.Goal.MAX;
    double[] b = best.get(bestKey);
    if (b != null) {
      ObjectNode bo = r.putObject("best");
      bo.put("metric", bestKey).put("goal", max ? "max" : "min");
      bo.put("value", max ? b[2] : b[0]).put("step", (long) (max ? b[3] : b[1]));
    }
    if (manager != null) {
      Optional<SavedCheckpoint> last = manager.lastSaved();
      last.ifPresent(s -> r.put("last_checkpoint", s.location()));
      bestCheckpoint(bestKey, max).ifPresent(p -> r.put("best_checkpoint", p));
    }
    AtomicFile.write(files.results(), JSON.writeValueAsBytes(r), AtomicFile.Sync.DURABLE);
    endAs(SessionEnd.FINISHED, "run finished");
    events.emit(EventType.FINISHED, progress.step(), "run finished");
  }

  private Optional<String> bestCheckpoint(String metric, boolean max) throws IOException {
    String bestPath = null;
    double bestValue = Double.NaN;
    for (var c : manager.store().list()) {
      if (c.manifest() == null) {
        continue;
      }
      Double v = c.manifest().metrics().get(metric);
      if (v != null && (Double.isNaN(bestValue) || (max ? v > bestValue : v < bestValue))) {
        bestValue = v;
        bestPath = c.location();
      }
    }
    return Optional.ofNullable(bestPath);
  }

  @Override
  public void fail(Throwable cause) {
    endAs(SessionEnd.FAILED, String.valueOf(cause));
    events.emit(EventType.WARNING, progress.step(), "run failed: " + cause);
    if (webhook != null) {
      webhook.send(dev.cairn.alert.RunAlerts.failed(id, progress.step(), cause));
    }
  }

  @Override
  public void endAs(SessionEnd state, String detail) {
    java.util.Objects.requireNonNull(state, "state");
    if (endState == SessionEnd.FINISHED && state != SessionEnd.FINISHED) {
      return; // the work is done; a later stop or failure (of the final close) does not undo it
    }
    endState = state;
    endDetail = detail;
  }

  /** Event listener: progress.json follows each committed checkpoint at once, not at the tick. */
  private void afterEvent(ObjectNode e) {
    if (e.path("type").asText().equals(EventType.CHECKPOINT_SAVED.wireName())) {
      tick(false);
    }
  }

  /**
   * SIGTERM, SIGINT or System.exit while the session is open: the JVM halts once the shutdown hooks
   * return, so the training thread never reaches {@link #close}. Ends the session here: the
   * checkpoint manager's last save (it waits for the training thread's next step), then metrics,
   * progress and the end record, all written before this returns.
   */
  private void addShutdownHook() {
    Thread hook = new Thread(this::onJvmShutdown, "cairn-session-end");
    shutdownHook = hook;
    Runtime.getRuntime().addShutdownHook(hook);
  }

  private void onJvmShutdown() {
    ManagedCheckpoints m = manager;
    java.util.OptionalLong saved = java.util.OptionalLong.empty();
    if (m != null) {
      m.inner.shutdownSave();
      saved = m.inner.shutdownSaveStep();
    }
    try {
      // The training thread may take more steps until the JVM halts; they are lost with it, so
      // the session ends, for the record and for a resume, at the step its last save holds.
      endSession(
          SessionEnd.STOPPED,
          "the JVM shut down (SIGTERM, SIGINT or System.exit) before the run was closed",
          saved);
    } catch (IOException | RuntimeException e) {
      LoggerFactory.getLogger(DefaultRun.class)
          .warn("could not record the end of session {} of {}: {}", session, id, e.toString());
    }
    if (mirror != null) {
      mirror.close(SHUTDOWN_PUSH_LIMIT); // the end record reaches the remote folder too
    }
  }

  /**
   * From the shutdown hook: flushes metrics and writes progress and the end record, leaving the
   * logs open (the training thread may still be running until the JVM halts; what it writes now is
   * after the end record, and the OS closes the files).
   */
  private synchronized void endSession(
      SessionEnd state, String detail, java.util.OptionalLong savedStep) throws IOException {
    if (closed || ended) {
      return;
    }
    ended = true;
    if (endState == SessionEnd.STOPPED && "closed".equals(endDetail)) {
      endAs(state, detail);
    }
    stopTimer();
    metrics.flush();
    tick(false);
    long step = savedStep.orElse(progress.step());
    events.emit(
        EventType.SESSION_ENDED,
        step,
        "session " + session + " ended: " + endState.wireName() + " (" + endDetail + ")");
    sessions.end(options.clock.instant(), endState, endDetail, step, progress.activeSeconds());
  }

  @Override
  public synchronized void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    removeShutdownHook();
    if (manager != null
        && manager.inner.stopRequested()
        && endState == SessionEnd.STOPPED
        && "closed".equals(endDetail)) {
      // Asked to stop: cairn runs says stopped, and a start resumes it.
      endAs(SessionEnd.STOPPED, "a stop was requested (cairn stop or the dashboard)");
    }
    IOException first = null;
    try {
      if (manager != null) {
        manager.close();
      }
    } catch (IOException e) {
      first = e;
    }
    try {
      metrics.close();
    } catch (IOException e) {
      if (first == null) {
        first = e;
      } else {
        first.addSuppressed(e);
      }
    }
    for (RunListener l : listeners) {
      try {
        l.close();
      } catch (IOException | RuntimeException e) {
        events.emit(EventType.MONITORING_FAILED, -1, "run listener failed to close: " + e);
      }
    }
    stopTimer();
    stopSystemMetrics();
    try {
      if (!ended) {
        tick(false);
        events.emit(
            EventType.SESSION_ENDED,
            progress.step(),
            "session " + session + " ended: " + endState.wireName() + " (" + endDetail + ")");
        sessions.end(
            options.clock.instant(),
            endState,
            endDetail,
            progress.step(),
            progress.activeSeconds());
      }
    } finally {
      try {
        sessions.close();
      } finally {
        try {
          if (mirror != null) {
            mirror.close(); // a last push, bounded: a hung network does not hang the exit
          }
        } finally {
          events.close();
          if (webhook != null) {
            webhook.close(); // the last alerts (finished, failed) go out, waiting 10 s at most
          }
        }
      }
    }
    if (first != null) {
      throw first;
    }
  }

  /**
   * Stops the progress timer without interrupting it: an interrupt during a file write closes that
   * file's channel (ClosedByInterruptException), which would close events.jsonl for every thread.
   */
  private void stopTimer() {
    timer.shutdown();
    try {
      if (!timer.awaitTermination(10, TimeUnit.SECONDS)) {
        timer.shutdownNow();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void removeShutdownHook() {
    Thread hook = shutdownHook;
    if (hook != null && hook != Thread.currentThread()) {
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException alreadyShuttingDown) {
        // The hook runs or ran; it sees the session closed and returns.
      }
    }
  }

  /** Tells progress about steps and resumes, then delegates. */
  private final class ManagedCheckpoints implements CheckpointManager {
    final DefaultCheckpointManager inner;
    final CheckpointPolicy policy;

    ManagedCheckpoints(DefaultCheckpointManager inner, CheckpointPolicy policy) {
      this.inner = inner;
      this.policy = policy;
    }

    @Override
    public long restoreLatest(Checkpointable... components) throws IOException {
      long s = inner.restoreLatest(components);
      ObjectNode ck = null;
      if (s > 0) {
        // Only this step's manifest (and part headers) is read: not list(), which reads every
        // checkpoint's manifest and so would make each start grow with the history.
        try (dev.cairn.checkpoint.LoadedCheckpoint c =
            inner.store().load(s, dev.cairn.checkpoint.Verification.SIZES)) {
          ck = JsonNodeFactory.instance.objectNode();
          ck.put("step", s).put("path", c.location());
          ck.put("time", c.manifest().created().toString());
        } catch (IOException e) {
          ck = null; // deleted since it was restored: the resume is reported without it
        }
      }
      progress.resumedAt(s, ck);
      return s;
    }

    @Override
    public boolean onStep(long step, Map<String, Double> values) {
      progress.stepDone(step + 1);
      return inner.onStep(step, values);
    }

    @Override
    public SavedCheckpoint saveNow(String name) throws IOException {
      return inner.saveNow(name);
    }

    @Override
    public String requestSave(String name) {
      return inner.requestSave(name);
    }

    @Override
    public boolean stopRequested() {
      return inner.stopRequested();
    }

    @Override
    public String requestStop() {
      return inner.requestStop();
    }

    @Override
    public Optional<SavedCheckpoint> saveFinal() throws IOException {
      return inner.saveFinal();
    }

    @Override
    public Optional<SavedCheckpoint> lastSaved() {
      return inner.lastSaved();
    }

    @Override
    public Optional<Throwable> lastFailure() {
      return inner.lastFailure();
    }

    @Override
    public void beforeSave(Runnable action) {
      inner.beforeSave(action);
    }

    @Override
    public CheckpointStore store() {
      return inner.store();
    }

    @Override
    public void close() throws IOException {
      inner.close();
    }
  }
}

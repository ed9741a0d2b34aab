package dev.cairn.manager;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cairn.checkpoint.Checkpoint;
import dev.cairn.checkpoint.CheckpointStore;
import dev.cairn.checkpoint.LoadedCheckpoint;
import dev.cairn.checkpoint.Names;
import dev.cairn.checkpoint.SavedCheckpoint;
import dev.cairn.concurrent.DaemonThreads;
import dev.cairn.control.ControlFolder;
import dev.cairn.control.SaveRequest;
import dev.cairn.coordination.Coordinator;
import dev.cairn.events.EventType;
import dev.cairn.events.Events;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/** The {@link CheckpointManager} behind {@code Run.checkpoints(policy)}. */
public final class DefaultCheckpointManager implements CheckpointManager {
  static final String STATE_PART = "state";

  private final CheckpointStore store;
  private final CheckpointPolicy policy;
  private final Events events;
  private final Clock clock;
  private final int session;
  private final ControlFolder control;

  /**
   * Where snapshots are copied. The second is made the first time a step, best-metric or requested
   * save fires while another save is still being written: it captures its exact step without
   * waiting for the storage (as much host memory again as the state, kept for reuse).
   */
  private final StagingArea[] areas = {new StagingArea(), null};

  /**
   * Per staging area, the save that copied into it last: done once its bytes are written (the store
   * has them; events and the retention pass may still follow on the writer thread), null before the
   * area's first save. An area is free for the next snapshot when this is done.
   */
  private final java.util.concurrent.CompletableFuture<?>[] areaWritten =
      new java.util.concurrent.CompletableFuture<?>[2];

  private final List<Runnable> beforeSave = new java.util.concurrent.CopyOnWriteArrayList<>();
  private final Triggers triggers;
  private final LossWatch loss;
  private final ExecutorService writer;
  private final ScheduledExecutorService poller;
  private final ConcurrentLinkedQueue<SaveRequest> requests = new ConcurrentLinkedQueue<>();
  private final Set<String> seenRequests = ConcurrentHashSet.create();
  private final CountDownLatch shutdownDone = new CountDownLatch(1);
  private final Thread shutdownHook;

  private final List<Checkpointable> components = new ArrayList<>();
  private volatile boolean requestPending;
  private final Set<String> stopIds = java.util.concurrent.ConcurrentHashMap.newKeySet();
  private volatile boolean stopping;
  private volatile boolean shutdownRequested;
  private volatile boolean shutdownSaved;
  private volatile long shutdownStep = -1;
  private volatile Thread trainingThread;
  private volatile java.util.function.LongFunction<Map<Long, Double>> replayedLosses;
  private volatile SavedCheckpoint lastSaved;
  private volatile Throwable lastFailure;
  private volatile boolean failureUnreported;

  /** The newest save submitted (the writer is one thread: it ends after every earlier one). */
  private Future<?> inFlight;

  /** The save the writer thread is writing now, and since when (System.nanoTime). */
  private volatile long writingStep;

  private volatile long writingSince;
  private Future<?> deferralReported;
  private volatile long lastCompleted = -1;
  private volatile long lastSubmitted = -1;
  private Map<String, Double> lastMetrics = Map.of();
  private volatile boolean closed;

  /** Where the ranks of a group agree on each step's save (null for a process alone). */
  private final Coordinator decisions;

  private final java.time.Duration decisionTimeout;

  /**
   * @param control where save requests arrive from other processes (null: none)
   * @param session the run's session number, recorded in each checkpoint
   */
  public DefaultCheckpointManager(
      CheckpointStore store,
      CheckpointPolicy policy,
      Events events,
      Clock clock,
      int session,
      ControlFolder control,
      java.time.Duration pollInterval) {
    this(store, policy, events, clock, session, control, pollInterval, true);
  }

  /**
   * @param ownShutdownHook whether this manager registers its own JVM shutdown hook for the last
   *     save; false when the owner (a run, which must also end its session in the same hook, after
   *     the save) calls {@link #shutdownSave} from its own
   */
  public DefaultCheckpointManager(
      CheckpointStore store,
      CheckpointPolicy policy,
      Events events,
      Clock clock,
      int session,
      ControlFolder control,
      java.time.Duration pollInterval,
      boolean ownShutdownHook) {
    this(store, policy, events, clock, session, control, pollInterval, ownShutdownHook, null);
  }

  /**
   * A manager for one rank of a group: every rank's {@link #onStep} agrees with the others (one
   * allGather on the coordinator's {@code decisions} channel per step) so that every rank saves the
   * same steps. Rank 0 decides from its triggers and the save requests it receives; any rank's
   * shutdown makes the whole group take its last save; a save waits until every rank has a free
   * staging area. The store must be opened with the same coordinator ({@link
   * CheckpointStore.Builder#coordinator}). A rank that cannot agree (the group broke: a rank died)
   * throws from onStep, so that the job ends and its launcher restarts the group.
   *
   * @param group the coordinator of this rank; null for a process alone
   */
  public DefaultCheckpointManager(
      CheckpointStore store,
      CheckpointPolicy policy,
      Events events,
      Clock clock,
      int session,
      ControlFolder control,
      java.time.Duration pollInterval,
      boolean ownShutdownHook,
      Coordinator group) {
    this.decisions =
        group == null || group.worldSize() == 1 ? null : group.channel(DECISIONS_CHANNEL);
    this.decisionTimeout = STEP_AGREEMENT_TIMEOUT;
    this.store = store;
    this.policy = policy;
    this.events = events;
    this.clock = clock;
    this.session = session;
    this.control = control;
    this.triggers = new Triggers(policy, clock.millis());
    this.loss = new LossWatch(policy.lossWindow(), policy.lossJumpThreshold());
    this.writer = DaemonThreads.single("cairn-checkpoint-writer");
    if (control != null) {
      this.poller = DaemonThreads.scheduled("cairn-control-poller");
      long ms = Math.max(10, pollInterval.toMillis());
      poller.scheduleWithFixedDelay(this::pollControl, 0, ms, TimeUnit.MILLISECONDS);
    } else {
      this.poller = null;
    }
    if (policy.saveOnShutdown() && ownShutdownHook) {
      shutdownHook = new Thread(this::shutdownSave, "cairn-shutdown-save");
      Runtime.getRuntime().addShutdownHook(shutdownHook);
    } else {
      shutdownHook = null;
    }
  }

  // ---- requests from outside ----

  @Override
  public String requestSave(String name) {
    if (name != null) {
      Names.requireSafe(name, "checkpoint name");
    }
    String id =
        "api-" + Long.toHexString(java.util.concurrent.ThreadLocalRandom.current().nextLong());
    requestSave(new SaveRequest(id, name));
    return id;
  }

  /** Queues a save request (from the control folder, or this process). */
  public void requestSave(SaveRequest request) {
    if (seenRequests.add(request.id())) {
      requests.add(request);
      requestPending = true;
      events.emit(
          EventType.SAVE_REQUESTED,
          lastCompleted,
          "save requested" + (request.name() == null ? "" : " as '" + request.name() + "'"),
          fields("request_id", request.id()));
    }
  }

  @Override
  public String requestStop() {
    String id =
        "api-stop-" + Long.toHexString(java.util.concurrent.ThreadLocalRandom.current().nextLong());
    stop(new SaveRequest(id, null));
    return id;
  }

  /** A save request whose save, once taken at a step, makes {@link #stopRequested} true. */
  private void stop(SaveRequest request) {
    if (stopIds.add(request.id())) {
      events.emit(
          EventType.STOP_REQUESTED,
          lastCompleted,
          "stop requested: the job saves at its next step and ends its session",
          fields("request_id", request.id()));
      requestSave(request);
    }
  }

  @Override
  public boolean stopRequested() {
    return stopping;
  }

  private void pollControl() {
    try {
      for (SaveRequest r : control.pendingStops()) {
        stop(r);
      }
      for (SaveRequest r : control.pending()) {
        requestSave(r);
      }
    } catch (IOException | RuntimeException e) {
      events.emit(EventType.MONITORING_FAILED, -1, "reading control requests failed: " + e);
    }
  }

  // ---- restore ----

  @Override
  public synchronized long restoreLatest(Checkpointable... parts) throws IOException {
    long next = restore(parts);
    reserveStaging();
    return next;
  }

  /**
   * Measures the registered state (no copy: a snapshot that only reads sizes) and has the writer
   * thread allocate the first staging area for it, so the first save's snapshot only copies, as
   * every later one does. The area is as large as the state and is kept for the manager's life, as
   * it was from the first save on before; the second area is still made on first need.
   */
  private void reserveStaging() {
    Map<String, Map<String, Long>> sizes = new LinkedHashMap<>();
    for (Checkpointable c : components) {
      StagingArea.Sizes s = new StagingArea.Sizes();
      try {
        c.snapshot(s);
      } catch (RuntimeException e) {
        return; // the first save runs the snapshot again and reports what is wrong
      }
      sizes.put(c.name(), s.bytes());
    }
    areas[0].reserve(sizes, writer);
    rehearse();
  }

  /**
   * Runs once, at registration, what a save does on the training thread that no step has done yet,
   * so that the first save's stall is its copies, as every later one's is: loading classes and
   * linking lambdas on that path cost the first stall 4-5 ms beyond its copies (issue 17: 23 ms
   * against 17.5 ms of copying 256 MiB, where later stalls spend 0.3 ms beyond). Nothing is saved
   * or kept: an empty snapshot into a scratch area becomes a checkpoint that is dropped, and the
   * commit task is made, not run.
   */
  private void rehearse() {
    try {
      Checkpoint c =
          snapshot(0, EnumSet.noneOf(Triggers.Reason.class), null, new StagingArea(), List.of());
      commitTask(c, Set.of(), null, System.nanoTime(), new CompletableFuture<>());
    } catch (RuntimeException e) {
      // Only a warm-up: the first save does the same and reports what is wrong.
    }
  }

  /**
   * Waits until the staging buffers {@link #restoreLatest} reserves are allocated. A training loop
   * need not call it (its first save waits for them if it comes first); a benchmark does, to
   * measure a first save that comes after some training, as in a real job. Training thread.
   */
  public void awaitStaging() {
    areas[0].awaitReserved();
  }

  /** The staging area a first save copies into (tests look at its allocations). */
  StagingArea firstArea() {
    return areas[0];
  }

  /** How many staging areas exist (each as large as the state); tests look at it. */
  int stagingAreas() {
    return areas[1] == null ? 1 : 2;
  }

  private long restore(Checkpointable... parts) throws IOException {
    Set<String> names = new HashSet<>();
    for (Checkpointable c : components) {
      names.add(c.name());
    }
    for (Checkpointable c : parts) {
      Names.requireSafe(c.name(), "component name");
      if (c.name().equals(STATE_PART) || !names.add(c.name())) {
        throw new IllegalArgumentException(
            "component name '" + c.name() + "' is reserved or used twice; give each its own name");
      }
      components.add(c);
    }
    Optional<LoadedCheckpoint> latest = store.loadLatestValid();
    if (latest.isEmpty()) {
      lastCompleted = 0;
      return 0;
    }
    try (LoadedCheckpoint c = latest.get()) {
      JsonNode state =
          c.hasPart(STATE_PART) ? c.json(STATE_PART) : JsonNodeFactory.instance.objectNode();
      JsonNode saved = state.path("components");
      for (Checkpointable comp : components) {
        if (!c.hasPart(comp.name()) && !saved.has(comp.name())) {
          throw new IllegalStateException(
              "checkpoint "
                  + c.folder()
                  + " has no state for component '"
                  + comp.name()
                  + "'; it holds "
                  + c.parts()
                  + ". Restore with the components it was saved with.");
        }
        comp.restore(new RestoredPart(c, comp.name(), saved.get(comp.name())));
      }
      if (state.has("best") && state.get("best").isNumber()) {
        triggers.restoreBest(state.get("best").asDouble());
      }
      List<double[]> window = new ArrayList<>();
      for (JsonNode p : state.path("loss_window")) {
        if (p.size() == 2 && p.get(0).isNumber() && p.get(1).isNumber()) {
          window.add(new double[] {p.get(0).asDouble(), p.get(1).asDouble()});
        }
      }
      double average = state.path("loss_average").asDouble(Double.NaN);
      var replayed = replayedLosses;
      loss.resumedAt(
          c.step(), window, average, replayed == null ? Map.of() : replayed.apply(c.step()));
      lastCompleted = c.step();
      lastSubmitted = c.step();
      ObjectNode f = fields("checkpoint", c.location());
      f.put("from_step", c.step());
      events.emit(EventType.RESUMED, c.step(), "resumed from " + c.folder().getFileName(), f);
      return c.step();
    }
  }

  // ---- the per-step path ----

  @Override
  public boolean onStep(long step, Map<String, Double> metrics) {
    if (closed) {
      throw new IllegalStateException("the checkpoint manager is closed");
    }
    trainingThread = Thread.currentThread();
    long completed = step + 1;
    lastCompleted = completed;
    lastMetrics = metrics;
    if (policy.lossMetric() != null && replayedLosses == null) {
      Double l = metrics.get(policy.lossMetric());
      if (l != null) {
        checkContinuity(loss.add(step, l));
      }
    }
    if (inFlight != null && inFlight.isDone()) {
      inFlight = null;
    }
    if (shutdownSaved) {
      return false; // the last save is made; the JVM halts as soon as its hooks return
    }
    boolean shutdown = shutdownRequested;
    Set<Triggers.Reason> reasons =
        triggers.check(completed, metrics, clock.millis(), requestPending);
    if (shutdown) {
      reasons.add(Triggers.Reason.SHUTDOWN);
    }
    if (decisions != null) {
      return onStepInGroup(completed, reasons, shutdown);
    }
    if (reasons.isEmpty() || completed == lastSubmitted) {
      return false;
    }
    int area = 0;
    if (inFlight != null) {
      if (shutdown) {
        awaitInFlight(); // the last save of this process: it captures this step, whatever it costs
      } else {
        // The training thread never waits for the storage (a remote one may hang for minutes).
        area = exactStep(reasons) ? freeArea() : -1;
        if (area < 0) {
          deferWhileBusy(completed, reasons);
          return false;
        }
      }
    }
    SaveRequest request = reasons.contains(Triggers.Reason.REQUEST) ? nextRequest() : null;
    if (request != null && stopIds.contains(request.id())) {
      stopping = true; // the loop sees it after this step, whose checkpoint is now on its way
    }
    return save(completed, reasons, request, area, shutdown);
  }

  /**
   * Submits the save of {@code completed}; waits for it when synchronous or the last one, which
   * then also ends the saving and releases a shutdown hook waiting for it. True when submitted.
   */
  private boolean save(
      long completed,
      Set<Triggers.Reason> reasons,
      SaveRequest request,
      int area,
      boolean shutdown) {
    Future<?> f =
        submit(completed, reasons, request == null ? null : request.name(), request, area);
    if (shutdown || !policy.async()) {
      awaitInFlight();
    }
    if (shutdown) {
      SavedCheckpoint saved = lastSaved;
      if (saved != null && saved.step() == completed) {
        shutdownStep = completed;
      }
      shutdownSaved = true;
      shutdownDone.countDown();
    }
    return f != null;
  }

  static final String DECISIONS_CHANNEL = "decisions";

  /**
   * How long a rank waits at a step for the slowest rank to reach it: long, since ranks step in
   * lockstep anyway and one may evaluate for a while; a rank whose process ends is noticed at once.
   */
  static final java.time.Duration STEP_AGREEMENT_TIMEOUT = java.time.Duration.ofMinutes(30);

  private static final com.fasterxml.jackson.databind.ObjectMapper JSON =
      new com.fasterxml.jackson.databind.ObjectMapper();
  private static final String DECIDE = "step";

  /**
   * One step of a rank of a group. Every rank says whether it shuts down, has a save in flight and
   * has a free staging area; rank 0 adds its reasons to save and the request it would serve. From
   * what all said, every rank reaches the same decision: save this step (all), defer it (all), or
   * not.
   */
  private boolean onStepInGroup(long completed, Set<Triggers.Reason> reasons, boolean shutdown) {
    ObjectNode mine = JsonNodeFactory.instance.objectNode();
    mine.put("shutdown", shutdown);
    mine.put("busy", inFlight != null);
    mine.put("no_area", inFlight != null && !hasFreeArea());
    SaveRequest pending = null;
    if (decisions.isLeader()) {
      ArrayNode why = mine.putArray("reasons");
      reasons.forEach(r -> why.add(r.name()));
      pending = reasons.contains(Triggers.Reason.REQUEST) ? requests.peek() : null;
      mine.put("stop", pending != null && stopIds.contains(pending.id()));
    }
    List<byte[]> said;
    try {
      said = decisions.allGather(DECIDE, mine.toString().getBytes(UTF_8), decisionTimeout);
    } catch (IOException e) {
      // The group is broken: no save can be agreed any more, so a shutdown hook waiting for the
      // last one stops waiting, and the job ends for its launcher to restart the group.
      shutdownSaved = true;
      shutdownDone.countDown();
      throw new java.io.UncheckedIOException(
          "step " + completed + ": the ranks could not agree on saving: " + e.getMessage(), e);
    }
    Set<Triggers.Reason> agreed = EnumSet.noneOf(Triggers.Reason.class);
    boolean anyShutdown = false;
    boolean anyBusy = false;
    boolean anyWithoutArea = false;
    boolean stop = false;
    for (int r = 0; r < said.size(); r++) {
      JsonNode n;
      try {
        n = JSON.readTree(said.get(r));
      } catch (IOException e) {
        throw new java.io.UncheckedIOException("rank " + r + " said something that is not JSON", e);
      }
      anyShutdown |= n.path("shutdown").asBoolean();
      anyBusy |= n.path("busy").asBoolean();
      anyWithoutArea |= n.path("no_area").asBoolean();
      if (r == 0) {
        n.path("reasons").forEach(x -> agreed.add(Triggers.Reason.valueOf(x.asText())));
        stop = n.path("stop").asBoolean();
      }
    }
    if (anyShutdown) {
      agreed.add(Triggers.Reason.SHUTDOWN);
    }
    if (agreed.isEmpty() || completed == lastSubmitted) {
      return false;
    }
    if (anyBusy && !anyShutdown && (!exactStep(agreed) || anyWithoutArea)) {
      if (decisions.isLeader()) {
        deferWhileBusy(completed, agreed);
      }
      return false;
    }
    int area = 0;
    if (inFlight != null) {
      if (anyShutdown) {
        awaitInFlight();
      } else {
        area = freeArea();
      }
    }
    SaveRequest request = null;
    if (decisions.isLeader() && agreed.contains(Triggers.Reason.REQUEST)) {
      request = nextRequest(); // the one peeked at above: only this thread takes requests
    }
    if (stop || anyShutdown) {
      stopping = true; // every rank's loop sees it after this step
    }
    return save(completed, agreed, request, area, anyShutdown);
  }

  /** Whether a staging area is free (or not made yet), without making one. */
  private boolean hasFreeArea() {
    for (Future<?> f : areaWritten) {
      if (f == null || f.isDone()) {
        return true;
      }
    }
    return false;
  }

  /**
   * Saves that name their step (every N steps, best metric, requested) may take the second staging
   * area; a wall-time save only needs a recent step, so it waits for a free writer instead.
   */
  private static boolean exactStep(Set<Triggers.Reason> reasons) {
    return !reasons.equals(EnumSet.of(Triggers.Reason.TIME));
  }

  /** A staging area no save is using (the second is made on first need); -1 when both are. */
  private int freeArea() {
    for (int i = 0; i < areas.length; i++) {
      Future<?> f = areaWritten[i];
      if (f == null || f.isDone()) {
        if (areas[i] == null) {
          areas[i] = new StagingArea();
        }
        return i;
      }
    }
    return -1;
  }

  /**
   * Moves the triggers to the first step after the save in flight, and says so once per save. A
   * best-metric save is dropped instead: taken later, it would hold another step's state under this
   * step's value; the next step that beats the saved best takes it.
   */
  private void deferWhileBusy(long completed, Set<Triggers.Reason> reasons) {
    Set<Triggers.Reason> later = EnumSet.copyOf(reasons);
    boolean bestDropped = later.remove(Triggers.Reason.BEST);
    if (bestDropped) {
      triggers.dropBest();
    }
    triggers.defer(later);
    if (deferralReported == inFlight && !bestDropped) {
      return;
    }
    deferralReported = inFlight;
    ObjectNode f = JsonNodeFactory.instance.objectNode();
    ArrayNode why = f.putArray("reasons");
    later.forEach(r -> why.add(r.name().toLowerCase(java.util.Locale.ROOT)));
    if (bestDropped) {
      f.putArray("dropped").add("best");
    }
    long step = writingStep;
    double seconds = (System.nanoTime() - writingSince) / 1e9;
    f.put("in_flight_step", step);
    f.put("in_flight_seconds", seconds);
    if (lastSubmitted != step) {
      f.put("queued_step", lastSubmitted);
    }
    events.emit(
        EventType.CHECKPOINT_DEFERRED,
        completed,
        String.format(
            java.util.Locale.ROOT,
            "checkpoint of step-%d %s: the save of step-%d is still being written (%.1f s so far)%s;"
                + " %s",
            completed,
            later.isEmpty() ? "not taken" : "deferred",
            step,
            seconds,
            lastSubmitted != step ? " and step-" + lastSubmitted + " waits behind it" : "",
            bestDropped
                ? "its best-metric save is dropped (the next step that beats the saved best takes"
                    + " it)"
                : "the next checkpoint is taken at the first step after it ends"),
        f);
  }

  @Override
  public void beforeSave(Runnable action) {
    beforeSave.add(java.util.Objects.requireNonNull(action));
  }

  private SaveRequest nextRequest() {
    SaveRequest r = requests.poll();
    requestPending = !requests.isEmpty();
    return r;
  }

  /**
   * For the run that owns this manager: the loss of every step comes from its metrics log through
   * {@link #lossLogged} (each step with its own value, which onStep's maps need not carry), and
   * {@code replayed} reads the losses earlier sessions logged around a step (the loss window before
   * it and the steps a resume from it replays), so that a resume can be compared step by step with
   * the steps it replays. Call before {@link #restoreLatest}.
   */
  public void lossesFromLog(java.util.function.LongFunction<Map<Long, Double>> replayed) {
    this.replayedLosses = java.util.Objects.requireNonNull(replayed, "replayed");
  }

  /** The policy's loss metric was logged for {@code step} (any thread; see lossesFromLog). */
  public void lossLogged(long step, double value) {
    checkContinuity(loss.add(step, value));
  }

  private void checkContinuity(LossWatch.Verdict v) {
    if (v == null) {
      return;
    }
    ObjectNode f = JsonNodeFactory.instance.objectNode();
    f.put("mode", v.replayed() ? "replayed_steps" : "window")
        .put("compared", v.compared())
        .put("before", v.before())
        .put("after", v.after())
        .put("difference", v.difference())
        .put("relative_change", v.relativeChange());
    if (Double.isFinite(v.noise())) {
      f.put("noise", v.noise());
    }
    if (Double.isFinite(v.z())) {
      f.put("rank_z", v.z());
    }
    long at = v.lastStep() + 1;
    String check = "check that data position, optimizer and RNG state were restored";
    if (v.jump() && v.replayed()) {
      events.emit(
          EventType.LOSS_JUMP,
          at,
          String.format(
              java.util.Locale.ROOT,
              "the %d steps replayed after the resume give other losses than when they first ran"
                  + " (mean %.4g, was %.4g; rms difference %.3g, the loss's step-to-step noise is"
                  + " %.3g): %s",
              v.compared(),
              v.after(),
              v.before(),
              v.difference(),
              v.noise(),
              check),
          f);
    } else if (v.jump()) {
      events.emit(
          EventType.LOSS_JUMP,
          at,
          String.format(
              java.util.Locale.ROOT,
              "the median loss of the %d steps after resuming is %.4g, the window before the"
                  + " checkpoint had %.4g (%.0f%% higher, rank test z %.1f): %s",
              v.compared(),
              v.after(),
              v.before(),
              v.relativeChange() * 100,
              v.z(),
              check),
          f);
    } else {
      events.emit(
          EventType.RESUME_CHECKED,
          at,
          v.exact()
              ? "resume exact: the "
                  + v.compared()
                  + " replayed steps gave the same losses as when they first ran"
              : v.replayed()
                  ? String.format(
                      java.util.Locale.ROOT,
                      "resume continues: the %d replayed steps differ from their first run by"
                          + " rms %.3g, within the loss's step-to-step noise %.3g",
                      v.compared(),
                      v.difference(),
                      v.noise())
                  : String.format(
                      java.util.Locale.ROOT,
                      "resume continues the loss: the median of the %d steps after it is %.4g"
                          + " (before the checkpoint: %.4g)",
                      v.compared(),
                      v.after(),
                      v.before()),
          f);
    }
  }

  // ---- saving ----

  /** Snapshots on this thread, then commits on the writer thread. */
  private Future<?> submit(
      long completed, Set<Triggers.Reason> reasons, String name, SaveRequest request, int area) {
    for (Runnable action : beforeSave) {
      try {
        action.run();
      } catch (RuntimeException e) {
        events.emit(
            EventType.MONITORING_FAILED, completed, "an action before the save failed: " + e);
      }
    }
    Checkpoint checkpoint;
    try {
      checkpoint = snapshot(completed, reasons, name, areas[area], components);
    } catch (RuntimeException e) {
      lastFailure = e;
      failureUnreported = true;
      events.emit(EventType.CHECKPOINT_FAILED, completed, "snapshot failed: " + e.getMessage());
      answer(request, null, e);
      if (decisions != null) {
        // The other ranks are saving this step: fail it for them now, not at the timeout. The
        // step counts as taken here as on every other rank, so that later decisions agree.
        lastSubmitted = completed;
        inFlight = writer.submit(() -> abandon(completed, e));
      }
      return null;
    }
    triggers.saved(clock.millis());
    lastSubmitted = completed;
    long started = System.nanoTime();
    java.util.concurrent.CompletableFuture<Void> written =
        new java.util.concurrent.CompletableFuture<>();
    areaWritten[area] = written;
    inFlight = writer.submit(commitTask(checkpoint, reasons, request, started, written));
    return inFlight;
  }

  /** The writer thread's part of a save; made by {@link #rehearse} too, so that it is linked. */
  private Callable<SavedCheckpoint> commitTask(
      Checkpoint checkpoint,
      Set<Triggers.Reason> reasons,
      SaveRequest request,
      long started,
      CompletableFuture<Void> written) {
    return () -> commit(checkpoint, reasons, request, started, written);
  }

  private Checkpoint snapshot(
      long completed,
      Set<Triggers.Reason> reasons,
      String name,
      StagingArea staging,
      List<Checkpointable> parts) {
    ObjectNode state = JsonNodeFactory.instance.objectNode();
    state.put("step", completed);
    state.put("session", session);
    state.put("saved_at", clock.instant().toString());
    if (!Double.isNaN(triggers.best())) {
      state.put("best", triggers.best());
    }
    double average = loss.average();
    if (!Double.isNaN(average)) {
      state.put("loss_average", average);
      ArrayNode w = state.putArray("loss_window");
      for (double[] p : loss.window(completed)) {
        w.addArray().add((long) p[0]).add(p[1]);
      }
    }
    ObjectNode comps = state.putObject("components");
    for (Checkpointable c : parts) {
      StagingArea.SnapshotWriter w = staging.begin(c.name());
      c.snapshot(w);
      w.finish();
      JsonNode j = staging.json().get(c.name());
      if (j != null) {
        comps.set(c.name(), j);
      }
    }
    Checkpoint.Builder b = Checkpoint.at(completed).name(name);
    // Loops, not forEach: see rehearse.
    Map<String, Double> metrics = new LinkedHashMap<>();
    for (Map.Entry<String, Double> m : lastMetrics.entrySet()) {
      Double v = m.getValue();
      if (v != null && Double.isFinite(v)) {
        metrics.put(m.getKey(), v);
      }
    }
    b.metrics(metrics);
    ArrayNode why = JsonNodeFactory.instance.arrayNode();
    for (Triggers.Reason r : reasons) {
      why.add(r.name().toLowerCase(java.util.Locale.ROOT));
    }
    b.metadata("reasons", why);
    b.metadata("session", JsonNodeFactory.instance.numberNode(session));
    for (Map.Entry<String, List<dev.cairn.safetensors.Tensor>> part :
        staging.tensors().entrySet()) {
      b.tensors(part.getKey(), part.getValue());
    }
    b.json(STATE_PART, state);
    return b.build();
  }

  /**
   * Runs on the writer thread; never throws. Completes {@code written} as soon as the store has the
   * staged bytes, before the saved event and the retention pass: a step taken in that gap reuses
   * the staging area instead of allocating a second one.
   */
  private SavedCheckpoint commit(
      Checkpoint checkpoint,
      Set<Triggers.Reason> reasons,
      SaveRequest request,
      long started,
      java.util.concurrent.CompletableFuture<Void> written) {
    long writing = System.nanoTime();
    writingSince = writing;
    writingStep = checkpoint.step();
    try {
      SavedCheckpoint s;
      try {
        s = store.save(checkpoint);
      } finally {
        written.complete(null); // saved or failed, the store no longer reads the staged bytes
      }
      lastSaved = s;
      ObjectNode f = fields("path", s.location());
      f.put("bytes", s.bytes());
      f.put("seconds", (System.nanoTime() - writing) / 1e9);
      if (writing - started > 1_000_000) {
        f.put("queued_seconds", (writing - started) / 1e9); // behind another save
      }
      ArrayNode why = f.putArray("reasons");
      reasons.forEach(r -> why.add(r.name().toLowerCase(java.util.Locale.ROOT)));
      if (s.name() != null) {
        f.put("name", s.name());
      }
      if (failureUnreported && lastFailure != null) {
        f.put("after_failure", String.valueOf(lastFailure.getMessage()));
        failureUnreported = false;
      }
      lastFailure = null;
      events.emit(
          EventType.CHECKPOINT_SAVED,
          s.step(),
          "saved " + s.folder().getFileName() + " (" + dev.cairn.store.Bytes.human(s.bytes()) + ")",
          f);
      answer(request, s, null);
      applyRetention();
      return s;
    } catch (IOException | RuntimeException e) {
      lastFailure = e;
      failureUnreported = true;
      events.emit(
          EventType.CHECKPOINT_FAILED,
          checkpoint.step(),
          "saving step-" + checkpoint.step() + " failed: " + e.getMessage(),
          fields("error", String.valueOf(e.getMessage())));
      answer(request, null, e);
      return null;
    }
  }

  /** Runs on the writer thread; never throws. */
  private void abandon(long step, RuntimeException cause) {
    try {
      store.abandonSave(step, cause);
    } catch (IOException | RuntimeException e) {
      // The failure is this rank's own, reported when its snapshot failed.
    }
  }

  private void applyRetention() {
    try {
      store.applyRetention(policy.retention());
    } catch (IOException | RuntimeException e) {
      events.emit(EventType.WARNING, -1, "applying the retention policy failed: " + e.getMessage());
    }
  }

  private void answer(SaveRequest request, SavedCheckpoint saved, Throwable failure) {
    if (request == null) {
      return;
    }
    // Filed away before the answer is announced: whoever waits for the event must not still see
    // the request as pending (and a restart in between must not answer it twice).
    if (control != null) {
      try {
        control.markDone(request);
      } catch (IOException e) {
        events.emit(EventType.MONITORING_FAILED, -1, "could not file away a request: " + e);
      }
    }
    ObjectNode f = fields("request_id", request.id());
    if (saved != null) {
      f.put("path", saved.location());
      events.emit(
          EventType.SAVE_REQUEST_DONE,
          saved.step(),
          "requested save done: " + saved.folder().getFileName(),
          f);
    } else {
      f.put("error", String.valueOf(failure.getMessage()));
      events.emit(
          EventType.SAVE_REQUEST_FAILED, -1, "requested save failed: " + failure.getMessage(), f);
    }
  }

  private void awaitInFlight() {
    Future<?> f = inFlight;
    if (f == null) {
      return;
    }
    try {
      f.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException e) {
      // commit() never throws; nothing to report twice.
    }
    inFlight = null;
  }

  @Override
  public synchronized SavedCheckpoint saveNow(String name) throws IOException {
    if (lastCompleted < 0) {
      throw new IllegalStateException("nothing to save yet: call restoreLatest and onStep first");
    }
    awaitInFlight();
    submit(lastCompleted, EnumSet.of(Triggers.Reason.REQUEST), name, null, 0);
    awaitInFlight();
    if (lastSaved == null || lastSaved.step() != lastCompleted) {
      Throwable t = lastFailure;
      throw new IOException(
          "saving step-" + lastCompleted + " failed: " + (t == null ? "" : t.getMessage()), t);
    }
    return lastSaved;
  }

  @Override
  public synchronized Optional<SavedCheckpoint> saveFinal() throws IOException {
    awaitInFlight();
    if (lastCompleted <= 0) {
      return Optional.empty();
    }
    SavedCheckpoint last = lastSaved;
    if (last != null && last.step() == lastCompleted) {
      return Optional.of(last);
    }
    if (lastSubmitted == lastCompleted) {
      // Restored from (or already saved) this very step: it is committed, not saved again.
      for (var c : store.list()) {
        if (c.step() == lastCompleted && c.committed()) {
          return Optional.of(
              new SavedCheckpoint(
                  c.step(),
                  c.manifest().name(),
                  c.folder(),
                  c.manifest(),
                  c.manifest().totalBytes(),
                  0,
                  c.location()));
        }
      }
    }
    submit(lastCompleted, EnumSet.of(Triggers.Reason.FINAL), null, null, 0);
    awaitInFlight();
    last = lastSaved;
    if (last == null || last.step() != lastCompleted) {
      Throwable t = lastFailure;
      throw new IOException(
          "final save of step-" + lastCompleted + " failed: " + (t == null ? "" : t.getMessage()),
          t);
    }
    return Optional.of(last);
  }

  @Override
  public Optional<SavedCheckpoint> lastSaved() {
    return Optional.ofNullable(lastSaved);
  }

  @Override
  public Optional<Throwable> lastFailure() {
    return Optional.ofNullable(lastFailure);
  }

  @Override
  public CheckpointStore store() {
    return store;
  }

  // ---- shutdown ----

  /**
   * SIGTERM or SIGINT: asks the training thread for a last save at its next step and waits for it,
   * at most the grace time; then no further save starts. Does not wait when training is over or
   * cannot reach another step, or when the policy makes no shutdown save. Called from a JVM
   * shutdown hook (this manager's own, or its owner's).
   */
  public void shutdownSave() {
    if (!policy.saveOnShutdown() || closed) {
      return;
    }
    shutdownRequested = true;
    Thread t = trainingThread;
    boolean trainingCanReachAStep =
        t != null && t.isAlive() && t != Thread.currentThread() && !inShutdown(t);
    try {
      if (trainingCanReachAStep) {
        if (!shutdownDone.await(policy.shutdownGrace().toMillis(), TimeUnit.MILLISECONDS)) {
          events.emit(
              EventType.SHUTDOWN,
              lastCompleted,
              "shutting down without a last save: no step finished within "
                  + policy.shutdownGrace().toSeconds()
                  + " s; the newest committed checkpoint stands");
          writer.shutdown();
          writer.awaitTermination(policy.shutdownGrace().toMillis(), TimeUnit.MILLISECONDS);
          return;
        }
        long saved = shutdownStep;
        events.emit(
            EventType.SHUTDOWN,
            saved >= 0 ? saved : lastCompleted,
            saved >= 0
                ? "shut down after a last save at step " + saved
                : "shutting down: the last save failed; the newest committed checkpoint stands");
      } else {
        writer.shutdown();
        writer.awaitTermination(policy.shutdownGrace().toMillis(), TimeUnit.MILLISECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * The step of the save a JVM shutdown asked for, once it is committed; empty before, or when it
   * failed. The training thread may go on stepping until the JVM halts; this is where its work
   * survives, and where the session ended as far as a resume is concerned.
   */
  public java.util.OptionalLong shutdownSaveStep() {
    long s = shutdownStep;
    return s >= 0 ? java.util.OptionalLong.of(s) : java.util.OptionalLong.empty();
  }

  /** Whether a thread is itself blocked in System.exit (it will never reach another step). */
  private static boolean inShutdown(Thread t) {
    for (StackTraceElement e : t.getStackTrace()) {
      if (e.getClassName().equals("java.lang.Shutdown")) {
        return true;
      }
    }
    return false;
  }

  @Override
  public synchronized void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    awaitInFlight();
    shutdownDone.countDown();
    if (poller != null) {
      // Not shutdownNow: an interrupt in the middle of writing an event closes events.jsonl.
      poller.shutdown();
      try {
        poller.awaitTermination(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    writer.shutdown();
    try {
      if (!writer.awaitTermination(1, TimeUnit.MINUTES)) {
        throw new InterruptedIOException("the checkpoint writer did not stop");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (shutdownHook != null) {
      try {
        Runtime.getRuntime().removeShutdownHook(shutdownHook);
      } catch (IllegalStateException alreadyShuttingDown) {
        // The hook is running or ran; it returns at once now that we are closed.
      }
    }
    store.close();
  }

  private static ObjectNode fields(String key, String value) {
    ObjectNode o = JsonNodeFactory.instance.objectNode();
    o.put(key, value);
    return o;
  }

  /** A concurrent set without another dependency. */
  private static final class ConcurrentHashSet {
    static Set<String> create() {
      return java.util.concurrent.ConcurrentHashMap.newKeySet();
    }
  }
}

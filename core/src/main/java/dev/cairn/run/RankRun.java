package dev.cairn.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cairn.checkpoint.CheckpointStore;
import dev.cairn.coordination.Coordinator;
import dev.cairn.events.EventType;
import dev.cairn.events.Events;
import dev.cairn.manager.CheckpointManager;
import dev.cairn.manager.CheckpointPolicy;
import dev.cairn.manager.DefaultCheckpointManager;
import dev.cairn.metrics.MetricsLog;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A rank other than 0 of a run of several ranks: the run is rank 0's (run.json, sessions, events,
 * progress, results, the control folder); this rank writes only what is its own, in {@code
 * ranks/rank-R/}: its metrics ({@code metrics.jsonl}, with the sidecar) and a heartbeat ({@code
 * progress.json}, rewritten on the progress interval), and its share of each checkpoint through the
 * group's manager. Its events go to the log (a launcher prefixes them with the rank).
 */
final class RankRun implements Run {
  private static final Logger LOG = LoggerFactory.getLogger(RankRun.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  /** How long a rank waits for rank 0 to open the run: rank 0 may first pull or clean up. */
  static final Duration OPEN_TIMEOUT = Duration.ofMinutes(10);

  static final String CHANNEL = "run";
  static final String OPENED = "run-opened";

  private final String id;
  private final RunFiles run;
  private final RunFiles mine;
  private final int session;
  private final RunOptions options;
  private final Coordinator group;
  private final Events events;
  private final MetricsLog metrics;
  private final ProgressTracker progress;
  private final ScheduledExecutorService timer;
  private DefaultCheckpointManager manager;
  private CheckpointPolicy policy;
  private boolean closed;

  private RankRun(
      String id,
      RunFiles run,
      int session,
      RunOptions options,
      Events events,
      MetricsLog metrics,
      ProgressTracker progress) {
    this.id = id;
    this.run = run;
    this.mine = run.rank(options.coordinator.rank());
    this.session = session;
    this.options = options;
    this.group = options.coordinator;
    this.events = events;
    this.metrics = metrics;
    this.progress = progress;
    this.timer = dev.cairn.concurrent.DaemonThreads.scheduled("cairn-rank-heartbeat");
  }

  /** What rank 0 tells the others once the run is open: its id and session, or why not. */
  static byte[] opened(String id, int session) {
    ObjectNode o = JSON.createObjectNode().put("ok", true).put("id", id).put("session", session);
    return o.toString().getBytes(StandardCharsets.UTF_8);
  }

  static byte[] notOpened(Exception e) {
    ObjectNode o = JSON.createObjectNode().put("ok", false).put("error", String.valueOf(e));
    return o.toString().getBytes(StandardCharsets.UTF_8);
  }

  /** Waits for rank 0 to open the run, then opens this rank's part of it. */
  static Run open(Path runsDir, RunOptions options) throws IOException {
    Coordinator group = options.coordinator;
    JsonNode word = JSON.readTree(group.channel(CHANNEL).broadcast(OPENED, null, OPEN_TIMEOUT));
    if (!word.path("ok").asBoolean(false)) {
      throw new IOException(
          "rank 0 could not open the run, so rank "
              + group.rank()
              + " stops too: "
              + word.path("error").asText());
    }
    String id = word.path("id").asText();
    int session = word.path("session").asInt();
    RunFiles run = new RunFiles(runsDir.resolve(id));
    RunFiles mine = run.rank(group.rank());
    Files.createDirectories(mine.dir());
    Events events = logged(group.rank());
    MetricsLog metrics =
        MetricsLog.open(
            mine.metrics(),
            mine.metricsSidecar(),
            options.durability,
            options.overflow,
            options.queueCapacity,
            events,
            options.clock);
    ProgressTracker progress =
        new ProgressTracker(mine.progress(), options.clock, id, session, options.totalSteps, 0);
    RankRun r = new RankRun(id, run, session, options, events, metrics, progress);
    r.timer.scheduleWithFixedDelay(
        () -> r.beat(true), 0, options.progressInterval.toMillis(), TimeUnit.MILLISECONDS);
    return r;
  }

  /** This rank's events, in its log: warnings and failures as warnings. */
  private static Events logged(int rank) {
    return (type, step, message, fields) -> {
      boolean bad =
          type == EventType.WARNING
              || type == EventType.CHECKPOINT_FAILED
              || type == EventType.MONITORING_FAILED;
      if (bad) {
        LOG.warn("rank {}: {}", rank, message);
      } else {
        LOG.info("rank {}: {}", rank, message);
      }
    };
  }

  /** The heartbeat: this rank's progress.json. Never throws. */
  private void beat(boolean timed) {
    try {
      progress.write(timed);
    } catch (IOException | RuntimeException e) {
      LOG.warn("rank {}: writing {} failed: {}", group.rank(), mine.progress(), e.toString());
    }
  }

  @Override
  public String id() {
    return id;
  }

  @Override
  public Path dir() {
    return run.dir();
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
      if (!this.policy.equals(policy)) {
        throw new IllegalStateException("this run's checkpoint manager has another policy");
      }
      return manager;
    }
    CheckpointStore store =
        CheckpointStore.builder(run.checkpoints())
            .clock(options.clock)
            // Saves are reported by the manager; the store's own word on them is a repeat.
            .events(e -> LOG.debug("rank {}: {}", group.rank(), e.message()))
            .sha256(policy.sha256())
            .coordinator(group)
            .open();
    // Its own shutdown hook: a SIGTERM to this rank makes the whole group take its last save.
    manager =
        new DefaultCheckpointManager(
            store,
            policy,
            events,
            options.clock,
            session,
            null,
            options.controlPollInterval,
            true,
            group);
    this.policy = policy;
    return manager;
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
  public void histogram(String tag, long step, float[] values) {
    // Histograms go to rank 0's integrations (TensorBoard); a rank's own are not kept.
  }

  @Override
  public void batchSize(long samplesPerStep, long tokensPerStep) {
    progress.batch(samplesPerStep, tokensPerStep);
  }

  @Override
  public ObjectNode progress() {
    return progress.snapshot();
  }

  @Override
  public void fail(Throwable cause) {
    LOG.warn("rank {}: run failed: {}", group.rank(), String.valueOf(cause));
  }

  @Override
  public void endAs(SessionEnd state, String detail) {
    // The session's end is rank 0's to record.
  }

  @Override
  public void finish(Map<String, Double> finalMetrics) throws IOException {
    metrics.flush(); // results.json is rank 0's
  }

  @Override
  public synchronized void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
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
      }
    }
    timer.shutdown();
    try {
      timer.awaitTermination(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    beat(false);
    if (first != null) {
      throw first;
    }
  }
}

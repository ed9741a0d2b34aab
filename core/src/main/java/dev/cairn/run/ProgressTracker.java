package dev.cairn.run;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cairn.events.EventType;
import dev.cairn.store.AtomicFile;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Computes what progress.json says (step, percent, ETA, throughput, loss trend, active time, last
 * checkpoint, last event, heartbeat). Fed from the training thread (steps), the metrics writer
 * (losses) and the event log; {@link #write} is called by a background timer. All times come from
 * the injected clock, so tests fast-forward hours.
 */
final class ProgressTracker {
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  private static final int LOSS_WINDOW = 100;
  private static final int RATE_WINDOW = 12;

  private final Path file;
  private final Clock clock;
  private final String runId;
  private final int session;
  private final long totalSteps;
  private final double priorActiveSeconds;
  private final long sessionStartMillis;

  private volatile long step = -1;
  private volatile long lastStepMillis;
  private volatile long samplesPerStep;
  private volatile long tokensPerStep;
  private final Object writeLock = new Object();
  private final Deque<double[]> losses = new ArrayDeque<>();
  private final Deque<long[]> rate = new ArrayDeque<>();
  private volatile double lastLoss = Double.NaN;
  private volatile ObjectNode lastCheckpoint;
  private volatile ObjectNode lastEvent;

  ProgressTracker(
      Path file,
      Clock clock,
      String runId,
      int session,
      long totalSteps,
      double priorActiveSeconds) {
    this.file = file;
    this.clock = clock;
    this.runId = runId;
    this.session = session;
    this.totalSteps = totalSteps;
    this.priorActiveSeconds = priorActiveSeconds;
    this.sessionStartMillis = clock.millis();
  }

  /** Training thread: steps completed so far (two volatile writes). */
  void stepDone(long completed) {
    step = completed;
    lastStepMillis = clock.millis();
  }

  void batch(long samples, long tokens) {
    samplesPerStep = samples;
    tokensPerStep = tokens;
  }

  /** Metrics writer thread: a loss value. */
  synchronized void loss(long stepOfLoss, double value) {
    if (!Double.isFinite(value)) {
      return;
    }
    lastLoss = value;
    losses.addLast(new double[] {stepOfLoss, value});
    if (losses.size() > LOSS_WINDOW) {
      losses.removeFirst();
    }
  }

  void event(ObjectNode e) {
    lastEvent = e;
    String type = e.path("type").asText();
    if (type.equals(EventType.CHECKPOINT_SAVED.wireName())) {
      ObjectNode c = JsonNodeFactory.instance.objectNode();
      c.put("step", e.path("step").asLong());
      c.put("path", e.path("path").asText());
      c.put("time", e.path("time").asText());
      lastCheckpoint = c;
    }
  }

  void resumedAt(long completed, ObjectNode checkpoint) {
    step = completed;
    lastStepMillis = clock.millis();
    if (checkpoint != null) {
      lastCheckpoint = checkpoint;
    }
  }

  double activeSeconds() {
    return priorActiveSeconds + (clock.millis() - sessionStartMillis) / 1000.0;
  }

  long step() {
    return step;
  }

  /** The progress record as of now (does not sample the rates). */
  ObjectNode snapshot() {
    return snapshot(false);
  }

  /**
   * @param sample add this moment to the rate window (the timer's rounds only: extra writes, at a
   *     checkpoint, would bunch the samples)
   */
  private synchronized ObjectNode snapshot(boolean sample) {
    long now = clock.millis();
    long s = step;
    ObjectNode o = JsonNodeFactory.instance.objectNode();
    o.put("run", runId);
    o.put("heartbeat", Instant.ofEpochMilli(now).toString());
    ProcessIdentity.current().writeTo(o);
    o.put("session", session);
    o.put("step", Math.max(s, 0));
    if (totalSteps > 0) {
      o.put("total_steps", totalSteps);
      o.put("percent", Math.min(100.0, 100.0 * Math.max(s, 0) / totalSteps));
    }
    if (lastStepMillis > 0) {
      o.put("last_step_time", Instant.ofEpochMilli(lastStepMillis).toString());
    }
    if (sample) {
      rate.addLast(new long[] {Math.max(s, 0), now});
      if (rate.size() > RATE_WINDOW) {
        rate.removeFirst();
      }
    }
    double stepsPerSecond = Double.NaN;
    if (rate.size() >= 2) {
      long[] first = rate.peekFirst();
      long[] last = rate.peekLast();
      double dt = (last[1] - first[1]) / 1000.0;
      if (dt > 0) {
        stepsPerSecond = (last[0] - first[0]) / dt;
      }
    }
    if (Double.isFinite(stepsPerSecond)) {
      o.put("steps_per_second", stepsPerSecond);
      if (samplesPerStep > 0) {
        o.put("samples_per_second", stepsPerSecond * samplesPerStep);
      }
      if (tokensPerStep > 0) {
        o.put("tokens_per_second", stepsPerSecond * tokensPerStep);
      }
      if (totalSteps > 0 && stepsPerSecond > 0) {
        o.put("eta_seconds", Math.max(0, totalSteps - s) / stepsPerSecond);
      }
    }
    if (Double.isFinite(lastLoss)) {
      o.put("loss", lastLoss);
      ObjectNode trend = lossTrend();
      if (trend != null) {
        o.set("loss_trend", trend);
        o.put("loss_average", trend.get("average").asDouble());
      }
    }
    o.put("active_seconds", activeSeconds());
    ObjectNode ck = lastCheckpoint;
    if (ck != null) {
      ObjectNode c = ck.deepCopy();
      try {
        c.put(
            "age_seconds", (now - Instant.parse(c.path("time").asText()).toEpochMilli()) / 1000.0);
      } catch (RuntimeException e) {
        // time missing: no age
      }
      o.set("last_checkpoint", c);
    }
    ObjectNode ev = lastEvent;
    if (ev != null) {
      o.set("last_event", ev);
    }
    return o;
  }

  /** Moving average and least-squares slope over the recent losses. */
  private ObjectNode lossTrend() {
    int n = losses.size();
    if (n == 0) {
      return null;
    }
    double sx = 0;
    double sy = 0;
    double sxx = 0;
    double sxy = 0;
    for (double[] p : losses) {
      sx += p[0];
      sy += p[1];
      sxx += p[0] * p[0];
      sxy += p[0] * p[1];
    }
    double avg = sy / n;
    ObjectNode t = JsonNodeFactory.instance.objectNode();
    t.put("average", avg);
    t.put("window", n);
    double denom = n * sxx - sx * sx;
    if (n >= 5 && denom > 0) {
      double slope = (n * sxy - sx * sy) / denom;
      double span = losses.peekLast()[0] - losses.peekFirst()[0];
      // Relative change of the loss across the window decides the word.
      double relative = Math.abs(avg) > 1e-12 ? slope * span / Math.abs(avg) : 0;
      t.put("slope_per_step", slope);
      t.put("direction", relative < -0.02 ? "improving" : relative > 0.02 ? "worsening" : "flat");
    }
    return t;
  }

  /**
   * Replaces progress.json, durably: after a power cut it still names the newest checkpoint the job
   * reported (a few milliseconds of fsync every few seconds, on the timer's thread).
   *
   * @param sample whether this write is a timer round (see {@link #snapshot(boolean)})
   */
  void write(boolean sample) throws IOException {
    // One writer at a time, snapshot and rename together: two threads (the timer, a checkpoint's
    // commit) must not let an older snapshot's slower fsync publish after a newer one.
    synchronized (writeLock) {
      AtomicFile.write(file, JSON.writeValueAsBytes(snapshot(sample)), AtomicFile.Sync.DURABLE);
    }
  }
}

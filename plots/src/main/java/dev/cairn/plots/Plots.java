package dev.cairn.plots;

import dev.cairn.checkpoint.Names;
import dev.cairn.concurrent.DaemonThreads;
import dev.cairn.events.EventType;
import dev.cairn.metrics.JsonlTail;
import dev.cairn.metrics.MetricsFile;
import dev.cairn.metrics.Series;
import dev.cairn.run.Run;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Draws a run's charts into {@code plots/} while it trains, on a background thread: the default
 * charts (loss with its moving average and val_loss, learning rate, throughput, accuracy) from
 * metrics.jsonl, and custom charts of model internals that the training loop feeds with {@link
 * #series} and {@link #histogram}. A round is drawn every {@link PlotSettings#every()} and after
 * each checkpoint; a round requested while one is drawing is skipped (counted), never queued behind
 * it. A chart that cannot be drawn or written becomes a warning event; training never waits for
 * plots and never sees their failures.
 *
 * <pre>{@code
 * try (Plots plots = Plots.start(run, PlotSettings.defaults())) {
 *   ... plots.series("weight_norms", step, Map.of("layer1", n1, "layer2", n2)); ...
 * }
 * }</pre>
 */
public final class Plots implements AutoCloseable {
  private static final long TICK_MILLIS = 500;

  private final Run run;
  private final PlotSettings settings;
  private final PlotFiles files;
  private final MetricsFile metrics;
  private final JsonlTail events;
  private final ScheduledExecutorService thread;
  private final Map<String, Custom> custom = new ConcurrentHashMap<>();
  private final AtomicBoolean drawing = new AtomicBoolean();
  private final AtomicBoolean requested = new AtomicBoolean();
  private final AtomicInteger rounds = new AtomicInteger();
  private final AtomicInteger skipped = new AtomicInteger();
  private final AtomicInteger failures = new AtomicInteger();
  private volatile long lastRoundMillis;
  private volatile boolean closed;

  private Plots(Run run, PlotSettings settings) {
    this.run = run;
    this.settings = settings;
    this.files = new PlotFiles(run.dir().resolve("plots"), settings.keep());
    this.metrics = new MetricsFile(run.dir().resolve("metrics.jsonl"));
    this.events = new JsonlTail(run.dir().resolve("events.jsonl"));
    this.lastRoundMillis = System.currentTimeMillis();
    this.thread = DaemonThreads.scheduled("cairn-plots");
  }

  /** Starts drawing the run's plots in the background. */
  public static Plots start(Run run, PlotSettings settings) {
    Plots p = new Plots(run, settings);
    try {
      p.events.poll(e -> {}); // checkpoints saved before now do not call for a round
    } catch (IOException e) {
      p.warn("plots cannot read events.jsonl: " + e.getMessage());
    }
    p.thread.scheduleWithFixedDelay(p::tick, TICK_MILLIS, TICK_MILLIS, TimeUnit.MILLISECONDS);
    return p;
  }

  /** The folder the plots go to. */
  public Path dir() {
    return files.dir();
  }

  /**
   * Adds points to the custom line chart {@code chart} (one line per key), for example weight norms
   * per layer. Cheap: the values are copied, nothing is drawn on the calling thread.
   */
  public void series(String chart, long step, Map<String, Double> values) {
    custom(chart).add(step, values);
  }

  /**
   * Sets the values of the custom histogram {@code chart} (the newest call is drawn), for example a
   * layer's weights or gradients. The array is copied. The run's listeners get it too, so with the
   * TensorBoard module on the class path it shows in TensorBoard's Histograms tab.
   */
  public void histogram(String chart, long step, float[] values) {
    float[] copy = values.clone();
    custom(chart).histogram(step, copy);
    run.histogram(chart, step, copy);
  }

  private Custom custom(String chart) {
    Custom c = custom.get(chart);
    if (c == null) {
      Names.requireSafe(chart, "plot name");
      c = custom.computeIfAbsent(chart, Custom::new);
    }
    return c;
  }

  /** Asks for a round soon, without waiting; skipped when one is already drawing or asked for. */
  public void drawNow() {
    if (drawing.get() || !requested.compareAndSet(false, true)) {
      skipped.incrementAndGet();
      return;
    }
    try {
      thread.execute(this::requestedRound);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      requested.set(false); // closed
    }
  }

  /** Rounds drawn so far. */
  public int rounds() {
    return rounds.get();
  }

  /** Rounds not drawn because one was drawing or already asked for. */
  public int skipped() {
    return skipped.get();
  }

  /** Charts that failed (each one a warning event). */
  public int failures() {
    return failures.get();
  }

  private void requestedRound() {
    requested.set(false);
    round();
  }

  private void tick() {
    try {
      boolean[] checkpoint = {false};
      events.poll(e -> checkpoint[0] |= "checkpoint_saved".equals(e.path("type").asText()));
      boolean timeDue =
          settings.every() != null
              && System.currentTimeMillis() - lastRoundMillis >= settings.every().toMillis();
      if ((checkpoint[0] && settings.atCheckpoints()) || timeDue) {
        round();
      }
    } catch (IOException | RuntimeException e) {
      warn("plots could not follow the run: " + e);
    }
  }

  /** Draws every chart once; runs only on the plot thread. */
  private void round() {
    if (!drawing.compareAndSet(false, true)) {
      skipped.incrementAndGet();
      return;
    }
    try {
      lastRoundMillis = System.currentTimeMillis();
      try {
        metrics.poll();
      } catch (IOException e) {
        warn("plots could not read metrics.jsonl: " + e.getMessage());
      }
      long step = metrics.lastStep();
      for (Charts.Spec spec : DefaultCharts.of(metrics, settings)) {
        draw(spec.title(), DefaultCharts.fileName(spec), step, spec);
      }
      for (Custom c : custom.values()) {
        Charts.Spec spec = c.spec(settings);
        if (spec != null) {
          draw(c.name, c.name, c.step(), spec);
        }
      }
      rounds.incrementAndGet();
    } finally {
      drawing.set(false);
    }
  }

  private void draw(String title, String name, long step, Charts.Spec spec) {
    if (step < 0) {
      return;
    }
    try {
      files.write(name, step, Charts.image(spec));
    } catch (IOException | RuntimeException | Error e) {
      if (e instanceof VirtualMachineError v) {
        throw v;
      }
      failures.incrementAndGet();
      warn(
          String.format(
              Locale.ROOT,
              "plot '%s' (%s) failed at step %d: %s; training goes on",
              name,
              title,
              step,
              e.getMessage() == null ? e.toString() : e.getMessage()));
    }
  }

  private void warn(String message) {
    try {
      run.events().emit(EventType.WARNING, -1, message);
    } catch (RuntimeException ignored) {
      // The event log itself failed: nothing more can be told.
    }
  }

  /** Stops the background thread after a last round (so the final state is drawn). */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    thread.shutdown();
    try {
      if (!thread.awaitTermination(30, TimeUnit.SECONDS)) {
        thread.shutdownNow();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      thread.shutdownNow();
      return;
    }
    round(); // the plot thread is gone: the last round runs here
  }

  /** A custom chart's data: lines by key, or the newest histogram. */
  private static final class Custom {
    final String name;
    private final Map<String, Series> lines = new java.util.TreeMap<>();
    private float[] histogram;
    private long step = -1;

    Custom(String name) {
      this.name = name;
    }

    synchronized void add(long s, Map<String, Double> values) {
      values.forEach(
          (k, v) -> {
            if (v != null) {
              lines.computeIfAbsent(k, Series::new).add(s, v);
            }
          });
      step = Math.max(step, s);
    }

    synchronized void histogram(long s, float[] values) {
      histogram = values;
      step = Math.max(step, s);
    }

    synchronized long step() {
      return step;
    }

    synchronized Charts.Spec spec(PlotSettings st) {
      List<Charts.Line> out = new ArrayList<>();
      if (histogram != null) {
        double[][] h = Charts.histogram(histogram, 60);
        out.add(new Charts.Line(name + " at step " + step, h[0], h[1], Charts.colour(0), 2f));
        return new Charts.Spec(
            name + " (histogram, step " + step + ")",
            "value",
            "count",
            out,
            false,
            st.width(),
            st.height());
      }
      if (lines.isEmpty()) {
        return null;
      }
      int i = 0;
      for (Series s : lines.values()) {
        double[][] p = s.points(Double.NEGATIVE_INFINITY);
        out.add(new Charts.Line(s.name(), p[0], p[1], Charts.colour(i++), 2f));
      }
      return new Charts.Spec(name, "step", name, out, false, st.width(), st.height());
    }
  }
}

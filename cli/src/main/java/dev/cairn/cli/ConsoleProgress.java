package dev.cairn.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cairn.run.Run;
import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Progress on the console: a progress bar (step, rate, ETA, latest loss) when the output is a
 * terminal, otherwise one plain line every few seconds, which logs and CI output keep readable.
 * Reads the run's progress from a background thread, so training never waits for the console.
 */
public final class ConsoleProgress implements AutoCloseable {
  private final Run run;
  private final PrintWriter out;
  private final ProgressBar bar;
  private final ScheduledExecutorService timer;

  private ConsoleProgress(Run run, PrintWriter out, ProgressBar bar, Duration every) {
    this.run = run;
    this.out = out;
    this.bar = bar;
    this.timer = dev.cairn.concurrent.DaemonThreads.scheduled("cairn-console");
    timer.scheduleAtFixedRate(
        this::update, every.toMillis(), every.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** A bar on a terminal ({@code System.console() != null}), else a line every {@code logEvery}. */
  public static ConsoleProgress attach(Run run, long totalSteps, Duration logEvery) {
    return attach(run, totalSteps, System.out, System.console() != null, logEvery);
  }

  /** As {@link #attach(Run, long, Duration)}, with the stream and the terminal test given. */
  public static ConsoleProgress attach(
      Run run, long totalSteps, PrintStream out, boolean terminal, Duration logEvery) {
    PrintWriter lines = new PrintWriter(new OutputStreamWriter(out, StandardCharsets.UTF_8), true);
    if (!terminal) {
      return new ConsoleProgress(run, lines, null, logEvery);
    }
    ProgressBar bar =
        new ProgressBarBuilder()
            .setTaskName(run.id())
            .setInitialMax(totalSteps > 0 ? totalSteps : -1)
            .setStyle(ProgressBarStyle.COLORFUL_UNICODE_BLOCK)
            .setUnit(" steps", 1)
            .showSpeed()
            .setConsumer(new ConsoleProgressBarConsumer(out))
            .build();
    return new ConsoleProgress(run, lines, bar, Duration.ofSeconds(1));
  }

  /** Plain lines every {@code logEvery} on a writer (never a bar). */
  public static ConsoleProgress lines(Run run, PrintWriter out, Duration logEvery) {
    return new ConsoleProgress(run, out, null, logEvery);
  }

  /** The plain line for a progress record. */
  static String line(JsonNode p) {
    StringBuilder b = new StringBuilder();
    b.append("step ").append(p.path("step").asLong());
    if (p.has("total_steps")) {
      b.append('/').append(p.path("total_steps").asLong());
      b.append(String.format(Locale.ROOT, " (%.1f%%)", p.path("percent").asDouble()));
    }
    if (p.has("steps_per_second")) {
      b.append(String.format(Locale.ROOT, ", %.2f steps/s", p.path("steps_per_second").asDouble()));
    }
    if (p.has("eta_seconds")) {
      b.append(", ETA ").append(Durations.human(p.path("eta_seconds").asDouble()));
    }
    if (p.has("loss")) {
      b.append(String.format(Locale.ROOT, ", loss %.4g", p.path("loss").asDouble()));
    }
    JsonNode ck = p.path("last_checkpoint");
    if (ck.has("step")) {
      b.append(", last checkpoint step ").append(ck.path("step").asLong());
      if (ck.has("age_seconds")) {
        b.append(" (").append(Durations.human(ck.path("age_seconds").asDouble())).append(" ago)");
      }
    }
    return b.toString();
  }

  private void update() {
    try {
      JsonNode p = run.progress();
      if (bar == null) {
        out.println(line(p));
        return;
      }
      bar.stepTo(p.path("step").asLong());
      if (p.has("loss")) {
        bar.setExtraMessage(String.format(Locale.ROOT, "loss %.4g", p.path("loss").asDouble()));
      }
    } catch (RuntimeException e) {
      // The console is a convenience: a failure here must never reach training.
    }
  }

  @Override
  public void close() {
    timer.shutdownNow();
    update();
    if (bar != null) {
      bar.close();
    }
  }
}

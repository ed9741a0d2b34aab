package dev.cairn.cli;

import dev.cairn.alert.StatusWatcher;
import dev.cairn.alert.Webhook;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/** {@code cairn serve --notify}: a background check of every run's status every 5 s. */
final class Alerts implements AutoCloseable {
  static final long EVERY_SECONDS = 5;

  private final Webhook webhook;
  private final ScheduledExecutorService timer;

  private Alerts(Webhook webhook, ScheduledExecutorService timer) {
    this.webhook = webhook;
    this.timer = timer;
  }

  /** Null when url is null; otherwise watching has started. */
  static Alerts watch(Path runs, String url, PrintWriter err) {
    if (url == null) {
      return null;
    }
    Webhook w =
        Webhook.start(
            url,
            Webhook.Settings.defaults(),
            (type, step, message, fields) -> {
              err.println("cairn: " + message);
              err.flush();
            });
    StatusWatcher watcher = new StatusWatcher(runs, Clock.systemUTC());
    ScheduledExecutorService t = dev.cairn.concurrent.DaemonThreads.scheduled("cairn-alerts");
    t.scheduleWithFixedDelay(
        () -> {
          try {
            watcher.poll().forEach(w::send);
          } catch (java.io.IOException | RuntimeException e) {
            err.println("cairn: checking runs for alerts failed: " + e.getMessage());
            err.flush();
          }
        },
        0,
        EVERY_SECONDS,
        TimeUnit.SECONDS);
    return new Alerts(w, t);
  }

  String redacted() {
    return webhook.redacted();
  }

  @Override
  public void close() {
    timer.shutdownNow();
    webhook.close();
  }
}

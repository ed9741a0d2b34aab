package dev.cairn.alert;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cairn.events.EventType;
import dev.cairn.events.Events;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Posts alerts to a webhook as Slack-compatible JSON ({@code {"text": "..."}}, which Slack,
 * Mattermost, Rocket.Chat and Discord's /slack endpoint accept), from its own thread: {@link #send}
 * only offers to a bounded queue and returns at once, so training never waits for the network. A
 * full queue drops the alert and says so in an event. Each alert is tried a bounded number of times
 * (connection failures, 429 and 5xx answers are retried after a growing pause; other answers are
 * final). The URL's path and query often are the secret (Slack's are): only {@link #redacted()} is
 * ever printed or logged.
 */
public final class Webhook implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Webhook.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Alert STOP = new Alert(null);

  /** A queued alert; {@link #STOP} (no text) ends the sender. */
  private record Alert(String text) {}

  /** How hard to try; the defaults suit a chat webhook. */
  public record Settings(int attempts, Duration firstPause, Duration timeout, int queueCapacity) {
    public Settings {
      if (attempts < 1) {
        throw new IllegalArgumentException("a webhook needs at least 1 attempt");
      }
      if (firstPause.isNegative() || timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("pauses must be 0 or more and timeouts positive");
      }
      if (queueCapacity < 1) {
        throw new IllegalArgumentException("the alert queue needs room for at least 1 alert");
      }
    }

    /** 4 attempts 1 s, 2 s, 4 s apart, 10 s per request, 100 alerts waiting at most. */
    public static Settings defaults() {
      return new Settings(4, Duration.ofSeconds(1), Duration.ofSeconds(10), 100);
    }
  }

  private final URI uri;
  private final Settings settings;
  private final Events events;
  private final HttpClient http;
  private final BlockingQueue<Alert> queue;
  private final Thread thread;
  private final AtomicLong delivered = new AtomicLong();
  private final AtomicLong failed = new AtomicLong();
  private final AtomicLong dropped = new AtomicLong();

  private Webhook(URI uri, Settings settings, Events events) {
    this.uri = uri;
    this.settings = settings;
    this.events = events;
    this.http = HttpClient.newBuilder().connectTimeout(settings.timeout()).build();
    this.queue = new ArrayBlockingQueue<>(settings.queueCapacity());
    this.thread = new Thread(this::deliver, "cairn-webhook");
    thread.setDaemon(true);
    thread.start();
  }

  /**
   * Starts a sender for {@code url}.
   *
   * @param events where dropped and undeliverable alerts are reported (never the URL itself)
   * @throws IllegalArgumentException when url is not an http(s) URL
   */
  public static Webhook start(String url, Settings settings, Events events) {
    return new Webhook(parse(url), settings, events);
  }

  /** Checks a --notify value: an absolute http or https URL with a host. */
  public static URI parse(String url) {
    URI u;
    try {
      u = new URI(String.valueOf(url).trim());
    } catch (java.net.URISyntaxException e) {
      throw new IllegalArgumentException(
          "--notify needs a webhook URL like https://hooks.slack.com/services/...; this is not a"
              + " URL");
    }
    String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
    if (!(scheme.equals("http") || scheme.equals("https")) || u.getHost() == null) {
      throw new IllegalArgumentException(
          "--notify needs an http:// or https:// webhook URL with a host, not " + redact(u));
    }
    return u;
  }

  /** The URL as it may be shown: scheme, host and port, the rest replaced by "…". */
  public String redacted() {
    return redact(uri);
  }

  static String redact(URI u) {
    if (u.getScheme() == null || u.getHost() == null) {
      return "(a URL that is not shown)";
    }
    String port = u.getPort() < 0 ? "" : ":" + u.getPort();
    return u.getScheme() + "://" + u.getHost() + port + "/…";
  }

  /**
   * Queues an alert; never blocks. When the queue is full the alert is dropped and a {@code
   * queue_overflow} event says so.
   *
   * @return whether it was queued
   */
  public boolean send(String text) {
    if (queue.offer(new Alert(text))) {
      return true;
    }
    long d = dropped.incrementAndGet();
    events.emit(
        EventType.QUEUE_OVERFLOW,
        -1,
        "alert dropped, "
            + settings.queueCapacity()
            + " alerts already wait for "
            + redacted()
            + " ("
            + d
            + " dropped in all): "
            + text);
    return false;
  }

  /** Alerts the webhook accepted (a 2xx answer). */
  public long delivered() {
    return delivered.get();
  }

  /** Alerts given up on after every attempt failed. */
  public long failed() {
    return failed.get();
  }

  private void deliver() {
    try {
      while (true) {
        Alert a = queue.take();
        if (a == STOP) {
          return;
        }
        post(a.text());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void post(String text) throws InterruptedException {
    ObjectNode body = JSON.createObjectNode().put("text", text);
    HttpRequest request;
    try {
      request =
          HttpRequest.newBuilder(uri)
              .timeout(settings.timeout())
              .header("Content-Type", "application/json")
              .POST(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body)))
              .build();
    } catch (IOException e) {
      throw new IllegalStateException(e); // a two-field JSON object always serialises
    }
    String last = "";
    long pause = settings.firstPause().toMillis();
    for (int attempt = 1; attempt <= settings.attempts(); attempt++) {
      try {
        HttpResponse<Void> r = http.send(request, HttpResponse.BodyHandlers.discarding());
        int code = r.statusCode();
        if (code / 100 == 2) {
          delivered.incrementAndGet();
          return;
        }
        last = "answered HTTP " + code;
        if (code != 429 && code / 100 != 5) {
          break; // the webhook refused this alert; asking again would not change that
        }
      } catch (IOException e) {
        last = e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
      }
      if (attempt < settings.attempts()) {
        TimeUnit.MILLISECONDS.sleep(pause); // a pause on the sender's own thread, by design
        pause *= 2;
      }
    }
    failed.incrementAndGet();
    String message = "alert not delivered to " + redacted() + " (" + last + "): " + text;
    LOG.warn(message);
    events.emit(EventType.WARNING, -1, message);
  }

  /**
   * Sends what is queued, waiting at most {@code wait}, then stops; alerts still queued after that
   * are abandoned (the thread is a daemon).
   */
  public void close(Duration wait) {
    try {
      if (!queue.offer(STOP, wait.toMillis(), TimeUnit.MILLISECONDS)) {
        thread.interrupt();
        return;
      }
      thread.join(Math.max(1, wait.toMillis()));
      if (thread.isAlive()) {
        thread.interrupt();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** {@link #close(Duration)} with 10 s. */
  @Override
  public void close() {
    close(Duration.ofSeconds(10));
  }
}

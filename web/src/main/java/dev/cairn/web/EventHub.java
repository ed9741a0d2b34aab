package dev.cairn.web;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cairn.concurrent.DaemonThreads;
import dev.cairn.metrics.JsonlTail;
import dev.cairn.metrics.MetricsFile;
import dev.cairn.run.RunStatus;
import io.javalin.http.sse.SseClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Server-sent events for the runs someone watches. One thread looks at each watched run's folder
 * every {@code interval} (the job may be another process, so the files are the only channel) and
 * sends what changed: {@code metrics} (newest step and values), {@code progress} (the run's status
 * line), {@code event} (each new line of events.jsonl) and {@code checkpoint} (the events about
 * saving, so a page can refresh its table and show a toast).
 */
final class EventHub implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(EventHub.class);
  private static final Set<String> CHECKPOINT_EVENTS =
      Set.of(
          "checkpoint_saved",
          "checkpoint_failed",
          "checkpoint_deleted",
          "save_request_done",
          "save_request_failed");
  private static final long KEEPALIVE_MILLIS = 15_000;

  private final Clock clock;
  private final ScheduledExecutorService timer = DaemonThreads.scheduled("cairn-dashboard-sse");
  private final Map<Path, Watch> watches = new ConcurrentHashMap<>();

  /** One watched run: its clients and how far each file has been read. */
  private static final class Watch {
    final RunView run;
    final List<SseClient> clients = new CopyOnWriteArrayList<>();
    final JsonlTail events;
    long lastStep = Long.MIN_VALUE;
    FileTime progressTime;
    long lastKeepAlive;

    Watch(RunView run) {
      this.run = run;
      this.events = new JsonlTail(run.files().events());
    }
  }

  EventHub(Clock clock, long intervalMillis) {
    this.clock = clock;
    timer.scheduleWithFixedDelay(this::tick, intervalMillis, intervalMillis, TimeUnit.MILLISECONDS);
  }

  void subscribe(RunView run, SseClient client) {
    client.keepAlive();
    // Added inside compute, so a tick dropping an idle watch cannot drop this client with it.
    Watch w =
        watches.compute(
            run.dir(),
            (d, old) -> {
              Watch n = old;
              if (n == null) {
                n = new Watch(run);
                try {
                  n.events.poll(e -> {}); // history is in GET /api/runs/{run}; send what is new
                } catch (IOException e) {
                  LOG.debug("events of {} not readable yet: {}", run.name(), e.toString());
                }
              }
              n.clients.add(client);
              return n;
            });
    client.onClose(() -> w.clients.remove(client));
    client.sendComment("watching " + run.name());
  }

  private void tick() {
    for (Watch w : watches.values()) {
      w.clients.removeIf(SseClient::terminated);
      if (watches.computeIfPresent(w.run.dir(), (d, old) -> old.clients.isEmpty() ? null : old)
          == null) {
        continue;
      }
      try {
        poll(w);
      } catch (IOException | RuntimeException e) {
        // A file mid-rewrite or a run folder removed: the next tick tries again.
        LOG.debug("watching {}: {}", w.run.name(), e.toString());
      } catch (OutOfMemoryError e) {
        // An exception out of a scheduled task would end every later tick; the failed
        // allocation is gone, so the stream goes on (and the job this server lives in too).
        LOG.warn("watching {} ran short of memory; trying again at the next tick", w.run.name());
      }
    }
  }

  private void poll(Watch w) throws IOException {
    w.events.poll(
        e -> {
          send(w, "event", e);
          if (CHECKPOINT_EVENTS.contains(e.path("type").asText())) {
            send(w, "checkpoint", e);
          }
        });
    Path progress = w.run.files().progress();
    if (Files.exists(progress)) {
      FileTime t = Files.getLastModifiedTime(progress);
      if (!t.equals(w.progressTime)) {
        w.progressTime = t;
        send(w, "progress", Api.status(RunStatus.of(w.run.dir(), clock)));
      }
    }
    MetricsFile m = w.run.metrics();
    long last = m.lastStep();
    if (last != w.lastStep && last >= 0) {
      w.lastStep = last;
      ObjectNode o = Json.MAPPER.createObjectNode();
      o.put("last_step", last);
      ObjectNode latest = o.putObject("latest");
      m.forEach(
          s -> {
            double[] p = s.last();
            if (p != null && p[0] == last) {
              Json.put(latest, s.name(), p[1]);
            }
          });
      send(w, "metrics", o);
    }
    long now = clock.millis();
    if (now - w.lastKeepAlive > KEEPALIVE_MILLIS) {
      w.lastKeepAlive = now;
      for (SseClient c : w.clients) {
        c.sendComment("keep-alive");
      }
    }
  }

  private static void send(Watch w, String event, JsonNode data) {
    String json;
    try {
      json = Json.MAPPER.writeValueAsString(data);
    } catch (IOException e) {
      return;
    }
    for (SseClient c : w.clients) {
      try {
        c.sendEvent(event, json);
      } catch (RuntimeException e) {
        // One browser tab gone mid-send must not cost the others this event.
        w.clients.remove(c);
      }
    }
  }

  @Override
  public void close() {
    timer.shutdownNow();
    for (Watch w : watches.values()) {
      for (SseClient c : w.clients) {
        c.close();
      }
    }
    watches.clear();
  }
}

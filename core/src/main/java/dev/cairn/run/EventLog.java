package dev.cairn.run;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cairn.events.EventType;
import dev.cairn.events.Events;
import dev.cairn.events.JsonLines;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** events.jsonl (fsynced per event: they are rare and matter), training.log, and SLF4J. */
final class EventLog implements Events, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger("dev.cairn.run");

  private final JsonLines lines;
  private final Writer human;
  private final Clock clock;
  private final int session;
  private final List<Consumer<ObjectNode>> listeners = new CopyOnWriteArrayList<>();
  private volatile ObjectNode last;
  private volatile boolean closed;

  EventLog(RunFiles files, Clock clock, int session) throws IOException {
    this.lines = JsonLines.open(files.events(), true);
    this.human =
        Files.newBufferedWriter(
            files.trainingLog(),
            StandardCharsets.UTF_8,
            StandardOpenOption.CREATE,
            StandardOpenOption.APPEND);
    this.clock = clock;
    this.session = session;
  }

  /** Called (on the emitting thread) with each event record after it is written. */
  void addListener(Consumer<ObjectNode> listener) {
    listeners.add(listener);
  }

  ObjectNode last() {
    return last;
  }

  @Override
  public void emit(EventType type, long step, String message, ObjectNode fields) {
    ObjectNode e = JsonNodeFactory.instance.objectNode();
    String time = clock.instant().toString();
    e.put("time", time);
    e.put("type", type.wireName());
    e.put("level", type.isWarning() ? "warning" : "info");
    e.put("session", session);
    if (step >= 0) {
      e.put("step", step);
    }
    e.put("message", message);
    if (fields != null) {
      fields.properties().forEach(f -> e.set(f.getKey(), f.getValue()));
    }
    if (type.isWarning()) {
      LOG.warn("{} {}", type.wireName(), message);
    } else {
      LOG.info("{} {}", type.wireName(), message);
    }
    if (closed) {
      // After the session's end (a straggling background thread): said above, not recorded.
      return;
    }
    try {
      lines.append(e);
      synchronized (human) {
        human.write(
            time
                + " "
                + (type.isWarning() ? "WARN " : "INFO ")
                + type.wireName()
                + " "
                + (step >= 0 ? "step " + step + " " : "")
                + message
                + "\n");
        human.flush();
      }
    } catch (IOException ex) {
      if (closed) {
        return; // closed while this event was being written: as above
      }
      LOG.warn("could not record event {} in {}: {}", type.wireName(), lines.file(), ex.toString());
    }
    last = e;
    for (Consumer<ObjectNode> l : listeners) {
      try {
        l.accept(e);
      } catch (RuntimeException ex) {
        LOG.warn("event listener failed: {}", ex.toString());
      }
    }
  }

  @Override
  public void close() throws IOException {
    closed = true;
    try {
      lines.close();
    } finally {
      synchronized (human) {
        human.close();
      }
    }
  }
}

package dev.cairn.checkpoint;

import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Ready-made event sinks. */
public final class CheckpointEvents {
  private static final Logger LOGGER = LoggerFactory.getLogger("dev.cairn.checkpoint");

  /** Logs warnings at WARN and the rest at INFO. */
  public static final Consumer<CheckpointEvent> LOG_SINK =
      e -> {
        if (e.type().isWarning()) {
          LOGGER.warn("{}: {}", e.type(), e.message());
        } else {
          LOGGER.info("{}: {}", e.type(), e.message());
        }
      };

  static final Consumer<CheckpointEvent> LOG = LOG_SINK;

  private CheckpointEvents() {}
}

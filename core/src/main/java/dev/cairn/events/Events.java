package dev.cairn.events;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Where a run's events go (events.jsonl and training.log). Never throws: a failure to record an
 * event is logged, because monitoring must not break training.
 */
public interface Events {

  /**
   * Records an event.
   *
   * @param step the training step it concerns, or -1
   * @param fields extra JSON fields, may be null
   */
  void emit(EventType type, long step, String message, ObjectNode fields);

  default void emit(EventType type, long step, String message) {
    emit(type, step, message, null);
  }

  /** Discards events (for tools that only read). */
  Events NONE = (type, step, message, fields) -> {};
}

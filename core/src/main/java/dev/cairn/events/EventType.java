package dev.cairn.events;

/** The kinds of events in events.jsonl. Names are stable: scripts and the dashboard use them. */
public enum EventType {
  SESSION_STARTED("session_started", false),
  SESSION_ENDED("session_ended", false),
  RESUMED("resumed", false),
  CHECKPOINT_SAVED("checkpoint_saved", false),
  CHECKPOINT_FAILED("checkpoint_failed", true),
  CHECKPOINT_SKIPPED("checkpoint_skipped", true),
  CHECKPOINT_DEFERRED("checkpoint_deferred", false),
  CHECKPOINT_DELETED("checkpoint_deleted", false),
  LEFTOVER_REMOVED("leftover_removed", false),
  SAVE_REQUESTED("save_requested", false),
  SAVE_REQUEST_DONE("save_request_done", false),
  SAVE_REQUEST_FAILED("save_request_failed", true),
  STOP_REQUESTED("stop_requested", false),
  CONFIG_CHANGED("config_changed", true),
  LOSS_JUMP("loss_jump", true),
  RESUME_CHECKED("resume_checked", false),
  DISK_SPACE_LOW("disk_space_low", true),
  QUEUE_OVERFLOW("queue_overflow", true),
  MONITORING_FAILED("monitoring_failed", true),
  SHUTDOWN("shutdown", false),
  RESTART("restart", true),
  API_CALL_FAILED("api_call_failed", true),
  API_CIRCUIT_OPEN("api_circuit_open", true),
  API_CIRCUIT_CLOSED("api_circuit_closed", false),
  API_SUMMARY("api_summary", false),
  WARNING("warning", true),
  FINISHED("finished", false);

  private final String wire;
  private final boolean warning;

  EventType(String wire, boolean warning) {
    this.wire = wire;
    this.warning = warning;
  }

  /** The name written in events.jsonl. */
  public String wireName() {
    return wire;
  }

  public boolean isWarning() {
    return warning;
  }
}

package dev.cairn.alert;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Locale;

/** Which of a run's events are worth a message to people, and what the message says. */
public final class RunAlerts {
  private RunAlerts() {}

  /**
   * The alert text for an events.jsonl record, or null when it is not alert-worthy: a failed save,
   * low disk space, the run finishing.
   */
  public static String forEvent(String run, JsonNode event) {
    String type = event.path("type").asText();
    long step = event.path("step").asLong(-1);
    String message = event.path("message").asText("");
    return switch (type) {
      case "checkpoint_failed" -> "Cairn: run " + run + ": " + message;
      case "disk_space_low" -> "Cairn: run " + run + ": " + message;
      case "finished" -> "Cairn: run " + run + " finished" + (step >= 0 ? " at step " + step : "");
      default -> null;
    };
  }

  /** The alert for a run whose job reported a failure. */
  public static String failed(String run, long step, Throwable cause) {
    return "Cairn: run " + run + " failed" + (step >= 0 ? " at step " + step : "") + ": " + cause;
  }

  /** The alert for a run seen turning stalled or dead by a process that outlives the job. */
  public static String status(String run, String status, long step, double heartbeatAge) {
    String age =
        Double.isFinite(heartbeatAge)
            ? String.format(Locale.ROOT, "%.0f s", heartbeatAge)
            : "unknown time";
    return switch (status) {
      case "dead" ->
          "Cairn: run "
              + run
              + " is dead: its job is gone without ending its session (step "
              + step
              + ", last heartbeat "
              + age
              + " ago); start it again to resume from its last checkpoint";
      case "stalled" ->
          "Cairn: run "
              + run
              + " is stalled at step "
              + step
              + " (last heartbeat "
              + age
              + " ago): its process is alive but not progressing";
      default -> "Cairn: run " + run + " is " + status;
    };
  }
}

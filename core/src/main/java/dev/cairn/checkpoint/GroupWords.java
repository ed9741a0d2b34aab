package dev.cairn.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cairn.coordination.Coordinator;
import dev.cairn.store.InsufficientSpaceException;
import java.io.IOException;
import java.time.Duration;

/**
 * What rank 0 and the other ranks tell each other while opening, saving and loading a store
 * together: small JSON objects, {@code {"ok": true, ...}} or a failure with its kind and message,
 * so that every rank throws the same kind of exception with the same message.
 */
final class GroupWords {
  private GroupWords() {}

  static ObjectNode ok() {
    return CheckpointJson.MAPPER.createObjectNode().put("ok", true);
  }

  /** A failure as the other ranks hear it: its kind (so they throw the same kind) and message. */
  static ObjectNode failure(Exception e) {
    String kind =
        e instanceof InsufficientSpaceException
            ? "space"
            : e instanceof IllegalArgumentException
                ? "argument"
                : e instanceof IllegalStateException ? "state" : "io";
    return CheckpointJson.MAPPER
        .createObjectNode()
        .put("ok", false)
        .put("kind", kind)
        .put("error", String.valueOf(e.getMessage()));
  }

  static void throwIfFailed(JsonNode n, String context) throws IOException {
    if (n.path("ok").asBoolean(false)) {
      return;
    }
    String message = context + ": " + n.path("error").asText("no reason given");
    switch (n.path("kind").asText()) {
      case "space" -> throw new InsufficientSpaceException(message, null);
      case "argument" -> throw new IllegalArgumentException(message);
      case "state" -> throw new IllegalStateException(message);
      default -> throw new IOException(message);
    }
  }

  static void throwAs(Exception e) throws IOException {
    if (e instanceof IOException io) {
      throw io;
    }
    throw (RuntimeException) e;
  }

  /**
   * Broadcasts rank 0's word; when the group is already broken (a rank lost) the others have failed
   * already, so the failure to tell them is added to {@code failure}, or dropped.
   */
  static void tell(
      Coordinator group, String call, ObjectNode word, Duration timeout, Exception failure) {
    try {
      group.broadcast(call, bytes(word), timeout);
    } catch (IOException | RuntimeException e) {
      if (failure != null) {
        failure.addSuppressed(e);
      }
    }
  }

  static byte[] bytes(JsonNode n) {
    try {
      return CheckpointJson.MAPPER.writeValueAsBytes(n);
    } catch (IOException e) {
      throw new IllegalStateException("serializing a JSON tree to memory cannot fail", e);
    }
  }

  static JsonNode read(byte[] b, String call) throws IOException {
    try {
      return CheckpointJson.MAPPER.readTree(b);
    } catch (IOException e) {
      throw new IOException(call + ": a message that is not JSON from another rank", e);
    }
  }
}

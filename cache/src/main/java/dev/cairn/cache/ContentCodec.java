package dev.cairn.cache;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;

/** The stored response: {"content": the answer, "raw": the full response as received}. */
final class ContentCodec {
  private ContentCodec() {}

  static String wrap(String raw, String content) {
    ObjectNode o = Requests.JSON.createObjectNode();
    o.put("content", content);
    o.put("raw", raw);
    return o.toString();
  }

  static String content(String stored) {
    return parse(stored).path("content").asText();
  }

  static String raw(String stored) {
    return parse(stored).path("raw").asText();
  }

  private static JsonNode parse(String stored) {
    try {
      return Requests.JSON.readTree(stored);
    } catch (IOException e) {
      throw new UncheckedIOException("a stored answer is not JSON: " + e.getMessage(), e);
    }
  }
}

package dev.cairn.cache;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * The canonical form of a request (object keys sorted at every level, no whitespace, nulls dropped)
 * and its SHA-256: the same question asked with its parameters in another order is the same key; a
 * different model, temperature or message is another.
 */
public final class Requests {
  static final ObjectMapper JSON = new ObjectMapper();

  private Requests() {}

  public static String canonical(JsonNode request) {
    try {
      return JSON.writeValueAsString(sorted(request));
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("request cannot be written as JSON: " + e.getMessage(), e);
    }
  }

  public static String key(String canonical) {
    try {
      byte[] d =
          MessageDigest.getInstance("SHA-256").digest(canonical.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(d);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("no SHA-256 in this JVM", e);
    }
  }

  private static JsonNode sorted(JsonNode n) {
    if (n.isObject()) {
      List<String> names = new ArrayList<>();
      n.fieldNames().forEachRemaining(names::add);
      names.sort(null);
      ObjectNode o = JsonNodeFactory.instance.objectNode();
      for (String k : names) {
        JsonNode v = n.get(k);
        if (v != null && !v.isNull()) {
          o.set(k, sorted(v));
        }
      }
      return o;
    }
    if (n.isArray()) {
      ArrayNode a = JsonNodeFactory.instance.arrayNode();
      n.forEach(e -> a.add(sorted(e)));
      return a;
    }
    return n;
  }
}

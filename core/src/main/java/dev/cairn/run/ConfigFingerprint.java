package dev.cairn.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * A stable hash of a run's config (keys sorted at every level, so map order does not matter) and a
 * readable diff of two configs, key path by key path.
 */
public final class ConfigFingerprint {
  private static final ObjectMapper CANONICAL =
      JsonMapper.builder().enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS).build();

  private ConfigFingerprint() {}

  /** "sha256:" and 64 hex digits. */
  public static String of(JsonNode config) {
    try {
      Object plain = CANONICAL.treeToValue(config, Object.class);
      byte[] bytes = CANONICAL.writeValueAsString(sorted(plain)).getBytes(StandardCharsets.UTF_8);
      return "sha256:"
          + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException | java.io.IOException e) {
      throw new IllegalStateException("cannot fingerprint config", e);
    }
  }

  @SuppressWarnings("unchecked")
  private static Object sorted(Object o) {
    if (o instanceof Map<?, ?> m) {
      Map<String, Object> out = new TreeMap<>();
      m.forEach((k, v) -> out.put(String.valueOf(k), sorted(v)));
      return out;
    }
    if (o instanceof List<?> l) {
      List<Object> out = new ArrayList<>();
      l.forEach(v -> out.add(sorted(v)));
      return out;
    }
    return o;
  }

  /** One line per changed key path: "lr: 0.001 -> 0.01", "batch: added 64", "seed: removed". */
  public static List<String> diff(JsonNode before, JsonNode after) {
    List<String> out = new ArrayList<>();
    diff("", before, after, out);
    return out;
  }

  private static void diff(String path, JsonNode a, JsonNode b, List<String> out) {
    if (a != null && b != null && a.isObject() && b.isObject()) {
      TreeSet<String> keys = new TreeSet<>();
      a.fieldNames().forEachRemaining(keys::add);
      b.fieldNames().forEachRemaining(keys::add);
      for (String k : keys) {
        diff(path.isEmpty() ? k : path + "." + k, a.get(k), b.get(k), out);
      }
      return;
    }
    String where = path.isEmpty() ? "(config)" : path;
    if (a == null) {
      out.add(where + ": added " + b);
    } else if (b == null) {
      out.add(where + ": removed (was " + a + ")");
    } else if (a.isNumber() && b.isNumber() && a.decimalValue().compareTo(b.decimalValue()) == 0) {
      return;
    } else if (!a.equals(b)) {
      out.add(where + ": " + a + " -> " + b);
    }
  }
}

package dev.cairn.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Reads and writes manifest.json. The file is ordinary pretty-printed JSON whose last member is
 * {@code "manifest_sha256"}: the SHA-256 of every byte before it. The bytes after the digest are
 * fixed, so any change anywhere in the file — one flipped bit included — is detected.
 */
final class ManifestCodec {
  private static final ObjectMapper JSON = CheckpointJson.MAPPER;

  private static final String SEAL = ",\n  \"manifest_sha256\" : \"";
  private static final String END = "\"\n}\n";
  private static final Pattern HEX64 = Pattern.compile("[0-9a-f]{64}");
  private static final Pattern HEX8 = Pattern.compile("[0-9a-f]{8}");

  private ManifestCodec() {}

  static byte[] encode(Manifest m) {
    ObjectNode root = JsonNodeFactory.instance.objectNode();
    root.put("format", Manifest.FORMAT);
    root.put("format_version", m.formatVersion());
    root.put("step", m.step());
    if (m.worldSize() > 1) {
      root.put("world_size", m.worldSize());
    }
    if (m.name() == null) {
      root.putNull("name");
    } else {
      root.put("name", m.name());
    }
    root.put("created", m.created().toString());
    ObjectNode metrics = root.putObject("metrics");
    m.metrics().forEach(metrics::put);
    root.set("metadata", m.metadata());
    ArrayNode parts = root.putArray("parts");
    for (Manifest.PartEntry p : m.parts()) {
      ObjectNode o =
          parts.addObject().put("name", p.name()).put("kind", p.kind()).put("file", p.file());
      if (p.rank() != null) {
        o.put("rank", p.rank().intValue());
      }
    }
    ArrayNode files = root.putArray("files");
    for (Manifest.FileEntry f : m.files()) {
      ObjectNode o = files.addObject();
      o.put("path", f.path()).put("size", f.size());
      if (f.sha256() != null) {
        o.put("sha256", f.sha256());
      }
      o.put("crc32c_chunk_bytes", f.crc32cChunkBytes());
      ArrayNode crcs = o.putArray("crc32c");
      f.crc32c().forEach(crcs::add);
    }
    String body;
    try {
      body = JSON.writeValueAsString(root);
    } catch (IOException e) {
      throw new IllegalStateException("serializing a JSON tree to memory cannot fail", e);
    }
    String prefix = body.substring(0, body.lastIndexOf('}')).stripTrailing();
    String digest = FileDigest.sha256(prefix.getBytes(StandardCharsets.UTF_8));
    byte[] bytes = (prefix + SEAL + digest + END).getBytes(StandardCharsets.UTF_8);
    if (bytes.length > Manifest.MAX_BYTES) {
      throw new IllegalArgumentException(
          "the manifest would be "
              + bytes.length
              + " bytes, over the limit of "
              + Manifest.MAX_BYTES
              + ": keep large metadata in a JSON part instead");
    }
    return bytes;
  }

  /**
   * Encodes a manifest and decodes it again with the reader's code: the bytes returned are ones
   * {@link #decode} accepts.
   *
   * @throws IllegalArgumentException saying what the reader would refuse
   */
  static byte[] encodeChecked(Manifest m) {
    byte[] bytes = encode(m);
    try {
      decode(bytes, Path.of(Manifest.FILE_NAME));
    } catch (CorruptCheckpointException e) {
      throw new IllegalArgumentException(
          "this checkpoint's manifest would not read back: " + e.getMessage(), e);
    }
    return bytes;
  }

  /** Parses and checks a manifest; any defect is a CorruptCheckpointException naming the file. */
  static Manifest decode(byte[] bytes, Path file) throws CorruptCheckpointException {
    if (bytes.length > Manifest.MAX_BYTES) {
      throw new CorruptCheckpointException(
          file, "manifest is " + bytes.length + " bytes, over the limit of " + Manifest.MAX_BYTES);
    }
    String text;
    try {
      text =
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(ByteBuffer.wrap(bytes))
              .toString();
    } catch (CharacterCodingException e) {
      throw new CorruptCheckpointException(file, "manifest is not valid UTF-8");
    }
    int seal = text.lastIndexOf(SEAL);
    if (seal < 0) {
      throw new CorruptCheckpointException(
          file, "manifest has no manifest_sha256 seal (truncated or damaged)");
    }
    String prefix = text.substring(0, seal);
    String expected = FileDigest.sha256(prefix.getBytes(StandardCharsets.UTF_8));
    if (!text.substring(seal).equals(SEAL + expected + END)) {
      throw new CorruptCheckpointException(
          file, "manifest does not match its manifest_sha256 seal (damaged)");
    }
    JsonNode root;
    try {
      root = JSON.readTree(bytes);
    } catch (IOException e) {
      throw new CorruptCheckpointException(file, -1, "manifest is not valid JSON", e);
    }
    return fromJson(root, file);
  }

  private static Manifest fromJson(JsonNode root, Path file) throws CorruptCheckpointException {
    try {
      if (!Manifest.FORMAT.equals(text(root, "format"))) {
        throw bad(file, "format is not " + Manifest.FORMAT);
      }
      int version = root.path("format_version").asInt(-1);
      if (version > Manifest.FORMAT_VERSION) {
        throw bad(
            file,
            "format_version "
                + version
                + " was written by a newer Cairn; upgrade Cairn to read this checkpoint");
      }
      if (version < 1) {
        throw bad(file, "format_version is missing or invalid");
      }
      long step = root.path("step").asLong(-1);
      if (step < 0 || !root.path("step").isIntegralNumber()) {
        throw bad(file, "step is missing or negative");
      }
      String name = root.path("name").isNull() ? null : text(root, "name");
      if (name != null && !Names.isSafe(name)) {
        throw bad(file, "name '" + name + "' is not a valid checkpoint name");
      }
      Instant created = Instant.parse(text(root, "created"));
      Map<String, Double> metrics = new LinkedHashMap<>();
      for (Map.Entry<String, JsonNode> e : root.path("metrics").properties()) {
        metrics.put(e.getKey(), e.getValue().asDouble());
      }
      JsonNode metadata = root.path("metadata");
      if (!metadata.isObject()) {
        throw bad(file, "metadata is not an object");
      }
      JsonNode world = root.path("world_size");
      int worldSize = world.isMissingNode() ? 1 : world.asInt(-1);
      if (!world.isMissingNode()
          && (!world.isIntegralNumber()
              || worldSize < 2
              || worldSize > dev.cairn.coordination.Coordinators.MAX_WORLD_SIZE
              || version < 2)) {
        throw bad(file, "world_size is invalid");
      }
      List<Manifest.PartEntry> parts = new ArrayList<>();
      for (JsonNode p : array(root, "parts", file)) {
        JsonNode rank = p.path("rank");
        if (!rank.isMissingNode() && !rank.isIntegralNumber()) {
          throw bad(file, "part rank is not a number");
        }
        parts.add(
            new Manifest.PartEntry(
                text(p, "name"),
                text(p, "kind"),
                text(p, "file"),
                rank.isMissingNode() ? null : rank.asInt()));
      }
      List<Manifest.FileEntry> files = new ArrayList<>();
      for (JsonNode f : array(root, "files", file)) {
        files.add(fileEntry(f, file));
      }
      return new Manifest(
          version, step, name, created, metrics, (ObjectNode) metadata, parts, files, worldSize);
    } catch (IllegalArgumentException | DateTimeParseException e) {
      throw new CorruptCheckpointException(file, -1, "manifest is invalid: " + e.getMessage(), e);
    }
  }

  private static Manifest.FileEntry fileEntry(JsonNode f, Path file)
      throws CorruptCheckpointException {
    String path = text(f, "path");
    long size = f.path("size").asLong(-1);
    long chunk = f.path("crc32c_chunk_bytes").asLong(-1);
    // Recorded only by stores that were asked for it (CheckpointStore.Builder.sha256).
    String sha = f.hasNonNull("sha256") ? text(f, "sha256") : null;
    if (size < 0 || chunk <= 0 || (sha != null && !HEX64.matcher(sha).matches())) {
      throw bad(file, "entry for " + path + " has an invalid size, chunk size or sha256");
    }
    List<String> crcs = new ArrayList<>();
    for (JsonNode c : array(f, "crc32c", file)) {
      if (!c.isTextual() || !HEX8.matcher(c.asText()).matches()) {
        throw bad(file, "entry for " + path + " has an invalid crc32c");
      }
      crcs.add(c.asText());
    }
    if (crcs.size() != (size + chunk - 1) / chunk) {
      throw bad(file, "entry for " + path + " has the wrong number of crc32c chunks");
    }
    return new Manifest.FileEntry(path, size, sha, chunk, crcs);
  }

  private static String text(JsonNode node, String field) {
    JsonNode v = node.get(field);
    if (v == null || !v.isTextual()) {
      throw new IllegalArgumentException("field '" + field + "' is missing or not a string");
    }
    return v.asText();
  }

  private static JsonNode array(JsonNode node, String field, Path file)
      throws CorruptCheckpointException {
    JsonNode v = node.get(field);
    if (v == null || !v.isArray()) {
      throw bad(file, "field '" + field + "' is missing or not an array");
    }
    return v;
  }

  private static CorruptCheckpointException bad(Path file, String problem) {
    return new CorruptCheckpointException(file, "manifest is invalid: " + problem);
  }
}

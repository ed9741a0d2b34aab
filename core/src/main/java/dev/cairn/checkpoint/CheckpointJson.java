package dev.cairn.checkpoint;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.StreamWriteConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.io.InputStream;

/**
 * The one JSON configuration for everything a checkpoint stores as JSON (the manifest, JSON parts),
 * used by the writer and the reader alike, so that what one writes the other reads. Jackson's
 * default read limits (20 M characters a string, 50,000 a name, 1,000 digits a number) are lifted:
 * these files are bounded by their own size; nesting is capped at {@link #MAX_NESTING} on both
 * sides.
 */
final class CheckpointJson {
  /** Deepest nesting written or read, on both sides (Jackson's default write limit). */
  static final int MAX_NESTING = 1000;

  static final ObjectMapper MAPPER =
      JsonMapper.builder(
              JsonFactory.builder()
                  .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                  .streamReadConstraints(
                      StreamReadConstraints.builder()
                          .maxStringLength(Integer.MAX_VALUE)
                          .maxNameLength(Integer.MAX_VALUE)
                          .maxNumberLength(Integer.MAX_VALUE)
                          .maxNestingDepth(MAX_NESTING)
                          .build())
                  .streamWriteConstraints(
                      StreamWriteConstraints.builder().maxNestingDepth(MAX_NESTING).build())
                  .build())
          .enable(SerializationFeature.INDENT_OUTPUT)
          .build();

  private CheckpointJson() {}

  static JsonNode read(byte[] bytes) throws IOException {
    return MAPPER.readTree(bytes);
  }

  static JsonNode read(InputStream in) throws IOException {
    return MAPPER.readTree(in);
  }

  /** The bytes of a JSON part, checked by reading them back with the reader's own rules. */
  static byte[] encodePart(String part, JsonNode value) {
    byte[] bytes;
    try {
      bytes = MAPPER.writeValueAsBytes(value);
    } catch (IOException e) {
      throw new IllegalArgumentException(
          "JSON part '" + part + "' cannot be written: " + e.getMessage(), e);
    }
    try {
      read(bytes);
    } catch (IOException e) {
      throw new IllegalArgumentException(
          "JSON part '" + part + "' would not read back: " + e.getMessage(), e);
    }
    return bytes;
  }
}

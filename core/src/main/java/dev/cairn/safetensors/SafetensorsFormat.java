package dev.cairn.safetensors;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The safetensors header: an 8-byte little-endian length, then that many bytes of UTF-8 JSON
 * mapping tensor names to dtype, shape and data offsets, plus an optional {@code __metadata__} map
 * of strings. Every field is checked before any offset is trusted.
 */
public final class SafetensorsFormat {
  /** The reserved header key for string metadata. */
  public static final String METADATA_KEY = "__metadata__";

  /** Largest header accepted, as in the reference implementation (100 MB). */
  public static final long MAX_HEADER_BYTES = 100_000_000L;

  private static final JsonFactory JSON =
      JsonFactory.builder()
          .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION)
          .build();

  private SafetensorsFormat() {}

  /** A parsed, validated header. Tensors are listed in data order. */
  public record Header(long headerBytes, List<TensorInfo> tensors, Map<String, String> metadata) {
    public Header {
      tensors = List.copyOf(tensors);
      metadata = Map.copyOf(metadata);
    }

    /** File offset of the first data byte. */
    public long dataStart() {
      return 8 + headerBytes;
    }

    /** The entry for a name, or null. */
    public TensorInfo tensor(String name) {
      for (TensorInfo t : tensors) {
        if (t.name().equals(name)) {
          return t;
        }
      }
      return null;
    }
  }

  /**
   * Encodes the JSON header (without the length prefix), padded with spaces so the data starts
   * 8-byte aligned, with data offsets assigned in list order.
   */
  public static byte[] encodeHeader(List<Tensor> tensors, Map<String, String> metadata) {
    Set<String> seen = new HashSet<>();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (JsonGenerator g = JSON.createGenerator(out, JsonEncoding.UTF8)) {
      g.writeStartObject();
      if (metadata != null && !metadata.isEmpty()) {
        g.writeObjectFieldStart(METADATA_KEY);
        for (Map.Entry<String, String> e : metadata.entrySet()) {
          g.writeStringField(e.getKey(), e.getValue());
        }
        g.writeEndObject();
      }
      long offset = 0;
      for (Tensor t : tensors) {
        if (!seen.add(t.name())) {
          throw new IllegalArgumentException("tensor name '" + t.name() + "' appears twice");
        }
        g.writeObjectFieldStart(t.name());
        g.writeStringField("dtype", t.dtype().name());
        g.writeArrayFieldStart("shape");
        for (long d : t.shape()) {
          g.writeNumber(d);
        }
        g.writeEndArray();
        g.writeArrayFieldStart("data_offsets");
        g.writeNumber(offset);
        offset += t.data().byteSize();
        g.writeNumber(offset);
        g.writeEndArray();
        g.writeEndObject();
      }
      g.writeEndObject();
    } catch (IOException e) {
      throw new IllegalStateException("writing JSON to memory cannot fail", e);
    }
    int pad = (8 - out.size() % 8) % 8;
    for (int i = 0; i < pad; i++) {
      out.write(' ');
    }
    return out.toByteArray();
  }

  /**
   * Parses and validates a header.
   *
   * @param header the JSON bytes (after the 8-byte length)
   * @param dataBytes size of the data section that follows the header
   * @param file used in error messages only
   */
  public static Header parseHeader(byte[] header, long dataBytes, Path file)
      throws MalformedSafetensorsException {
    checkUtf8(header, file);
    if (header.length == 0 || header[0] != '{') {
      throw new MalformedSafetensorsException(file, 8, "header does not start with '{'");
    }
    List<TensorInfo> tensors = new ArrayList<>();
    Map<String, String> metadata = new LinkedHashMap<>();
    try (JsonParser p = JSON.createParser(header)) {
      expect(p, p.nextToken(), JsonToken.START_OBJECT, "the header object", file);
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        long at = offset(p);
        if (METADATA_KEY.equals(name)) {
          readMetadata(p, metadata, file);
        } else {
          tensors.add(readTensor(p, name, at, file));
        }
      }
      expect(p, p.currentToken(), JsonToken.END_OBJECT, "end of the header object", file);
      if (p.nextToken() != null) {
        throw new MalformedSafetensorsException(
            file, offset(p), "unexpected content after the header object");
      }
    } catch (JsonParseException e) {
      long at = 8 + Math.max(0, e.getLocation().getByteOffset());
      throw new MalformedSafetensorsException(
          file, at, "header is not valid JSON (" + e.getOriginalMessage() + ")");
    } catch (MalformedSafetensorsException e) {
      throw e;
    } catch (IOException e) {
      throw new MalformedSafetensorsException(file, 8, "header is unreadable: " + e);
    }
    checkLayout(tensors, dataBytes, header.length, file);
    tensors.sort(Comparator.comparingLong(TensorInfo::begin));
    return new Header(header.length, tensors, metadata);
  }

  private static long offset(JsonParser p) {
    return 8 + Math.max(0, p.currentTokenLocation().getByteOffset());
  }

  private static void expect(
      JsonParser p, JsonToken actual, JsonToken wanted, String what, Path file)
      throws MalformedSafetensorsException {
    if (actual != wanted) {
      throw new MalformedSafetensorsException(
          file, offset(p), "expected " + what + " but found " + actual);
    }
  }

  private static void readMetadata(JsonParser p, Map<String, String> out, Path file)
      throws IOException {
    expect(p, p.nextToken(), JsonToken.START_OBJECT, "__metadata__ to be an object", file);
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String key = p.currentName();
      if (p.nextToken() != JsonToken.VALUE_STRING) {
        throw new MalformedSafetensorsException(
            file, offset(p), "__metadata__ value of '" + key + "' is not a string");
      }
      out.put(key, p.getText());
    }
  }

  private static TensorInfo readTensor(JsonParser p, String name, long at, Path file)
      throws IOException {
    String where = "tensor '" + name + "'";
    if (name.isEmpty()) {
      throw new MalformedSafetensorsException(file, at, "a tensor has an empty name");
    }
    expect(p, p.nextToken(), JsonToken.START_OBJECT, where + " to be an object", file);
    String dtypeName = null;
    long[] shape = null;
    long[] offsets = null;
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String field = p.currentName();
      JsonToken value = p.nextToken();
      switch (field) {
        case "dtype":
          if (value != JsonToken.VALUE_STRING) {
            throw new MalformedSafetensorsException(
                file, offset(p), where + " dtype is not a string");
          }
          dtypeName = p.getText();
          break;
        case "shape":
          shape = readLongs(p, where + " shape", file);
          break;
        case "data_offsets":
          offsets = readLongs(p, where + " data_offsets", file);
          break;
        default:
          p.skipChildren();
      }
    }
    if (dtypeName == null || shape == null || offsets == null) {
      throw new MalformedSafetensorsException(
          file, at, where + " needs dtype, shape and data_offsets");
    }
    DType dtype = DType.fromHeaderName(dtypeName);
    if (dtype == null) {
      throw new MalformedSafetensorsException(
          file, at, where + " has unknown dtype '" + dtypeName + "'");
    }
    if (offsets.length != 2 || offsets[1] < offsets[0]) {
      throw new MalformedSafetensorsException(
          file, at, where + " data_offsets must be [begin, end] with begin <= end");
    }
    long expected;
    try {
      expected = Math.multiplyExact(TensorInfo.elementCount(shape), dtype.byteSize());
    } catch (ArithmeticException e) {
      throw new MalformedSafetensorsException(file, at, where + " shape overflows");
    }
    if (offsets[1] - offsets[0] != expected) {
      throw new MalformedSafetensorsException(
          file,
          at,
          where
              + " data_offsets ["
              + offsets[0]
              + ", "
              + offsets[1]
              + "] hold "
              + (offsets[1] - offsets[0])
              + " bytes but "
              + dtype
              + java.util.Arrays.toString(shape)
              + " needs "
              + expected);
    }
    return new TensorInfo(name, dtype, shape, offsets[0], offsets[1]);
  }

  private static long[] readLongs(JsonParser p, String what, Path file) throws IOException {
    if (p.currentToken() != JsonToken.START_ARRAY) {
      throw new MalformedSafetensorsException(file, offset(p), what + " is not an array");
    }
    List<Long> values = new ArrayList<>();
    while (p.nextToken() != JsonToken.END_ARRAY) {
      if (p.currentToken() != JsonToken.VALUE_NUMBER_INT
          || p.getNumberType() == JsonParser.NumberType.BIG_INTEGER
          || p.getLongValue() < 0) {
        throw new MalformedSafetensorsException(
            file, offset(p), what + " must hold non-negative integers");
      }
      values.add(p.getLongValue());
    }
    long[] out = new long[values.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = values.get(i);
    }
    return out;
  }

  private static void checkLayout(
      List<TensorInfo> tensors, long dataBytes, int headerBytes, Path file)
      throws MalformedSafetensorsException {
    List<TensorInfo> sorted = new ArrayList<>(tensors);
    sorted.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
    long expected = 0;
    long dataStart = 8L + headerBytes;
    for (TensorInfo t : sorted) {
      if (t.begin() != expected) {
        throw new MalformedSafetensorsException(
            file,
            dataStart + Math.min(t.begin(), expected),
            "tensor '"
                + t.name()
                + "' starts at data offset "
                + t.begin()
                + " but the previous tensor ends at "
                + expected
                + (t.begin() < expected ? " (overlap)" : " (gap)"));
      }
      expected = t.end();
    }
    if (expected != dataBytes) {
      throw new MalformedSafetensorsException(
          file,
          dataStart + Math.min(expected, dataBytes),
          "tensors cover "
              + expected
              + " data bytes but the file holds "
              + dataBytes
              + (expected > dataBytes ? " (offsets past the end: truncated file?)" : ""));
    }
  }

  private static void checkUtf8(byte[] header, Path file) throws MalformedSafetensorsException {
    CharsetDecoder decoder =
        StandardCharsets.UTF_8
            .newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);
    ByteBuffer in = ByteBuffer.wrap(header);
    CharBuffer out = CharBuffer.allocate(header.length);
    var result = decoder.decode(in, out, true);
    if (result.isError()) {
      throw new MalformedSafetensorsException(
          file, 8L + in.position(), "header is not valid UTF-8");
    }
  }

  /** Reads the 8-byte length prefix and checks it against the file size. */
  static long headerLength(ByteBuffer prefix, long fileSize, Path file)
      throws MalformedSafetensorsException {
    if (fileSize < 8) {
      throw new MalformedSafetensorsException(
          file, 0, "file is " + fileSize + " bytes, shorter than the 8-byte header length");
    }
    long n = prefix.order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong(0);
    if (n < 2 || n > MAX_HEADER_BYTES) {
      throw new MalformedSafetensorsException(
          file,
          0,
          "header length " + Long.toUnsignedString(n) + " is outside 2.." + MAX_HEADER_BYTES);
    }
    if (8 + n > fileSize) {
      throw new MalformedSafetensorsException(
          file, 0, "header length " + n + " runs past the end of the " + fileSize + "-byte file");
    }
    return n;
  }
}

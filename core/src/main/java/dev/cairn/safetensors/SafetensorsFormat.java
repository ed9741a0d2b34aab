package dev.cairn.safetensors;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The safetensors header: an 8-byte little-endian length, then that many bytes of UTF-8 JSON
 * mapping tensor names to dtype, shape and data offsets, plus an optional {@code __metadata__} map
 * of strings. Every field is checked before any offset is trusted.
 *
 * <p>The rules are the reference implementation's (huggingface/safetensors), so this reader opens
 * exactly the files the reference opens, with one deliberate exception: a header that names a
 * tensor twice is refused (the reference keeps the last one, silently hiding the other). The only
 * size limit is the format's own: a header of at most {@link #MAX_HEADER_BYTES}; strings, names and
 * numbers inside it may be as long as the header allows, and JSON may nest {@link #MAX_NESTING}
 * deep, as in the reference's JSON parser. The writer encodes with the same rules and checks its
 * own header with this reader before writing a byte, so whatever it writes, this reader reads.
 */
public final class SafetensorsFormat {
  /** The reserved header key for string metadata. */
  public static final String METADATA_KEY = "__metadata__";

  /** Largest header accepted and written, as in the reference implementation (100 MB). */
  public static final long MAX_HEADER_BYTES = 100_000_000L;

  /** Deepest JSON nesting accepted, as serde_json's default recursion limit. */
  public static final int MAX_NESTING = 128;

  private static final BigInteger U64_MAX = BigInteger.ONE.shiftLeft(64).subtract(BigInteger.ONE);

  private static final JsonFactory JSON =
      JsonFactory.builder()
          .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
          .streamReadConstraints(
              StreamReadConstraints.builder()
                  .maxStringLength((int) MAX_HEADER_BYTES)
                  .maxNameLength((int) MAX_HEADER_BYTES)
                  .maxNumberLength((int) MAX_HEADER_BYTES)
                  .maxNestingDepth(MAX_NESTING)
                  .maxDocumentLength(MAX_HEADER_BYTES)
                  .build())
          .build();

  /** Tensor order on disk: larger elements first, then by name (UTF-8 byte order). */
  private static final Comparator<Tensor> LAYOUT =
      Comparator.comparing((Tensor t) -> t.dtype().ordinal(), Comparator.reverseOrder())
          .thenComparing(Tensor::name, SafetensorsFormat::compareUtf8);

  private SafetensorsFormat() {}

  /**
   * A parsed, validated header. Tensors are listed in data order.
   *
   * @param unknownDtypes tensors whose dtype this version does not know; always empty unless the
   *     header was read for inspection ({@link SafetensorsFile#openForInspection})
   */
  public record Header(
      long headerBytes,
      List<TensorInfo> tensors,
      Map<String, String> metadata,
      List<UnknownTensor> unknownDtypes) {
    public Header {
      tensors = List.copyOf(tensors);
      metadata = Map.copyOf(metadata);
      unknownDtypes = List.copyOf(unknownDtypes);
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

  /** A tensor entry whose dtype is not one of {@link DType}: listed by inspection, never read. */
  public record UnknownTensor(String name, String dtype, long[] shape, long begin, long end) {
    public UnknownTensor {
      shape = shape.clone();
    }

    @Override
    public long[] shape() {
      return shape.clone();
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof UnknownTensor u
          && name.equals(u.name)
          && dtype.equals(u.dtype)
          && Arrays.equals(shape, u.shape)
          && begin == u.begin
          && end == u.end;
    }

    @Override
    public int hashCode() {
      return name.hashCode();
    }

    @Override
    public String toString() {
      return name + " " + dtype + Arrays.toString(shape) + " [" + begin + ", " + end + ")";
    }
  }

  /** The tensors in the order a file stores them (see the class comment); a new list. */
  public static List<Tensor> layout(List<Tensor> tensors) {
    List<Tensor> ordered = new ArrayList<>(tensors);
    ordered.sort(LAYOUT);
    return ordered;
  }

  /**
   * Encodes the JSON header (without the length prefix) as the reference writer does: compact JSON,
   * {@code __metadata__} first (keys in UTF-8 byte order), tensors in {@link #layout} order, padded
   * with spaces so the data starts 8-byte aligned.
   *
   * @throws IllegalArgumentException for a name given twice, text that is not valid Unicode, or a
   *     header over {@link #MAX_HEADER_BYTES}
   */
  public static byte[] encodeHeader(List<Tensor> tensors, Map<String, String> metadata) {
    return encodeOrdered(layout(tensors), metadata);
  }

  static byte[] encodeOrdered(List<Tensor> ordered, Map<String, String> metadata) {
    Set<String> seen = new HashSet<>();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (JsonGenerator g = JSON.createGenerator(out, JsonEncoding.UTF8)) {
      g.writeStartObject();
      if (metadata != null && !metadata.isEmpty()) {
        Map<String, String> sorted = new TreeMap<>(SafetensorsFormat::compareUtf8);
        sorted.putAll(metadata);
        g.writeObjectFieldStart(METADATA_KEY);
        for (Map.Entry<String, String> e : sorted.entrySet()) {
          requireUnicode(e.getKey(), "metadata key");
          requireUnicode(e.getValue(), "metadata value of '" + e.getKey() + "'");
          g.writeStringField(e.getKey(), e.getValue());
        }
        g.writeEndObject();
      }
      long offset = 0;
      for (Tensor t : ordered) {
        if (!seen.add(t.name())) {
          throw new IllegalArgumentException("tensor name '" + t.name() + "' appears twice");
        }
        requireUnicode(t.name(), "tensor name");
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
        if (out.size() > MAX_HEADER_BYTES) {
          throw tooLarge(out.size());
        }
      }
      g.writeEndObject();
    } catch (IOException e) {
      throw new IllegalArgumentException("the safetensors header cannot be encoded: " + e, e);
    }
    int pad = (8 - out.size() % 8) % 8;
    for (int i = 0; i < pad; i++) {
      out.write(' ');
    }
    if (out.size() > MAX_HEADER_BYTES) {
      throw tooLarge(out.size());
    }
    return out.toByteArray();
  }

  private static IllegalArgumentException tooLarge(long bytes) {
    return new IllegalArgumentException(
        "the safetensors header would be over "
            + bytes
            + " bytes; the format allows "
            + MAX_HEADER_BYTES
            + " (readers refuse larger ones): keep large metadata in a JSON part instead");
  }

  private static void requireUnicode(String s, String what) {
    if (hasLoneSurrogate(s)) {
      throw new IllegalArgumentException(what + " '" + s + "' holds a lone UTF-16 surrogate");
    }
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
    return parseHeader(header, dataBytes, file, false);
  }

  /**
   * Parses and validates a header; with {@code allowUnknownDtypes}, tensors of a dtype this version
   * does not know are listed in {@link Header#unknownDtypes} instead of failing the whole file (for
   * inspection: such a file is still refused for reading).
   */
  public static Header parseHeader(
      byte[] header, long dataBytes, Path file, boolean allowUnknownDtypes)
      throws MalformedSafetensorsException {
    char[] text = decodeUtf8(header, file);
    if (text.length > 0 && text[0] == '\uFEFF') {
      throw new MalformedSafetensorsException(file, 8, "header starts with a byte-order mark");
    }
    List<TensorInfo> tensors = new ArrayList<>();
    List<UnknownTensor> unknown = new ArrayList<>();
    Map<String, String> metadata = new LinkedHashMap<>();
    // Parsed from characters, not bytes: Jackson would otherwise guess UTF-16 or UTF-32 from
    // NUL bytes and skip a byte-order mark, both of which the format does not allow.
    try (JsonParser p = JSON.createParser(text)) {
      expect(p, p.nextToken(), JsonToken.START_OBJECT, "the header object", file);
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        long at = offset(p);
        checkText(name, "a tensor name", at, file);
        if (METADATA_KEY.equals(name)) {
          readMetadata(p, metadata, file);
        } else {
          readTensor(p, name, at, file, allowUnknownDtypes, tensors, unknown);
        }
      }
      expect(p, p.currentToken(), JsonToken.END_OBJECT, "end of the header object", file);
      if (p.nextToken() != null) {
        throw new MalformedSafetensorsException(
            file, offset(p), "unexpected content after the header object");
      }
    } catch (MalformedSafetensorsException e) {
      throw e;
    } catch (JsonProcessingException e) {
      long at = 8 + Math.max(0, e.getLocation() == null ? 0 : e.getLocation().getCharOffset());
      throw new MalformedSafetensorsException(
          file, at, "header is not valid JSON (" + e.getOriginalMessage() + ")");
    } catch (IOException e) {
      throw new MalformedSafetensorsException(file, 8, "header is unreadable: " + e);
    }
    checkLayout(tensors, unknown, dataBytes, header.length, file);
    tensors.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
    return new Header(header.length, tensors, metadata, unknown);
  }

  private static long offset(JsonParser p) {
    return 8 + Math.max(0, p.currentTokenLocation().getCharOffset());
  }

  private static void expect(
      JsonParser p, JsonToken actual, JsonToken wanted, String what, Path file)
      throws MalformedSafetensorsException {
    if (actual != wanted) {
      throw new MalformedSafetensorsException(
          file, offset(p), "expected " + what + " but found " + actual);
    }
  }

  private static void checkText(String s, String what, long at, Path file)
      throws MalformedSafetensorsException {
    if (hasLoneSurrogate(s)) {
      throw new MalformedSafetensorsException(
          file, at, what + " holds a lone UTF-16 surrogate escape (not Unicode text)");
    }
  }

  private static void readMetadata(JsonParser p, Map<String, String> out, Path file)
      throws IOException {
    JsonToken t = p.nextToken();
    if (t == JsonToken.VALUE_NULL) {
      return; // the reference writes no metadata as an absent key, and reads null as absent
    }
    expect(p, t, JsonToken.START_OBJECT, "__metadata__ to be an object", file);
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String key = p.currentName();
      checkText(key, "a __metadata__ key", offset(p), file);
      if (p.nextToken() != JsonToken.VALUE_STRING) {
        throw new MalformedSafetensorsException(
            file, offset(p), "__metadata__ value of '" + key + "' is not a string");
      }
      String value = p.getText();
      checkText(value, "__metadata__ value of '" + key + "'", offset(p), file);
      out.put(key, value);
    }
  }

  private static void readTensor(
      JsonParser p,
      String name,
      long at,
      Path file,
      boolean allowUnknownDtypes,
      List<TensorInfo> tensors,
      List<UnknownTensor> unknown)
      throws IOException {
    String where = "tensor '" + name + "'";
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
          shape = readUnsigned(p, where + " shape", file);
          break;
        case "data_offsets":
          offsets = readUnsigned(p, where + " data_offsets", file);
          break;
        default:
          p.skipChildren(); // the reference ignores fields it does not know
      }
    }
    if (dtypeName == null || shape == null || offsets == null) {
      throw new MalformedSafetensorsException(
          file, at, where + " needs dtype, shape and data_offsets");
    }
    if (offsets.length != 2) {
      throw new MalformedSafetensorsException(
          file, at, where + " data_offsets must be [begin, end]");
    }
    if (offsets[0] < 0 || offsets[1] < 0) {
      throw new MalformedSafetensorsException(
          file, at, where + " data_offsets run past the end of any file");
    }
    if (offsets[1] < offsets[0]) {
      throw new MalformedSafetensorsException(
          file, at, where + " data_offsets must be [begin, end] with begin <= end");
    }
    DType dtype = DType.fromHeaderName(dtypeName);
    if (dtype == null) {
      if (allowUnknownDtypes) {
        unknown.add(new UnknownTensor(name, dtypeName, shape, offsets[0], offsets[1]));
        return;
      }
      throw new MalformedSafetensorsException(
          file,
          at,
          where
              + " has unknown dtype '"
              + dtypeName
              + "' (this version of Cairn knows "
              + Arrays.toString(DType.values())
              + ")");
    }
    long expected;
    try {
      expected = dtype.bytesFor(TensorInfo.elementCount(shape));
    } catch (ArithmeticException e) {
      throw new MalformedSafetensorsException(file, at, where + " shape overflows");
    } catch (IllegalArgumentException e) {
      throw new MalformedSafetensorsException(
          file, at, where + " " + dtype + Arrays.toString(shape) + " does not fill whole bytes");
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
              + Arrays.toString(shape)
              + " needs "
              + expected);
    }
    tensors.add(new TensorInfo(name, dtype, shape, offsets[0], offsets[1]));
  }

  /** Non-negative integers up to 2^64 - 1 (the reference's usize), as unsigned longs. */
  private static long[] readUnsigned(JsonParser p, String what, Path file) throws IOException {
    if (p.currentToken() != JsonToken.START_ARRAY) {
      throw new MalformedSafetensorsException(file, offset(p), what + " is not an array");
    }
    List<Long> values = new ArrayList<>();
    while (p.nextToken() != JsonToken.END_ARRAY) {
      if (p.currentToken() != JsonToken.VALUE_NUMBER_INT) {
        throw new MalformedSafetensorsException(
            file, offset(p), what + " must hold non-negative integers");
      }
      BigInteger v = p.getBigIntegerValue();
      if (v.signum() < 0 || v.compareTo(U64_MAX) > 0) {
        throw new MalformedSafetensorsException(
            file, offset(p), what + " must hold non-negative integers up to 2^64-1");
      }
      values.add(v.longValue());
    }
    long[] out = new long[values.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = values.get(i);
    }
    return out;
  }

  private record Span(String name, long begin, long end) {}

  private static void checkLayout(
      List<TensorInfo> tensors,
      List<UnknownTensor> unknown,
      long dataBytes,
      int headerBytes,
      Path file)
      throws MalformedSafetensorsException {
    List<Span> sorted = new ArrayList<>();
    tensors.forEach(t -> sorted.add(new Span(t.name(), t.begin(), t.end())));
    unknown.forEach(t -> sorted.add(new Span(t.name(), t.begin(), t.end())));
    sorted.sort(Comparator.comparingLong(Span::begin).thenComparingLong(Span::end));
    long expected = 0;
    long dataStart = 8L + headerBytes;
    for (Span t : sorted) {
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

  private static char[] decodeUtf8(byte[] header, Path file) throws MalformedSafetensorsException {
    ByteBuffer in = ByteBuffer.wrap(header);
    try {
      CharBuffer chars =
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(in);
      char[] out = new char[chars.remaining()];
      chars.get(out);
      return out;
    } catch (CharacterCodingException e) {
      throw new MalformedSafetensorsException(
          file, 8L + in.position(), "header is not valid UTF-8");
    }
  }

  static boolean hasLoneSurrogate(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (Character.isHighSurrogate(c)) {
        if (i + 1 >= s.length() || !Character.isLowSurrogate(s.charAt(i + 1))) {
          return true;
        }
        i++;
      } else if (Character.isLowSurrogate(c)) {
        return true;
      }
    }
    return false;
  }

  /** Compares as the UTF-8 bytes would (code point order), unlike String.compareTo. */
  static int compareUtf8(String a, String b) {
    int i = 0;
    int j = 0;
    while (i < a.length() && j < b.length()) {
      int ca = a.codePointAt(i);
      int cb = b.codePointAt(j);
      if (ca != cb) {
        return Integer.compare(ca, cb);
      }
      i += Character.charCount(ca);
      j += Character.charCount(cb);
    }
    return Integer.compare(a.length() - i, b.length() - j);
  }

  /** Reads the 8-byte length prefix and checks it against the file size. */
  static long headerLength(ByteBuffer prefix, long fileSize, Path file)
      throws MalformedSafetensorsException {
    if (fileSize < 8) {
      throw new MalformedSafetensorsException(
          file, 0, "file is " + fileSize + " bytes, shorter than the 8-byte header length");
    }
    long n = prefix.order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong(0);
    if (n < 0 || n > MAX_HEADER_BYTES) {
      throw new MalformedSafetensorsException(
          file,
          0,
          "header length "
              + Long.toUnsignedString(n)
              + " is outside 0.."
              + MAX_HEADER_BYTES
              + " (the format's limit)");
    }
    if (8 + n > fileSize) {
      throw new MalformedSafetensorsException(
          file, 0, "header length " + n + " runs past the end of the " + fileSize + "-byte file");
    }
    return n;
  }
}

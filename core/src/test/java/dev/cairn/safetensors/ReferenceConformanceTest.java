package dev.cairn.safetensors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The codec against the reference implementation (huggingface/safetensors): the byte-exact vectors
 * of its Rust tests ({@code safetensors/src/tensor.rs}), each accepted or refused as the reference
 * does, the same bytes written for the same tensors, and edge cases of the format that its parser
 * settles (leading whitespace, null metadata, empty names, unsigned dimensions, the newer dtypes).
 * One deliberate difference: a name given twice is refused.
 */
class ReferenceConformanceTest {
  @TempDir Path dir;
  private int files;

  /** A file of the given length prefix and content after it. */
  private Path file(long headerLength, byte[] rest) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(8 + rest.length).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(headerLength).put(rest);
    Path f = dir.resolve("f" + (files++) + ".safetensors");
    Files.write(f, b.array());
    return f;
  }

  /** A file whose header is exactly {@code json} (its length in the prefix), then data. */
  private Path file(String json, int dataBytes) throws IOException {
    byte[] h = json.getBytes(StandardCharsets.UTF_8);
    byte[] rest = new byte[h.length + dataBytes];
    System.arraycopy(h, 0, rest, 0, h.length);
    return file(h.length, rest);
  }

  private static void accepted(Path f) throws IOException {
    SafetensorsFile.open(f).close();
  }

  private static void refused(Path f, String fragment) {
    assertThatThrownBy(() -> SafetensorsFile.open(f).close())
        .isInstanceOf(MalformedSafetensorsException.class)
        .hasMessageContaining(fragment);
  }

  private static byte[] write(List<Tensor> tensors, Map<String, String> metadata)
      throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    SafetensorsWriter.write(Channels.newChannel(out), tensors, metadata);
    return out.toByteArray();
  }

  private static byte[] floats(float... v) {
    ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    for (float f : v) {
      b.putFloat(f);
    }
    return b.array();
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] out = new byte[a.length + b.length];
    System.arraycopy(a, 0, out, 0, a.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  private static byte[] expected(long headerLength, String header, byte[] data) {
    ByteBuffer prefix = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
    prefix.putLong(headerLength);
    return concat(concat(prefix.array(), header.getBytes(StandardCharsets.UTF_8)), data);
  }

  // ---- the reference writer's vectors: the same bytes ----

  @Test
  void writesTheReferenceBytesForItsSerializationVectors() throws IOException {
    byte[] six = floats(0, 1, 2, 3, 4, 5);
    // test_serialization
    assertThat(
            write(
                List.of(new Tensor("attn.0", DType.F32, new long[] {1, 2, 3}, TensorData.of(six))),
                Map.of()))
        .isEqualTo(
            expected(
                64,
                "{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}",
                six));
    // test_serialization_forced_alignement: 7 spaces so the data starts 8-byte aligned
    assertThat(
            write(
                List.of(
                    new Tensor("attn0", DType.F32, new long[] {1, 1, 2, 3}, TensorData.of(six))),
                Map.of()))
        .isEqualTo(
            expected(
                72,
                "{\"attn0\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],\"data_offsets\":[0,24]}}       ",
                six));
    // test_serialization_fp4: two 4-bit elements in one byte
    assertThat(
            write(
                List.of(
                    new Tensor(
                        "attn.0", DType.F4, new long[] {1, 2}, TensorData.of(new byte[] {0}))),
                Map.of()))
        .isEqualTo(
            expected(
                64,
                "{\"attn.0\":{\"dtype\":\"F4\",\"shape\":[1,2],\"data_offsets\":[0,1]}}    ",
                new byte[] {0}));
    // test_empty, without and with metadata
    assertThat(write(List.of(), Map.of())).isEqualTo(expected(8, "{}      ", new byte[0]));
    assertThat(write(List.of(), Map.of("framework", "pt")))
        .isEqualTo(expected(40, "{\"__metadata__\":{\"framework\":\"pt\"}}     ", new byte[0]));
  }

  @Test
  void refusesToWriteWhatTheReferenceRefusesToWrite() {
    // test_serialization_fp4_misaligned: 3 four-bit elements are not whole bytes
    assertThatThrownBy(
            () -> new Tensor("a", DType.F4, new long[] {1, 3}, TensorData.of(new byte[2])))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("whole bytes");
    // test_serialization_fp4_invalid: 2 bytes for 2 four-bit elements
    assertThatThrownBy(
            () -> new Tensor("a", DType.F4, new long[] {1, 2}, TensorData.of(new byte[2])))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("needs 1");
    // test_invalid_header_size_serialization: a header over 100 MB
    assertThatThrownBy(
            () -> write(List.of(), Map.of("very_large_metadata", "a".repeat(100_000_000))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("100000000");
  }

  @Test
  void laysTensorsOutLargestElementsFirstThenByNameSoEveryOneIsAligned() throws IOException {
    List<Tensor> mixed =
        List.of(
            new Tensor("b", DType.U8, new long[] {3}, TensorData.of(new byte[] {1, 2, 3})),
            Tensor.of("z", new float[] {1, 2}, 2),
            Tensor.of("a", new double[] {1}, 1),
            new Tensor("h", DType.F16, new long[] {1}, TensorData.of(new byte[] {9, 9})),
            Tensor.of("y", new float[] {3}, 1),
            Tensor.of("c", new long[] {7}, 1));
    Path f = dir.resolve("mixed.safetensors");
    Files.write(f, write(mixed, Map.of()));
    try (SafetensorsFile sf = SafetensorsFile.open(f)) {
      List<String> order = new ArrayList<>();
      for (TensorInfo t : sf.tensors()) {
        order.add(t.name());
        assertThat((sf.header().dataStart() + t.begin()) % (t.dtype().bitSize() / 8))
            .as(t.name() + " is aligned to its element size")
            .isZero();
      }
      // I64 before F64 (the reference's dtype order: larger alignment, then declaration order).
      assertThat(order).containsExactly("c", "a", "y", "z", "h", "b");
      assertThat(sf.longs("c")).containsExactly(7);
      assertThat(sf.floats("z")).containsExactly(1, 2);
    }
  }

  // ---- the reference reader's vectors: accepted or refused as it does ----

  @Test
  void readsTheFilesTheReferenceReads() throws IOException {
    // test_deserialization
    Path f = file("{\"test\":{\"dtype\":\"I32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}", 16);
    try (SafetensorsFile sf = SafetensorsFile.open(f)) {
      assertThat(sf.info("test").shape()).containsExactly(2, 2);
      assertThat(sf.bytes("test")).hasSize(16).containsOnly(0);
    }
    // test_empty_shapes_allowed: a scalar
    try (SafetensorsFile sf =
        SafetensorsFile.open(
            file("{\"test\":{\"dtype\":\"I32\",\"shape\":[],\"data_offsets\":[0,4]}}", 4))) {
      assertThat(sf.info("test").shape()).isEmpty();
    }
    // test_zero_sized_tensor (note the space in the offsets)
    try (SafetensorsFile sf =
        SafetensorsFile.open(
            file("{\"test\":{\"dtype\":\"I32\",\"shape\":[2,0],\"data_offsets\":[0, 0]}}", 0))) {
      assertThat(sf.bytes("test")).isEmpty();
    }
    // test_whitespace_padded_header and test_whitespace_leading_padded_header
    accepted(file(6, "{}\r \t\n".getBytes(StandardCharsets.US_ASCII)));
    accepted(file(6, "\t\n{}\r ".getBytes(StandardCharsets.US_ASCII)));
  }

  @Test
  void refusesTheFilesTheReferenceRefuses() throws IOException {
    String i32 = "{\"test\":{\"dtype\":\"I32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}";
    // test_metadata_incomplete_buffer: trailing bytes, and two bytes missing
    byte[] h = i32.getBytes(StandardCharsets.UTF_8);
    refused(
        file(
            h.length,
            concat(
                h,
                concat(
                    new byte[16],
                    "extra_bogus_data_for_polyglot_file".getBytes(StandardCharsets.US_ASCII)))),
        "file holds");
    refused(file(h.length, concat(h, new byte[14])), "truncated");
    // test_header_too_large: the length prefix 0xffffff000000003c
    ByteBuffer huge = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
    huge.put(new byte[] {'<', 0, 0, 0, 0, (byte) 0xff, (byte) 0xff, (byte) 0xff});
    refused(file(huge.getLong(0), concat(h, new byte[16])), "outside");
    // test_header_too_small: an empty file
    Path empty = dir.resolve("empty.safetensors");
    Files.write(empty, new byte[0]);
    refused(empty, "shorter than the 8-byte header length");
    // test_invalid_header_length: a header length past the end of the file
    refused(file(60, new byte[0]), "runs past the end");
    // test_invalid_header_non_utf8 and test_invalid_header_not_json
    refused(file(1, new byte[] {(byte) 0xff}), "not valid UTF-8");
    refused(file(1, new byte[] {'{'}), "not valid JSON");
    // test_invalid_info: the offsets hold 4 bytes for 16
    refused(
        file("{\"test\":{\"dtype\":\"I32\",\"shape\":[2,2],\"data_offsets\":[0, 4]}}", 0),
        "needs 16");
    // test_validation_overflow: the shape overflows 64 bits, or its bit count does
    refused(
        file(
            "{\"test\":{\"dtype\":\"I32\",\"shape\":[2,18446744073709551614],\"data_offsets\":[0,16]}}",
            16),
        "overflows");
    refused(
        file(
            "{\"test\":{\"dtype\":\"I32\",\"shape\":[2,9223372036854775807],\"data_offsets\":[0,16]}}",
            16),
        "overflows");
    // test_json_attack: ten tensors claiming the same bytes
    StringBuilder attack = new StringBuilder("{");
    for (int i = 0; i < 10; i++) {
      attack
          .append(i == 0 ? "" : ",")
          .append("\"weight_")
          .append(i)
          .append("\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}");
    }
    refused(file(attack.append("}").toString(), 16), "overlap");
  }

  // ---- what the reference's parser settles beyond its own tests ----

  @Test
  void acceptsWhatTheReferenceParserAccepts() throws IOException {
    // "__metadata__": null is no metadata
    try (SafetensorsFile sf =
        SafetensorsFile.open(
            file(
                "{\"__metadata__\":null,\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}",
                1))) {
      assertThat(sf.metadata()).isEmpty();
    }
    // an empty tensor name, and fields the reference ignores
    try (SafetensorsFile sf =
        SafetensorsFile.open(
            file(
                "{\"\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1],\"note\":{\"x\":[1,2]}}}",
                1))) {
      assertThat(sf.info("").byteSize()).isEqualTo(1);
    }
    // dimensions are unsigned 64-bit: 2^64 - 1 beside a zero dimension holds nothing
    try (SafetensorsFile sf =
        SafetensorsFile.open(
            file(
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[18446744073709551615,0],\"data_offsets\":[0,0]}}",
                0))) {
      assertThat(Long.toUnsignedString(sf.info("a").shape()[0])).isEqualTo("18446744073709551615");
    }
    // strings, names and numbers past Jackson's default limits (20 M, 50,000, 1,000)
    String longName = "n".repeat(50_001);
    String longValue = "v".repeat(20_000_001);
    try (SafetensorsFile sf =
        SafetensorsFile.open(
            file(
                "{\"__metadata__\":{\"k\":\""
                    + longValue
                    + "\"},\""
                    + longName
                    + "\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}",
                1))) {
      assertThat(sf.info(longName).byteSize()).isEqualTo(1);
      assertThat(sf.metadata().get("k")).hasSize(20_000_001);
    }
    // nesting up to the reference parser's depth, in a field it ignores
    String deep = "[".repeat(100) + "]".repeat(100);
    accepted(
        file(
            "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1],\"x\":" + deep + "}}",
            1));
  }

  @Test
  void refusesWhatTheReferenceParserRefusesAndDuplicateNames() throws IOException {
    String ok = "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}";
    // a byte-order mark, NUL padding (not JSON whitespace), a lone surrogate escape
    byte[] bom =
        concat(
            new byte[] {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF},
            ok.getBytes(StandardCharsets.UTF_8));
    refused(file(bom.length, concat(bom, new byte[1])), "byte-order mark");
    byte[] nul = concat(ok.getBytes(StandardCharsets.UTF_8), new byte[] {0, 0});
    refused(file(nul.length, concat(nul, new byte[1])), "not valid JSON");
    refused(
        file("{\"\\ud800\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1),
        "surrogate");
    // a partial product over 2^64 - 1, even beside a zero dimension
    refused(
        file(
            "{\"a\":{\"dtype\":\"U8\",\"shape\":[18446744073709551615,2,0],\"data_offsets\":[0,0]}}",
            0),
        "overflows");
    // nesting past the reference parser's depth
    String deeper = "[".repeat(200) + "]".repeat(200);
    refused(
        file(
            "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1],\"x\":" + deeper + "}}",
            1),
        "not valid JSON");
    // metadata values must be strings; F6 tensors must fill whole bytes
    refused(file("{\"__metadata__\":{\"k\":null}}", 0), "is not a string");
    refused(
        file("{\"a\":{\"dtype\":\"F6_E2M3\",\"shape\":[3],\"data_offsets\":[0,2]}}", 2),
        "whole bytes");
    // Cairn's one difference: a tensor named twice hides one of them in the reference; refused
    refused(
        file(
            "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}",
            2),
        "Duplicate field 'a'");
  }

  @Test
  void readsTheNewerDtypesWithSizesInBits() throws IOException {
    String header =
        "{\"c\":{\"dtype\":\"C64\",\"shape\":[2],\"data_offsets\":[0,16]},"
            + "\"s\":{\"dtype\":\"F8_E8M0\",\"shape\":[2],\"data_offsets\":[16,18]},"
            + "\"fa\":{\"dtype\":\"F8_E4M3FNUZ\",\"shape\":[1],\"data_offsets\":[18,19]},"
            + "\"fb\":{\"dtype\":\"F8_E5M2FNUZ\",\"shape\":[1],\"data_offsets\":[19,20]},"
            + "\"q\":{\"dtype\":\"F4\",\"shape\":[2,2],\"data_offsets\":[20,22]},"
            + "\"e\":{\"dtype\":\"F6_E2M3\",\"shape\":[4],\"data_offsets\":[22,25]},"
            + "\"m\":{\"dtype\":\"F6_E3M2\",\"shape\":[4],\"data_offsets\":[25,28]}}";
    try (SafetensorsFile sf = SafetensorsFile.open(file(header, 28))) {
      assertThat(sf.info("c").dtype()).isEqualTo(DType.C64);
      assertThat(sf.info("q").byteSize()).isEqualTo(2);
      assertThat(sf.info("e").byteSize()).isEqualTo(3);
      assertThat(sf.info("m").dtype()).isEqualTo(DType.F6_E3M2);
    }
  }

  @Test
  void anUnknownDtypeIsNamedAndInspectionStillListsTheOtherTensors() throws IOException {
    Path f =
        file(
            "{\"good\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"odd\":{\"dtype\":\"F3_E1M1\",\"shape\":[8],\"data_offsets\":[4,7]}}",
            7);
    refused(f, "unknown dtype 'F3_E1M1'");
    try (SafetensorsFile sf = SafetensorsFile.openForInspection(f)) {
      assertThat(sf.tensors()).extracting(TensorInfo::name).containsExactly("good");
      assertThat(sf.header().unknownDtypes())
          .singleElement()
          .satisfies(u -> assertThat(u.dtype()).isEqualTo("F3_E1M1"));
      assertThat(sf.floats("good")).containsExactly(0);
    }
  }
}

package dev.cairn.safetensors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsCodecTest {
  @TempDir Path dir;

  static Path write(Path file, List<Tensor> tensors, Map<String, String> meta) throws IOException {
    try (FileChannel ch =
        FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      long n = SafetensorsWriter.write(ch, tensors, meta);
      assertThat(n).isEqualTo(ch.size()).isEqualTo(SafetensorsWriter.fileSize(tensors, meta));
    }
    return file;
  }

  @Test
  void everyDtypeRoundTripsByteForByte() throws IOException {
    Random r = new Random(7);
    List<Tensor> tensors = new ArrayList<>();
    List<byte[]> payloads = new ArrayList<>();
    for (DType d : DType.values()) {
      // 3 x 8 elements fill whole bytes for every dtype, the 4- and 6-bit ones included.
      byte[] bytes = new byte[(int) d.bytesFor(3 * 8)];
      r.nextBytes(bytes);
      payloads.add(bytes);
      tensors.add(new Tensor("t_" + d, d, new long[] {3, 8}, TensorData.of(bytes)));
    }
    tensors.add(new Tensor("scalar", DType.F64, new long[] {}, TensorData.of(new double[] {2.5})));
    tensors.add(new Tensor("empty", DType.F32, new long[] {0, 4}, TensorData.of(new float[0])));
    Path f = write(dir.resolve("all.safetensors"), tensors, Map.of("framework", "cairn"));

    try (SafetensorsFile sf = SafetensorsFile.open(f)) {
      assertThat(sf.metadata()).containsEntry("framework", "cairn");
      assertThat(sf.tensors()).hasSize(DType.values().length + 2);
      for (int i = 0; i < DType.values().length; i++) {
        DType d = DType.values()[i];
        TensorInfo info = sf.info("t_" + d);
        assertThat(info.dtype()).isEqualTo(d);
        assertThat(info.shape()).containsExactly(3, 8);
        assertThat(sf.bytes("t_" + d)).isEqualTo(payloads.get(i));
      }
      assertThat(sf.doubles("scalar")).containsExactly(2.5);
      assertThat(sf.info("scalar").shape()).isEmpty();
      assertThat(sf.info("empty").byteSize()).isZero();
      assertThat(sf.buffer("t_F32").isDirect()).as("memory-mapped, not copied").isTrue();
      assertThat(sf.header().dataStart() % 8).as("data is 8-byte aligned").isZero();
    }
  }

  @Test
  void primitiveArraysAreEncodedLittleEndian() throws IOException {
    float[] floats = {1.5f, -2f, Float.NaN, 3.25e10f};
    long[] longs = {Long.MIN_VALUE, 0, 42};
    int[] ints = {-1, 7};
    short[] shorts = {-3, 300};
    boolean[] bools = {true, false, true};
    // Bigger than the writer's scratch buffer, so it is encoded in several chunks.
    double[] doubles = new double[300_000];
    for (int i = 0; i < doubles.length; i++) {
      doubles[i] = i * 0.5;
    }
    Path f =
        write(
            dir.resolve("arr.safetensors"),
            List.of(
                Tensor.of("f", floats, 2, 2),
                Tensor.of("l", longs, 3),
                Tensor.of("i", ints, 2),
                new Tensor("s", DType.I16, new long[] {2}, TensorData.of(shorts)),
                new Tensor("b", DType.BOOL, new long[] {3}, TensorData.of(bools)),
                Tensor.of("d", doubles, 300_000)),
            Map.of());
    try (SafetensorsFile sf = SafetensorsFile.open(f)) {
      assertThat(sf.floats("f")).containsExactly(floats);
      assertThat(sf.longs("l")).containsExactly(longs);
      assertThat(sf.doubles("d")).containsExactly(doubles);
      ByteBuffer i = sf.buffer("i");
      assertThat(i.order()).isEqualTo(ByteOrder.LITTLE_ENDIAN);
      assertThat(i.getInt(0)).isEqualTo(-1);
      assertThat(i.getInt(4)).isEqualTo(7);
      assertThat(sf.buffer("s").getShort(2)).isEqualTo((short) 300);
      assertThat(sf.bytes("b")).containsExactly(1, 0, 1);
      byte[] raw = Files.readAllBytes(f);
      // The first float (1.5f = 0x3FC00000) is stored little-endian.
      int at = (int) sf.header().dataStart() + (int) sf.info("f").begin();
      assertThat(new byte[] {raw[at], raw[at + 1], raw[at + 2], raw[at + 3]})
          .containsExactly(0x00, 0x00, 0xC0, 0x3F);
    }
  }

  @Test
  void directBuffersAreWrittenFromTheirPositionWithoutBeingConsumed() throws IOException {
    ByteBuffer direct = ByteBuffer.allocateDirect(64).order(ByteOrder.LITTLE_ENDIAN);
    for (int k = 0; k < 16; k++) {
      direct.putFloat(k);
    }
    direct.flip().position(8);
    Path f =
        write(
            dir.resolve("d.safetensors"),
            List.of(new Tensor("x", DType.F32, new long[] {14}, TensorData.of(direct))),
            Map.of());
    assertThat(direct.position()).isEqualTo(8);
    try (SafetensorsFile sf = SafetensorsFile.open(f)) {
      assertThat(sf.floats("x")[0]).isEqualTo(2f);
      assertThat(sf.floats("x")[13]).isEqualTo(15f);
    }
  }

  @Test
  void pythonStyleHeadersParse() throws IOException {
    // Key order, metadata position and tensor order as other writers produce them.
    String json =
        "{\"b\":{\"data_offsets\":[8,16],\"shape\":[2],\"dtype\":\"F32\"},"
            + "\"a\" : {\"shape\": [1, 2], \"dtype\": \"F32\", \"data_offsets\": [0, 8]},"
            + "\"__metadata__\":{\"format\":\"pt\"}}   ";
    byte[] data = new byte[16];
    ByteBuffer.wrap(data)
        .order(ByteOrder.LITTLE_ENDIAN)
        .putFloat(1)
        .putFloat(2)
        .putFloat(3)
        .putFloat(4);
    Path f = raw(json, data);
    try (SafetensorsFile sf = SafetensorsFile.open(f)) {
      assertThat(sf.tensors()).extracting(TensorInfo::name).containsExactly("a", "b");
      assertThat(sf.floats("b")).containsExactly(3f, 4f);
      assertThat(sf.metadata()).containsEntry("format", "pt");
    }
  }

  private Path raw(String json, byte[] data) throws IOException {
    return raw(json.getBytes(StandardCharsets.UTF_8), data);
  }

  private int files;

  private Path raw(byte[] header, byte[] data) throws IOException {
    ByteBuffer b =
        ByteBuffer.allocate(8 + header.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(header.length).put(header).put(data);
    Path f = dir.resolve("raw" + (files++) + ".safetensors");
    Files.write(f, b.array());
    return f;
  }

  private void assertMalformed(Path f, String fragment) {
    assertThatThrownBy(() -> SafetensorsFile.open(f).close())
        .isInstanceOf(MalformedSafetensorsException.class)
        .hasMessageContaining(f.toString())
        .hasMessageContaining("at byte")
        .hasMessageContaining(fragment);
  }

  @Test
  void malformedFilesAreRejectedWithFileOffsetAndReason() throws IOException {
    String ok = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    Path tiny = dir.resolve("tiny");
    Files.write(tiny, new byte[] {1, 2, 3});
    assertMalformed(tiny, "shorter than the 8-byte header length");

    Path huge = dir.resolve("huge");
    Files.write(
        huge,
        ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(Long.MAX_VALUE).array());
    assertMalformed(huge, "outside");

    Path pastEnd = dir.resolve("pastEnd");
    Files.write(
        pastEnd, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(4096).array());
    assertMalformed(pastEnd, "runs past the end");

    assertMalformed(raw("{\"a\": nope}", new byte[0]), "not valid JSON");
    assertMalformed(raw("[1,2]", new byte[0]), "expected the header object");
    assertMalformed(raw(ok.replace("F32", "F12"), new byte[8]), "unknown dtype 'F12'");
    assertMalformed(raw(ok, new byte[4]), "offsets past the end");
    assertMalformed(raw(ok, new byte[12]), "tensors cover 8 data bytes but the file holds 12");
    assertMalformed(raw(ok.replace("[2]", "[3]"), new byte[8]), "needs 12");
    assertMalformed(raw(ok.replace("[2]", "[-2]"), new byte[8]), "non-negative");
    assertMalformed(raw(ok.replace("[0,8]", "[8,0]"), new byte[8]), "begin <= end");
    assertMalformed(raw(ok.replace("[0,8]", "[0,8,9]"), new byte[8]), "[begin, end]");
    assertMalformed(
        raw(
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
            new byte[12]),
        "(overlap)");
    assertMalformed(
        raw(
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
            new byte[12]),
        "(gap)");
    assertMalformed(raw(ok.replace("}}", "},\"a\":{}}"), new byte[8]), "not valid JSON");
    assertMalformed(
        raw("{\"__metadata__\":{\"k\":1}," + ok.substring(1), new byte[8]), "is not a string");
    assertMalformed(raw("{\"a\":{\"dtype\":\"F32\"}}", new byte[0]), "needs dtype, shape");
    assertMalformed(
        raw(ok.replace("[2]", "[99999999999,99999999999,99999999999]"), new byte[8]),
        "shape overflows");

    byte[] badUtf8 = ok.getBytes(StandardCharsets.UTF_8);
    badUtf8[2] = (byte) 0xFF;
    assertMalformed(raw(badUtf8, new byte[8]), "not valid UTF-8");
  }

  @Test
  void malformedFileOffsetsPointAtTheProblem() throws IOException {
    String json =
        "{\"good\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
            + "\"bad\":{\"dtype\":\"Q7\",\"shape\":[1],\"data_offsets\":[1,2]}}";
    Path f = raw(json, new byte[2]);
    MalformedSafetensorsException e =
        (MalformedSafetensorsException)
            org.assertj.core.api.Assertions.catchThrowable(() -> SafetensorsFile.open(f));
    long expected = 8 + json.indexOf("\"bad\"");
    assertThat(e.offset()).isEqualTo(expected);
  }

  @Test
  void tensorsWhoseBytesDisagreeWithTheirShapeAreRefusedBeforeWriting() {
    assertThatThrownBy(() -> Tensor.of("w", new float[3], 2, 2))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'w' has 12 bytes but F32[2, 2] needs 16");
    assertThatThrownBy(() -> Tensor.of("__metadata__", new float[1], 1))
        .hasMessageContaining("reserved");
    assertThatThrownBy(
            () ->
                SafetensorsFormat.encodeHeader(
                    List.of(Tensor.of("x", new float[1], 1), Tensor.of("x", new float[1], 1)),
                    Map.of()))
        .hasMessageContaining("appears twice");
  }

  /** Streams a repeating pattern without holding it in memory. */
  private static TensorData pattern(long bytes) {
    return new TensorData() {
      @Override
      public long byteSize() {
        return bytes;
      }

      @Override
      public void writeTo(ByteBuffer scratch, ChunkSink sink) throws IOException {
        byte[] cycle = new byte[scratch.capacity() + 251];
        for (int i = 0; i < cycle.length; i++) {
          cycle[i] = (byte) (i % 251);
        }
        for (long off = 0; off < bytes; ) {
          int n = (int) Math.min(scratch.capacity(), bytes - off);
          scratch.clear();
          scratch.put(cycle, (int) (off % 251), n);
          scratch.flip();
          sink.accept(scratch);
          off += n;
        }
      }
    };
  }

  @Test
  void filesOverTwoGibibytesWriteAndReadBack() throws IOException {
    long big = (1L << 31) + 4096 + 13;
    Path f =
        write(
            dir.resolve("big.safetensors"),
            List.of(
                new Tensor("big", DType.U8, new long[] {big}, pattern(big)),
                // U8 and named after "big", so the layout puts it past the 2 GiB mark.
                new Tensor("tail", DType.U8, new long[] {3}, TensorData.of(new byte[] {7, 8, 9}))),
            Map.of());
    assertThat(Files.size(f)).isGreaterThan(1L << 31);
    try (SafetensorsFile sf = SafetensorsFile.open(f)) {
      assertThat(sf.info("tail").begin()).isGreaterThan(Integer.MAX_VALUE);
      assertThat(sf.bytes("tail")).containsExactly(7, 8, 9);
      assertThatThrownBy(() -> sf.buffer("big")).hasMessageContaining("slices()");
      List<ByteBuffer> slices = sf.slices("big", 1 << 30);
      assertThat(slices).hasSize(3);
      long off = 0;
      for (ByteBuffer s : slices) {
        for (int i : new int[] {0, 1, s.limit() / 2, s.limit() - 1}) {
          assertThat(s.get(i)).isEqualTo((byte) ((off + i) % 251));
        }
        off += s.limit();
      }
      assertThat(off).isEqualTo(big);
    }
  }
}

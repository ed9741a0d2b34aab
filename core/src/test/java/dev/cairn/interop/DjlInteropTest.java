package dev.cairn.interop;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.cairn.safetensors.DType;
import dev.cairn.safetensors.SafetensorsFile;
import dev.cairn.safetensors.SafetensorsWriter;
import dev.cairn.safetensors.Tensor;
import dev.cairn.safetensors.TensorData;
import dev.cairn.safetensors.TensorInfo;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * DJL (PyTorch engine, offline) is an independent safetensors implementation: it must read what
 * Cairn writes, and Cairn must read what it writes, tensor for tensor and byte for byte.
 */
class DjlInteropTest {
  @TempDir Path dir;

  private static final Map<DType, DataType> TYPES =
      Map.of(
          DType.F32, DataType.FLOAT32,
          DType.F64, DataType.FLOAT64,
          DType.F16, DataType.FLOAT16,
          DType.I64, DataType.INT64,
          DType.I32, DataType.INT32,
          DType.I8, DataType.INT8,
          DType.U8, DataType.UINT8,
          DType.BOOL, DataType.BOOLEAN);

  private static byte[] randomBytes(DType d, int count, Random r) {
    byte[] b = new byte[(int) d.bytesFor(count)];
    r.nextBytes(b);
    if (d == DType.BOOL) {
      for (int i = 0; i < b.length; i++) {
        b[i] = (byte) (b[i] & 1);
      }
    }
    if (d == DType.F16) {
      // Keep halves finite so no engine canonicalizes a NaN payload.
      for (int i = 1; i < b.length; i += 2) {
        b[i] = (byte) (b[i] & 0x3B);
      }
    }
    return b;
  }

  @Test
  void djlReadsWhatCairnWrites() throws IOException {
    Random r = new Random(11);
    List<Tensor> tensors = new ArrayList<>();
    Map<String, byte[]> expected = new java.util.HashMap<>();
    for (DType d : TYPES.keySet()) {
      byte[] bytes = randomBytes(d, 24, r);
      String name = "layer." + d.name().toLowerCase(java.util.Locale.ROOT);
      expected.put(name, bytes);
      tensors.add(new Tensor(name, d, new long[] {2, 3, 4}, TensorData.of(bytes)));
    }
    Path file = dir.resolve("cairn.safetensors");
    try (FileChannel ch =
        FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      SafetensorsWriter.write(ch, tensors, Map.of("writer", "cairn"));
    }
    try (NDManager manager = NDManager.newBaseManager("PyTorch");
        InputStream in = Files.newInputStream(file)) {
      NDList list = NDList.decode(manager, in);
      assertThat(list).hasSize(tensors.size());
      for (NDArray a : list) {
        Tensor t =
            tensors.stream().filter(x -> x.name().equals(a.getName())).findFirst().orElseThrow();
        assertThat(a.getDataType()).as(t.name()).isEqualTo(TYPES.get(t.dtype()));
        assertThat(a.getShape()).isEqualTo(new Shape(2, 3, 4));
        assertThat(a.toByteArray()).as(t.name()).isEqualTo(expected.get(t.name()));
      }
    }
  }

  @Test
  void cairnReadsWhatDjlWrites() throws IOException {
    Path file = dir.resolve("djl.safetensors");
    Random r = new Random(5);
    Map<String, byte[]> written = new java.util.HashMap<>();
    Map<String, DataType> types = new java.util.HashMap<>();
    try (NDManager manager = NDManager.newBaseManager("PyTorch")) {
      NDList list = new NDList();
      for (Map.Entry<DType, DataType> e : TYPES.entrySet()) {
        byte[] bytes = randomBytes(e.getKey(), 12, r);
        NDArray a = manager.create(ByteBuffer.wrap(bytes), new Shape(3, 4), e.getValue());
        String name = "w_" + e.getKey().name();
        a.setName(name);
        list.add(a);
        written.put(name, a.toByteArray());
        types.put(name, e.getValue());
      }
      try (OutputStream out = Files.newOutputStream(file)) {
        list.encode(out, NDList.Encoding.SAFETENSORS);
      }
    }
    try (SafetensorsFile sf = SafetensorsFile.open(file)) {
      assertThat(sf.tensors()).hasSize(written.size());
      for (TensorInfo t : sf.tensors()) {
        assertThat(t.shape()).containsExactly(3, 4);
        assertThat(TYPES.get(t.dtype())).isEqualTo(types.get(t.name()));
        assertThat(sf.bytes(t.name())).as(t.name()).isEqualTo(written.get(t.name()));
      }
    }
  }
}

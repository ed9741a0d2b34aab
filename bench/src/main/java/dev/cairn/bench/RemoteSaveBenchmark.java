package dev.cairn.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cairn.checkpoint.Checkpoint;
import dev.cairn.checkpoint.CheckpointInfo;
import dev.cairn.checkpoint.CheckpointStore;
import dev.cairn.checkpoint.LoadedCheckpoint;
import dev.cairn.checkpoint.SavedCheckpoint;
import dev.cairn.checkpoint.Verification;
import dev.cairn.hadoop.HadoopStorages;
import dev.cairn.safetensors.DType;
import dev.cairn.safetensors.Tensor;
import dev.cairn.safetensors.TensorData;
import dev.cairn.store.Storage;
import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.zip.CRC32C;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.StreamCapabilities;
import org.gaul.s3proxy.BlobStores;
import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.auth.AuthenticationType;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * Durable save and restore of the same bytes to a real HDFS (MiniDFSCluster, one DataNode) and a
 * real S3 endpoint (S3Proxy over a filesystem blob store, through S3A), by Cairn's checkpoint store
 * and by the plainest Hadoop code that writes them as durably ({@code create}, with {@code
 * SYNC_BLOCK} on HDFS as Cairn does, chunked writes, {@code hsync} where the stream has it, {@code
 * close}), alternated in one process so that both see the same machine; plus the training-thread
 * stall of an asynchronous save to S3A beside one to the local disk. Both servers run in this JVM,
 * so "remote" is loopback TCP to the same disk.
 *
 * <p>Usage: {@code RemoteSaveBenchmark WORK_DIR [--sizes-mib 256,1024] [--repeat 6] [--tensors 4]
 * [--backends hdfs,s3a] [--drop-caches] [--stall true] [--conf key=value]...}; one JSON line per
 * backend and size (and per stall) on stdout.
 */
public final class RemoteSaveBenchmark {
  static final int CHUNK = 16 << 20;
  private static final String ACCESS = "bench-access";
  private static final String SECRET = "bench-secret";
  private static final ObjectMapper JSON = new ObjectMapper();

  private RemoteSaveBenchmark() {}

  /** One backend under test: a file system for the raw writes and a Cairn storage beside it. */
  private interface Backend extends AutoCloseable {
    String name();

    Configuration conf();

    /** A folder on the backend, as a URI ending in '/'. */
    URI folder(String name) throws IOException;

    @Override
    void close() throws Exception;
  }

  public static void main(String[] args) throws Exception {
    if (args.length < 1) {
      throw new IllegalArgumentException(
          "usage: RemoteSaveBenchmark WORK_DIR [--sizes-mib 256,1024] [--repeat 6] [--tensors 4]"
              + " [--backends hdfs,s3a] [--drop-caches] [--stall true|false] [--trace]"
              + " [--conf key=value]...");
    }
    java.nio.file.Path work = java.nio.file.Path.of(args[0]).toAbsolutePath();
    List<Long> sizes = List.of(256L << 20, 1L << 30);
    int repeat = 6;
    int tensors = 4;
    List<String> backends = List.of("hdfs", "s3a");
    boolean dropCaches = false;
    boolean trace = false;
    boolean stall = true;
    Map<String, String> conf = new LinkedHashMap<>();
    for (int i = 1; i < args.length; i++) {
      switch (args[i]) {
        case "--sizes-mib" -> {
          List<Long> s = new ArrayList<>();
          for (String v : args[++i].split(",")) {
            s.add(Long.parseLong(v.trim()) << 20);
          }
          sizes = s;
        }
        case "--repeat" -> {
          repeat = Integer.parseInt(args[++i]);
          // Raw and Cairn take turns going first: an even count gives each side the same share.
          if (repeat < 2 || repeat % 2 != 0) {
            throw new IllegalArgumentException("--repeat must be even and at least 2: " + repeat);
          }
        }
        case "--tensors" -> tensors = Integer.parseInt(args[++i]);
        case "--backends" -> backends = List.of(args[++i].split(","));
        case "--drop-caches" -> dropCaches = true;
        case "--trace" -> trace = true;
        case "--stall" -> stall = Boolean.parseBoolean(args[++i]);
        case "--conf" -> {
          String[] kv = args[++i].split("=", 2);
          conf.put(kv[0], kv[1]);
        }
        default -> throw new IllegalArgumentException("unknown argument " + args[i]);
      }
    }
    Files.createDirectories(work);
    java.nio.file.Path dir = Files.createTempDirectory(work, "remote-bench-");
    try {
      for (String b : backends) {
        try (Backend backend = start(b, dir.resolve(b), conf)) {
          for (long size : sizes) {
            List<ByteBuffer> data = SaveBenchmark.randomTensors(size, tensors);
            System.out.println(measure(backend, data, repeat, dropCaches, trace));
            if (stall && b.equals("s3a")) {
              System.out.println(stalls(backend, data, repeat, dir.resolve("local-" + size)));
            }
          }
        }
      }
    } finally {
      Storage.at(dir).deleteTree("");
    }
  }

  private static Backend start(String name, java.nio.file.Path dir, Map<String, String> settings)
      throws Exception {
    Files.createDirectories(dir);
    return switch (name) {
      case "hdfs" -> hdfs(dir, settings);
      case "s3a" -> s3a(dir, settings);
      default -> throw new IllegalArgumentException("backend must be hdfs or s3a: " + name);
    };
  }

  private static Backend hdfs(java.nio.file.Path dir, Map<String, String> settings)
      throws IOException {
    MiniHdfs hdfs = MiniHdfs.start(dir, settings);
    return new Backend() {
      @Override
      public String name() {
        return "hdfs";
      }

      @Override
      public Configuration conf() {
        return hdfs.conf();
      }

      @Override
      public URI folder(String f) throws IOException {
        return hdfs.folder(f);
      }

      @Override
      public void close() {
        hdfs.close();
      }
    };
  }

  private static Backend s3a(java.nio.file.Path dir, Map<String, String> settings)
      throws Exception {
    Properties p = new Properties();
    java.nio.file.Path blobs = Files.createDirectories(dir.resolve("blobs"));
    p.setProperty("jclouds.filesystem.basedir", blobs.toString());
    p.setProperty("jclouds.identity", ACCESS);
    p.setProperty("jclouds.credential", SECRET);
    S3Proxy proxy =
        S3Proxy.builder()
            .blobStore(BlobStores.create("filesystem", p))
            .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS, SECRET)
            .ignoreUnknownHeaders(true)
            .endpoint(URI.create("http://127.0.0.1:0"))
            .build();
    proxy.start();
    while (!proxy.getState().equals("STARTED")) {
      Thread.onSpinWait();
    }
    URI endpoint = URI.create("http://127.0.0.1:" + proxy.getPort());
    try (S3Client s3 =
        S3Client.builder()
            .endpointOverride(endpoint)
            .region(Region.US_EAST_1)
            .forcePathStyle(true)
            .credentialsProvider(
                StaticCredentialsProvider.create(AwsBasicCredentials.create(ACCESS, SECRET)))
            .build()) {
      s3.createBucket(b -> b.bucket("bench"));
    }
    Configuration c = new Configuration();
    c.set("fs.s3a.endpoint", endpoint.toString());
    c.set("fs.s3a.endpoint.region", "us-east-1");
    c.setBoolean("fs.s3a.path.style.access", true);
    c.setBoolean("fs.s3a.connection.ssl.enabled", false);
    c.set("fs.s3a.access.key", ACCESS);
    c.set("fs.s3a.secret.key", SECRET);
    c.set(
        "fs.s3a.aws.credentials.provider", "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider");
    // S3A buffers uploads on disk by default: under this run's folder, not /tmp.
    c.set("fs.s3a.buffer.dir", Files.createDirectories(dir.resolve("s3a-buffer")).toString());
    settings.forEach(c::set);
    // The raw side reads and writes with the client settings Cairn's storage gets (the classic
    // input stream, unless --conf names another), so that the ratio is Cairn's own cost.
    Configuration conf = HadoopStorages.withClientDefaults("s3a", c);
    return new Backend() {
      @Override
      public String name() {
        return "s3a";
      }

      @Override
      public Configuration conf() {
        return conf;
      }

      @Override
      public URI folder(String f) {
        return URI.create("s3a://bench/" + f + "/");
      }

      @Override
      public void close() throws Exception {
        proxy.stop();
      }
    };
  }

  /** Alternates raw and Cairn saves and restores of {@code data}; returns one JSON line. */
  private static String measure(
      Backend backend, List<ByteBuffer> data, int repeat, boolean dropCaches, boolean trace)
      throws IOException {
    long bytes = 0;
    long[] expected = new long[data.size()];
    for (int t = 0; t < data.size(); t++) {
      bytes += data.get(t).capacity();
      expected[t] = crc(data.get(t));
    }
    byte[][] chunks = heapChunks(data);
    URI rawFolder = backend.folder("raw-" + bytes);
    FileSystem fs = FileSystem.newInstance(rawFolder, backend.conf());
    Storage storage = HadoopStorages.at(backend.folder("cairn-" + bytes), backend.conf());
    // --trace: every storage call of Cairn's saves and restores timed, a JSON line each on stderr.
    OpTimes times = trace ? new OpTimes() : null;
    if (trace) {
      storage = times.timed(storage, Storage.class, "");
    }
    double[] rawSave = new double[repeat];
    double[] cairnSave = new double[repeat];
    double[] rawRestore = new double[repeat];
    double[] cairnRestore = new double[repeat];
    double[][] cpu = new double[4][repeat];
    byte[] readChunk = new byte[CHUNK];
    try (CheckpointStore store = CheckpointStore.builder(storage).events(e -> {}).open()) {
      // One untimed round of each: the first save allocates staging buffers, opens connections
      // and loads classes, a once-per-process cost the other benchmarks report separately.
      Path warm = new Path(rawFolder.resolve("warm"));
      rawSave(fs, warm, chunks);
      fs.delete(warm, false);
      SavedCheckpoint w = store.save(checkpoint(0, data));
      storage.deleteTree(SaveBenchmark.folderName(w.folder()));
      for (int i = 0; i < repeat; i++) {
        Path file = new Path(rawFolder.resolve("file-" + i));
        long step = i + 1;
        // Alternate which goes first, so that a drift in the machine's load hits both alike.
        for (int k = 0; k < 2; k++) {
          settle();
          long c0 = cpuNanos();
          if ((k == 0) == (i % 2 == 0)) {
            rawSave[i] = rawSave(fs, file, chunks);
            cpu[0][i] = (cpuNanos() - c0) / 1e9;
          } else {
            if (times != null) {
              times.clear();
            }
            cairnSave[i] = timed(() -> store.save(checkpoint(step, data)));
            cpu[1][i] = (cpuNanos() - c0) / 1e9;
            if (times != null) {
              System.err.println(times.json(backend.name(), bytes, cairnSave[i]));
            }
          }
        }
        for (int k = 0; k < 2; k++) {
          if (dropCaches) {
            dropPageCache();
          }
          long c0 = cpuNanos();
          if ((k == 0) == (i % 2 == 0)) {
            rawRestore[i] = rawRestore(fs, file, data, readChunk);
            cpu[2][i] = (cpuNanos() - c0) / 1e9;
          } else {
            if (times != null) {
              times.clear();
            }
            cairnRestore[i] = cairnRestore(store, step, data);
            if (times != null) {
              System.err.println(times.json(backend.name() + " restore", bytes, cairnRestore[i]));
            }
            cpu[3][i] = (cpuNanos() - c0) / 1e9;
          }
          // Each side's restore is checked (untimed) before the other overwrites the buffers.
          for (int t = 0; t < data.size(); t++) {
            if (crc(data.get(t).flip()) != expected[t]) {
              throw new IllegalStateException(
                  "restored tensor t" + t + " differs from the saved one");
            }
            data.get(t).clear();
          }
        }
        fs.delete(file, false);
        for (CheckpointInfo info : store.list()) {
          storage.deleteTree(SaveBenchmark.folderName(info.folder()));
        }
      }
    } finally {
      fs.close();
    }
    ObjectNode o = JSON.createObjectNode();
    o.put("backend", backend.name());
    o.put("bytes", bytes);
    o.put("tensors", data.size());
    o.put("restore_verification", "SIZES at load, every CRC32C chunk while reading");
    o.put("caches_dropped", dropCaches);
    double mb = bytes / 1e6;
    o.put("raw_save_mb_s", mb / SaveBenchmark.median(rawSave));
    o.put("cairn_save_mb_s", mb / SaveBenchmark.median(cairnSave));
    o.put("save_ratio", SaveBenchmark.median(rawSave) / SaveBenchmark.median(cairnSave));
    o.put("raw_restore_mb_s", mb / SaveBenchmark.median(rawRestore));
    o.put("cairn_restore_mb_s", mb / SaveBenchmark.median(cairnRestore));
    o.put("restore_ratio", SaveBenchmark.median(rawRestore) / SaveBenchmark.median(cairnRestore));
    // On this machine the second operation of a round is often slower than the first, whichever
    // side it is (1 GiB HDFS saves: 1.8 s first, 2.7-3.8 s second), so medians over both positions
    // are bimodal. Compared position by position, the effect cancels.
    o.put("save_ratio_by_position", byPosition(rawSave, cairnSave));
    o.put("restore_ratio_by_position", byPosition(rawRestore, cairnRestore));
    // Whole-process CPU (client, server and hashing threads alike): on 2 vCPUs shared with other
    // work, throughput follows CPU spent.
    o.put("raw_save_cpu_s", SaveBenchmark.median(cpu[0]));
    o.put("cairn_save_cpu_s", SaveBenchmark.median(cpu[1]));
    o.put("raw_restore_cpu_s", SaveBenchmark.median(cpu[2]));
    o.put("cairn_restore_cpu_s", SaveBenchmark.median(cpu[3]));
    o.putPOJO("raw_save_s", rawSave);
    o.putPOJO("cairn_save_s", cairnSave);
    o.putPOJO("raw_restore_s", rawRestore);
    o.putPOJO("cairn_restore_s", cairnRestore);
    return JSON.writeValueAsString(o);
  }

  /**
   * The geometric mean of two ratios of medians: raw's runs that went first against Cairn's that
   * went first, and the same for those that went second (raw goes first in even rounds).
   */
  static double byPosition(double[] raw, double[] cairn) {
    int n = raw.length;
    double[] rawFirst = new double[(n + 1) / 2];
    double[] rawSecond = new double[n / 2];
    double[] cairnFirst = new double[n / 2];
    double[] cairnSecond = new double[(n + 1) / 2];
    for (int i = 0; i < n; i++) {
      if (i % 2 == 0) {
        rawFirst[i / 2] = raw[i];
        cairnSecond[i / 2] = cairn[i];
      } else {
        rawSecond[i / 2] = raw[i];
        cairnFirst[i / 2] = cairn[i];
      }
    }
    double first = SaveBenchmark.median(rawFirst) / SaveBenchmark.median(cairnFirst);
    double second = SaveBenchmark.median(rawSecond) / SaveBenchmark.median(cairnSecond);
    return Math.sqrt(first * second);
  }

  /**
   * Seconds and calls per storage operation (and per operation on the files it returns), through a
   * pass-through proxy: what a save spends outside its data writes.
   */
  private static final class OpTimes {
    private final Map<String, double[]> totals = new java.util.concurrent.ConcurrentSkipListMap<>();

    <T> T timed(T target, Class<T> type, String prefix) {
      return Timeline.calls(
          target,
          type,
          prefix,
          (proxy, op, start, nanos) ->
              totals.merge(
                  op,
                  new double[] {1, nanos / 1e9},
                  (x, y) -> new double[] {x[0] + y[0], x[1] + y[1]}));
    }

    void clear() {
      totals.clear();
    }

    String json(String backend, long bytes, double seconds) {
      ObjectNode o = JSON.createObjectNode();
      o.put("trace", backend).put("bytes", bytes).put("seconds", seconds);
      ObjectNode ops = o.putObject("ops");
      totals.forEach((op, v) -> ops.putArray(op).add((long) v[0]).add(v[1]));
      return o.toString();
    }
  }

  /** The same bytes in heap chunks: the raw writer pays no copy out of direct memory. */
  static byte[][] heapChunks(List<ByteBuffer> data) {
    List<byte[]> out = new ArrayList<>();
    for (ByteBuffer b : data) {
      ByteBuffer d = b.duplicate().clear();
      while (d.hasRemaining()) {
        byte[] c = new byte[Math.min(CHUNK, d.remaining())];
        d.get(c);
        out.add(c);
      }
    }
    return out.toArray(new byte[0][]);
  }

  static double rawSave(FileSystem fs, Path file, byte[][] chunks) throws IOException {
    long start = System.nanoTime();
    // The same durability as Cairn's save: on HDFS every block forced to the DataNode's disk as it
    // closes (SYNC_BLOCK) and hsync at the end; a plain create would persist only the last block.
    try (FSDataOutputStream out =
        fs.getScheme().equals("hdfs")
            ? fs.create(
                file,
                org.apache.hadoop.fs.permission.FsPermission.getFileDefault(),
                java.util.EnumSet.of(
                    org.apache.hadoop.fs.CreateFlag.CREATE,
                    org.apache.hadoop.fs.CreateFlag.SYNC_BLOCK),
                fs.getConf().getInt("io.file.buffer.size", 4096),
                fs.getDefaultReplication(file),
                fs.getDefaultBlockSize(file),
                null)
            : fs.create(file, false)) {
      for (byte[] c : chunks) {
        out.write(c);
      }
      if (out.hasCapability(StreamCapabilities.HSYNC)) {
        out.hsync();
      }
    }
    return (System.nanoTime() - start) / 1e9;
  }

  /**
   * The plainest Hadoop restore that lands the bytes where Cairn's does, in the tensors' (direct)
   * buffers: read the file front to back in 16 MiB {@code byte[]} reads and put each into the
   * tensor it belongs to. (Runs 1-9 read into one scratch array and dropped the bytes, which no
   * restore can do: that raw side never wrote the gigabyte into memory, Cairn's did.)
   */
  private static double rawRestore(FileSystem fs, Path file, List<ByteBuffer> data, byte[] chunk)
      throws IOException {
    long start = System.nanoTime();
    try (FSDataInputStream in = fs.open(file)) {
      for (ByteBuffer tensor : data) {
        ByteBuffer dst = tensor.clear();
        while (dst.hasRemaining()) {
          int n = in.read(chunk, 0, Math.min(chunk.length, dst.remaining()));
          if (n <= 0) {
            throw new IllegalStateException("raw file ends early");
          }
          dst.put(chunk, 0, n);
        }
      }
    }
    return (System.nanoTime() - start) / 1e9;
  }

  private static double cairnRestore(CheckpointStore store, long step, List<ByteBuffer> data)
      throws IOException {
    long start = System.nanoTime();
    try (LoadedCheckpoint c = store.load(step, Verification.SIZES)) {
      c.readTensors("model", t -> data.get(Integer.parseInt(t.name().substring(1))).clear());
    }
    return (System.nanoTime() - start) / 1e9;
  }

  static Checkpoint checkpoint(long step, List<ByteBuffer> data) {
    List<Tensor> tensors = new ArrayList<>();
    for (int t = 0; t < data.size(); t++) {
      ByteBuffer b = data.get(t).duplicate().clear();
      tensors.add(new Tensor("t" + t, DType.U8, new long[] {b.capacity()}, TensorData.of(b)));
    }
    return Checkpoint.at(step).tensors("model", tensors).build();
  }

  /** Training-thread stall of async saves to S3A and to a local folder, the same bytes. */
  private static String stalls(
      Backend backend, List<ByteBuffer> data, int repeat, java.nio.file.Path local)
      throws IOException {
    long bytes = 0;
    for (ByteBuffer b : data) {
      bytes += b.capacity();
    }
    Storage remote = HadoopStorages.at(backend.folder("async-" + bytes), backend.conf());
    Storage disk = Storage.at(local);
    // In rounds, S3A and the local disk taking turns to go first (a manager each round, whose
    // first stall is reported apart): one side's block after the other's would give a drift in
    // the machine's load to one side only.
    int rounds = (repeat + 1) / 2;
    double[] s3Steady = new double[rounds * 2];
    double[] localSteady = new double[rounds * 2];
    double[] firsts = new double[2];
    for (int r = 0; r < rounds; r++) {
      for (int k = 0; k < 2; k++) {
        boolean s3Turn = (k == 0) == (r % 2 == 0);
        Storage storage = s3Turn ? remote : disk;
        // A store and a manager of its own each round, which starts from nothing saved.
        try (CheckpointStore store = CheckpointStore.builder(storage).events(e -> {}).open()) {
          double[] runs =
              SaveBenchmark.stalls(data, 3, store, storage, RemoteSaveBenchmark::settle);
          double[] into = s3Turn ? s3Steady : localSteady;
          into[2 * r] = runs[1];
          into[2 * r + 1] = runs[2];
          if (r == 0) {
            firsts[s3Turn ? 0 : 1] = runs[0];
          }
          GroupRanks.deleteSteps(store, storage);
        }
      }
    }
    disk.deleteTree("");
    ObjectNode o = JSON.createObjectNode();
    o.put("stall", backend.name() + " vs local disk");
    o.put("bytes", bytes);
    o.put("remote_stall_s", SaveBenchmark.median(s3Steady));
    o.put("local_stall_s", SaveBenchmark.median(localSteady));
    o.put("ratio", SaveBenchmark.median(s3Steady) / SaveBenchmark.median(localSteady));
    o.put("remote_first_stall_s", firsts[0]);
    o.put("local_first_stall_s", firsts[1]);
    o.putPOJO("remote_stall_runs_s", s3Steady);
    o.putPOJO("local_stall_runs_s", localSteady);
    return JSON.writeValueAsString(o);
  }

  @FunctionalInterface
  private interface Io {
    void run() throws IOException;
  }

  private static double timed(Io action) throws IOException {
    long start = System.nanoTime();
    action.run();
    return (System.nanoTime() - start) / 1e9;
  }

  private static long cpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean)
            java.lang.management.ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
  }

  private static long crc(ByteBuffer b) {
    CRC32C c = new CRC32C();
    c.update(b.duplicate());
    return c.getValue();
  }

  private static void dropPageCache() throws IOException {
    settle();
    Files.writeString(java.nio.file.Path.of("/proc/sys/vm/drop_caches"), "3");
  }

  /**
   * Before a timed operation: collects the garbage the previous one left (the in-process servers
   * make plenty, and a young collection of it would otherwise land in whichever side comes next),
   * then writes every dirty page out ({@code sync}): the servers write through the page cache, and
   * the write-back of the previous operation's bytes would otherwise run during the next one.
   */
  static void settle() throws IOException {
    System.gc();
    try {
      new ProcessBuilder("sync").inheritIO().start().waitFor();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("interrupted while syncing");
    }
  }
}

package dev.cairn.bench;

import dev.cairn.hadoop.HadoopStorages;
import dev.cairn.store.Storage;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;

/**
 * Where {@link GroupSaveBenchmark} writes: a folder on the local disk, or one on a MiniDFSCluster
 * in this JVM. Gives Cairn's storage for a folder, the words another rank's JVM opens the same
 * storage from ({@link #open}), and the raw writer the group is compared with: this process alone
 * writing the same total bytes in one new file, as durably as a save.
 */
abstract class GroupBackend implements AutoCloseable {
  private static final String RAW = "raw";

  /** "local" or "hdfs". */
  abstract String name();

  /** Cairn's storage rooted at {@code folder} (a relative name), created if needed. */
  abstract Storage storage(String folder) throws IOException;

  /** What a rank's JVM passes to {@link #open} to reach the same storage as {@link #storage}. */
  abstract List<String> locate(String folder) throws IOException;

  /** Writes the raw bytes as the new file {@code name}, durably; returns the seconds it took. */
  abstract double rawSave(String name) throws IOException;

  abstract void rawDelete(String name) throws IOException;

  @Override
  public abstract void close() throws IOException;

  /**
   * Starts a backend with its data under {@code dir}; the raw writer will write {@code totalBytes}
   * of random bytes.
   */
  static GroupBackend start(String name, Path dir, long totalBytes) throws IOException {
    Files.createDirectories(dir);
    int chunks = (int) ((totalBytes + RemoteSaveBenchmark.CHUNK - 1) / RemoteSaveBenchmark.CHUNK);
    List<ByteBuffer> data = SaveBenchmark.randomTensors(totalBytes, chunks);
    return switch (name) {
      case "local" -> new Local(dir, data);
      case "hdfs" -> new Hdfs(dir, RemoteSaveBenchmark.heapChunks(data));
      default -> throw new IllegalArgumentException("backend must be local or hdfs: " + name);
    };
  }

  /**
   * Writes {@code data} raw into a folder beside the group's, in whichever JVM calls it: how {@link
   * GroupSaveBenchmark} has every rank write its share at once without Cairn, with the same writer
   * as {@link #rawSave} uses for the whole.
   */
  interface RawWriter extends AutoCloseable {
    /** Writes the data as the new file {@code name}, durably; returns the seconds it took. */
    double write(String name) throws IOException;

    void delete(String name) throws IOException;

    @Override
    void close() throws IOException;
  }

  /** A {@link RawWriter} of {@code data} beside the group folder {@link #locate} describes. */
  static RawWriter rawWriter(List<String> located, List<ByteBuffer> data) throws IOException {
    return switch (located.get(0)) {
      case "local" -> {
        Path folder =
            Files.createDirectories(Path.of(located.get(1)).resolveSibling(RAW + "-shards"));
        yield new RawWriter() {
          @Override
          public double write(String name) throws IOException {
            return Local.writeDurably(folder, name, data);
          }

          @Override
          public void delete(String name) throws IOException {
            Files.delete(folder.resolve(name));
          }

          @Override
          public void close() {
            // the benchmark deletes its whole folder
          }
        };
      }
      case "hdfs" -> {
        Configuration conf = new Configuration();
        conf.addResource(Path.of(located.get(2)).toUri().toURL());
        URI folder = URI.create(located.get(1)).resolve("../" + RAW + "-shards/");
        FileSystem fs = FileSystem.newInstance(folder, conf);
        byte[][] chunks = RemoteSaveBenchmark.heapChunks(data);
        yield new RawWriter() {
          @Override
          public double write(String name) throws IOException {
            return RemoteSaveBenchmark.rawSave(fs, file(name), chunks);
          }

          @Override
          public void delete(String name) throws IOException {
            fs.delete(file(name), false);
          }

          private org.apache.hadoop.fs.Path file(String name) {
            return new org.apache.hadoop.fs.Path(folder.resolve(name));
          }

          @Override
          public void close() throws IOException {
            fs.close();
          }
        };
      }
      default -> throw new IllegalArgumentException("unknown storage " + located);
    };
  }

  /** The storage {@link #locate} describes, in a rank's own JVM. */
  static Storage open(List<String> located) throws IOException {
    return switch (located.get(0)) {
      case "local" -> Storage.at(Path.of(located.get(1)));
      case "hdfs" -> {
        Configuration conf = new Configuration();
        conf.addResource(Path.of(located.get(2)).toUri().toURL());
        yield HadoopStorages.at(URI.create(located.get(1)), conf);
      }
      default -> throw new IllegalArgumentException("unknown storage " + located);
    };
  }

  /** A folder on the local disk; the raw file written from direct buffers, as Cairn writes. */
  private static final class Local extends GroupBackend {
    private final Path root;
    private final Path raw;
    private final List<ByteBuffer> chunks;

    Local(Path root, List<ByteBuffer> chunks) throws IOException {
      this.root = root;
      this.raw = Files.createDirectories(root.resolve(RAW));
      this.chunks = chunks;
    }

    @Override
    String name() {
      return "local";
    }

    @Override
    Storage storage(String folder) throws IOException {
      return Storage.at(Files.createDirectories(root.resolve(folder)));
    }

    @Override
    List<String> locate(String folder) {
      return List.of("local", root.resolve(folder).toString());
    }

    @Override
    double rawSave(String name) throws IOException {
      return writeDurably(raw, name, chunks);
    }

    static double writeDurably(Path folder, String name, List<ByteBuffer> chunks)
        throws IOException {
      Path file = folder.resolve(name);
      long start = System.nanoTime();
      // What a careful writer does without Cairn: 16 MiB writes through the page cache, the file
      // forced, then its folder, so that the new name survives a power cut too.
      try (FileChannel out =
          FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
        for (ByteBuffer c : chunks) {
          ByteBuffer b = c.duplicate().clear();
          while (b.hasRemaining()) {
            out.write(b);
          }
        }
        out.force(true);
      }
      try (FileChannel f = FileChannel.open(folder, StandardOpenOption.READ)) {
        f.force(true);
      }
      return (System.nanoTime() - start) / 1e9;
    }

    @Override
    void rawDelete(String name) throws IOException {
      Files.delete(raw.resolve(name));
    }

    @Override
    public void close() {
      // the benchmark deletes its whole folder
    }
  }

  /** A MiniDFSCluster; the raw file written as {@link RemoteSaveBenchmark} writes it. */
  private static final class Hdfs extends GroupBackend {
    private final MiniHdfs hdfs;
    private final Path clientXml;
    private final byte[][] chunks;
    private final FileSystem fs;
    private final URI raw;

    Hdfs(Path dir, byte[][] chunks) throws IOException {
      this.chunks = chunks;
      this.hdfs = MiniHdfs.start(dir.resolve("dfs"), Map.of());
      try {
        // The other ranks' JVMs get this process's client settings whole, the NameNode's address
        // and Cairn's client defaults among them.
        this.clientXml = dir.resolve("hdfs-client.xml");
        try (OutputStream out = Files.newOutputStream(clientXml)) {
          hdfs.conf().writeXml(out);
        }
        this.raw = hdfs.folder(RAW);
        this.fs = FileSystem.newInstance(raw, hdfs.conf());
      } catch (IOException | RuntimeException e) {
        hdfs.close();
        throw e;
      }
    }

    @Override
    String name() {
      return "hdfs";
    }

    @Override
    Storage storage(String folder) throws IOException {
      return HadoopStorages.at(hdfs.folder(folder), hdfs.conf());
    }

    @Override
    List<String> locate(String folder) throws IOException {
      return List.of("hdfs", hdfs.folder(folder).toString(), clientXml.toString());
    }

    @Override
    double rawSave(String name) throws IOException {
      return RemoteSaveBenchmark.rawSave(fs, file(name), chunks);
    }

    @Override
    void rawDelete(String name) throws IOException {
      fs.delete(file(name), false);
    }

    private org.apache.hadoop.fs.Path file(String name) {
      return new org.apache.hadoop.fs.Path(raw.resolve(name));
    }

    @Override
    public void close() throws IOException {
      try {
        fs.close();
      } finally {
        hdfs.close();
      }
    }
  }
}

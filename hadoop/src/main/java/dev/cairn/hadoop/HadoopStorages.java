package dev.cairn.hadoop;

import dev.cairn.store.Storage;
import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.UnsupportedFileSystemException;

/**
 * Storage on any Hadoop FileSystem, configured the standard way: Hadoop's defaults, then {@code
 * core-site.xml} and {@code hdfs-site.xml} from {@code HADOOP_CONF_DIR} (or the classpath), then
 * the caller's settings ({@code -D key=value} on the command line). Credentials come from Hadoop's
 * usual providers (for S3A: its credential chain, {@code fs.s3a.access.key}, environment).
 */
public final class HadoopStorages {
  /**
   * Overrides whether a folder rename of this file system is atomic (and so which commit strategy
   * is used): for a FileSystem Cairn does not know.
   */
  public static final String ATOMIC_RENAME_KEY = "cairn.storage.atomic-rename";

  /** The HDFS client's first wait for a file's close to be accepted (Hadoop: 400 ms). */
  static final String CLOSE_DELAY_KEY =
      "dfs.client.block.write.locateFollowingBlock.initial.delay.ms";

  /** How many times it waits, each twice as long as the one before (Hadoop: 5). */
  static final String CLOSE_RETRIES_KEY = "dfs.client.block.write.locateFollowingBlock.retries";

  private static final int CLOSE_DELAY_MS = 5;
  private static final int CLOSE_RETRIES = 12;

  private HadoopStorages() {}

  /**
   * {@code conf}, or a copy with Cairn's defaults where it has only Hadoop's own. One today: an
   * HDFS file's close asks the NameNode to complete it, and the NameNode says no until a DataNode
   * has reported the last block, which it does a few milliseconds later; Hadoop's client then
   * sleeps 400 ms before asking again. A checkpoint closes several files in a row, so that sleep
   * was most of what a save cost over a raw write (BENCHMARKS.md, issue 14). Cairn asks again after
   * 5 ms, doubling each time, 12 times: 20.5 s in all before the close fails, more than Hadoop's
   * 12.4 s, so a busy cluster gets at least as long. A user who set either key keeps both as Hadoop
   * has them. Locations opened by {@link #open} always get them; through {@link #at}, Hadoop's
   * FileSystem cache may hand out a client made earlier with other settings.
   */
  public static Configuration withClientDefaults(Configuration conf) {
    if (userSet(conf, CLOSE_DELAY_KEY) || userSet(conf, CLOSE_RETRIES_KEY)) {
      return conf;
    }
    Configuration c = new Configuration(conf);
    c.setInt(CLOSE_DELAY_KEY, CLOSE_DELAY_MS);
    c.setInt(CLOSE_RETRIES_KEY, CLOSE_RETRIES);
    return c;
  }

  /** S3A's choice of input stream (Hadoop 3.5: classic, prefetch, analytics or default). */
  static final String S3A_STREAM_KEY = "fs.s3a.input.stream.type";

  /**
   * {@code conf}, or a copy with Cairn's defaults for a location of {@code scheme} where it has
   * only Hadoop's own. HDFS: see {@link #withClientDefaults(Configuration)}. S3A: the classic input
   * stream. A checkpoint is read whole, front to back, once; the classic stream reads it as one GET
   * streamed into Cairn's buffers. Hadoop 3.5's default (the analytics accelerator, made for
   * columnar files' random reads) fetches 8 MiB ranges in parallel and keeps them in the JVM's
   * heap: a restore of 256 MiB made 256 MiB of heap garbage in the training process, and on the
   * project's machine its restores were bimodal (a quarter about 1 s instead of 0.4; BENCHMARKS.md,
   * issue 14). A user who set the stream keeps it.
   */
  public static Configuration withClientDefaults(String scheme, Configuration conf) {
    String s = String.valueOf(scheme).toLowerCase(java.util.Locale.ROOT);
    if (s.equals("hdfs")) {
      return withClientDefaults(conf);
    }
    if (s.equals("s3a") && !userSet(conf, S3A_STREAM_KEY)) {
      Configuration c = new Configuration(conf);
      c.set(S3A_STREAM_KEY, "classic");
      return c;
    }
    return conf;
  }

  /** {@code conf} with Cairn's client defaults for the location's scheme. */
  private static Configuration forScheme(URI root, Configuration conf) {
    return withClientDefaults(root.getScheme(), conf);
  }

  /** Whether {@code key} has a value from anywhere but Hadoop's own {@code *-default.xml}. */
  private static boolean userSet(Configuration conf, String key) {
    if (conf.get(key) == null) {
      return false;
    }
    String[] from = conf.getPropertySources(key);
    if (from == null) {
      return true;
    }
    for (String s : from) {
      if (!s.endsWith("-default.xml")) {
        return true;
      }
    }
    return false;
  }

  /** Hadoop's configuration with {@code HADOOP_CONF_DIR}'s files and the given settings on top. */
  public static Configuration configuration(Map<String, String> settings) {
    Configuration conf = new Configuration();
    String dir = System.getenv("HADOOP_CONF_DIR");
    if (dir != null && !dir.isBlank()) {
      for (String name : new String[] {"core-site.xml", "hdfs-site.xml"}) {
        File f = new File(dir, name);
        if (f.isFile()) {
          conf.addResource(new Path(f.toURI()));
        }
      }
    }
    settings.forEach(conf::set);
    return conf;
  }

  /**
   * Storage rooted at {@code root} (which need not exist yet).
   *
   * @throws IllegalArgumentException when no FileSystem on the classpath serves the scheme
   */
  public static Storage at(URI root, Configuration conf) throws IOException {
    Configuration c = forScheme(root, conf);
    return storage(root, c, clients(root, c, () -> new Path(root).getFileSystem(c)));
  }

  /**
   * Storage for a location and its settings ({@code -D} on the command line), as {@link
   * dev.cairn.store.Storages#open} asks for it. Unlike Hadoop's FileSystem cache, which keeps one
   * client per scheme, host and user whatever the settings, each set of settings gets clients of
   * its own, made once per process and kept: two endpoints behind one bucket name stay apart,
   * Cairn's HDFS client settings always apply, and Hadoop's shutdown hook, which closes the cached
   * clients, cannot close these under the push of a run's last records on SIGTERM.
   */
  static Storage open(URI root, Map<String, String> settings) throws IOException {
    // A copy either way (configuration() makes a new one): setting it below touches no caller's.
    Configuration conf = forScheme(root, configuration(settings));
    String scheme = String.valueOf(root.getScheme()).toLowerCase(java.util.Locale.ROOT);
    // Made outside Hadoop's cache altogether: FileSystem.newInstance would still register the
    // client there, where FileSystem.closeAll and the cache's shutdown hook close it.
    conf.setBoolean("fs." + scheme + ".impl.disable.cache", true);
    ClientKey key =
        new ClientKey(
            scheme,
            String.valueOf(root.getRawAuthority()),
            Map.copyOf(settings),
            String.valueOf(System.getenv("HADOOP_CONF_DIR")),
            org.apache.hadoop.security.UserGroupInformation.getCurrentUser().getUserName());
    Clients known;
    synchronized (CLIENTS) {
      known = CLIENTS.get(key);
      if (known == null) {
        Configuration c = conf;
        known = clients(root, conf, () -> FileSystem.get(root, c));
        CLIENTS.put(key, known);
      }
    }
    return storage(root, conf, known);
  }

  private static final Map<ClientKey, Clients> CLIENTS = new java.util.HashMap<>();

  /** What makes two clients differ: the file system, every setting, the user. */
  private record ClientKey(
      String scheme, String authority, Map<String, String> settings, String confDir, String user) {}

  /** A FileSystem and, for atomic renames that refuse an existing target, a FileContext. */
  private record Clients(FileSystem fs, org.apache.hadoop.fs.FileContext names) {}

  private interface FsSource {
    FileSystem get() throws IOException;
  }

  private static Clients clients(URI root, Configuration conf, FsSource source) throws IOException {
    FileSystem fs;
    try {
      fs = source.get();
    } catch (UnsupportedFileSystemException e) {
      throw new IllegalArgumentException(
          "no Hadoop FileSystem for scheme '"
              + root.getScheme()
              + "' in "
              + root
              + ": put its jar on the classpath (hdfs and s3a are built in), or use a local path",
          e);
    } catch (IOException e) {
      throw RemoteFailures.explain(e, root.toString());
    }
    try {
      return new Clients(fs, org.apache.hadoop.fs.FileContext.getFileContext(fs.getUri(), conf));
    } catch (IOException e) {
      throw RemoteFailures.explain(e, root.toString());
    }
  }

  private static Storage storage(URI root, Configuration conf, Clients c) throws IOException {
    try {
      return new HadoopStorage(c.fs(), c.names(), c.fs().makeQualified(new Path(root)), conf);
    } catch (IOException e) {
      throw RemoteFailures.explain(e, root.toString());
    }
  }
}

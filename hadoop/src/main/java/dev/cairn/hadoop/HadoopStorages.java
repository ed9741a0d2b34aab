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

  private HadoopStorages() {}

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
    Path p = new Path(root);
    FileSystem fs;
    try {
      fs = p.getFileSystem(conf);
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
      return new HadoopStorage(fs, fs.makeQualified(p), conf);
    } catch (IOException e) {
      throw RemoteFailures.explain(e, root.toString());
    }
  }
}

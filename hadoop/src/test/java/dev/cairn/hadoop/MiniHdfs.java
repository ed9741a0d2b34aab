package dev.cairn.hadoop;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A real HDFS (one NameNode, one DataNode) in this JVM, under target/, for a test class: register
 * it as a static {@code @RegisterExtension} field; it starts before the class's tests and stops
 * after them.
 */
public final class MiniHdfs implements BeforeAllCallback, AfterAllCallback {
  private static final AtomicInteger FOLDERS = new AtomicInteger();
  private MiniDFSCluster cluster;

  @Override
  public void beforeAll(ExtensionContext context) throws IOException {
    Configuration conf = new Configuration();
    java.nio.file.Path base = Files.createTempDirectory(java.nio.file.Path.of("target"), "minidfs");
    conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, base.toAbsolutePath().toString());
    cluster = new MiniDFSCluster.Builder(conf).numDataNodes(1).build();
    cluster.waitActive();
  }

  public Configuration configuration() {
    return new Configuration(cluster.getConfiguration(0));
  }

  /** A new, empty folder's URI. */
  public URI freshFolder(String prefix) throws IOException {
    URI u = cluster.getURI().resolve("/" + prefix + "-" + FOLDERS.incrementAndGet());
    cluster.getFileSystem().mkdirs(new org.apache.hadoop.fs.Path(u));
    return u;
  }

  @Override
  public void afterAll(ExtensionContext context) {
    if (cluster != null) {
      cluster.shutdown(true);
    }
  }
}

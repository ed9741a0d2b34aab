package dev.cairn.hadoop;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hdfs.MiniDFSCluster;

/** A real HDFS (one NameNode, one DataNode) in this JVM, under target/, for a test class. */
final class MiniHdfs implements AutoCloseable {
  private static final AtomicInteger FOLDERS = new AtomicInteger();
  private final MiniDFSCluster cluster;

  MiniHdfs() throws IOException {
    Configuration conf = new Configuration();
    java.nio.file.Path base = Files.createTempDirectory(java.nio.file.Path.of("target"), "minidfs");
    conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, base.toAbsolutePath().toString());
    cluster = new MiniDFSCluster.Builder(conf).numDataNodes(1).build();
    cluster.waitActive();
  }

  Configuration configuration() {
    return new Configuration(cluster.getConfiguration(0));
  }

  /** A new, empty folder's URI. */
  URI freshFolder(String prefix) throws IOException {
    URI u = cluster.getURI().resolve("/" + prefix + "-" + FOLDERS.incrementAndGet());
    cluster.getFileSystem().mkdirs(new org.apache.hadoop.fs.Path(u));
    return u;
  }

  @Override
  public void close() {
    cluster.shutdown(true);
  }
}

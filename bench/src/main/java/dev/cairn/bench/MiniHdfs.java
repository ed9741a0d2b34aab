package dev.cairn.bench;

import dev.cairn.hadoop.HadoopStorages;
import java.io.IOException;
import java.net.URI;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.hdfs.MiniDFSCluster;

/**
 * A real HDFS in this JVM for the remote benchmarks: a MiniDFSCluster with one NameNode and one
 * DataNode (replication 1), its data under a local folder, reached over loopback TCP.
 */
final class MiniHdfs implements AutoCloseable {
  private final MiniDFSCluster cluster;
  private final Configuration client;

  private MiniHdfs(MiniDFSCluster cluster, Configuration client) {
    this.cluster = cluster;
    this.client = client;
  }

  /**
   * Starts the cluster with its data under {@code dir} and returns once it is active.
   *
   * @param settings Hadoop settings for the servers and the client alike
   */
  static MiniHdfs start(java.nio.file.Path dir, Map<String, String> settings) throws IOException {
    Configuration c = new Configuration();
    c.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, dir.toString());
    c.setInt("dfs.replication", 1);
    settings.forEach(c::set);
    // A raw writer's client gets the HDFS client settings Cairn's gets (a 5 ms first wait for a
    // file's close instead of 400 ms), so that a ratio compares the writers, not the settings.
    c = HadoopStorages.withClientDefaults(c);
    MiniDFSCluster cluster = new MiniDFSCluster.Builder(c).numDataNodes(1).build();
    cluster.waitActive();
    Configuration client = new Configuration(cluster.getConfiguration(0));
    settings.forEach(client::set);
    return new MiniHdfs(cluster, client);
  }

  /** The client settings that reach this cluster (the NameNode's address among them). */
  Configuration conf() {
    return client;
  }

  /** A folder on the cluster, created with its parents, as a URI ending in '/'. */
  URI folder(String name) throws IOException {
    URI u = cluster.getURI().resolve("/" + name + "/");
    cluster.getFileSystem().mkdirs(new Path(u));
    return u;
  }

  /** Stops the servers and deletes their data. */
  @Override
  public void close() {
    cluster.shutdown(true);
  }
}

package dev.cairn.hadoop;

import dev.cairn.store.Storage;
import java.io.IOException;
import java.net.URI;
import java.util.Map;
import org.gaul.s3proxy.junit.S3ProxyExtension;

/**
 * A backend of this JVM that tests reach from child JVMs over loopback: a fresh folder on it, the
 * Hadoop settings a child needs, and the folder as this JVM sees it.
 */
interface RemoteBackend {
  /** A new, empty folder, named after {@code name}. */
  URI freshRoot(String name) throws IOException;

  /** The Hadoop settings a child JVM needs to reach the backend. */
  Map<String, String> settings();

  /** The folder as this JVM sees it. */
  Storage storage(URI root) throws IOException;

  /** The in-process HDFS: the NameNode is in the URI, a child needs only the replication. */
  static RemoteBackend hdfs(MiniHdfs hdfs) {
    return new RemoteBackend() {
      @Override
      public URI freshRoot(String name) throws IOException {
        return hdfs.freshFolder(name);
      }

      @Override
      public Map<String, String> settings() {
        return Map.of("dfs.replication", hdfs.configuration().get("dfs.replication", "1"));
      }

      @Override
      public Storage storage(URI root) throws IOException {
        return HadoopStorages.at(root, hdfs.configuration());
      }
    };
  }

  /** The in-process S3 endpoint through S3A: a new bucket for each folder. */
  static RemoteBackend s3(S3ProxyExtension proxy) {
    return new RemoteBackend() {
      @Override
      public URI freshRoot(String name) {
        return S3Endpoint.freshBucket(proxy).resolve("runs/" + name);
      }

      @Override
      public Map<String, String> settings() {
        return S3Endpoint.settings(proxy);
      }

      @Override
      public Storage storage(URI root) throws IOException {
        return HadoopStorages.at(root, S3Endpoint.configuration(proxy));
      }
    };
  }
}

package dev.cairn.hadoop;

import dev.cairn.store.Storage;
import java.io.IOException;
import java.net.URI;
import java.util.Map;
import org.junit.jupiter.api.extension.RegisterExtension;

/** kill -9 of a writer saving to a real HDFS (the NameNode and DataNode live in this JVM). */
class HdfsKillTest extends RemoteKillContract {
  @RegisterExtension static final MiniHdfs hdfs = new MiniHdfs();

  @Override
  protected URI freshRoot() throws IOException {
    return hdfs.freshFolder("killed");
  }

  @Override
  protected Map<String, String> settings() {
    return Map.of("dfs.replication", hdfs.configuration().get("dfs.replication", "1"));
  }

  @Override
  protected Storage storage(URI root) throws IOException {
    return HadoopStorages.at(root, hdfs.configuration());
  }
}

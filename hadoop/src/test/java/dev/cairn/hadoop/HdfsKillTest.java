package dev.cairn.hadoop;

import org.junit.jupiter.api.extension.RegisterExtension;

/** kill -9 of a writer saving to a real HDFS (the NameNode and DataNode live in this JVM). */
class HdfsKillTest extends RemoteKillContract {
  @RegisterExtension static final MiniHdfs hdfs = new MiniHdfs();

  @Override
  protected RemoteBackend backend() {
    return RemoteBackend.hdfs(hdfs);
  }
}

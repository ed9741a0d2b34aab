package dev.cairn.hadoop;

import org.junit.jupiter.api.extension.RegisterExtension;

/** A group's save to a real HDFS (the rename commit), one rank killed at each protocol point. */
class HdfsGroupCrashTest extends RemoteGroupCrashContract {
  @RegisterExtension static final MiniHdfs hdfs = new MiniHdfs();

  @Override
  protected RemoteBackend backend() {
    return RemoteBackend.hdfs(hdfs);
  }
}

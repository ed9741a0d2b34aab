package dev.cairn.hadoop;

import dev.cairn.store.Storage;
import java.io.IOException;
import java.net.URI;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The checkpoint store on a real HDFS: the rename commit strategy. */
class HdfsCheckpointStoreTest extends RemoteCheckpointStoreContract {
  static MiniHdfs hdfs;

  @BeforeAll
  static void start() throws IOException {
    hdfs = new MiniHdfs();
  }

  @AfterAll
  static void stop() {
    hdfs.close();
  }

  @Override
  protected Storage freshStorage() throws IOException {
    return HadoopStorages.at(hdfs.freshFolder("ck"), hdfs.configuration());
  }

  @Override
  protected Storage sameFolderElsewhere(Storage s) throws IOException {
    org.apache.hadoop.conf.Configuration conf = hdfs.configuration();
    conf.setBoolean("fs.hdfs.impl.disable.cache", true);
    return HadoopStorages.at(URI.create(s.location("")), conf);
  }

  @Override
  protected boolean expectsAtomicRename() {
    return true;
  }
}

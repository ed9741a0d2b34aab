package dev.cairn.hadoop;

import dev.cairn.store.Storage;
import dev.cairn.testkit.StorageContract;
import java.io.IOException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The storage contract on a real HDFS. */
class HdfsStorageContractTest extends StorageContract {
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
  protected Storage newStorage() throws IOException {
    return HadoopStorages.at(hdfs.freshFolder("contract"), hdfs.configuration());
  }
}

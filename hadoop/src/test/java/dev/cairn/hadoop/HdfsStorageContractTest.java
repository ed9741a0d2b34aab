package dev.cairn.hadoop;

import dev.cairn.store.Storage;
import dev.cairn.testkit.StorageContract;
import java.io.IOException;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The storage contract on a real HDFS. */
class HdfsStorageContractTest extends StorageContract {
  @RegisterExtension static final MiniHdfs hdfs = new MiniHdfs();

  @Override
  protected Storage newStorage() throws IOException {
    return HadoopStorages.at(hdfs.freshFolder("contract"), hdfs.configuration());
  }
}

package dev.cairn.hadoop;

import dev.cairn.store.Storage;
import java.io.IOException;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Network faults between a checkpoint store and a real HDFS. */
class HdfsFaultTest extends RemoteFaultContract {
  @RegisterExtension static final MiniHdfs hdfs = new MiniHdfs();

  @Override
  protected Storage freshStorage() throws IOException {
    return HadoopStorages.at(hdfs.freshFolder("faults"), hdfs.configuration());
  }
}

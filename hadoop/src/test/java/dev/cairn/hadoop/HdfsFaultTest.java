package dev.cairn.hadoop;

import dev.cairn.store.Storage;
import java.io.IOException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** Network faults between a checkpoint store and a real HDFS. */
class HdfsFaultTest extends RemoteFaultContract {
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
    return HadoopStorages.at(hdfs.freshFolder("faults"), hdfs.configuration());
  }
}

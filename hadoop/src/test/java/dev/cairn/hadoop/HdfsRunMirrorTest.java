package dev.cairn.hadoop;

import dev.cairn.store.Storage;
import java.io.IOException;
import java.net.URI;
import org.junit.jupiter.api.extension.RegisterExtension;

/** A run folder mirrored to a real HDFS. */
class HdfsRunMirrorTest extends RemoteRunMirrorContract {
  @RegisterExtension static final MiniHdfs hdfs = new MiniHdfs();

  @Override
  protected Storage freshStorage() throws IOException {
    return HadoopStorages.at(hdfs.freshFolder("run"), hdfs.configuration());
  }

  @Override
  protected Storage sameFolderElsewhere(Storage s) throws IOException {
    org.apache.hadoop.conf.Configuration conf = hdfs.configuration();
    conf.setBoolean("fs.hdfs.impl.disable.cache", true);
    return HadoopStorages.at(URI.create(s.location("")), conf);
  }
}

package dev.cairn.hadoop;

import dev.cairn.store.Storage;
import dev.cairn.store.StorageProvider;
import java.io.IOException;
import java.net.URI;
import java.util.Map;

/** Serves every scheme but {@code file} (the local disk) through Hadoop's FileSystem. */
public final class HadoopStorageProvider implements StorageProvider {

  @Override
  public boolean handles(String scheme) {
    return !scheme.equals("file");
  }

  @Override
  public Storage open(URI root, Map<String, String> settings) throws IOException {
    return HadoopStorages.open(root, settings);
  }
}

package dev.cairn.testkit;

import dev.cairn.store.Storage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/** The storage contract for local storage on the default file system. */
class LocalStorageContractTest extends StorageContract {
  @TempDir Path dir;

  @Override
  protected Storage newStorage() throws IOException {
    return Storage.at(Files.createDirectories(dir.resolve("local")));
  }
}

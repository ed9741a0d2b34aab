package dev.cairn.testkit;

import dev.cairn.store.Storage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/** Without faults the double is the storage underneath: the whole contract holds through it. */
class FaultyStorageContractTest extends StorageContract {
  @TempDir Path dir;

  @Override
  protected Storage newStorage() throws IOException {
    return new FaultyStorage(Storage.at(Files.createDirectories(dir.resolve("local"))));
  }
}

package dev.cairn.testkit;

import dev.cairn.store.Storage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/**
 * The storage contract for local storage without atomic renames (as the marker commit strategy runs
 * on a local disk).
 */
class MarkerLocalStorageContractTest extends StorageContract {
  @TempDir Path dir;

  @Override
  protected Storage newStorage() throws IOException {
    return Storage.atWithoutAtomicRename(Files.createDirectories(dir.resolve("marker")));
  }
}

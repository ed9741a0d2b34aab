package dev.cairn.testkit;

import dev.cairn.store.Storage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/** The storage contract for local storage on the crash-simulating file system. */
class CrashFileSystemStorageContractTest extends StorageContract {
  @TempDir Path dir;

  @Override
  protected Storage newStorage() throws IOException {
    return Storage.at(CrashFileSystem.wrap(Files.createDirectories(dir.resolve("crash"))).root());
  }
}

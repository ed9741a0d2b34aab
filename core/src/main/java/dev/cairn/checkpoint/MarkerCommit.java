package dev.cairn.checkpoint;

import dev.cairn.store.Storage;
import dev.cairn.store.StorageNames;
import java.io.IOException;

/**
 * For storage whose rename is not atomic (object stores): files go straight into {@code step-N} and
 * the manifest, created exclusively and written last, is the commit. A {@code step-N} without a
 * manifest is a save in flight or abandoned, never damage; deleting takes the manifest away first,
 * so a crash mid-delete leaves an abandoned folder, never a half-deleted checkpoint.
 */
final class MarkerCommit extends CommitStrategy {

  @Override
  String workFolder(long step, String id) {
    return StepFolders.name(step);
  }

  @Override
  void beforeManifest(Storage storage, String work) throws IOException {
    // The marker must not become durable before the files it vouches for.
    storage.syncFolder(work);
  }

  @Override
  void publish(Storage storage, String work, String target) throws IOException {
    storage.syncFolder(ROOT);
  }

  @Override
  void withdraw(Storage storage, String target) throws IOException {
    delete(storage, target);
  }

  @Override
  void delete(Storage storage, String folder) throws IOException {
    storage.delete(StorageNames.join(folder, Manifest.FILE_NAME));
    storage.syncFolder(folder);
    storage.deleteTree(folder);
  }

  @Override
  CheckpointState withoutManifest() {
    return CheckpointState.UNCOMMITTED;
  }
}

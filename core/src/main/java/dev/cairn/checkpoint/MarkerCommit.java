package dev.cairn.checkpoint;

import dev.cairn.store.Storage;
import java.io.IOException;
import java.nio.file.Path;

/**
 * For storage whose rename is not atomic (object stores): files go straight into {@code step-N} and
 * the manifest, created exclusively and written last, is the commit. A {@code step-N} without a
 * manifest is a save in flight or abandoned, never damage; deleting takes the manifest away first,
 * so a crash mid-delete leaves an abandoned folder, never a half-deleted checkpoint.
 */
final class MarkerCommit extends CommitStrategy {

  @Override
  Path workFolder(Path parent, long step) {
    return parent.resolve(StepFolders.name(step));
  }

  @Override
  void beforeManifest(Storage storage, Path work) throws IOException {
    // The marker must not become durable before the files it vouches for.
    storage.syncFolder(work);
  }

  @Override
  void publish(Storage storage, Path work, Path target, Path parent) throws IOException {
    storage.syncFolder(parent);
  }

  @Override
  void withdraw(Storage storage, Path target, Path parent) throws IOException {
    storage.delete(target.resolve(Manifest.FILE_NAME));
    storage.syncFolder(target);
    storage.deleteTree(target);
  }

  @Override
  void delete(Storage storage, Path folder, Path parent) throws IOException {
    storage.delete(folder.resolve(Manifest.FILE_NAME));
    storage.syncFolder(folder);
    storage.deleteTree(folder);
  }

  @Override
  CheckpointState withoutManifest() {
    return CheckpointState.UNCOMMITTED;
  }
}

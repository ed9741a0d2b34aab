package dev.cairn.checkpoint;

import dev.cairn.store.Storage;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Publish by one atomic rename of {@code step-N.tmp-*} to {@code step-N}: a published folder is
 * complete or absent, so one without a manifest has lost it (damaged).
 */
final class RenameCommit extends CommitStrategy {

  @Override
  Path workFolder(Path parent, long step) {
    return parent.resolve(StepFolders.temporary(step, CheckpointCommit.randomHex()));
  }

  @Override
  void beforeManifest(Storage storage, Path work) {
    // Nothing is visible before the rename, so the manifest needs no barrier of its own.
  }

  @Override
  void publish(Storage storage, Path work, Path target, Path parent) throws IOException {
    storage.rename(work, target);
    storage.syncFolder(parent);
  }

  @Override
  void withdraw(Storage storage, Path target, Path parent) throws IOException {
    Path back = parent.resolve(StepFolders.temporary(StepFolders.step(target), randomSuffix()));
    storage.rename(target, back);
    try {
      storage.syncFolder(parent);
    } finally {
      storage.deleteTree(back);
    }
  }

  @Override
  void delete(Storage storage, Path folder, Path parent) throws IOException {
    Path doomed = parent.resolve(StepFolders.deleting(StepFolders.step(folder), randomSuffix()));
    // Renamed first, so a crash mid-delete never leaves a half-deleted step-N that looks real.
    storage.rename(folder, doomed);
    storage.syncFolder(parent);
    storage.deleteTree(doomed);
  }

  @Override
  CheckpointState withoutManifest() {
    return CheckpointState.DAMAGED;
  }

  private static String randomSuffix() {
    return CheckpointCommit.randomHex();
  }
}

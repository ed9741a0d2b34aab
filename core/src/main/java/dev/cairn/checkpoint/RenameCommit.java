package dev.cairn.checkpoint;

import dev.cairn.store.Storage;
import java.io.IOException;

/**
 * Publish by one atomic rename of {@code step-N.tmp-*} to {@code step-N}: a published folder is
 * complete or absent, so one without a manifest has lost it (damaged).
 */
final class RenameCommit extends CommitStrategy {

  @Override
  String workFolder(long step, String id) {
    return StepFolders.temporary(step, id);
  }

  @Override
  void beforeManifest(Storage storage, String work) {
    // Nothing is visible before the rename, so the manifest needs no barrier of its own.
  }

  @Override
  void publish(Storage storage, String work, String target) throws IOException {
    storage.rename(work, target);
    storage.syncFolder(ROOT);
  }

  @Override
  void withdraw(Storage storage, String target) throws IOException {
    String back = StepFolders.temporary(StepFolders.step(target), CheckpointCommit.randomHex());
    storage.rename(target, back);
    try {
      storage.syncFolder(ROOT);
    } finally {
      storage.deleteTree(back);
    }
  }

  @Override
  void delete(Storage storage, String folder) throws IOException {
    String doomed = StepFolders.deleting(StepFolders.step(folder), CheckpointCommit.randomHex());
    // Renamed first, so a crash mid-delete never leaves a half-deleted step-N that looks real.
    storage.rename(folder, doomed);
    storage.syncFolder(ROOT);
    storage.deleteTree(doomed);
  }

  @Override
  CheckpointState withoutManifest() {
    return CheckpointState.DAMAGED;
  }
}

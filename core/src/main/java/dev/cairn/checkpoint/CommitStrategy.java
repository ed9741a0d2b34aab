package dev.cairn.checkpoint;

import dev.cairn.store.Storage;
import java.io.IOException;

/**
 * How a checkpoint becomes visible, and so what each folder of a store means: chosen once from what
 * the storage can do ({@link #of}), and asked by everything else. A strategy knows its work
 * location, how it publishes and withdraws, how it deletes so that a crash at any instant leaves a
 * checkpoint whole or plainly abandoned, and what a published name without a manifest is.
 *
 * <p>Names are relative to the store's storage, whose root is the checkpoint folder.
 *
 * <p>{@link RenameCommit} (local disks, HDFS): write into {@code step-N.tmp-*}, publish by one
 * atomic rename. {@link MarkerCommit} (object stores, where a rename is a copy): write straight
 * into {@code step-N}; {@code manifest.json}, written and synced last, is the commit.
 */
abstract class CommitStrategy {
  /** The checkpoint folder itself: the storage's root. */
  static final String ROOT = "";

  static CommitStrategy of(Storage storage) {
    return storage.capabilities().atomicRename() ? new RenameCommit() : new MarkerCommit();
  }

  /**
   * The folder a save of {@code step} writes its files into; {@code id} tells saves of the same
   * step apart where the strategy writes beside the published folder (hex digits).
   */
  abstract String workFolder(long step, String id);

  /** Runs after every part file is synced and before the manifest is written. */
  abstract void beforeManifest(Storage storage, String work) throws IOException;

  /**
   * Makes the work folder visible as {@code target}, durably: after return, a crash finds it.
   *
   * @throws IOException when it may be visible but is not known to be durable
   */
  abstract void publish(Storage storage, String work, String target) throws IOException;

  /** Takes back a publish that could not be made durable, so that nothing half-promised stays. */
  abstract void withdraw(Storage storage, String target) throws IOException;

  /**
   * Deletes a published checkpoint so that a crash at any instant leaves either the whole
   * checkpoint or a folder this strategy calls abandoned (and so removes at the next open).
   */
  abstract void delete(Storage storage, String folder) throws IOException;

  /** What a published {@code step-N} folder without a manifest is under this strategy. */
  abstract CheckpointState withoutManifest();

  /** The state of a folder, given whether its manifest file exists and reads correctly. */
  final CheckpointState state(
      StepFolders.NameKind kind, boolean manifestExists, boolean manifestValid) {
    switch (kind) {
      case PUBLISHED:
        if (!manifestExists) {
          return withoutManifest();
        }
        return manifestValid ? CheckpointState.COMMITTED : CheckpointState.DAMAGED;
      case TEMPORARY:
        return CheckpointState.UNCOMMITTED;
      case DELETING:
        return CheckpointState.DELETING;
      case SET_ASIDE:
        return CheckpointState.SET_ASIDE;
      default:
        return null;
    }
  }
}

package dev.cairn.checkpoint;

import dev.cairn.store.Storage;

/**
 * How a checkpoint becomes visible, chosen here and only here from what the storage can do.
 *
 * <p>RENAME (local disks): everything is written into {@code step-N.tmp-*} and published by one
 * atomic rename, so {@code step-N} is complete or absent.
 *
 * <p>MARKER (object stores, where a rename is a copy): files are written straight into {@code
 * step-N} and {@code manifest.json}, written and synced last, is the commit marker; a {@code
 * step-N} without one is abandoned work and is removed at start.
 */
enum CommitStrategy {
  RENAME,
  MARKER;

  static CommitStrategy of(Storage storage) {
    return storage.atomicRename() ? RENAME : MARKER;
  }
}

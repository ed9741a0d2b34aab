package dev.cairn.checkpoint;

import dev.cairn.store.Storage;
import dev.cairn.store.StorageNames;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The one place that answers "committed?", "abandoned?" and "intact at level L?" for a folder of a
 * checkpoint store, by the store's commit strategy. Store cleanup, listing, pinning, retention, the
 * final save, {@code cairn verify} and the dashboard all ask it. Names are relative to the storage,
 * whose root is the checkpoint folder; {@code base} is how that root is named in results.
 */
final class CheckpointFolders {
  private final Storage storage;
  private final Path base;
  private final CommitStrategy strategy;

  CheckpointFolders(Storage storage, Path base) {
    this.storage = storage;
    this.base = base;
    this.strategy = CommitStrategy.of(storage);
  }

  CommitStrategy strategy() {
    return strategy;
  }

  Storage storage() {
    return storage;
  }

  /** A name of the storage as a path (its file name is the folder's name). */
  Path path(String name) {
    return name.isEmpty() ? base : base.resolve(name);
  }

  /** How a name of the storage is shown in results, events and errors. */
  String location(String name) {
    return storage.location(name);
  }

  /** A folder's state, and its manifest when committed. */
  record Described(CheckpointState state, Manifest manifest) {}

  /** What a folder is, or null when it is not a checkpoint folder at all. */
  Described describe(String folder) throws IOException {
    StepFolders.NameKind kind = StepFolders.kind(folder);
    if (kind == StepFolders.NameKind.OTHER || !storage.isFolder(folder)) {
      return null;
    }
    Manifest m = null;
    boolean exists = false;
    if (kind == StepFolders.NameKind.PUBLISHED) {
      String mf = StorageNames.join(folder, Manifest.FILE_NAME);
      exists = storage.exists(mf);
      if (exists) {
        try {
          m = CheckpointVerifier.readManifest(storage, mf, path(mf));
        } catch (IOException e) {
          m = null;
        }
      }
    }
    CheckpointState state = strategy.state(kind, exists, m != null);
    return new Described(state, state == CheckpointState.COMMITTED ? m : null);
  }

  /**
   * The state of a folder that a writer removes when it opens the store ({@link
   * CheckpointState#isAbandoned()}), or null for any other folder: as {@code state(folder)}, but a
   * published folder's manifest is never read, at most asked whether it exists (and not even that
   * where a published folder cannot be abandoned), so that opening a store does not grow with the
   * number of checkpoints it holds.
   */
  CheckpointState leftover(String folder) throws IOException {
    StepFolders.NameKind kind = StepFolders.kind(folder);
    if (kind != StepFolders.NameKind.PUBLISHED) {
      CheckpointState s = state(folder); // reads no manifest for these kinds
      return s != null && s.isAbandoned() ? s : null;
    }
    CheckpointState without = strategy.withoutManifest();
    if (!without.isAbandoned()
        || !storage.isFolder(folder)
        || storage.exists(StorageNames.join(folder, Manifest.FILE_NAME))) {
      return null; // committed or damaged, whatever its manifest says
    }
    return without;
  }

  /** A folder's state, or null when it is not a checkpoint folder. */
  CheckpointState state(String folder) throws IOException {
    Described d = describe(folder);
    return d == null ? null : d.state();
  }

  /** Checks a folder at a level: intact, damaged, not committed, or deleted while checked. */
  VerifyResult verify(String folder, Verification level) {
    Path shown = path(folder);
    Described d;
    try {
      d = describe(folder);
    } catch (IOException e) {
      return new VerifyResult(
          shown, VerifyResult.Outcome.DAMAGED, null, java.util.List.of("unreadable: " + e));
    }
    if (d == null
        || (d.state() != CheckpointState.COMMITTED && d.state() != CheckpointState.DAMAGED)) {
      String what =
          d == null
              ? "not a checkpoint folder"
              : "not a committed checkpoint ("
                  + d.state().name().toLowerCase(java.util.Locale.ROOT)
                  + ")";
      return new VerifyResult(
          shown, VerifyResult.Outcome.NOT_COMMITTED, null, java.util.List.of(what));
    }
    CheckpointVerifier.Result r = CheckpointVerifier.check(this, folder, level);
    if (r.problems().isEmpty()) {
      return new VerifyResult(shown, VerifyResult.Outcome.INTACT, r.manifest(), r.lines());
    }
    if (d.state() == CheckpointState.COMMITTED && !manifestStillThere(folder)) {
      // It had a sound manifest a moment ago: deleted (retention) while we read it, not damaged.
      return new VerifyResult(
          shown,
          VerifyResult.Outcome.DELETED,
          r.manifest(),
          java.util.List.of("deleted while it was being checked"));
    }
    return new VerifyResult(shown, VerifyResult.Outcome.DAMAGED, r.manifest(), r.lines());
  }

  private boolean manifestStillThere(String folder) {
    try {
      return storage.exists(StorageNames.join(folder, Manifest.FILE_NAME));
    } catch (IOException e) {
      return true; // cannot tell: report what was found, not a deletion
    }
  }
}

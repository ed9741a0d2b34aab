package dev.cairn.checkpoint;

import dev.cairn.store.Storage;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The one place that answers "committed?", "abandoned?" and "intact at level L?" for a folder of a
 * checkpoint store, by the store's commit strategy. Store cleanup, listing, pinning, retention, the
 * final save, {@code cairn verify} and the dashboard all ask it.
 */
final class CheckpointFolders {
  private final Storage storage;
  private final CommitStrategy strategy;

  CheckpointFolders(Storage storage) {
    this.storage = storage;
    this.strategy = CommitStrategy.of(storage);
  }

  CommitStrategy strategy() {
    return strategy;
  }

  /** A folder's state, and its manifest when committed. */
  record Described(CheckpointState state, Manifest manifest) {}

  /** What a folder is, or null when it is not a checkpoint folder at all. */
  Described describe(Path folder) {
    StepFolders.NameKind kind = StepFolders.kind(folder);
    if (kind == StepFolders.NameKind.OTHER || !storage.isFolder(folder)) {
      return null;
    }
    Manifest m = null;
    boolean exists = false;
    if (kind == StepFolders.NameKind.PUBLISHED) {
      Path mf = folder.resolve(Manifest.FILE_NAME);
      exists = storage.exists(mf);
      if (exists) {
        try {
          m = CheckpointVerifier.readManifest(storage, mf);
        } catch (IOException e) {
          m = null;
        }
      }
    }
    CheckpointState state = strategy.state(kind, exists, m != null);
    return new Described(state, state == CheckpointState.COMMITTED ? m : null);
  }

  /** A folder's state, or null when it is not a checkpoint folder. */
  CheckpointState state(Path folder) {
    Described d = describe(folder);
    return d == null ? null : d.state();
  }

  /** Checks a folder at a level: intact, damaged, not committed, or deleted while checked. */
  VerifyResult verify(Path folder, Verification level) {
    Described d = describe(folder);
    if (d == null
        || (d.state() != CheckpointState.COMMITTED && d.state() != CheckpointState.DAMAGED)) {
      String what =
          d == null
              ? "not a checkpoint folder"
              : "not a committed checkpoint ("
                  + d.state().name().toLowerCase(java.util.Locale.ROOT)
                  + ")";
      return new VerifyResult(
          folder, VerifyResult.Outcome.NOT_COMMITTED, null, java.util.List.of(what));
    }
    CheckpointVerifier.Result r = CheckpointVerifier.check(storage, folder, level);
    if (r.problems().isEmpty()) {
      return new VerifyResult(folder, VerifyResult.Outcome.INTACT, r.manifest(), r.lines());
    }
    if (d.state() == CheckpointState.COMMITTED
        && !storage.exists(folder.resolve(Manifest.FILE_NAME))) {
      // It had a sound manifest a moment ago: deleted (retention) while we read it, not damaged.
      return new VerifyResult(
          folder,
          VerifyResult.Outcome.DELETED,
          r.manifest(),
          java.util.List.of("deleted while it was being checked"));
    }
    return new VerifyResult(folder, VerifyResult.Outcome.DAMAGED, r.manifest(), r.lines());
  }
}

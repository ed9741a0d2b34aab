package dev.cairn.checkpoint;

import dev.cairn.store.Storage;
import dev.cairn.store.StorageNames;
import dev.cairn.testkit.ForwardingStorage;
import java.io.IOException;

/**
 * Local storage as a reader in one process sees it while retention in another deletes a checkpoint:
 * the first time a data file of {@code victim} is opened, the folder is renamed away (as retention
 * does) just before.
 */
final class DeletingStorage extends ForwardingStorage {
  private final String victim;
  private final String away;
  private boolean done;

  DeletingStorage(Storage local, String victim, String away) {
    super(local);
    this.victim = victim;
    this.away = away;
  }

  @Override
  public Input open(String name) throws IOException {
    race(name);
    return super.open(name);
  }

  @Override
  public Input openSequential(String name) throws IOException {
    race(name);
    return super.openSequential(name);
  }

  @Override
  public Listing listing(String folder) {
    return Listing.byName(this, folder); // opens come back here, to race
  }

  private void race(String name) throws IOException {
    if (!done
        && victim.equals(StorageNames.parent(name))
        && !StorageNames.last(name).equals(Manifest.FILE_NAME)) {
      done = true;
      inner.rename(victim, away);
    }
  }
}

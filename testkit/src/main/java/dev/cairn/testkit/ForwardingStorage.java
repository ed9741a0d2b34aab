package dev.cairn.testkit;

import dev.cairn.store.Storage;
import java.io.IOException;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * A storage that passes every call to another: the base of test doubles that change one behaviour
 * (a deletion racing a read, a fault at the n-th call) and keep the rest real.
 */
public class ForwardingStorage implements Storage {
  protected final Storage inner;

  public ForwardingStorage(Storage inner) {
    this.inner = java.util.Objects.requireNonNull(inner, "inner");
  }

  @Override
  public Capabilities capabilities() {
    return inner.capabilities();
  }

  @Override
  public String location(String name) {
    return inner.location(name);
  }

  @Override
  public Output create(String name) throws IOException {
    return inner.create(name);
  }

  @Override
  public Optional<DirectOutput> createDirect(String name) throws IOException {
    return inner.createDirect(name);
  }

  @Override
  public Input open(String name) throws IOException {
    return inner.open(name);
  }

  @Override
  public Input openSequential(String name) throws IOException {
    return inner.openSequential(name);
  }

  /**
   * The inner storage's listing, whose opens do not come back through this double: a double that
   * changes how files open returns {@code Listing.byName(this, folder)} instead.
   */
  @Override
  public Listing listing(String folder) throws IOException {
    return inner.listing(folder);
  }

  @Override
  public void createFolder(String name) throws IOException {
    inner.createFolder(name);
  }

  @Override
  public void createFolders(String name) throws IOException {
    inner.createFolders(name);
  }

  @Override
  public void syncFolder(String name) throws IOException {
    inner.syncFolder(name);
  }

  @Override
  public void rename(String from, String to) throws IOException {
    inner.rename(from, to);
  }

  @Override
  public List<String> list(String folder) throws IOException {
    return inner.list(folder);
  }

  @Override
  public void delete(String name) throws IOException {
    inner.delete(name);
  }

  @Override
  public void deleteTree(String name) throws IOException {
    inner.deleteTree(name);
  }

  @Override
  public boolean exists(String name) throws IOException {
    return inner.exists(name);
  }

  @Override
  public boolean isFolder(String name) throws IOException {
    return inner.isFolder(name);
  }

  @Override
  public long size(String name) throws IOException {
    return inner.size(name);
  }

  @Override
  public Optional<java.time.Instant> lastModified(String name) throws IOException {
    return inner.lastModified(name);
  }

  @Override
  public OptionalLong usableSpace(String folder) throws IOException {
    return inner.usableSpace(folder);
  }

  @Override
  public Lock lock(String name) throws IOException {
    return inner.lock(name);
  }

  @Override
  public Optional<Lock> tryLock(String name) throws IOException {
    return inner.tryLock(name);
  }
}

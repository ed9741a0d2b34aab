package dev.cairn.store;

import java.io.IOException;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/** A storage seen from one of its folders: every name is prefixed, nothing else changes. */
final class ChildStorage implements Storage {
  private final Storage parent;
  private final String prefix;

  ChildStorage(Storage parent, String prefix) {
    this.parent = parent;
    this.prefix = StorageNames.check(prefix);
  }

  private String full(String name) {
    return StorageNames.join(prefix, name);
  }

  @Override
  public Capabilities capabilities() {
    return parent.capabilities();
  }

  @Override
  public String location(String name) {
    return parent.location(full(name));
  }

  @Override
  public Output create(String name) throws IOException {
    return parent.create(full(name));
  }

  @Override
  public Optional<DirectOutput> createDirect(String name) throws IOException {
    return parent.createDirect(full(name));
  }

  @Override
  public Input open(String name) throws IOException {
    return parent.open(full(name));
  }

  @Override
  public Input openSequential(String name) throws IOException {
    return parent.openSequential(full(name));
  }

  @Override
  public Listing listing(String folder) throws IOException {
    return parent.listing(full(folder));
  }

  @Override
  public void createFolder(String name) throws IOException {
    parent.createFolder(full(name));
  }

  @Override
  public void createFolders(String name) throws IOException {
    parent.createFolders(full(name));
  }

  @Override
  public void syncFolder(String name) throws IOException {
    parent.syncFolder(full(name));
  }

  @Override
  public void rename(String from, String to) throws IOException {
    parent.rename(full(from), full(to));
  }

  @Override
  public List<String> list(String folder) throws IOException {
    return parent.list(full(folder));
  }

  @Override
  public void delete(String name) throws IOException {
    parent.delete(full(name));
  }

  @Override
  public void deleteTree(String name) throws IOException {
    parent.deleteTree(full(name));
  }

  @Override
  public boolean exists(String name) throws IOException {
    return parent.exists(full(name));
  }

  @Override
  public boolean isFolder(String name) throws IOException {
    return parent.isFolder(full(name));
  }

  @Override
  public long size(String name) throws IOException {
    return parent.size(full(name));
  }

  @Override
  public Optional<java.time.Instant> lastModified(String name) throws IOException {
    return parent.lastModified(full(name));
  }

  @Override
  public OptionalLong usableSpace(String folder) throws IOException {
    return parent.usableSpace(full(folder));
  }

  @Override
  public Lock lock(String name) throws IOException {
    return parent.lock(full(name));
  }

  @Override
  public Optional<Lock> tryLock(String name) throws IOException {
    return parent.tryLock(full(name));
  }

  @Override
  public Storage child(String folder) {
    StorageNames.check(folder);
    return folder.isEmpty() ? this : new ChildStorage(parent, full(folder));
  }
}

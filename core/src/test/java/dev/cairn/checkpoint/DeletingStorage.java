package dev.cairn.checkpoint;

import dev.cairn.store.Storage;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Local storage as a reader in one process sees it while retention in another deletes a checkpoint:
 * the first time a data file of {@code victim} is opened, the folder is renamed away (as retention
 * does) just before.
 */
final class DeletingStorage implements Storage {
  private final Storage local;
  private final Path victim;
  private final Path away;
  private boolean done;

  DeletingStorage(Storage local, Path victim, Path away) {
    this.local = local;
    this.victim = victim;
    this.away = away;
  }

  @Override
  public FileChannel openRead(Path file) throws IOException {
    if (!done
        && victim.equals(file.getParent())
        && !file.getFileName().toString().equals(Manifest.FILE_NAME)) {
      done = true;
      local.rename(victim, away);
    }
    return local.openRead(file);
  }

  @Override
  public FileChannel create(Path file) throws IOException {
    return local.create(file);
  }

  @Override
  public void createFolder(Path folder) throws IOException {
    local.createFolder(folder);
  }

  @Override
  public void createFolders(Path folder) throws IOException {
    local.createFolders(folder);
  }

  @Override
  public void sync(FileChannel file) throws IOException {
    local.sync(file);
  }

  @Override
  public void syncFolder(Path folder) throws IOException {
    local.syncFolder(folder);
  }

  @Override
  public void rename(Path from, Path to) throws IOException {
    local.rename(from, to);
  }

  @Override
  public boolean atomicRename() {
    return local.atomicRename();
  }

  @Override
  public List<Path> list(Path folder) throws IOException {
    return local.list(folder);
  }

  @Override
  public void delete(Path path) throws IOException {
    local.delete(path);
  }

  @Override
  public void deleteTree(Path folder) throws IOException {
    local.deleteTree(folder);
  }

  @Override
  public boolean exists(Path path) {
    return local.exists(path);
  }

  @Override
  public boolean isFolder(Path path) {
    return local.isFolder(path);
  }

  @Override
  public long size(Path file) throws IOException {
    return local.size(file);
  }

  @Override
  public long usableSpace(Path folder) throws IOException {
    return local.usableSpace(folder);
  }

  @Override
  public Lock lock(Path file) throws IOException {
    return local.lock(file);
  }

  @Override
  public Optional<Lock> tryLock(Path file) throws IOException {
    return local.tryLock(file);
  }
}

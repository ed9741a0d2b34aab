package dev.cairn.checkpoint;

import dev.cairn.concurrent.DaemonThreads;
import dev.cairn.store.Storage;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.function.Consumer;

/** The local implementation of {@link CheckpointStore}. */
final class DefaultCheckpointStore implements CheckpointStore {
  private final Path folder;
  private final Storage storage;
  private final Clock clock;
  private final Consumer<CheckpointEvent> events;
  private final Verification loadVerification;
  private final boolean readOnly;
  private final FileChannel lockChannel;
  private final FileLock lock;
  private final ExecutorService hashing;
  private final ExecutorService io;
  private final DirectFileWriter.StagingBuffers staging = new DirectFileWriter.StagingBuffers();
  private final long directThreshold;
  private boolean closed;

  private DefaultCheckpointStore(
      Path folder,
      Storage storage,
      Clock clock,
      Consumer<CheckpointEvent> events,
      Verification loadVerification,
      boolean readOnly,
      long directThreshold,
      FileChannel lockChannel,
      FileLock lock) {
    this.directThreshold = directThreshold;
    this.folder = folder;
    this.storage = storage;
    this.clock = clock;
    this.events = safe(events);
    this.loadVerification = loadVerification;
    this.readOnly = readOnly;
    this.lockChannel = lockChannel;
    this.lock = lock;
    this.hashing = readOnly ? null : DaemonThreads.single("cairn-checksum");
    this.io = readOnly ? null : DaemonThreads.single("cairn-direct-io");
  }

  static CheckpointStore open(
      Path folder,
      Storage storage,
      Clock clock,
      Consumer<CheckpointEvent> events,
      Verification loadVerification,
      boolean readOnly,
      long directThreshold)
      throws IOException {
    if (readOnly) {
      if (!storage.isFolder(folder)) {
        throw new java.nio.file.NoSuchFileException(
            folder.toString(), null, "no checkpoint folder here");
      }
      return new DefaultCheckpointStore(
          folder, storage, clock, events, loadVerification, true, directThreshold, null, null);
    }
    storage.createFolders(folder);
    FileChannel ch =
        FileChannel.open(
            folder.resolve(StepFolders.LOCK_FILE),
            StandardOpenOption.CREATE,
            StandardOpenOption.WRITE);
    FileLock lock;
    try {
      lock = ch.tryLock();
    } catch (OverlappingFileLockException e) {
      lock = null;
    }
    if (lock == null) {
      ch.close();
      throw new IllegalStateException(
          "another writer holds "
              + folder.resolve(StepFolders.LOCK_FILE)
              + "; stop that process (or close its store) before writing checkpoints here");
    }
    DefaultCheckpointStore store =
        new DefaultCheckpointStore(
            folder, storage, clock, events, loadVerification, false, directThreshold, ch, lock);
    try {
      store.removeLeftovers();
    } catch (IOException | RuntimeException e) {
      try {
        store.close();
      } catch (IOException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
    return store;
  }

  /** A listener that throws must not break a save or a load. */
  private static Consumer<CheckpointEvent> safe(Consumer<CheckpointEvent> events) {
    return e -> {
      try {
        events.accept(e);
      } catch (RuntimeException ignored) {
        CheckpointEvents.LOG_SINK.accept(e);
      }
    };
  }

  private void removeLeftovers() throws IOException {
    boolean removed = false;
    for (Path p : storage.list(folder)) {
      boolean abandoned =
          StepFolders.isLeftover(p)
              || (CommitStrategy.of(storage) == CommitStrategy.MARKER
                  && StepFolders.step(p) >= 0
                  && !storage.exists(p.resolve(Manifest.FILE_NAME)));
      if (abandoned) {
        storage.deleteTree(p);
        removed = true;
        events.accept(
            new CheckpointEvent(
                CheckpointEvent.Type.REMOVED_LEFTOVER,
                -1,
                p,
                "removed " + p.getFileName() + " left by an interrupted save or deletion"));
      }
    }
    if (removed) {
      storage.syncFolder(folder);
    }
  }

  @Override
  public Path folder() {
    return folder;
  }

  @Override
  public synchronized SavedCheckpoint save(Checkpoint checkpoint) throws IOException {
    if (readOnly) {
      throw new IllegalStateException("this checkpoint store was opened read-only");
    }
    CheckpointCommit commit =
        new CheckpointCommit(
            storage,
            new DurableWriter(storage, hashing, io, staging, directThreshold),
            folder,
            clock,
            events);
    try {
      SavedCheckpoint saved = commit.run(checkpoint);
      events.accept(
          new CheckpointEvent(
              CheckpointEvent.Type.SAVED,
              saved.step(),
              saved.folder(),
              String.format(
                  java.util.Locale.ROOT,
                  "saved %s (%s) in %.1f ms",
                  saved.folder().getFileName(),
                  dev.cairn.store.Bytes.human(saved.bytes()),
                  saved.nanos() / 1e6)));
      return saved;
    } catch (IOException | RuntimeException e) {
      events.accept(
          new CheckpointEvent(
              CheckpointEvent.Type.SAVE_FAILED,
              checkpoint.step(),
              folder.resolve(StepFolders.name(checkpoint.step())),
              "saving step " + checkpoint.step() + " failed: " + e.getMessage()));
      throw e;
    }
  }

  @Override
  public List<CheckpointInfo> list() throws IOException {
    Set<Long> pins = pinned();
    List<CheckpointInfo> out = new ArrayList<>();
    for (Path p : storage.list(folder)) {
      long step = StepFolders.step(p);
      if (step < 0 || !storage.isFolder(p)) {
        continue;
      }
      Manifest m = null;
      Path mf = p.resolve(Manifest.FILE_NAME);
      if (storage.exists(mf)) {
        try {
          m = CheckpointVerifier.readManifest(storage, mf);
        } catch (IOException e) {
          m = null;
        }
      }
      boolean pinned = pins.contains(step) || (m != null && m.name() != null);
      out.add(new CheckpointInfo(step, p, m, pinned));
    }
    out.sort(Comparator.comparingLong(CheckpointInfo::step));
    return out;
  }

  @Override
  public Optional<LoadedCheckpoint> loadLatestValid() throws IOException {
    List<CheckpointInfo> all = list();
    for (int i = all.size() - 1; i >= 0; i--) {
      CheckpointInfo c = all.get(i);
      try {
        return Optional.of(LoadedCheckpoint.open(storage, c.folder(), loadVerification));
      } catch (IOException e) {
        events.accept(
            new CheckpointEvent(
                CheckpointEvent.Type.SKIPPED_INVALID,
                c.step(),
                c.folder(),
                "skipped " + c.folder().getFileName() + ": " + e.getMessage()));
      }
    }
    return Optional.empty();
  }

  @Override
  public LoadedCheckpoint load(long step) throws IOException {
    return load(step, loadVerification);
  }

  @Override
  public LoadedCheckpoint load(long step, Verification level) throws IOException {
    Path p = folder.resolve(StepFolders.name(step));
    if (!storage.isFolder(p)) {
      throw new java.nio.file.NoSuchFileException(
          p.toString(), null, "no checkpoint for step " + step);
    }
    return LoadedCheckpoint.open(storage, p, level);
  }

  @Override
  public VerifyResult verify(long step, Verification level) {
    Path p = folder.resolve(StepFolders.name(step));
    return CheckpointVerifier.check(storage, p, level).toVerifyResult(p);
  }

  private Path pinFile(long step) {
    return folder.resolve(StepFolders.PINNED_FOLDER).resolve(StepFolders.name(step));
  }

  @Override
  public void pin(long step) throws IOException {
    Path p = folder.resolve(StepFolders.name(step));
    if (!storage.exists(p.resolve(Manifest.FILE_NAME))) {
      throw new IllegalArgumentException(
          "no committed checkpoint for step " + step + " in " + folder);
    }
    Path pins = folder.resolve(StepFolders.PINNED_FOLDER);
    storage.createFolders(pins);
    if (!storage.exists(pinFile(step))) {
      storage.create(pinFile(step)).close();
      storage.syncFolder(pins);
    }
  }

  @Override
  public void unpin(long step) throws IOException {
    storage.delete(pinFile(step));
    Path pins = folder.resolve(StepFolders.PINNED_FOLDER);
    if (storage.isFolder(pins)) {
      storage.syncFolder(pins);
    }
  }

  @Override
  public Set<Long> pinned() throws IOException {
    Set<Long> out = new TreeSet<>();
    Path pins = folder.resolve(StepFolders.PINNED_FOLDER);
    if (storage.isFolder(pins)) {
      for (Path p : storage.list(pins)) {
        long step = StepFolders.step(p);
        if (step >= 0) {
          out.add(step);
        }
      }
    }
    return out;
  }

  @Override
  public List<Long> applyRetention(RetentionPolicy policy) throws IOException {
    if (readOnly) {
      throw new IllegalStateException("this checkpoint store was opened read-only");
    }
    List<Long> deleted = new ArrayList<>();
    for (CheckpointInfo c : Retention.toDelete(list(), policy)) {
      if (storage.exists(pinFile(c.step()))) {
        continue; // pinned by another process (the dashboard) since the list was read
      }
      Path doomed = folder.resolve(StepFolders.deleting(c.step(), CheckpointCommit.randomHex()));
      // Renamed first so a crash mid-delete never leaves a half-deleted step-N that looks real.
      storage.rename(c.folder(), doomed);
      storage.syncFolder(folder);
      storage.deleteTree(doomed);
      deleted.add(c.step());
      events.accept(
          new CheckpointEvent(
              CheckpointEvent.Type.DELETED_BY_RETENTION,
              c.step(),
              c.folder(),
              "deleted " + c.folder().getFileName() + " (retention policy)"));
    }
    if (!deleted.isEmpty()) {
      storage.syncFolder(folder);
    }
    return deleted;
  }

  @Override
  public synchronized void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    if (hashing != null) {
      hashing.shutdownNow();
      io.shutdownNow();
    }
    if (lock != null) {
      try {
        lock.release();
      } finally {
        lockChannel.close();
      }
    }
  }
}

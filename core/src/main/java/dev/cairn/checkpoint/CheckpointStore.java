package dev.cairn.checkpoint;

import dev.cairn.store.Storage;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The checkpoints of one run: a folder of {@code step-N} folders, each committed atomically and
 * verified on load. Opened for writing, the store holds a lock so one process writes at a time, and
 * removes leftovers of interrupted saves and deletions.
 *
 * <pre>{@code
 * try (CheckpointStore store = CheckpointStore.open(runDir.resolve("checkpoints"))) {
 *   store.save(Checkpoint.at(step).tensors("model", tensors).json("state", state).build());
 *   Optional<LoadedCheckpoint> latest = store.loadLatestValid();
 * }
 * }</pre>
 */
public interface CheckpointStore extends Closeable {

  /** Opens (creating if needed) a store for writing, with local storage and the system clock. */
  static CheckpointStore open(Path folder) throws IOException {
    return builder(folder).open();
  }

  static Builder builder(Path folder) {
    return new Builder(folder, null);
  }

  /**
   * A store on any storage (HDFS, S3 through cairn-hadoop), rooted at its checkpoint folder. The
   * paths in results ({@link CheckpointInfo#folder()} and the rest) then only name things: they are
   * the storage's location written as a path.
   */
  static Builder builder(Storage storage) {
    java.util.Objects.requireNonNull(storage, "storage");
    return new Builder(Path.of(storage.location("")), storage);
  }

  /**
   * Checks one checkpoint folder on the local disk (any path, no store needed): what {@code cairn
   * verify} runs. A folder that is not a committed checkpoint (a save in flight, one set aside) is
   * {@link VerifyResult.Outcome#NOT_COMMITTED}; one deleted while it is read is {@link
   * VerifyResult.Outcome#DELETED}, not damaged.
   */
  static VerifyResult verifyFolder(Path checkpointFolder, Verification level) {
    Path abs = checkpointFolder.toAbsolutePath().normalize();
    if (abs.getParent() == null) {
      throw new IllegalArgumentException("expected a checkpoint folder, got the root " + abs);
    }
    return new CheckpointFolders(Storage.at(abs.getParent()), abs.getParent())
        .verify(String.valueOf(abs.getFileName()), level);
  }

  /**
   * What a folder on the local disk is as a checkpoint (committed, damaged, in flight, being
   * deleted, set aside), or empty when it is not a checkpoint folder: the same rule the store
   * itself uses.
   */
  static Optional<CheckpointState> classify(Path folder) {
    Path abs = folder.toAbsolutePath().normalize();
    if (abs.getParent() == null) {
      return Optional.empty();
    }
    try {
      return Optional.ofNullable(
          new CheckpointFolders(Storage.at(abs.getParent()), abs.getParent())
              .state(String.valueOf(abs.getFileName())));
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /**
   * Checks one checkpoint folder on any storage (HDFS, S3): {@code folder} is a name under the
   * storage's root, as {@link #verifyFolder(Path, Verification)} does on the local disk.
   */
  static VerifyResult verifyFolder(Storage storage, String folder, Verification level) {
    return new CheckpointFolders(storage, Path.of(storage.location(""))).verify(folder, level);
  }

  /** What a folder on any storage is as a checkpoint, as {@link #classify(Path)}. */
  static Optional<CheckpointState> classify(Storage storage, String folder) throws IOException {
    dev.cairn.store.StorageNames.check(folder);
    if (folder.isEmpty()) {
      return Optional.empty();
    }
    return Optional.ofNullable(
        new CheckpointFolders(storage, Path.of(storage.location(""))).state(folder));
  }

  /** The folder holding the {@code step-N} folders. */
  Path folder();

  /**
   * Saves durably by the commit protocol. When this returns, the checkpoint is on stable storage
   * and will be found by {@link #loadLatestValid()} after any crash; if it throws, no partial
   * checkpoint is left behind and every earlier checkpoint is untouched.
   *
   * <p>Before a byte is written, every part header, JSON part and the manifest is encoded and read
   * back with the reader's own code: a checkpoint the reader would refuse is refused here. A
   * damaged checkpoint already at that step is moved aside ({@code step-N.damaged-*}, with a {@link
   * CheckpointEvent.Type#MOVED_ASIDE} event) and the step is written afresh. When the checkpoint
   * was published but could not be made durable, it is withdrawn and this throws, so a failure
   * reported here is a failure after a power cut too, and the step can be saved again.
   *
   * @throws dev.cairn.store.InsufficientSpaceException when the disk is or becomes full
   * @throws IllegalArgumentException when the reader would refuse what this checkpoint holds
   * @throws IllegalStateException when an intact checkpoint for that step already exists
   */
  SavedCheckpoint save(Checkpoint checkpoint) throws IOException;

  /**
   * In a group ({@link Builder#coordinator}), takes part in the save of {@code step} with this
   * rank's failure instead of its share (its state could not be captured, say), so that the save
   * fails on every rank at once instead of at the group timeout; then throws that outcome. Alone,
   * does nothing: there is no one waiting.
   */
  void abandonSave(long step, Exception cause) throws IOException;

  /**
   * Published checkpoints by step, committed or damaged, from their manifests (data not read);
   * saves in flight are not listed.
   */
  List<CheckpointInfo> list() throws IOException;

  /**
   * The newest checkpoint that passes verification, skipping (with a {@link
   * CheckpointEvent.Type#SKIPPED_INVALID} event each) any that fail; empty when none is valid.
   */
  Optional<LoadedCheckpoint> loadLatestValid() throws IOException;

  /** Loads and verifies one step; CorruptCheckpointException when it is damaged. */
  LoadedCheckpoint load(long step) throws IOException;

  /**
   * Loads one step checking only as much as asked; with {@link Verification#SIZES} the data is
   * checked later, as {@link LoadedCheckpoint#readTensors} reads it.
   */
  LoadedCheckpoint load(long step, Verification level) throws IOException;

  /** Checks one step at the given level without loading it. */
  VerifyResult verify(long step, Verification level) throws IOException;

  /**
   * Pins a committed checkpoint so no retention policy removes it. Pins and retention's deletions
   * take one cross-process lock, so a pin from another process (the dashboard) either lands before
   * retention looks at that step, and is honoured, or after the checkpoint is gone, and fails with
   * IllegalArgumentException.
   */
  void pin(long step) throws IOException;

  void unpin(long step) throws IOException;

  /** Steps pinned by hand (named checkpoints are pinned as well, by their manifest). */
  Set<Long> pinned() throws IOException;

  /**
   * Deletes what the policy lets go; returns the steps deleted. A checkpoint is deleted only once a
   * newer kept one has been read back intact (sizes, headers and every CRC32C; each checkpoint is
   * read once for this), so the newest loadable checkpoint is never deleted, whatever is damaged.
   * Damaged checkpoints are never deleted: they are left for a person to look at. Each deletion is
   * crash-safe by the commit strategy (renamed away first, or its manifest removed first).
   */
  List<Long> applyRetention(RetentionPolicy policy) throws IOException;

  /** Options for opening a store; every setter validates its value. */
  final class Builder {
    private final Path folder;
    private Storage storage;
    private Clock clock = Clock.systemUTC();
    private Consumer<CheckpointEvent> events = CheckpointEvents.LOG;
    private Verification loadVerification = Verification.CRC32C;
    private boolean readOnly;
    private long directThreshold = 8L << 20;
    private boolean sha256;
    private java.time.Duration staleClaimAfter = java.time.Duration.ofMinutes(30);
    private dev.cairn.coordination.Coordinator group;
    private java.time.Duration groupTimeout = java.time.Duration.ofMinutes(30);

    private Builder(Path folder, Storage storage) {
      if (folder == null) {
        throw new IllegalArgumentException("checkpoint folder must not be null");
      }
      this.folder = folder;
      this.storage = storage;
    }

    /**
     * The storage to write through, rooted at the checkpoint folder (default: {@code
     * Storage.at(folder)}, the local disk with real fsyncs); the folder then only names the store
     * in results and messages.
     */
    public Builder storage(Storage storage) {
      this.storage = java.util.Objects.requireNonNull(storage, "storage");
      return this;
    }

    /** The clock stamped into manifests (default: system UTC). */
    public Builder clock(Clock clock) {
      this.clock = java.util.Objects.requireNonNull(clock, "clock");
      return this;
    }

    /** Receives saves, skips and cleanups (default: logged through SLF4J). */
    public Builder events(Consumer<CheckpointEvent> events) {
      this.events = java.util.Objects.requireNonNull(events, "events");
      return this;
    }

    /** How much is checked on load (default: {@link Verification#CRC32C}). */
    public Builder loadVerification(Verification level) {
      this.loadVerification = java.util.Objects.requireNonNull(level, "level");
      return this;
    }

    /** Opens without the writer lock and without cleanup; saving then fails. */
    public Builder readOnly(boolean readOnly) {
      this.readOnly = readOnly;
      return this;
    }

    /**
     * Files expected to be at least this many bytes are written with O_DIRECT, bypassing the page
     * cache, where the file system supports it (default 8 MiB; {@code Long.MAX_VALUE} turns it
     * off). Smaller files go through the page cache and are fsynced.
     */
    public Builder directIoThreshold(long bytes) {
      if (bytes < 0) {
        throw new IllegalArgumentException("directIoThreshold must be 0 or more bytes");
      }
      this.directThreshold = bytes;
      return this;
    }

    /**
     * Also records each file's SHA-256 (default: off). Every save always records the CRC32C of each
     * 64 MiB chunk, and every load checks them: that catches torn and cut-short writes, bit rot and
     * bad copies, and says where. The SHA-256 adds a content digest to compare with {@code
     * sha256sum} or a digest published elsewhere, checked by {@link Verification#FULL}; it costs
     * one core at about 1.7 GB/s during each save.
     */
    public Builder sha256(boolean record) {
      this.sha256 = record;
      return this;
    }

    /**
     * On storage without locks, how old another writer's claim on an unfinished save must be before
     * this store treats it as abandoned and removes it (default 30 minutes; longer than any save).
     * With a lock (local disks) leftovers are removed at once.
     */
    public Builder staleClaimAfter(java.time.Duration age) {
      if (age == null || age.isNegative()) {
        throw new IllegalArgumentException("staleClaimAfter must be zero or more");
      }
      this.staleClaimAfter = age;
      return this;
    }

    /**
     * Saves and loads together with the other ranks of a group (default: this process alone). Each
     * rank opens the store and calls {@link #save} for the same step with its own parts (its model
     * and optimizer partitions, its data cursor and RNG state); they make one checkpoint, whose
     * files live in a {@code rank-R} folder per rank and whose manifest, written by rank 0 only
     * once every rank's files are durable, names them all. The checkpoint's name, metrics and
     * metadata are rank 0's. {@link #open()}, {@code save} and {@code loadLatestValid} are then
     * collective: every rank calls them, in the same order. {@code loadLatestValid} and {@code
     * load} give each rank its own share; a checkpoint saved by another number of ranks is refused
     * ({@link WorldSizeMismatchException}). Only rank 0 cleans up at open and applies retention.
     * The store talks on the coordinator's {@code checkpoints} channel, so the training thread may
     * use the coordinator itself meanwhile. A read-only store ignores the group.
     */
    public Builder coordinator(dev.cairn.coordination.Coordinator coordinator) {
      this.group = java.util.Objects.requireNonNull(coordinator, "coordinator").channel(CHANNEL);
      return this;
    }

    /**
     * How long a rank waits for the others in a collective open, save or load (default 30 minutes:
     * longer than any rank's share of a save takes). A rank whose process ends is noticed at once;
     * this bounds the wait for one that hangs.
     */
    public Builder groupTimeout(java.time.Duration timeout) {
      if (timeout == null || timeout.isZero() || timeout.isNegative()) {
        throw new IllegalArgumentException("groupTimeout must be positive");
      }
      this.groupTimeout = timeout;
      return this;
    }

    /** The coordinator channel a store of a group talks on. */
    static final String CHANNEL = "checkpoints";

    public CheckpointStore open() throws IOException {
      return DefaultCheckpointStore.open(
          new DefaultCheckpointStore.Settings(
              folder,
              storage == null ? Storage.at(folder) : storage,
              clock,
              events,
              loadVerification,
              readOnly,
              directThreshold,
              sha256,
              staleClaimAfter,
              group,
              groupTimeout));
    }
  }
}

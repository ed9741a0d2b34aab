package dev.cairn.checkpoint;

import dev.cairn.concurrent.DaemonThreads;
import dev.cairn.coordination.Coordinator;
import dev.cairn.store.Storage;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.function.Consumer;

/** The implementation of {@link CheckpointStore} over any {@link Storage}. */
final class DefaultCheckpointStore implements CheckpointStore {
  /** What retention must have read back from a newer kept checkpoint before deleting older ones. */
  static final Verification RETENTION_PROOF = Verification.CRC32C;

  private final Path folder;
  private final Storage storage;
  private final CheckpointFolders folders;
  private final Clock clock;
  private final Consumer<CheckpointEvent> events;
  private final Verification loadVerification;
  private final boolean readOnly;
  private final Storage.Lock writerLock;
  private final ExecutorService hashing;
  private final ExecutorService io;
  private final TeeWriter.StagingBuffers staging = new TeeWriter.StagingBuffers();
  private final long directThreshold;
  private final boolean sha256;
  private final Set<Long> unsettled = new HashSet<>();
  private final CheckpointCommit.Writer writer;

  /** The group this store saves and loads with, or null for a process alone. */
  private final Coordinator group;

  private final Duration groupTimeout;

  /** Folder name → the manifest it had when it last verified for retention. */
  private final Map<String, Manifest> proven = new HashMap<>();

  /**
   * Step → its committed manifest as retention read it, so that a retention pass reads only the
   * manifests of steps it has not seen (one per save), not every one in the history. Used only
   * while this store holds the writer lock: then only this store publishes, replaces or deletes a
   * {@code step-N} folder (pins touch another folder; readers only read), and a committed manifest
   * is never changed in place (steps are saved once; a damaged one is moved aside by a save of this
   * store, which forgets the step). Entries whose step is no longer listed are dropped at each
   * pass. Guarded by this store's monitor (saves and retention pass hold it).
   */
  private final Map<Long, Manifest> committedManifests = new HashMap<>();

  private boolean closed;

  /**
   * What a store is opened with (the builder's settings).
   *
   * @param folder how the checkpoint folder is named in results and messages
   * @param storage rooted at the checkpoint folder
   * @param group the group saving together, or null for a process alone
   */
  record Settings(
      Path folder,
      Storage storage,
      Clock clock,
      Consumer<CheckpointEvent> events,
      Verification loadVerification,
      boolean readOnly,
      long directThreshold,
      boolean sha256,
      Duration staleAfter,
      Coordinator group,
      Duration groupTimeout) {}

  /**
   * @param writerLock the store's lock, null where the storage has none (or read-only)
   * @param group the group this store saves with, null for a process alone
   */
  private DefaultCheckpointStore(
      Settings s, boolean readOnly, Storage.Lock writerLock, Coordinator group) {
    this.group = group;
    this.groupTimeout = s.groupTimeout();
    this.directThreshold = s.directThreshold();
    this.sha256 = s.sha256();
    this.writer =
        new CheckpointCommit.Writer(
            CheckpointCommit.randomHex() + CheckpointCommit.randomHex(),
            writerLock != null,
            s.staleAfter());
    this.folder = s.folder();
    this.storage = s.storage();
    this.folders = new CheckpointFolders(storage, folder);
    this.clock = s.clock();
    this.events = safe(s.events());
    this.loadVerification = s.loadVerification();
    this.readOnly = readOnly;
    this.writerLock = writerLock;
    this.hashing = readOnly ? null : DaemonThreads.single("cairn-checksum");
    this.io = readOnly ? null : DaemonThreads.single("cairn-direct-io");
  }

  static CheckpointStore open(Settings s) throws IOException {
    Coordinator g =
        s.readOnly() || s.group() == null || s.group().worldSize() == 1 ? null : s.group();
    Duration timeout = s.groupTimeout();
    if (g != null && !g.isLeader()) {
      // Rank 0 opens and cleans up first; the others write only into its saves' work folders.
      GroupWords.throwIfFailed(
          GroupWords.read(g.broadcast(OPEN, null, timeout), OPEN),
          "rank 0 could not open " + s.folder());
      return new DefaultCheckpointStore(s, false, null, g);
    }
    CheckpointStore opened;
    try {
      opened = openAlone(s, g);
    } catch (IOException | RuntimeException e) {
      if (g != null) {
        GroupWords.tell(g, OPEN, GroupWords.failure(e), timeout, e);
      }
      throw e;
    }
    if (g != null) {
      try {
        g.broadcast(OPEN, GroupWords.bytes(GroupWords.ok()), timeout);
      } catch (IOException | RuntimeException e) {
        try {
          opened.close();
        } catch (IOException suppressed) {
          e.addSuppressed(suppressed);
        }
        throw e;
      }
    }
    return opened;
  }

  private static final String OPEN = "store-open";
  private static final String LOAD_STEPS = "load-steps";
  private static final String LOAD_SHARE = "load-share";

  private static CheckpointStore openAlone(Settings s, Coordinator group) throws IOException {
    Storage storage = s.storage();
    if (s.readOnly()) {
      if (!storage.isFolder(CommitStrategy.ROOT)) {
        throw new java.nio.file.NoSuchFileException(
            s.folder().toString(), null, "no checkpoint folder here");
      }
      return new DefaultCheckpointStore(s, true, null, null);
    }
    storage.createFolders(CommitStrategy.ROOT);
    // Without locks (HDFS, object stores) writers are kept apart per save, by claims.
    Optional<Storage.Lock> lock =
        storage.capabilities().locks()
            ? storage.tryLock(StepFolders.LOCK_FILE)
            : Optional.of(NO_LOCK);
    if (lock.isEmpty()) {
      throw new IllegalStateException(
          "another writer holds "
              + s.folder().resolve(StepFolders.LOCK_FILE)
              + "; stop that process (or close its store) before writing checkpoints here");
    }
    DefaultCheckpointStore store =
        new DefaultCheckpointStore(s, false, lock.get() == NO_LOCK ? null : lock.get(), group);
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

  /** Stands for "no lock needed" where the storage has none. */
  private static final Storage.Lock NO_LOCK = () -> {};

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

  /**
   * Removes what interrupted saves and deletions left. Under the writer lock no save of this store
   * can be in flight, so every abandoned folder goes; without one (HDFS, object stores) a folder
   * goes only once this store holds its claim, which a live writer's save never gives up.
   */
  private void removeLeftovers() throws IOException {
    boolean removed = false;
    java.time.Instant now = clock.instant();
    for (String p : storage.list(CommitStrategy.ROOT)) {
      if (p.endsWith(Claim.SUFFIX)) {
        String work = p.substring(0, p.length() - Claim.SUFFIX.length());
        if (writer.exclusive()) {
          continue;
        }
        CheckpointState of = storage.exists(work) ? folders.leftover(work) : null;
        if (of == null && Claim.take(storage, work, writer.token(), now, writer.staleAfter())) {
          // A stale claim its writer could not give up: its folder is gone or committed.
          Claim.release(storage, work);
        }
        continue;
      }
      CheckpointState state = folders.leftover(p);
      if (state == null) {
        continue;
      }
      boolean claimed =
          !writer.exclusive()
              && state != CheckpointState.DELETING
              && Claim.take(storage, p, writer.token(), now, writer.staleAfter());
      if (!writer.exclusive() && state != CheckpointState.DELETING && !claimed) {
        continue; // a save in flight (or its writer died less than staleClaimAfter ago)
      }
      try {
        CheckpointState again = claimed ? folders.leftover(p) : state;
        if (again == null) {
          continue; // committed between the look and the claim
        }
        storage.deleteTree(p);
      } finally {
        if (claimed) {
          Claim.release(storage, p);
        }
      }
      removed = true;
      events.accept(
          new CheckpointEvent(
              CheckpointEvent.Type.REMOVED_LEFTOVER,
              -1,
              folders.location(p),
              "removed " + p + " left by an interrupted save or deletion"));
    }
    if (removed) {
      storage.syncFolder(CommitStrategy.ROOT);
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
    CheckpointCommit commit = newCommit();
    // Whatever happens, step-N may be new, replaced (a damaged one moved aside) or withdrawn.
    committedManifests.remove(checkpoint.step());
    try {
      SavedCheckpoint saved =
          group == null
              ? commit.run(checkpoint)
              : commit.runInGroup(checkpoint, group, groupTimeout);
      events.accept(
          new CheckpointEvent(
              CheckpointEvent.Type.SAVED,
              saved.step(),
              saved.location(),
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
              folders.location(StepFolders.name(checkpoint.step())),
              "saving step " + checkpoint.step() + " failed: " + e.getMessage()));
      throw e;
    }
  }

  private CheckpointCommit newCommit() {
    return new CheckpointCommit(
        storage,
        folders,
        new DurableWriter(storage, hashing, io, staging, directThreshold, sha256),
        writer,
        clock,
        events,
        unsettled);
  }

  @Override
  public synchronized void abandonSave(long step, Exception cause) throws IOException {
    if (group == null) {
      return;
    }
    committedManifests.remove(step);
    try {
      newCommit().failInGroup(Checkpoint.at(step).build(), cause, group, groupTimeout);
    } catch (IOException | RuntimeException e) {
      events.accept(
          new CheckpointEvent(
              CheckpointEvent.Type.SAVE_FAILED,
              step,
              folders.location(StepFolders.name(step)),
              "saving step " + step + " failed: " + e.getMessage()));
      throw e;
    }
  }

  /**
   * Reads every listed checkpoint's manifest, every time: a caller of list() is told each one's
   * state as it is now (a manifest damaged since the last look shows as damaged).
   */
  @Override
  public List<CheckpointInfo> list() throws IOException {
    Set<Long> pins = pinned();
    List<CheckpointInfo> out = new ArrayList<>();
    for (long step : publishedSteps()) {
      CheckpointInfo c = info(step, pins, folders.describe(StepFolders.name(step)));
      if (c != null) {
        out.add(c);
      }
    }
    return out;
  }

  /**
   * The steps of the folders named like published checkpoints, oldest first, from one listing of
   * names: no folder is opened, so some may turn out to be saves in flight or not folders at all.
   */
  private List<Long> publishedSteps() throws IOException {
    List<Long> out = new ArrayList<>();
    for (String p : storage.list(CommitStrategy.ROOT)) {
      long step = StepFolders.step(p);
      if (step >= 0) {
        out.add(step);
      }
    }
    out.sort(Comparator.naturalOrder()); // the listing sorts by name: step-10 before step-9
    return out;
  }

  /** A listed checkpoint as described, or null when it is not one (not published, not a folder). */
  private CheckpointInfo info(long step, Set<Long> pins, CheckpointFolders.Described d) {
    if (d == null
        || (d.state() != CheckpointState.COMMITTED && d.state() != CheckpointState.DAMAGED)) {
      return null; // not published: a save in flight under the marker strategy
    }
    String p = StepFolders.name(step);
    Manifest m = d.manifest();
    boolean pinned = pins.contains(step) || (m != null && m.name() != null);
    return new CheckpointInfo(step, folders.path(p), m, pinned, d.state(), folders.location(p));
  }

  /**
   * Opens the newest checkpoint that verifies, walking back from the newest name: only the
   * manifests of the checkpoints tried are read, so finding the newest does not grow with the
   * history (beyond the one listing of names).
   */
  @Override
  public Optional<LoadedCheckpoint> loadLatestValid() throws IOException {
    if (group != null) {
      return loadLatestValidInGroup();
    }
    List<Long> steps = publishedSteps();
    for (int i = steps.size() - 1; i >= 0; i--) {
      String name = StepFolders.name(steps.get(i));
      try {
        return Optional.of(LoadedCheckpoint.open(folders, name, loadVerification));
      } catch (IOException e) {
        reportSkipped(steps.get(i), name, e.getMessage());
      }
    }
    return Optional.empty();
  }

  /**
   * Says that a checkpoint could not be loaded, as list() would have shown it: a committed or
   * damaged one; a folder that list() leaves out (a save in flight, a file) is passed over quietly.
   */
  private void reportSkipped(long step, String name, String why) {
    CheckpointState state;
    try {
      state = folders.state(name);
    } catch (IOException | RuntimeException e) {
      state = CheckpointState.DAMAGED; // cannot tell: say what was skipped rather than hide it
    }
    if (state == CheckpointState.COMMITTED || state == CheckpointState.DAMAGED) {
      events.accept(
          new CheckpointEvent(
              CheckpointEvent.Type.SKIPPED_INVALID,
              step,
              folders.location(name),
              "skipped " + name + ": " + why));
    }
  }

  /**
   * Rank 0 lists the published steps and tells every rank; from the newest, every rank opens and
   * verifies its own share and they compare: the first step that every rank could open is the one
   * loaded, so all ranks resume from the same step. A checkpoint saved by another number of ranks
   * stops the load on every rank.
   */
  private Optional<LoadedCheckpoint> loadLatestValidInGroup() throws IOException {
    byte[] listed = null;
    if (group.isLeader()) {
      com.fasterxml.jackson.databind.node.ArrayNode steps = CheckpointJson.MAPPER.createArrayNode();
      try {
        List<Long> all = publishedSteps();
        for (int i = all.size() - 1; i >= 0; i--) {
          steps.add(all.get(i));
        }
      } catch (IOException | RuntimeException e) {
        GroupWords.tell(group, LOAD_STEPS, GroupWords.failure(e), groupTimeout, e);
        throw e;
      }
      listed = GroupWords.bytes(GroupWords.ok().set("steps", steps));
    }
    com.fasterxml.jackson.databind.JsonNode word =
        GroupWords.read(group.broadcast(LOAD_STEPS, listed, groupTimeout), LOAD_STEPS);
    GroupWords.throwIfFailed(word, "rank 0 could not list the checkpoints");
    for (com.fasterxml.jackson.databind.JsonNode n : word.path("steps")) {
      long step = n.asLong();
      String name = StepFolders.name(step);
      LoadedCheckpoint mine = null;
      com.fasterxml.jackson.databind.node.ObjectNode answer = GroupWords.ok();
      try {
        mine =
            LoadedCheckpoint.open(folders, name, loadVerification, group.rank(), group.worldSize());
      } catch (WorldSizeMismatchException e) {
        answer = GroupWords.failure(e).put("world_size_mismatch", true);
      } catch (IOException | RuntimeException e) {
        answer = GroupWords.failure(e);
      }
      List<byte[]> answers;
      try {
        answers = group.allGather(LOAD_SHARE, GroupWords.bytes(answer), groupTimeout);
      } catch (IOException | RuntimeException e) {
        closeQuietly(mine, e);
        throw e;
      }
      List<String> problems = new ArrayList<>();
      String mismatch = null;
      for (int r = 0; r < answers.size(); r++) {
        com.fasterxml.jackson.databind.JsonNode a = GroupWords.read(answers.get(r), LOAD_SHARE);
        if (!a.path("ok").asBoolean(false)) {
          problems.add("rank " + r + ": " + a.path("error").asText());
          if (a.path("world_size_mismatch").asBoolean(false)) {
            mismatch = a.path("error").asText();
          }
        }
      }
      if (problems.isEmpty()) {
        return Optional.of(mine);
      }
      closeQuietly(mine, null);
      if (mismatch != null) {
        throw new WorldSizeMismatchException(mismatch);
      }
      reportSkipped(step, name, String.join("; ", problems));
    }
    return Optional.empty();
  }

  private static void closeQuietly(LoadedCheckpoint c, Exception failure) {
    if (c == null) {
      return;
    }
    try {
      c.close();
    } catch (IOException e) {
      if (failure != null) {
        failure.addSuppressed(e);
      }
    }
  }

  @Override
  public LoadedCheckpoint load(long step) throws IOException {
    return load(step, loadVerification);
  }

  @Override
  public LoadedCheckpoint load(long step, Verification level) throws IOException {
    String p = StepFolders.name(step);
    try {
      return group == null
          ? LoadedCheckpoint.open(folders, p, level)
          : LoadedCheckpoint.open(folders, p, level, group.rank(), group.worldSize());
    } catch (CorruptCheckpointException e) {
      // Only now asked whether the step is there at all (on remote storage, a round trip).
      boolean there;
      try {
        there = storage.isFolder(p);
      } catch (IOException | RuntimeException probe) {
        e.addSuppressed(probe);
        throw e;
      }
      if (!there) {
        java.nio.file.NoSuchFileException none =
            new java.nio.file.NoSuchFileException(
                folders.path(p).toString(), null, "no checkpoint for step " + step);
        none.addSuppressed(e);
        throw none;
      }
      throw e;
    }
  }

  @Override
  public VerifyResult verify(long step, Verification level) {
    return folders.verify(StepFolders.name(step), level);
  }

  private static String pinFile(long step) {
    return StepFolders.PINNED_FOLDER + "/" + StepFolders.name(step);
  }

  /**
   * Held by pin, unpin and each deletion of retention, across processes: a pin either lands before
   * retention looks (and is honoured) or after the checkpoint is gone (and is refused).
   */
  private Storage.Lock pinLock() throws IOException {
    // Without locks, a pin racing retention from another process is not excluded: pin before the
    // step can fall out of the retention window.
    return storage.capabilities().locks() ? storage.lock(StepFolders.PIN_LOCK_FILE) : NO_LOCK;
  }

  @Override
  public void pin(long step) throws IOException {
    String p = StepFolders.name(step);
    try (Storage.Lock l = pinLock()) {
      if (folders.state(p) != CheckpointState.COMMITTED) {
        throw new IllegalArgumentException(
            "no committed checkpoint for step " + step + " in " + folder);
      }
      String pins = StepFolders.PINNED_FOLDER;
      storage.createFolders(pins);
      if (!storage.exists(pinFile(step))) {
        storage.create(pinFile(step)).close();
        storage.syncFolder(pins);
      }
    }
  }

  @Override
  public void unpin(long step) throws IOException {
    try (Storage.Lock l = pinLock()) {
      storage.delete(pinFile(step));
      String pins = StepFolders.PINNED_FOLDER;
      if (storage.isFolder(pins)) {
        storage.syncFolder(pins);
      }
    }
  }

  @Override
  public Set<Long> pinned() throws IOException {
    Set<Long> out = new TreeSet<>();
    String pins = StepFolders.PINNED_FOLDER;
    if (storage.isFolder(pins)) {
      for (String p : storage.list(pins)) {
        long step = StepFolders.step(p);
        if (step >= 0) {
          out.add(step);
        }
      }
    }
    return out;
  }

  /**
   * Reads only the manifests the policy needs (see {@link Retention#decide}), each once per store
   * while this store is the only writer; what remains per pass is one listing of names, one of the
   * pins, and one manifest read for the kept checkpoint that proves a newer one loads.
   */
  @Override
  public synchronized List<Long> applyRetention(RetentionPolicy policy) throws IOException {
    if (readOnly) {
      throw new IllegalStateException("this checkpoint store was opened read-only");
    }
    if (group != null && !group.isLeader()) {
      return List.of(); // rank 0 deletes for the group
    }
    if (policy.keepsAll()) {
      return List.of();
    }
    List<Long> steps = publishedSteps();
    committedManifests.keySet().retainAll(new HashSet<>(steps));
    Set<Long> pins = pinned();
    List<CheckpointInfo> candidates;
    long proof;
    while (true) {
      Map<Long, CheckpointInfo> looked = new HashMap<>(); // each step read at most once per pass
      Set<Long> remembered = new HashSet<>(); // of those, the ones taken from committedManifests
      Retention.Decision decision =
          Retention.decide(
              steps,
              pins,
              policy,
              step -> {
                if (!looked.containsKey(step)) {
                  if (committedManifests.containsKey(step)) {
                    remembered.add(step);
                  }
                  looked.put(step, known(step, pins));
                }
                return looked.get(step);
              });
      candidates = decision.toDelete();
      if (candidates.isEmpty()) {
        return List.of();
      }
      int before = committedManifests.size();
      // A step kept by counting (keep-last, keep-best) from a remembered manifest is read again:
      // damaged since, it must not take the place of a checkpoint the policy would keep instead.
      // At most keep-last + keep-best reads, whatever the history.
      for (long step : decision.counted()) {
        if (remembered.contains(step)) {
          stillCommitted(step);
        }
      }
      proof = newestProvenKept(steps, candidates);
      if (committedManifests.size() == before) {
        break;
      }
      // A kept checkpoint remembered as committed was found damaged: decide again without it, as
      // a fresh read of every manifest would have (the next newest committed is kept instead).
    }
    List<Long> deleted = new ArrayList<>();
    for (CheckpointInfo c : candidates) {
      if (c.step() >= proof) {
        continue; // no newer kept checkpoint has been read back intact: keep this one
      }
      String name = StepFolders.name(c.step());
      try (Storage.Lock l = pinLock()) {
        if (storage.exists(pinFile(c.step()))) {
          continue; // pinned by another process (the dashboard) since the list was read
        }
        if (committedManifests.containsKey(c.step()) && !stillCommitted(c.step())) {
          continue; // damaged since it was read (maybe passes ago): left for a person, as listed
        }
        folders.strategy().delete(storage, name);
      }
      proven.remove(name);
      committedManifests.remove(c.step());
      deleted.add(c.step());
      events.accept(
          new CheckpointEvent(
              CheckpointEvent.Type.DELETED_BY_RETENTION,
              c.step(),
              c.location(),
              "deleted " + c.folder().getFileName() + " (retention policy)"));
    }
    if (!deleted.isEmpty()) {
      storage.syncFolder(CommitStrategy.ROOT);
    }
    return deleted;
  }

  /**
   * A listed checkpoint for retention: from {@link #committedManifests} when this store is the only
   * writer and has read it before, else described (and remembered when committed).
   */
  private CheckpointInfo known(long step, Set<Long> pins) throws IOException {
    Manifest m = committedManifests.get(step);
    if (m != null) {
      return info(step, pins, new CheckpointFolders.Described(CheckpointState.COMMITTED, m));
    }
    CheckpointFolders.Described d = folders.describe(StepFolders.name(step));
    if (writerLock != null && d != null && d.state() == CheckpointState.COMMITTED) {
      committedManifests.put(step, d.manifest());
    }
    return info(step, pins, d);
  }

  /** Whether a step's manifest, read now, is still the one remembered (else forgotten). */
  private boolean stillCommitted(long step) throws IOException {
    CheckpointFolders.Described d = folders.describe(StepFolders.name(step));
    if (d != null
        && d.state() == CheckpointState.COMMITTED
        && d.manifest().equals(committedManifests.get(step))) {
      return true;
    }
    committedManifests.remove(step);
    return false;
  }

  /**
   * The step of the newest kept checkpoint that reads back intact, or -1: older candidates may go
   * only once a newer one is known to load. Its manifest is read afresh (never from {@link
   * #committedManifests}): the proof is about the checkpoint as it is now; its data is checked once
   * per manifest.
   */
  private long newestProvenKept(List<Long> steps, List<CheckpointInfo> candidates)
      throws IOException {
    Set<Long> doomed = new HashSet<>();
    long oldest = Long.MAX_VALUE;
    for (CheckpointInfo c : candidates) {
      doomed.add(c.step());
      oldest = Math.min(oldest, c.step());
    }
    for (int i = steps.size() - 1; i >= 0; i--) {
      long step = steps.get(i);
      if (step <= oldest) {
        break;
      }
      if (doomed.contains(step)) {
        continue;
      }
      String key = StepFolders.name(step);
      CheckpointFolders.Described d = folders.describe(key);
      if (d == null || d.state() != CheckpointState.COMMITTED) {
        committedManifests.remove(step);
        continue;
      }
      if (d.manifest().equals(proven.get(key))) {
        return step;
      }
      VerifyResult r = folders.verify(key, RETENTION_PROOF);
      if (r.ok()) {
        proven.put(key, d.manifest());
        return step;
      }
      if (r.outcome() == VerifyResult.Outcome.DAMAGED) {
        events.accept(
            new CheckpointEvent(
                CheckpointEvent.Type.SKIPPED_INVALID,
                step,
                folders.location(key),
                "retention keeps older checkpoints: "
                    + key
                    + " is damaged: "
                    + r.problems().get(0)));
      }
    }
    return -1;
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
    if (writerLock != null) {
      writerLock.close();
    }
  }
}

package dev.cairn.checkpoint;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cairn.coordination.Coordinator;
import dev.cairn.safetensors.SafetensorsWriter;
import dev.cairn.store.InsufficientSpaceException;
import dev.cairn.store.Storage;
import dev.cairn.store.StorageNames;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;

/**
 * The commit protocol of one save, in phases (as Lucene's SegmentInfos commit): check, prepare,
 * publish. Check encodes every part header, JSON part and the manifest and reads each back with the
 * reader's own code, so a save the reader would refuse fails before a byte is written. Prepare
 * writes and syncs every file and the manifest into the strategy's work folder; publish makes it
 * visible and durable. A failure before publish deletes the work folder; a publish that cannot be
 * made durable is withdrawn. The first error is kept, later ones are added as suppressed.
 */
final class CheckpointCommit {
  private static final long MANIFEST_ALLOWANCE = 1L << 20;
  private static final String PLACEHOLDER_SHA = "0".repeat(64);

  private final Storage storage;
  private final CheckpointFolders folders;
  private final DurableWriter writer;
  private final Writer self;
  private final Path shown;
  private final Clock clock;
  private final Consumer<CheckpointEvent> events;
  private final Set<Long> unsettled;

  /**
   * @param self who is saving, and whether it excludes other writers
   * @param unsettled steps this store published but could neither make durable nor withdraw; a new
   *     save of such a step replaces it
   */
  CheckpointCommit(
      Storage storage,
      CheckpointFolders folders,
      DurableWriter writer,
      Writer self,
      Clock clock,
      Consumer<CheckpointEvent> events,
      Set<Long> unsettled) {
    this.storage = storage;
    this.folders = folders;
    this.writer = writer;
    this.self = self;
    this.shown = folders.path(CommitStrategy.ROOT);
    this.clock = clock;
    this.events = events;
    this.unsettled = unsettled;
  }

  /**
   * This store as a writer: a token written into its claims, whether it holds the store's lock (and
   * so excludes every other writer), and when another writer's claim counts as abandoned.
   */
  record Writer(String token, boolean exclusive, java.time.Duration staleAfter) {}

  /** A part encoded and checked, ready to be written. */
  private record Encoded(
      Checkpoint.Part part, SafetensorsWriter.Prepared tensors, byte[] json, long size) {}

  SavedCheckpoint run(Checkpoint c) throws IOException {
    long start = System.nanoTime();
    List<Encoded> encoded = encode(c, null, 1);
    checkSpace(encoded);
    String target = StepFolders.name(c.step());
    String work = folders.strategy().workFolder(c.step(), randomHex());
    // Without the store's lock, nothing of the work folder is touched before its claim is ours.
    if (!self.exclusive()
        && !Claim.take(storage, work, self.token(), clock.instant(), self.staleAfter())) {
      throw lostRace(c.step(), "is saving", null);
    }
    Manifest manifest;
    boolean published = false;
    try {
      clearWay(target, c.step());
      try {
        storage.createFolder(work);
        Written w = writeParts(encoded, work, null);
        manifest = manifest(c, w.parts(), w.files(), 1);
        writeManifest(work, manifest, c.step());
      } catch (IOException | RuntimeException e) {
        throw rollback(work, c.step(), e);
      }
      publish(work, target, c.step());
      published = true;
    } finally {
      release(work, published);
    }
    return saved(c, target, manifest, start);
  }

  /**
   * Saves this rank's share of one checkpoint of a group, by the group protocol. Rank 0 begins (it
   * checks its own share, claims and clears the way, creates the agreed work folder, named by the
   * step, the attempt and a random id, and tells every rank); every rank writes and syncs its files
   * into its {@code rank-R} folder there and sends its shard manifest (or its error); rank 0
   * gathers them, and only when every rank succeeded writes the manifest naming every file and
   * publishes, then tells every rank the outcome. Any error or a lost rank aborts the save with
   * nothing published: rank 0 deletes the work folder, and the previous checkpoint stays the
   * latest. The outcome is itself the barrier before anyone may delete older checkpoints.
   */
  SavedCheckpoint runInGroup(Checkpoint c, Coordinator group, Duration timeout) throws IOException {
    return group.isLeader() ? lead(c, null, group, timeout) : follow(c, null, group, timeout);
  }

  /**
   * Takes part in the group's save of {@code c}'s step with this rank's failure instead of its
   * share: the save fails on every rank now, not at the timeout. Throws the outcome (never returns
   * normally).
   */
  void failInGroup(Checkpoint c, Exception failure, Coordinator group, Duration timeout)
      throws IOException {
    if (group.isLeader()) {
      lead(c, failure, group, timeout);
    } else {
      follow(c, failure, group, timeout);
    }
  }

  private static final String BEGIN = "save-begin";
  private static final String SHARDS = "save-shards";
  private static final String OUTCOME = "save-outcome";

  private SavedCheckpoint lead(Checkpoint c, Exception failure, Coordinator group, Duration timeout)
      throws IOException {
    long start = System.nanoTime();
    long step = c.step();
    int world = group.worldSize();
    String target = StepFolders.name(step);
    String work =
        folders
            .strategy()
            .workFolder(step, String.format("%04x", group.attempt() & 0xffff) + randomHex());
    List<Encoded> encoded;
    boolean claimed = false;
    try {
      if (failure != null) {
        GroupWords.throwAs(failure);
      }
      encoded = encode(c, 0, world);
      checkSpace(encoded);
      if (!self.exclusive()) {
        if (!Claim.take(storage, work, self.token(), clock.instant(), self.staleAfter())) {
          throw lostRace(step, "is saving", null);
        }
        claimed = true;
      }
      clearWay(target, step);
      storage.createFolder(work);
    } catch (IOException | RuntimeException e) {
      if (claimed) {
        release(work, false);
      }
      GroupWords.tell(group, BEGIN, GroupWords.failure(e), timeout, e);
      throw e;
    }
    boolean published = false;
    boolean told = false;
    try {
      ObjectNode begin = GroupWords.ok().put("step", step).put("work", work);
      try {
        group.broadcast(BEGIN, GroupWords.bytes(begin), timeout);
        byte[] mine;
        try {
          mine = shard(c, writeParts(encoded, work, 0), world);
        } catch (IOException | RuntimeException e) {
          mine = GroupWords.bytes(GroupWords.failure(e));
        }
        List<byte[]> shards = group.allGather(SHARDS, mine, timeout);
        Manifest manifest = combine(c, shards, world);
        writeManifest(work, manifest, step);
        try {
          publish(work, target, step);
        } catch (IOException | RuntimeException e) {
          told = true; // publish cleaned up or withdrew
          GroupWords.tell(group, OUTCOME, GroupWords.failure(e), timeout, e);
          throw e;
        }
        published = true;
        // Committed and durable: a rank that does not hear it finds the group broken at its next
        // call, and restarts from this checkpoint.
        GroupWords.tell(group, OUTCOME, committed(manifest), timeout, null);
        return saved(c, target, manifest, start);
      } catch (IOException | RuntimeException e) {
        if (published || told) {
          throw e;
        }
        // Told first, so that no rank waits on the cleanup.
        GroupWords.tell(group, OUTCOME, GroupWords.failure(e), timeout, e);
        throw rollback(work, step, e);
      }
    } finally {
      release(work, published);
    }
  }

  private SavedCheckpoint follow(
      Checkpoint c, Exception failure, Coordinator group, Duration timeout) throws IOException {
    long start = System.nanoTime();
    int rank = group.rank();
    int world = group.worldSize();
    // Encoded and the space checked while rank 0 claims and creates the work folder: on remote
    // storage the free-space question is a round trip, which this rank need not add after rank
    // 0's. A failure here is this rank's share of the outcome, sent once rank 0 has begun.
    List<Encoded> encoded = null;
    Exception early = failure;
    if (early == null) {
      try {
        encoded = encode(c, rank, world);
        checkSpace(encoded);
      } catch (IOException | RuntimeException e) {
        early = e;
      }
    }
    JsonNode begin = GroupWords.read(group.broadcast(BEGIN, null, timeout), BEGIN);
    GroupWords.throwIfFailed(begin, "rank 0 could not begin saving step " + c.step());
    long step = begin.path("step").asLong(-1);
    String work = begin.path("work").asText();
    Exception mine = null;
    byte[] shard;
    try {
      if (early != null) {
        GroupWords.throwAs(early);
      }
      if (step != c.step()) {
        throw new IllegalStateException(
            "rank "
                + rank
                + " was asked to save step "
                + c.step()
                + " while rank 0 saves step "
                + step
                + ": every rank saves the same step");
      }
      shard = shard(c, writeParts(encoded, work, rank), world);
    } catch (IOException | RuntimeException e) {
      mine = e;
      shard = GroupWords.bytes(GroupWords.failure(e));
    }
    group.allGather(SHARDS, shard, timeout);
    JsonNode outcome = GroupWords.read(group.broadcast(OUTCOME, null, timeout), OUTCOME);
    if (mine != null) {
      GroupWords.throwAs(mine);
    }
    GroupWords.throwIfFailed(outcome, "step " + step + " was not committed");
    String target = StepFolders.name(step);
    String name = StorageNames.join(target, Manifest.FILE_NAME);
    Manifest manifest =
        outcome.has("manifest")
            ? ManifestCodec.decode(
                outcome.path("manifest").asText().getBytes(UTF_8), folders.path(name))
            : CheckpointVerifier.readManifest(storage, name, folders.path(name));
    return saved(c, target, manifest, start);
  }

  /**
   * The outcome of a committed save: with the manifest when it fits in one message, so that the
   * other ranks return without reading it back (a round trip on remote storage, and a race with
   * anything that moves the step meanwhile); a larger one they read from storage.
   */
  private static ObjectNode committed(Manifest manifest) {
    ObjectNode ok = GroupWords.ok();
    byte[] bytes = ManifestCodec.encode(manifest);
    if (bytes.length <= Coordinator.MAX_PAYLOAD_BYTES / 2) {
      ok.put("manifest", new String(bytes, UTF_8));
    }
    return ok;
  }

  /** This rank's shard manifest: its parts and files with their digests. */
  private byte[] shard(Checkpoint c, Written w, int world) {
    Manifest m =
        new Manifest(
            Manifest.versionFor(world),
            c.step(),
            null,
            clock.instant(),
            java.util.Map.of(),
            CheckpointJson.MAPPER.createObjectNode(),
            w.parts(),
            w.files(),
            world);
    return GroupWords.bytes(
        GroupWords.ok().put("shard", new String(ManifestCodec.encode(m), UTF_8)));
  }

  /**
   * The checkpoint's manifest from every rank's shard manifest, with rank 0's name, metrics and
   * metadata; fails naming each rank that failed or sent a shard that is not its own.
   */
  private Manifest combine(Checkpoint c, List<byte[]> shards, int world) throws IOException {
    List<Manifest.PartEntry> parts = new ArrayList<>();
    List<Manifest.FileEntry> files = new ArrayList<>();
    List<String> failed = new ArrayList<>();
    Exception first = null;
    for (int r = 0; r < shards.size(); r++) {
      try {
        JsonNode n = GroupWords.read(shards.get(r), SHARDS);
        GroupWords.throwIfFailed(n, "rank " + r);
        Path shown = Path.of(Manifest.shardFolder(r), "shard manifest");
        Manifest m = ManifestCodec.decode(n.path("shard").asText().getBytes(UTF_8), shown);
        if (m.step() != c.step() || m.worldSize() != world) {
          throw new IOException(
              "rank "
                  + r
                  + " sent a shard of step "
                  + m.step()
                  + " of "
                  + m.worldSize()
                  + " ranks");
        }
        for (Manifest.PartEntry p : m.parts()) {
          if (p.rank() != r) {
            throw new IOException("rank " + r + " sent a part of rank " + p.rank());
          }
        }
        String own = Manifest.shardFolder(r) + "/";
        for (Manifest.FileEntry f : m.files()) {
          if (!f.path().startsWith(own)) {
            throw new IOException("rank " + r + " sent a file outside " + own + ": " + f.path());
          }
        }
        parts.addAll(m.parts());
        files.addAll(m.files());
      } catch (IOException | RuntimeException e) {
        failed.add(e.getMessage());
        first = first == null ? e : first;
      }
    }
    if (first != null) {
      String message = "saving step " + c.step() + " failed: " + String.join("; ", failed);
      if (first instanceof InsufficientSpaceException) {
        throw new InsufficientSpaceException(message, first);
      }
      throw new IOException(message, first);
    }
    return manifest(c, parts, files, world);
  }

  private SavedCheckpoint saved(Checkpoint c, String target, Manifest manifest, long start) {
    return new SavedCheckpoint(
        c.step(),
        c.name(),
        folders.path(target),
        manifest,
        manifest.totalBytes(),
        System.nanoTime() - start,
        folders.location(target));
  }

  private void checkSpace(List<Encoded> encoded) throws IOException {
    long need = MANIFEST_ALLOWANCE;
    for (Encoded e : encoded) {
      need += e.size();
    }
    if (storage.capabilities().freeSpaceKnown()) {
      java.util.OptionalLong have = storage.usableSpace(CommitStrategy.ROOT);
      if (have.isPresent() && have.getAsLong() < need) {
        throw InsufficientSpaceException.before(need, have.getAsLong(), shown);
      }
    }
  }

  /**
   * Encodes every part and a provisional manifest, each read back by the reader's code.
   *
   * @param rank the rank whose share this is, in a checkpoint of {@code world} ranks; null alone
   */
  private List<Encoded> encode(Checkpoint c, Integer rank, int world) {
    List<Encoded> out = new ArrayList<>();
    List<Manifest.PartEntry> parts = new ArrayList<>();
    List<Manifest.FileEntry> files = new ArrayList<>();
    for (Checkpoint.Part part : c.parts()) {
      Encoded e;
      if (part.isTensors()) {
        SafetensorsWriter.Prepared p;
        try {
          p = SafetensorsWriter.prepare(part.tensors(), part.tensorMetadata());
        } catch (IllegalArgumentException ex) {
          throw new IllegalArgumentException("part '" + part.name() + "': " + ex.getMessage(), ex);
        }
        e = new Encoded(part, p, null, p.fileSize());
      } else {
        byte[] json = CheckpointJson.encodePart(part.name(), part.json());
        e = new Encoded(part, null, json, json.length);
      }
      out.add(e);
      String file = inShard(rank, part.fileName());
      parts.add(new Manifest.PartEntry(part.name(), part.kind().wireName(), file, rank));
      long chunks = (e.size() + FileDigest.CHUNK_BYTES - 1) / FileDigest.CHUNK_BYTES;
      files.add(
          new Manifest.FileEntry(
              file,
              e.size(),
              PLACEHOLDER_SHA,
              FileDigest.CHUNK_BYTES,
              java.util.Collections.nCopies((int) chunks, "00000000")));
    }
    // The real manifest differs only in its digests, of the same length or (no SHA-256 recorded)
    // shorter: if this one reads back, so will the real one, and the user's metadata is refused
    // before anything is written.
    ManifestCodec.encodeChecked(manifest(c, parts, files, world));
    return out;
  }

  /** A part file's name in the checkpoint: inside its rank's folder when saved by several. */
  private static String inShard(Integer rank, String file) {
    return rank == null ? file : Manifest.shardFolder(rank) + "/" + file;
  }

  private Manifest manifest(
      Checkpoint c, List<Manifest.PartEntry> parts, List<Manifest.FileEntry> files, int world) {
    return new Manifest(
        Manifest.versionFor(world),
        c.step(),
        c.name(),
        clock.instant(),
        c.metrics(),
        c.metadata(),
        parts,
        files,
        world);
  }

  /** What one process wrote: its parts and their files, as the manifest names them. */
  private record Written(List<Manifest.PartEntry> parts, List<Manifest.FileEntry> files) {}

  /**
   * Writes and syncs every part file of this process into {@code work} (into its rank's folder
   * there, with a rank).
   */
  private Written writeParts(List<Encoded> encoded, String work, Integer rank) throws IOException {
    String dir = rank == null ? work : StorageNames.join(work, Manifest.shardFolder(rank));
    if (rank != null) {
      storage.createFolder(dir);
    }
    List<Manifest.PartEntry> parts = new ArrayList<>();
    List<Manifest.FileEntry> files = new ArrayList<>();
    for (Encoded e : encoded) {
      Checkpoint.Part part = e.part();
      String file = StorageNames.join(dir, part.fileName());
      Manifest.FileEntry entry;
      if (e.tensors() != null) {
        entry = writer.write(file, e.size(), out -> e.tensors().writeTo(out));
      } else {
        entry = writer.write(file, e.size(), out -> writeAll(out, e.json()));
      }
      String name = inShard(rank, entry.path());
      files.add(
          new Manifest.FileEntry(
              name, entry.size(), entry.sha256(), entry.crc32cChunkBytes(), entry.crc32c()));
      parts.add(new Manifest.PartEntry(part.name(), part.kind().wireName(), name, rank));
    }
    if (rank != null) {
      storage.syncFolder(dir);
    }
    return new Written(parts, files);
  }

  /** Writes the manifest, last, once the claim is known to be still this save's. */
  private void writeManifest(String work, Manifest manifest, long step) throws IOException {
    byte[] bytes = ManifestCodec.encodeChecked(manifest);
    folders.strategy().beforeManifest(storage, work);
    if (!self.exclusive() && !Claim.heldBy(storage, work, self.token())) {
      // Taken over as stale while this save ran: the folder is someone else's now.
      throw new ClaimLost(
          "this save of step "
              + step
              + " ran longer than staleClaimAfter ("
              + self.staleAfter()
              + ") and another writer took its folder over; nothing was published — raise"
              + " staleClaimAfter above the longest save");
    }
    writer.writeSmall(StorageNames.join(work, Manifest.FILE_NAME), bytes);
    storage.syncFolder(work);
  }

  /**
   * Publishes; when the checkpoint became visible but could not be made durable, withdraws it, so
   * that the caller's "failed" is true after a power cut too, and a retry of the step can work.
   */
  private void publish(String work, String target, long step) throws IOException {
    try {
      folders.strategy().publish(storage, work, target);
      return;
    } catch (FileAlreadyExistsException e) {
      // The rename found step-N there: another writer published first, ours was never visible.
      IOException cleanup = rollback(work, step, e);
      IllegalStateException lost = lostRace(step, "committed", e);
      if (cleanup != e) {
        lost.addSuppressed(cleanup);
      }
      throw lost;
    } catch (RuntimeException e) {
      if (!ourPublishVisible(work, target, e)) {
        throw rollback(work, step, e);
      }
      throw e;
    } catch (IOException e) {
      if (!ourPublishVisible(work, target, e)) {
        throw rollback(work, step, e); // never visible: nothing was promised
      }
      try {
        folders.strategy().withdraw(storage, target);
      } catch (IOException | RuntimeException withdrawFailed) {
        e.addSuppressed(withdrawFailed);
        unsettled.add(step);
        throw new IOException(
            "step "
                + step
                + " was published in "
                + shown
                + " but could not be made durable ("
                + e.getMessage()
                + ") nor withdrawn; it may not survive a power cut: save the step again to replace"
                + " it",
            e);
      }
      String message =
          "step "
              + step
              + " could not be made durable in "
              + shown
              + " ("
              + e.getMessage()
              + "); it was withdrawn, the previous checkpoint stays the latest, and the step can"
              + " be saved again";
      throw InsufficientSpaceException.isDiskFull(e)
          ? new InsufficientSpaceException(message, e)
          : new IOException(message, e);
    }
  }

  /**
   * Whether the checkpoint at {@code target} is this save's, published despite the failure. Under
   * the rename strategy a step-N with our work folder still beside it is another writer's.
   */
  private boolean ourPublishVisible(String work, String target, Exception failure) {
    try {
      if (!work.equals(target) && storage.exists(work)) {
        return false;
      }
      return folders.state(target) == CheckpointState.COMMITTED;
    } catch (IOException | RuntimeException e) {
      failure.addSuppressed(e);
      return true; // cannot tell: treat it as published, so it is withdrawn or reported
    }
  }

  /** Thrown when a stale-claim takeover made this save's folder another writer's. */
  private static final class ClaimLost extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    ClaimLost(String message) {
      super(message);
    }
  }

  /**
   * Gives up this save's claim. After a publish the claim is removed without reading it first (a
   * round trip fewer on remote storage): the step is committed, so the claim guards nothing a
   * writer may still change. Even one taken over from this save as stale: its new holder finds a
   * renamed work folder gone, or a marker folder committed (its manifest create fails), and without
   * the claim its rollback leaves the committed files alone.
   */
  private void release(String work, boolean published) {
    if (self.exclusive()) {
      return;
    }
    try {
      if (published || Claim.heldBy(storage, work, self.token())) {
        Claim.release(storage, work);
      }
    } catch (IOException e) {
      // A claim left behind is harmless: it goes stale and is removed at a later open.
    }
  }

  /**
   * Makes room for step-N: an intact checkpoint there is never replaced (steps only go up); a
   * damaged one is moved aside (kept for inspection, never read again), and the leftovers of a save
   * of this store that failed are removed.
   */
  private void clearWay(String target, long step) throws IOException {
    if (!storage.exists(target)) {
      return; // the usual case, in one round trip to remote storage
    }
    CheckpointFolders.Described d = folders.describe(target);
    if (d == null) {
      if (storage.exists(target)) {
        throw new IllegalStateException(
            folders.path(target)
                + " exists and is not a checkpoint folder; move it away before saving step "
                + step);
      }
      return;
    }
    if (unsettled.remove(step) || d.state() == CheckpointState.UNCOMMITTED) {
      folders.strategy().delete(storage, target);
      storage.syncFolder(CommitStrategy.ROOT);
      return;
    }
    VerifyResult r = folders.verify(target, Verification.CRC32C);
    if (r.ok()) {
      throw new IllegalStateException(
          "checkpoint "
              + folders.path(target)
              + " already exists and is intact; a step is saved once — save a later step, or"
              + " delete that checkpoint first");
    }
    if (r.outcome() != VerifyResult.Outcome.DAMAGED) {
      return; // deleted meanwhile: the way is clear
    }
    if (!self.exclusive()) {
      // Moving it aside is not one step here (an object store copies; another writer may be
      // publishing this step meanwhile): leave it for a person, and say so.
      throw new IllegalStateException(
          "checkpoint "
              + folders.path(target)
              + " is damaged ("
              + r.problems().get(0)
              + "); this storage cannot set it aside safely: move or delete it, then save step "
              + step
              + " again");
    }
    String aside = StepFolders.damaged(step, randomHex());
    storage.rename(target, aside);
    storage.syncFolder(CommitStrategy.ROOT);
    events.accept(
        new CheckpointEvent(
            CheckpointEvent.Type.MOVED_ASIDE,
            step,
            folders.location(aside),
            "damaged checkpoint "
                + target
                + " moved aside to "
                + aside
                + " before saving that step again: "
                + r.problems().get(0)));
  }

  private IllegalStateException lostRace(long step, String what, Exception cause) {
    return new IllegalStateException(
        "another writer "
            + what
            + " step "
            + step
            + " in "
            + shown
            + (cause == null ? "" : " first")
            + "; this save published nothing and left that writer's files alone",
        cause);
  }

  private IOException rollback(String work, long step, Exception failure) {
    boolean ours = true;
    if (!self.exclusive()) {
      try {
        ours = !(failure instanceof ClaimLost) && Claim.heldBy(storage, work, self.token());
      } catch (IOException | RuntimeException e) {
        failure.addSuppressed(e);
        ours = false; // cannot tell: leave it; it is removed once its claim is stale
      }
    }
    return rollback(work, step, failure, ours);
  }

  private IOException rollback(String work, long step, Exception failure, boolean delete) {
    if (delete) {
      try {
        storage.deleteTree(work);
      } catch (IOException | RuntimeException e) {
        failure.addSuppressed(e);
      }
    }
    if (failure instanceof RuntimeException re) {
      throw re;
    }
    IOException io = (IOException) failure;
    if (InsufficientSpaceException.isDiskFull(io) && !(io instanceof InsufficientSpaceException)) {
      return new InsufficientSpaceException(
          "disk full while saving step "
              + step
              + " in "
              + shown
              + "; the partial checkpoint was removed and earlier checkpoints are intact",
          io);
    }
    return io;
  }

  private static void writeAll(java.nio.channels.WritableByteChannel out, byte[] bytes)
      throws IOException {
    ByteBuffer b = ByteBuffer.wrap(bytes);
    while (b.hasRemaining()) {
      out.write(b);
    }
  }

  static String randomHex() {
    return String.format("%08x", ThreadLocalRandom.current().nextInt());
  }
}

package dev.cairn.checkpoint;

import dev.cairn.safetensors.SafetensorsWriter;
import dev.cairn.store.InsufficientSpaceException;
import dev.cairn.store.Storage;
import dev.cairn.store.StorageNames;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Path;
import java.time.Clock;
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
    List<Encoded> encoded = encode(c);
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
    String target = StepFolders.name(c.step());
    String work = folders.strategy().workFolder(c.step());
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
        manifest = prepare(c, encoded, work);
      } catch (IOException | RuntimeException e) {
        throw rollback(work, c.step(), e);
      }
      publish(work, target, c.step());
      published = true;
    } finally {
      release(work, published);
    }
    return new SavedCheckpoint(
        c.step(),
        c.name(),
        folders.path(target),
        manifest,
        manifest.totalBytes(),
        System.nanoTime() - start,
        folders.location(target));
  }

  /** Encodes every part and a provisional manifest, each read back by the reader's code. */
  private List<Encoded> encode(Checkpoint c) {
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
      parts.add(new Manifest.PartEntry(part.name(), part.kind().wireName(), part.fileName()));
      long chunks = (e.size() + FileDigest.CHUNK_BYTES - 1) / FileDigest.CHUNK_BYTES;
      files.add(
          new Manifest.FileEntry(
              part.fileName(),
              e.size(),
              PLACEHOLDER_SHA,
              FileDigest.CHUNK_BYTES,
              java.util.Collections.nCopies((int) chunks, "00000000")));
    }
    // The real manifest differs only in its digests, of the same length or (no SHA-256 recorded)
    // shorter: if this one reads back, so will the real one, and the user's metadata is refused
    // before anything is written.
    ManifestCodec.encodeChecked(manifest(c, parts, files));
    return out;
  }

  private Manifest manifest(
      Checkpoint c, List<Manifest.PartEntry> parts, List<Manifest.FileEntry> files) {
    return new Manifest(
        Manifest.FORMAT_VERSION,
        c.step(),
        c.name(),
        clock.instant(),
        c.metrics(),
        c.metadata(),
        parts,
        files);
  }

  private Manifest prepare(Checkpoint c, List<Encoded> encoded, String work) throws IOException {
    List<Manifest.PartEntry> parts = new ArrayList<>();
    List<Manifest.FileEntry> files = new ArrayList<>();
    for (Encoded e : encoded) {
      Checkpoint.Part part = e.part();
      String file = StorageNames.join(work, part.fileName());
      Manifest.FileEntry entry;
      if (e.tensors() != null) {
        entry = writer.write(file, e.size(), out -> e.tensors().writeTo(out));
      } else {
        entry = writer.write(file, e.size(), out -> writeAll(out, e.json()));
      }
      files.add(entry);
      parts.add(new Manifest.PartEntry(part.name(), part.kind().wireName(), entry.path()));
    }
    Manifest manifest = manifest(c, parts, files);
    byte[] bytes = ManifestCodec.encodeChecked(manifest);
    folders.strategy().beforeManifest(storage, work);
    if (!self.exclusive() && !Claim.heldBy(storage, work, self.token())) {
      // Taken over as stale while this save ran: the folder is someone else's now.
      throw new ClaimLost(
          "this save of step "
              + c.step()
              + " ran longer than staleClaimAfter ("
              + self.staleAfter()
              + ") and another writer took its folder over; nothing was published — raise"
              + " staleClaimAfter above the longest save");
    }
    writer.writeSmall(StorageNames.join(work, Manifest.FILE_NAME), bytes);
    storage.syncFolder(work);
    return manifest;
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

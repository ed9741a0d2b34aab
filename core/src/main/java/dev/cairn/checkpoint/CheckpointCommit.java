package dev.cairn.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cairn.safetensors.SafetensorsWriter;
import dev.cairn.store.InsufficientSpaceException;
import dev.cairn.store.Storage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;

/**
 * The commit protocol of one save, in two phases (as Lucene's SegmentInfos commit): prepare writes
 * and syncs every file and the manifest into a work folder; finish publishes it. Any failure rolls
 * back by deleting the work folder, keeps the first error and adds later ones as suppressed.
 */
final class CheckpointCommit {
  private static final long MANIFEST_ALLOWANCE = 1L << 20;
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Storage storage;
  private final DurableWriter writer;
  private final Path parent;
  private final Clock clock;
  private final CommitStrategy strategy;
  private final Consumer<CheckpointEvent> events;

  CheckpointCommit(
      Storage storage,
      DurableWriter writer,
      Path parent,
      Clock clock,
      Consumer<CheckpointEvent> events) {
    this.storage = storage;
    this.writer = writer;
    this.parent = parent;
    this.clock = clock;
    this.strategy = CommitStrategy.of(storage);
    this.events = events;
  }

  SavedCheckpoint run(Checkpoint c) throws IOException {
    long start = System.nanoTime();
    long need = c.estimatedBytes() + MANIFEST_ALLOWANCE;
    long have = storage.usableSpace(parent);
    if (have < need) {
      throw InsufficientSpaceException.before(need, have, parent);
    }
    Path target = parent.resolve(StepFolders.name(c.step()));
    clearWay(target, c.step());
    Path work =
        strategy == CommitStrategy.RENAME
            ? parent.resolve(StepFolders.temporary(c.step(), randomHex()))
            : target;
    try {
      storage.createFolder(work);
      Manifest manifest = prepare(c, work);
      finish(work, target);
      long bytes = manifest.totalBytes();
      return new SavedCheckpoint(
          c.step(), c.name(), target, manifest, bytes, System.nanoTime() - start);
    } catch (IOException | RuntimeException e) {
      throw rollback(work, target, c.step(), e);
    }
  }

  private Manifest prepare(Checkpoint c, Path work) throws IOException {
    List<Manifest.PartEntry> parts = new ArrayList<>();
    List<Manifest.FileEntry> files = new ArrayList<>();
    for (Checkpoint.Part part : c.parts()) {
      Path file = work.resolve(part.fileName());
      Manifest.FileEntry entry;
      if (part.isTensors()) {
        long size = SafetensorsWriter.fileSize(part.tensors(), part.tensorMetadata());
        entry =
            writer.write(
                file,
                size,
                out -> SafetensorsWriter.write(out, part.tensors(), part.tensorMetadata()));
      } else {
        byte[] json = JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(part.json());
        entry = writer.write(file, json.length, out -> writeAll(out, json));
      }
      files.add(entry);
      parts.add(
          new Manifest.PartEntry(part.name(), part.isTensors() ? "tensors" : "json", entry.path()));
    }
    Manifest manifest =
        new Manifest(
            Manifest.FORMAT_VERSION,
            c.step(),
            c.name(),
            clock.instant(),
            c.metrics(),
            c.metadata(),
            parts,
            files);
    if (strategy == CommitStrategy.MARKER) {
      // The marker must not become durable before the files it vouches for.
      storage.syncFolder(work);
    }
    writer.writeSmall(work.resolve(Manifest.FILE_NAME), ManifestCodec.encode(manifest));
    storage.syncFolder(work);
    return manifest;
  }

  private void finish(Path work, Path target) throws IOException {
    if (strategy == CommitStrategy.RENAME) {
      storage.rename(work, target);
    }
    storage.syncFolder(parent);
  }

  /**
   * Makes room for step-N: a valid checkpoint there is never replaced (steps only go up); a damaged
   * one is moved aside (kept for inspection, never read again).
   */
  private void clearWay(Path target, long step) throws IOException {
    if (!storage.exists(target)) {
      return;
    }
    CheckpointVerifier.Result r = CheckpointVerifier.check(storage, target, Verification.SIZES);
    if (r.problems().isEmpty()) {
      throw new IllegalStateException(
          "checkpoint "
              + target
              + " already exists and is valid; a step is saved once — save a later step, or"
              + " delete that checkpoint first");
    }
    if (strategy == CommitStrategy.MARKER && r.manifest() == null) {
      storage.deleteTree(target);
      storage.syncFolder(parent);
      return;
    }
    Path aside = parent.resolve(StepFolders.corrupt(step, randomHex()));
    storage.rename(target, aside);
    storage.syncFolder(parent);
    events.accept(
        new CheckpointEvent(
            CheckpointEvent.Type.MOVED_ASIDE,
            step,
            aside,
            "damaged checkpoint "
                + target.getFileName()
                + " moved aside to "
                + aside.getFileName()
                + " before saving that step again: "
                + r.problems().get(0).getMessage()));
  }

  private IOException rollback(Path work, Path target, long step, Exception failure) {
    boolean published =
        strategy == CommitStrategy.RENAME && !storage.exists(work) && storage.exists(target);
    if (!published) {
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
              + parent
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

package dev.cairn.checkpoint;

import dev.cairn.store.Storage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * On storage without locks (HDFS, object stores), the right to change one work folder: a file
 * {@code <work>.claim} beside it, created exclusively (on S3 a conditional PUT) before the folder
 * is touched, naming the writer and the time. Every change to a work folder — writing a save into
 * it, rolling it back, removing it as a leftover — is made only by the holder of its claim, so two
 * writers of one step never both write, and nobody deletes a save in flight. A claim older than the
 * store's {@code staleClaimAfter} belongs to a writer presumed dead and may be taken over. Stores
 * holding the local writer lock exclude every other writer already and take none.
 */
final class Claim {
  static final String SUFFIX = ".claim";

  private Claim() {}

  /** The claim file of a work folder (beside it, in the store's root). */
  static String of(String work) {
    return work + SUFFIX;
  }

  /** Who claimed a folder and when. */
  record Holder(String writer, Instant since) {}

  /**
   * Takes the claim on {@code work}, taking over a stale one.
   *
   * @return false when another writer holds a fresh claim (or won the race for a stale one)
   */
  static boolean take(Storage storage, String work, String writer, Instant now, Duration staleAfter)
      throws IOException {
    if (create(storage, work, writer, now)) {
      return true;
    }
    Optional<Holder> h = read(storage, work);
    if (h.isPresent() && !h.get().writer().isEmpty() && h.get().writer().equals(writer)) {
      return true; // ours, left by a save of this store that failed to give it up
    }
    if (h.isPresent() && h.get().since().plus(staleAfter).isAfter(now)) {
      return false;
    }
    if (h.isEmpty() && storage.exists(of(work))) {
      return false; // being written, or unreadable: not provably stale
    }
    // Stale (or released meanwhile): remove it only if it is still the claim that was judged.
    if (h.isPresent() && !h.equals(read(storage, work))) {
      return false;
    }
    storage.delete(of(work));
    return create(storage, work, writer, now);
  }

  private static boolean create(Storage storage, String work, String writer, Instant now)
      throws IOException {
    String text = "writer=" + writer + "\ntime=" + now.toEpochMilli() + "\n";
    Storage.Output out;
    try {
      out = storage.create(of(work));
    } catch (FileAlreadyExistsException e) {
      return false;
    }
    try {
      // Not synced: a claim only excludes live writers, and one whose bytes a power cut lost
      // reads as cut short, judged by its time like any claim (see read). On HDFS the sync
      // was a tenth of a small save.
      out.write(ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)));
    } catch (IOException | RuntimeException e) {
      try {
        out.abort();
      } catch (IOException | RuntimeException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
    try {
      out.close(); // where close publishes (S3), the second of two racing claims fails here
    } catch (FileAlreadyExistsException e) {
      return false;
    }
    return true;
  }

  /** Whether {@code writer} still holds the claim on {@code work}. */
  static boolean heldBy(Storage storage, String work, String writer) throws IOException {
    Optional<Holder> h = read(storage, work);
    return h.isPresent() && h.get().writer().equals(writer);
  }

  /** The claim on a work folder, or empty when there is none or it cannot be read. */
  static Optional<Holder> read(Storage storage, String work) throws IOException {
    byte[] bytes;
    try (Storage.Input in = storage.open(of(work))) {
      ByteBuffer b = ByteBuffer.allocate((int) Math.min(in.size(), 4096));
      while (b.hasRemaining() && in.read(b, b.position()) > 0) {
        // read the whole (small) file
      }
      bytes = java.util.Arrays.copyOf(b.array(), b.position());
    } catch (NoSuchFileException e) {
      return Optional.empty();
    }
    String writer = null;
    Instant since = null;
    for (String line : new String(bytes, StandardCharsets.UTF_8).split("\n")) {
      if (line.startsWith("writer=")) {
        writer = line.substring(7).trim();
      } else if (line.startsWith("time=")) {
        try {
          since = Instant.ofEpochMilli(Long.parseLong(line.substring(5).trim()));
        } catch (NumberFormatException e) {
          return Optional.empty();
        }
      }
    }
    if (writer != null && since != null) {
      return Optional.of(new Holder(writer, since));
    }
    // Cut short (its writer died creating it): judged by when it was made, as nobody's.
    try {
      return storage.lastModified(of(work)).map(t -> new Holder("", t));
    } catch (NoSuchFileException e) {
      return Optional.empty();
    }
  }

  /** Gives a claim up (after the save was published or rolled back). */
  static void release(Storage storage, String work) throws IOException {
    storage.delete(of(work));
  }
}

package dev.cairn.checkpoint;

import dev.cairn.store.Storage;
import dev.cairn.store.StorageNames;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.time.Instant;
import java.util.Optional;

/**
 * The first file of a save's work folder on storage without locks (HDFS, object stores), created
 * exclusively: who is writing it and since when. It is what keeps two writers apart there: the
 * second writer of a step cannot create it (S3 refuses the conditional PUT), so it writes nothing
 * and deletes nothing; and a folder whose claim is fresh is a save in flight, not a leftover.
 * Removed once the checkpoint is committed. Stores holding the local writer lock exclude every
 * other writer already and take no claims.
 */
final class Claim {
  static final String FILE_NAME = ".claim";

  private Claim() {}

  /**
   * Claims a work folder for this writer.
   *
   * @throws FileAlreadyExistsException when another writer holds it
   */
  static void take(Storage storage, String folder, String writer, Instant now) throws IOException {
    String text = "writer=" + writer + "\ntime=" + now.toEpochMilli() + "\n";
    Storage.Output out = storage.create(StorageNames.join(folder, FILE_NAME));
    try {
      out.write(ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)));
      out.sync();
    } catch (IOException | RuntimeException e) {
      try {
        out.abort();
      } catch (IOException | RuntimeException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
    out.close(); // where close publishes (S3), a second writer's claim fails here
  }

  /** Who claimed a folder and when. */
  record Holder(String writer, Instant since) {}

  /** A folder's claim, or empty when it has no readable one. */
  static Optional<Holder> read(Storage storage, String folder) throws IOException {
    byte[] bytes;
    try (Storage.Input in = storage.open(StorageNames.join(folder, FILE_NAME))) {
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
    return writer == null || since == null
        ? Optional.empty()
        : Optional.of(new Holder(writer, since));
  }

  /** Removes a claim once its folder is committed (it guarded the writing, not the result). */
  static void release(Storage storage, String folder) throws IOException {
    storage.delete(StorageNames.join(folder, FILE_NAME));
  }
}

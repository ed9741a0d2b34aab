package dev.cairn.checkpoint;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * The table of contents of a committed checkpoint, stored as {@code manifest.json} and written
 * last: what the checkpoint holds and the size and checksums of every file in it. The file is
 * sealed with a SHA-256 of its own bytes, so damage to the manifest itself is detected too.
 */
public record Manifest(
    int formatVersion,
    long step,
    String name,
    Instant created,
    Map<String, Double> metrics,
    ObjectNode metadata,
    List<PartEntry> parts,
    List<FileEntry> files) {

  /** The format identifier in every manifest. */
  public static final String FORMAT = "cairn-checkpoint";

  /** The manifest format this version writes and the newest it reads. */
  public static final int FORMAT_VERSION = 1;

  /** The manifest's file name inside a checkpoint folder. */
  public static final String FILE_NAME = "manifest.json";

  public Manifest {
    metrics = Map.copyOf(metrics);
    metadata = metadata.deepCopy();
    parts = List.copyOf(parts);
    files = List.copyOf(files);
  }

  @Override
  public ObjectNode metadata() {
    return metadata.deepCopy();
  }

  /** A part: its name, kind ("tensors" or "json") and file. */
  public record PartEntry(String name, String kind, String file) {}

  /**
   * A file: size, SHA-256 (hex) and the CRC32C (8 hex digits) of each {@code crc32cChunkBytes}
   * chunk.
   */
  public record FileEntry(
      String path, long size, String sha256, long crc32cChunkBytes, List<String> crc32c) {
    public FileEntry {
      crc32c = List.copyOf(crc32c);
    }
  }

  /** Total bytes of the files listed (the manifest itself excluded). */
  public long totalBytes() {
    long n = 0;
    for (FileEntry f : files) {
      n += f.size();
    }
    return n;
  }

  /** The part with this name, or null. */
  public PartEntry part(String name) {
    for (PartEntry p : parts) {
      if (p.name().equals(name)) {
        return p;
      }
    }
    return null;
  }
}

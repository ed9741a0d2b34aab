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

  /** Largest manifest written or read (user metadata lives here: keep bulk in a JSON part). */
  public static final int MAX_BYTES = 64 << 20;

  /** The two kinds of part, their names in the manifest and the endings of their files. */
  public enum Kind {
    TENSORS("tensors", ".safetensors"),
    JSON("json", ".json");

    private final String wireName;
    private final String suffix;

    Kind(String wireName, String suffix) {
      this.wireName = wireName;
      this.suffix = suffix;
    }

    /** The kind's name in manifest.json. */
    public String wireName() {
      return wireName;
    }

    /** The file a part of this kind is stored in. */
    public String fileName(String partName) {
      return partName + suffix;
    }

    /** The kind for a manifest name, or null. */
    public static Kind of(String wireName) {
      for (Kind k : values()) {
        if (k.wireName.equals(wireName)) {
          return k;
        }
      }
      return null;
    }

    /** The kind whose files end like this one's, or null. */
    static Kind ofFile(String file) {
      for (Kind k : values()) {
        if (file.endsWith(k.suffix)
            && Names.isSafe(file.substring(0, file.length() - k.suffix.length()))) {
          return k;
        }
      }
      return null;
    }
  }

  public Manifest {
    // Sorted, so the manifest's bytes do not depend on a hash map's iteration order.
    metrics = java.util.Collections.unmodifiableMap(new java.util.TreeMap<>(metrics));
    metadata = metadata.deepCopy();
    parts = List.copyOf(parts);
    files = List.copyOf(files);
  }

  @Override
  public ObjectNode metadata() {
    return metadata.deepCopy();
  }

  /**
   * A part: its name, kind ("tensors" or "json") and file. The constructor is the one rule for both
   * the writer and the reader: a safe part name, a known kind, and the file that name and kind
   * give.
   */
  public record PartEntry(String name, String kind, String file) {
    public PartEntry {
      requirePartName(name);
      Kind k = Kind.of(kind);
      if (k == null) {
        throw new IllegalArgumentException("part '" + name + "' has unknown kind '" + kind + "'");
      }
      if (!k.fileName(name).equals(file)) {
        throw new IllegalArgumentException(
            "part '" + name + "' must be stored in " + k.fileName(name) + ", not " + file);
      }
    }
  }

  /**
   * A file: size, the CRC32C (8 hex digits) of each {@code crc32cChunkBytes} chunk, and its SHA-256
   * (hex) when the store recorded one (null otherwise).
   */
  public record FileEntry(
      String path, long size, String sha256, long crc32cChunkBytes, List<String> crc32c) {
    public FileEntry {
      if (path == null || Kind.ofFile(path) == null) {
        throw new IllegalArgumentException(
            "file name '" + path + "' is not a part file (<part name>.safetensors or .json)");
      }
      crc32c = List.copyOf(crc32c);
    }
  }

  /**
   * Checks a part name: what {@link Checkpoint.Builder} accepts and what the reader accepts are the
   * same by construction.
   */
  public static String requirePartName(String name) {
    Names.requireSafe(name, "part name");
    if (name.equals("manifest")) {
      throw new IllegalArgumentException("part name 'manifest' is reserved for manifest.json");
    }
    return name;
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

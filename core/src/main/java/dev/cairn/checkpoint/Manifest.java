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
    List<FileEntry> files,
    int worldSize) {

  /** The format identifier in every manifest. */
  public static final String FORMAT = "cairn-checkpoint";

  /**
   * The newest manifest format this version reads, and the one it writes for a checkpoint saved by
   * several ranks; a checkpoint of one process is written as version 1, which older versions read.
   */
  public static final int FORMAT_VERSION = 2;

  /** The format of a checkpoint saved by one process. */
  public static final int SINGLE_PROCESS_VERSION = 1;

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
    if (worldSize < 1) {
      throw new IllegalArgumentException("world_size must be 1 or more, was " + worldSize);
    }
    java.util.Set<String> seen = new java.util.HashSet<>();
    for (PartEntry p : parts) {
      if ((worldSize == 1) != (p.rank() == null) || (p.rank() != null && p.rank() >= worldSize)) {
        throw new IllegalArgumentException(
            "part '"
                + p.name()
                + "' has rank "
                + p.rank()
                + " in a checkpoint of "
                + worldSize
                + (worldSize == 1 ? " rank (no rank expected)" : " ranks"));
      }
      if (!seen.add(p.file())) {
        throw new IllegalArgumentException("part file " + p.file() + " is listed twice");
      }
    }
  }

  /** A checkpoint of one process. */
  public Manifest(
      int formatVersion,
      long step,
      String name,
      Instant created,
      Map<String, Double> metrics,
      ObjectNode metadata,
      List<PartEntry> parts,
      List<FileEntry> files) {
    this(formatVersion, step, name, created, metrics, metadata, parts, files, 1);
  }

  /** The format version a manifest of this many ranks is written in. */
  static int versionFor(int worldSize) {
    return worldSize == 1 ? SINGLE_PROCESS_VERSION : FORMAT_VERSION;
  }

  /** The folder inside a checkpoint holding one rank's files, in a checkpoint of several ranks. */
  public static String shardFolder(int rank) {
    return "rank-" + rank;
  }

  /**
   * The parts one rank saved (every part, for rank 0 of a checkpoint of one process); part names
   * are unique within a rank.
   */
  public List<PartEntry> parts(int rank) {
    List<PartEntry> out = new java.util.ArrayList<>();
    for (PartEntry p : parts) {
      if (p.rank() == null ? rank == 0 : p.rank() == rank) {
        out.add(p);
      }
    }
    return out;
  }

  @Override
  public ObjectNode metadata() {
    return metadata.deepCopy();
  }

  /**
   * A part: its name, kind ("tensors" or "json"), file, and in a checkpoint of several ranks the
   * rank that saved it (null otherwise). The constructor is the one rule for both the writer and
   * the reader: a safe part name, a known kind, and the file that name, kind and rank give ({@code
   * rank-R/} before the file name of a rank's part).
   */
  public record PartEntry(String name, String kind, String file, Integer rank) {
    public PartEntry {
      requirePartName(name);
      Kind k = Kind.of(kind);
      if (k == null) {
        throw new IllegalArgumentException("part '" + name + "' has unknown kind '" + kind + "'");
      }
      if (rank != null && rank < 0) {
        throw new IllegalArgumentException("part '" + name + "' has a negative rank");
      }
      String expected = (rank == null ? "" : shardFolder(rank) + "/") + k.fileName(name);
      if (!expected.equals(file)) {
        throw new IllegalArgumentException(
            "part '" + name + "' must be stored in " + expected + ", not " + file);
      }
    }

    /** A part of a checkpoint of one process. */
    public PartEntry(String name, String kind, String file) {
      this(name, kind, file, null);
    }
  }

  /**
   * A file: size, the CRC32C (8 hex digits) of each {@code crc32cChunkBytes} chunk, and its SHA-256
   * (hex) when the store recorded one (null otherwise).
   */
  public record FileEntry(
      String path, long size, String sha256, long crc32cChunkBytes, List<String> crc32c) {
    public FileEntry {
      if (path == null || Kind.ofFile(withoutShardFolder(path)) == null) {
        throw new IllegalArgumentException(
            "file name '"
                + path
                + "' is not a part file ([rank-R/]<part name>.safetensors or .json)");
      }
      crc32c = List.copyOf(crc32c);
    }
  }

  private static final java.util.regex.Pattern SHARD_FOLDER =
      java.util.regex.Pattern.compile("rank-(0|[1-9][0-9]{0,3})/");

  /** A file's name without its {@code rank-R/} folder, or the name itself when it has none. */
  static String withoutShardFolder(String path) {
    java.util.regex.Matcher m = SHARD_FOLDER.matcher(path);
    return m.lookingAt() ? path.substring(m.end()) : path;
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

package dev.cairn.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cairn.safetensors.SafetensorsFile;
import dev.cairn.safetensors.TensorInfo;
import dev.cairn.store.Storage;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A checkpoint that passed verification and is open for reading. Tensor parts are memory-mapped
 * safetensors files (zero copy); JSON parts are parsed trees. Close it to release the files.
 */
public final class LoadedCheckpoint implements Closeable {
  private final Path folder;
  private final String location;
  private final Manifest manifest;
  private final Map<String, SafetensorsFile> tensors;
  private final Map<String, Storage.Input> scans;
  private final Map<String, JsonNode> json;
  private final int rank;

  /**
   * Whether restores read tensors straight into the caller's buffers: where no input is opened with
   * O_DIRECT, which needs aligned buffers that the caller's are not.
   */
  private final boolean intoTargets;

  private LoadedCheckpoint(
      Path folder,
      String location,
      Manifest manifest,
      Map<String, SafetensorsFile> tensors,
      Map<String, Storage.Input> scans,
      Map<String, JsonNode> json,
      boolean intoTargets,
      int rank) {
    this.intoTargets = intoTargets;
    this.rank = rank;
    this.folder = folder;
    this.location = location;
    this.manifest = manifest;
    this.tensors = tensors;
    this.scans = scans;
    this.json = json;
  }

  /**
   * Verifies a checkpoint folder at the given level and opens it.
   *
   * @throws CorruptCheckpointException naming the first damaged file (others are suppressed)
   */
  public static LoadedCheckpoint open(Path folder, Verification level) throws IOException {
    return open(folder, level, 0, 1);
  }

  /**
   * Verifies and opens one rank's share of a checkpoint folder, whatever number of ranks saved it
   * (rank 0 of a checkpoint of one process is all of it): to read or compare a rank's state outside
   * its job.
   *
   * @throws IllegalArgumentException when the checkpoint has no rank {@code rank}
   */
  public static LoadedCheckpoint open(Path folder, Verification level, int rank)
      throws IOException {
    return open(folder, level, rank, ANY_WORLD);
  }

  /** Stands for "the number of ranks the checkpoint was saved by". */
  private static final int ANY_WORLD = -1;

  private static LoadedCheckpoint open(Path folder, Verification level, int rank, int world)
      throws IOException {
    Path abs = folder.toAbsolutePath().normalize();
    Path parent = abs.getParent();
    if (parent == null) {
      throw new IllegalArgumentException("expected a checkpoint folder, got the root " + folder);
    }
    return open(
        new CheckpointFolders(Storage.at(parent), parent),
        String.valueOf(abs.getFileName()),
        level,
        rank,
        world);
  }

  static LoadedCheckpoint open(CheckpointFolders folders, String folder, Verification level)
      throws IOException {
    return open(folders, folder, level, 0, 1);
  }

  /**
   * Opens the share of {@code rank} in a group of {@code worldSize}: its parts only, verified. A
   * checkpoint saved by another number of ranks is refused with an IllegalStateException saying how
   * many ranks saved it.
   */
  static LoadedCheckpoint open(
      CheckpointFolders folders, String folder, Verification level, int rank, int worldSize)
      throws IOException {
    // The files the verification opened are the ones read: opened once (on remote storage each
    // open is a round trip), and readTensors reads these even if retention deletes them later.
    CheckpointVerifier.Opened opened = new CheckpointVerifier.Opened();
    Map<String, SafetensorsFile> tensors = new LinkedHashMap<>();
    Map<String, Storage.Input> scans = new LinkedHashMap<>();
    Map<String, JsonNode> json = new LinkedHashMap<>();
    Manifest m;
    try {
      // Rank 0 of a checkpoint of one process checks every part: its parts are rank 0's.
      CheckpointVerifier.Result r = CheckpointVerifier.check(folders, folder, level, opened, rank);
      m = r.manifest();
      if (m != null && worldSize != ANY_WORLD && m.worldSize() != worldSize) {
        throw new WorldSizeMismatchException(folders.path(folder), m.worldSize(), worldSize);
      }
      if (m != null && (rank < 0 || rank >= m.worldSize())) {
        throw new IllegalArgumentException(
            "checkpoint "
                + folders.path(folder)
                + " was saved by "
                + m.worldSize()
                + (m.worldSize() == 1 ? " process" : " ranks")
                + "; it has no rank "
                + rank);
      }
      r.throwIfBad();
      for (Manifest.PartEntry p : m.parts(rank)) {
        if (p.kind().equals(Manifest.Kind.TENSORS.wireName())) {
          tensors.put(p.name(), require(opened.tensors.remove(p.name()), p));
          Storage.Input scan = opened.inputs.remove(p.file());
          scans.put(p.name(), scan != null ? scan : opened.listing.openSequential(p.file()));
        } else {
          json.put(p.name(), require(opened.json.get(p.name()), p));
        }
      }
    } catch (IOException | RuntimeException e) {
      closeAll(tensors, scans, e);
      opened.closeAll(e);
      throw e;
    }
    opened.closeAll(null); // the JSON files' inputs: their trees are parsed already
    return new LoadedCheckpoint(
        folders.path(folder),
        folders.location(folder),
        m,
        tensors,
        scans,
        json,
        FileScanner.plainReads(folders.storage()),
        rank);
  }

  private static <T> T require(T opened, Manifest.PartEntry p) {
    if (opened == null) {
      throw new IllegalStateException("verification left part '" + p.name() + "' unopened");
    }
    return opened;
  }

  private static Manifest.FileEntry fileEntry(Manifest m, Manifest.PartEntry p) {
    return m.files().stream().filter(x -> x.path().equals(p.file())).findFirst().orElseThrow();
  }

  private static void closeAll(
      Map<String, SafetensorsFile> files, Map<String, Storage.Input> scans, Exception failure) {
    for (java.io.Closeable f : concat(files, scans)) {
      try {
        f.close();
      } catch (IOException e) {
        failure.addSuppressed(e);
      }
    }
  }

  private static List<java.io.Closeable> concat(
      Map<String, SafetensorsFile> files, Map<String, Storage.Input> scans) {
    List<java.io.Closeable> all = new java.util.ArrayList<>(files.values());
    all.addAll(scans.values());
    return all;
  }

  public Path folder() {
    return folder;
  }

  /** Where the checkpoint is, for people: an absolute path or a URI. */
  public String location() {
    return location;
  }

  public Manifest manifest() {
    return manifest;
  }

  public long step() {
    return manifest.step();
  }

  /** The checkpoint's name, or null. */
  public String name() {
    return manifest.name();
  }

  /**
   * The rank whose share of the checkpoint this is: 0 for a checkpoint of one process; in one saved
   * by several ranks, the parts, tensors and JSON here are this rank's.
   */
  public int rank() {
    return rank;
  }

  /** Names of this rank's parts (every part, for a checkpoint of one process), in save order. */
  public Set<String> parts() {
    Set<String> names = new java.util.LinkedHashSet<>();
    manifest.parts(rank).forEach(p -> names.add(p.name()));
    return names;
  }

  public boolean hasPart(String name) {
    return entry(name) != null;
  }

  /** This rank's part of that name, or null. */
  private Manifest.PartEntry entry(String name) {
    for (Manifest.PartEntry p : manifest.parts(rank)) {
      if (p.name().equals(name)) {
        return p;
      }
    }
    return null;
  }

  /** A tensor part; IllegalArgumentException naming the parts that exist when absent. */
  public SafetensorsFile tensors(String part) {
    SafetensorsFile f = tensors.get(part);
    if (f == null) {
      throw new IllegalArgumentException(
          "checkpoint " + folder + " has no tensor part '" + part + "'; parts: " + parts());
    }
    return f;
  }

  /** A JSON part; IllegalArgumentException naming the parts that exist when absent. */
  public JsonNode json(String part) {
    JsonNode n = json.get(part);
    if (n == null) {
      throw new IllegalArgumentException(
          "checkpoint " + folder + " has no JSON part '" + part + "'; parts: " + parts());
    }
    return n.deepCopy();
  }

  /**
   * Copies every tensor of a part into buffers the caller supplies, reading the file once (with
   * O_DIRECT where possible) and checking each CRC32C chunk on the way. This is the fast restore
   * path: one pass at the device's speed instead of a verification pass plus page faults. When it
   * throws CorruptCheckpointException the destinations hold undefined bytes and must not be used.
   * The bytes may be written into the buffers by a Cairn thread (the read-ahead), always before
   * this method returns or throws: buffers confined to the calling thread do not work here.
   *
   * @param destination gives, for each tensor, a buffer with exactly {@code byteSize()} bytes
   *     remaining, or null to skip that tensor; each position is at its limit on return
   */
  public void readTensors(
      String part, java.util.function.Function<TensorInfo, ByteBuffer> destination)
      throws IOException {
    SafetensorsFile f = tensors(part);
    Manifest.PartEntry entry = entry(part);
    Manifest.FileEntry file = fileEntry(manifest, entry);
    List<TensorInfo> infos = f.tensors();
    ByteBuffer[] targets = new ByteBuffer[infos.size()];
    for (int i = 0; i < targets.length; i++) {
      ByteBuffer d = destination.apply(infos.get(i));
      if (d != null && d.remaining() != infos.get(i).byteSize()) {
        throw new IllegalArgumentException(
            "buffer for tensor '"
                + infos.get(i).name()
                + "' has "
                + d.remaining()
                + " bytes remaining; it needs "
                + infos.get(i).byteSize());
      }
      targets[i] = d;
    }
    long dataStart = f.header().dataStart();
    FileDigest digest = new FileDigest(false);
    Path path = folder.resolve(entry.file());
    boolean[] direct = new boolean[targets.length];
    List<FileScanner.Segment> segments =
        intoTargets ? plan(infos, targets, dataStart, file.size(), direct) : null;
    if (segments == null) {
      java.util.Arrays.fill(direct, false);
      segments = FileScanner.chunks(file.size());
    } else {
      // The header as parsed at open; the scan goes on from where it ends.
      digest.update(f.headerBytes());
    }
    int[] next = {0};
    FileScanner.scan(
        scans.get(part),
        path,
        segments,
        (offset, chunk) -> {
          // A slice at a time: the copy reads what the CRC has just brought into the CPU's cache,
          // instead of a whole chunk again from memory.
          for (int at = chunk.position(); at < chunk.limit(); at += SLICE_BYTES) {
            ByteBuffer slice = chunk.duplicate();
            slice.position(at).limit(Math.min(chunk.limit(), at + SLICE_BYTES));
            digest.update(slice);
            copyOut(infos, targets, direct, dataStart, next, offset + at - chunk.position(), slice);
          }
        });
    for (int i = 0; i < targets.length; i++) {
      if (direct[i]) {
        targets[i].position(targets[i].position() + (int) infos.get(i).byteSize());
      }
    }
    List<String> crcs = digest.crcs();
    for (int i = 0; i < crcs.size(); i++) {
      if (!crcs.get(i).equals(file.crc32c().get(i))) {
        long start = i * file.crc32cChunkBytes();
        throw new CorruptCheckpointException(
            path, start, "CRC32C mismatch in the chunk starting here (data is damaged)", null);
      }
    }
  }

  /** How much of a chunk is checked and then copied at a time: about a core's L2 cache. */
  private static final int SLICE_BYTES = 256 << 10;

  /**
   * Copies the bytes of {@code piece} (the file's bytes from {@code offset}) that belong to wanted
   * tensors not read into their buffers; {@code next[0]} is the first tensor not yet complete.
   */
  private static void copyOut(
      List<TensorInfo> infos,
      ByteBuffer[] targets,
      boolean[] direct,
      long dataStart,
      int[] next,
      long offset,
      ByteBuffer piece) {
    long pieceEnd = offset + piece.remaining();
    for (int i = next[0]; i < infos.size(); i++) {
      TensorInfo t = infos.get(i);
      long from = Math.max(offset, dataStart + t.begin());
      long to = Math.min(pieceEnd, dataStart + t.end());
      if (from >= pieceEnd) {
        break;
      }
      if (to > from && targets[i] != null && !direct[i]) {
        ByteBuffer src = piece.duplicate();
        int base = piece.position();
        src.position(base + (int) (from - offset)).limit(base + (int) (to - offset));
        targets[i].put(src);
      }
      if (dataStart + t.end() <= pieceEnd) {
        next[0] = i + 1;
      }
    }
  }

  /** Tensors at least this large are read straight into their buffers; smaller ones in runs. */
  private static final long DIRECT_MIN_BYTES = 1 << 20;

  /**
   * Segments of the file after its header, in order: each wanted tensor of at least {@link
   * #DIRECT_MIN_BYTES} read into (a slice of) its buffer and marked in {@code direct}; everything
   * else (small tensors, padding, skipped tensors) in scratch chunks, so that a model of many small
   * tensors is still read in few requests. Null when tensors overlap (the reader then copies).
   */
  private static List<FileScanner.Segment> plan(
      List<TensorInfo> infos, ByteBuffer[] targets, long dataStart, long size, boolean[] direct) {
    List<Integer> wanted = new java.util.ArrayList<>();
    for (int i = 0; i < targets.length; i++) {
      if (targets[i] != null && infos.get(i).byteSize() >= DIRECT_MIN_BYTES) {
        wanted.add(i);
      }
    }
    wanted.sort(java.util.Comparator.comparingLong(i -> infos.get(i).begin()));
    List<FileScanner.Segment> out = new java.util.ArrayList<>();
    long pos = dataStart; // the header's bytes are the reader's already
    for (int i : wanted) {
      long start = dataStart + infos.get(i).begin();
      long end = dataStart + infos.get(i).end();
      if (start < pos || end > size) {
        return null;
      }
      FileScanner.scratch(out, pos, start);
      ByteBuffer t = targets[i];
      for (long p = start; p < end; p += FileScanner.CHUNK_BYTES) {
        int len = (int) Math.min(FileScanner.CHUNK_BYTES, end - p);
        ByteBuffer into = t.duplicate();
        into.position(t.position() + (int) (p - start)).limit(into.position() + len);
        out.add(new FileScanner.Segment(p, len, into));
      }
      direct[i] = true;
      pos = end;
    }
    FileScanner.scratch(out, pos, size);
    return out;
  }

  @Override
  public void close() throws IOException {
    IOException first = null;
    for (java.io.Closeable f : concat(tensors, scans)) {
      try {
        f.close();
      } catch (IOException e) {
        if (first == null) {
          first = e;
        } else {
          first.addSuppressed(e);
        }
      }
    }
    if (first != null) {
      throw first;
    }
  }
}

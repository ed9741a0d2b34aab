package dev.cairn.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cairn.safetensors.MalformedSafetensorsException;
import dev.cairn.safetensors.SafetensorsFile;
import dev.cairn.store.Storage;
import dev.cairn.store.StorageNames;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Checks one checkpoint folder against its manifest; the single place that says "intact". */
final class CheckpointVerifier {
  private CheckpointVerifier() {}

  /**
   * Reads and decodes a manifest file.
   *
   * @param file how the file is named in errors
   */
  static Manifest readManifest(Storage storage, String name, Path file) throws IOException {
    try (Storage.Input in = storage.open(name)) {
      return readManifest(in, file);
    }
  }

  private static Manifest readManifest(Storage.Input in, Path file) throws IOException {
    long size = in.size();
    if (size > Manifest.MAX_BYTES) {
      throw new CorruptCheckpointException(
          file, "manifest is " + size + " bytes, over the limit of " + Manifest.MAX_BYTES);
    }
    ByteBuffer buf = ByteBuffer.allocate((int) size);
    while (buf.hasRemaining() && in.read(buf, buf.position()) >= 0) {
      // read until full or end of file
    }
    byte[] bytes =
        buf.hasRemaining() ? java.util.Arrays.copyOf(buf.array(), buf.position()) : buf.array();
    return ManifestCodec.decode(bytes, file);
  }

  /** Every defect found, each naming its file; an empty list means intact at this level. */
  static Result check(CheckpointFolders folders, String folder, Verification level) {
    return check(folders, folder, level, null, null);
  }

  /**
   * The files a check opened, left open for a caller about to read them: each file's input, each
   * tensor part's header and each JSON part's tree. On remote storage every open is a round trip,
   * so a load reads through what its verification opened instead of opening everything again.
   */
  static final class Opened {
    /** The folder's files as the check listed them, to open more of them without asking again. */
    Storage.Listing listing;

    /** By file name in the manifest. */
    final Map<String, Storage.Input> inputs = new LinkedHashMap<>();

    /** By part name. */
    final Map<String, SafetensorsFile> tensors = new LinkedHashMap<>();

    /** By part name. */
    final Map<String, JsonNode> json = new LinkedHashMap<>();

    /** Closes everything still held, adding close failures to {@code failure} (null: ignored). */
    void closeAll(Exception failure) {
      List<java.io.Closeable> all = new ArrayList<>(inputs.values());
      all.addAll(tensors.values());
      inputs.clear();
      tensors.clear();
      for (java.io.Closeable c : all) {
        try {
          c.close();
        } catch (IOException e) {
          if (failure != null) {
            failure.addSuppressed(e);
          }
        }
      }
    }
  }

  /**
   * As {@link #check(CheckpointFolders, String, Verification)}; with {@code keep}, the files it
   * opened are left open there when it finds no problem (the caller closes them either way). With a
   * {@code rank}, only that rank's parts and files are checked (each rank of a group checks its own
   * share of a checkpoint of several ranks); null checks them all.
   */
  static Result check(
      CheckpointFolders folders, String folder, Verification level, Opened keep, Integer rank) {
    List<CorruptCheckpointException> problems = new ArrayList<>();
    Path manifestFile = folders.path(StorageNames.join(folder, Manifest.FILE_NAME));
    Storage.Listing files;
    Manifest m;
    try {
      // One listing and then each file opened from it, not asked for one by one: on an object
      // store each open is then its GET alone (a LIST for the folder instead of a HEAD per file).
      files = withRankFolders(folders.storage(), folder, folders.storage().listing(folder));
      try (Storage.Input in = files.open(Manifest.FILE_NAME)) {
        m = readManifest(in, manifestFile);
      }
    } catch (java.nio.file.NoSuchFileException | java.nio.file.NotDirectoryException e) {
      problems.add(
          new CorruptCheckpointException(
              manifestFile,
              "missing: the checkpoint was never committed or its manifest was lost"));
      return new Result(null, problems);
    } catch (CorruptCheckpointException e) {
      problems.add(e);
      return new Result(null, problems);
    } catch (IOException e) {
      problems.add(new CorruptCheckpointException(manifestFile, -1, "unreadable: " + e, e));
      return new Result(null, problems);
    }
    long folderStep = StepFolders.step(folder);
    if (folderStep >= 0 && folderStep != m.step()) {
      problems.add(
          new CorruptCheckpointException(
              manifestFile,
              "manifest is for step " + m.step() + " but the folder is " + folders.path(folder)));
    }
    List<Manifest.PartEntry> parts = rank == null ? m.parts() : m.parts(rank);
    Set<String> wanted = new HashSet<>();
    parts.forEach(p -> wanted.add(p.file()));
    Set<String> listed = new HashSet<>();
    for (Manifest.FileEntry f : m.files()) {
      listed.add(f.path());
      if (rank != null && !wanted.contains(f.path())) {
        continue; // another rank's file
      }
      checkFile(files, folders.path(StorageNames.join(folder, f.path())), f, level, problems, keep);
    }
    if (problems.isEmpty()) {
      for (Manifest.PartEntry p : parts) {
        checkPart(folders, files, folder, p, listed, problems, keep);
      }
    }
    if (keep != null) {
      keep.listing = files;
    }
    return new Result(m, problems);
  }

  /**
   * Opens the files of a checkpoint folder, its own from {@code top} and each rank's ({@code
   * rank-R/...}, in a checkpoint of several ranks) from a listing of that rank's folder, made when
   * its first file is opened: one listing per folder read, however many files it holds.
   */
  static Storage.Listing withRankFolders(Storage storage, String folder, Storage.Listing top) {
    java.util.Map<String, Storage.Listing> ranks = new java.util.HashMap<>();
    return new Storage.Listing() {
      @Override
      public Storage.Input open(String file) throws IOException {
        return of(file).open(StorageNames.last(file));
      }

      @Override
      public Storage.Input openSequential(String file) throws IOException {
        return of(file).openSequential(StorageNames.last(file));
      }

      private synchronized Storage.Listing of(String file) throws IOException {
        int slash = file.lastIndexOf('/');
        if (slash < 0) {
          return top;
        }
        String sub = file.substring(0, slash);
        Storage.Listing l = ranks.get(sub);
        if (l == null) {
          l = storage.listing(StorageNames.join(folder, sub));
          ranks.put(sub, l);
        }
        return l;
      }
    };
  }

  record Result(Manifest manifest, List<CorruptCheckpointException> problems) {
    List<String> lines() {
      List<String> lines = new ArrayList<>();
      problems.forEach(p -> lines.add(p.getMessage()));
      return lines;
    }

    void throwIfBad() throws CorruptCheckpointException {
      if (!problems.isEmpty()) {
        CorruptCheckpointException first = problems.get(0);
        for (int i = 1; i < problems.size(); i++) {
          first.addSuppressed(problems.get(i));
        }
        throw first;
      }
    }
  }

  private static void checkFile(
      Storage.Listing files,
      Path file,
      Manifest.FileEntry entry,
      Verification level,
      List<CorruptCheckpointException> problems,
      Opened keep) {
    // One open per file: sizes and data are read through the same input, so a file deleted
    // meanwhile is read whole, or found missing at open or at its first read (and the caller can
    // tell it was deleted).
    Storage.Input in = null;
    try {
      in = files.openSequential(entry.path());
      long size = in.size();
      int before = problems.size();
      if (size != entry.size()) {
        problems.add(
            new CorruptCheckpointException(
                file,
                Math.min(size, entry.size()),
                "is " + size + " bytes but the manifest says " + entry.size(),
                null));
      } else if (level != Verification.SIZES) {
        checkData(in, file, entry, level == Verification.FULL, problems);
      }
      // Handed over open only when unread: a reader starting again at the front of an input read
      // to its end would seek backwards, which S3A answers by switching to ranged requests.
      if (keep != null && level == Verification.SIZES && problems.size() == before) {
        keep.inputs.put(entry.path(), in);
        in = null;
      }
    } catch (java.nio.file.NoSuchFileException e) {
      problems.add(new CorruptCheckpointException(file, "missing (listed in the manifest)"));
    } catch (IOException e) {
      problems.add(new CorruptCheckpointException(file, -1, "unreadable: " + e, e));
    } finally {
      if (in != null) {
        try {
          in.close();
        } catch (IOException e) {
          problems.add(new CorruptCheckpointException(file, -1, "unreadable: " + e, e));
        }
      }
    }
  }

  private static void checkData(
      Storage.Input in,
      Path file,
      Manifest.FileEntry entry,
      boolean sha,
      List<CorruptCheckpointException> problems)
      throws IOException {
    boolean withSha = sha && entry.sha256() != null;
    FileDigest digest = new FileDigest(withSha);
    long chunk = entry.crc32cChunkBytes();
    // The digest's chunk size is fixed; a manifest written with another one is checked by SHA only.
    boolean crcComparable = chunk == FileDigest.CHUNK_BYTES;
    if (!crcComparable && entry.sha256() == null) {
      problems.add(
          new CorruptCheckpointException(
              file,
              -1,
              "its CRC32C chunks are "
                  + chunk
                  + " bytes, which this version cannot check, and no SHA-256 is recorded",
              null));
      return;
    }
    try {
      FileScanner.scan(in, file, entry.size(), (offset, data) -> digest.update(data));
    } catch (java.io.EOFException e) {
      problems.add(new CorruptCheckpointException(file, -1, "ends early: " + e.getMessage(), e));
      return;
    }
    List<String> crcs = digest.crcs();
    if (crcComparable) {
      for (int i = 0; i < crcs.size(); i++) {
        if (!crcs.get(i).equals(entry.crc32c().get(i))) {
          long start = i * chunk;
          long end = Math.min(entry.size(), start + chunk);
          problems.add(
              new CorruptCheckpointException(
                  file,
                  start,
                  "CRC32C mismatch in bytes [" + start + ", " + end + ") (data is damaged)",
                  null));
          return;
        }
      }
    }
    if (withSha && !digest.sha256().equals(entry.sha256())) {
      problems.add(
          new CorruptCheckpointException(file, 0, "SHA-256 mismatch (data is damaged)", null));
    }
  }

  /** An input that stays open when the reader holding it closes (another one owns it). */
  private record Unclosed(Storage.Input inner) implements Storage.Input {
    @Override
    public long size() throws IOException {
      return inner.size();
    }

    @Override
    public int read(ByteBuffer dst, long position) throws IOException {
      return inner.read(dst, position);
    }

    @Override
    public ByteBuffer map(long position, long size) throws IOException {
      return inner.map(position, size);
    }

    @Override
    public boolean concurrentReads() {
      return inner.concurrentReads();
    }

    @Override
    public void close() {
      // The owner closes the input.
    }
  }

  private static void checkPart(
      CheckpointFolders folders,
      Storage.Listing files,
      String folder,
      Manifest.PartEntry part,
      Set<String> listed,
      List<CorruptCheckpointException> problems,
      Opened keep) {
    Storage storage = folders.storage();
    Path file = folders.path(StorageNames.join(folder, part.file()));
    if (!listed.contains(part.file())) {
      problems.add(
          new CorruptCheckpointException(
              file, "part '" + part.name() + "' is not listed among the manifest's files"));
      return;
    }
    try {
      if (part.kind().equals(Manifest.Kind.TENSORS.wireName())) {
        Storage.Input kept = keep == null ? null : keep.inputs.get(part.file());
        // Where no input is opened with O_DIRECT the header is read through the input the data
        // will be read through, and the restore continues from where the header ends: one open
        // and one request fewer on an object store.
        SafetensorsFile f =
            SafetensorsFile.open(
                kept != null && FileScanner.plainReads(storage)
                    ? new Unclosed(kept)
                    : files.open(part.file()),
                file);
        if (keep != null) {
          keep.tensors.put(part.name(), f); // handed over open
        } else {
          f.close();
        }
      } else {
        Storage.Input kept = keep == null ? null : keep.inputs.get(part.file());
        try (java.io.InputStream in =
            FileScanner.stream(
                kept != null && FileScanner.plainReads(storage)
                    ? new Unclosed(kept)
                    : files.open(part.file()))) {
          JsonNode tree = CheckpointJson.read(in);
          if (keep != null) {
            keep.json.put(part.name(), tree);
          }
        }
      }
    } catch (java.nio.file.NoSuchFileException e) {
      // Deleted between the listing and the first read (which is where an object store finds out).
      problems.add(new CorruptCheckpointException(file, "missing (listed in the manifest)"));
    } catch (MalformedSafetensorsException e) {
      problems.add(new CorruptCheckpointException(file, e.offset(), e.getMessage(), e));
    } catch (IOException e) {
      problems.add(new CorruptCheckpointException(file, -1, "unreadable part: " + e, e));
    }
  }
}

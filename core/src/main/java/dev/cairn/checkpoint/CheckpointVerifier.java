package dev.cairn.checkpoint;

import dev.cairn.safetensors.MalformedSafetensorsException;
import dev.cairn.safetensors.SafetensorsFile;
import dev.cairn.store.Storage;
import dev.cairn.store.StorageNames;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
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
    ByteBuffer buf;
    try (Storage.Input in = storage.open(name)) {
      long size = in.size();
      if (size > Manifest.MAX_BYTES) {
        throw new CorruptCheckpointException(
            file, "manifest is " + size + " bytes, over the limit of " + Manifest.MAX_BYTES);
      }
      buf = ByteBuffer.allocate((int) size);
      while (buf.hasRemaining() && in.read(buf, buf.position()) >= 0) {
        // read until full or end of file
      }
    }
    byte[] bytes =
        buf.hasRemaining() ? java.util.Arrays.copyOf(buf.array(), buf.position()) : buf.array();
    return ManifestCodec.decode(bytes, file);
  }

  /** Every defect found, each naming its file; an empty list means intact at this level. */
  static Result check(CheckpointFolders folders, String folder, Verification level) {
    Storage storage = folders.storage();
    List<CorruptCheckpointException> problems = new ArrayList<>();
    String manifestName = StorageNames.join(folder, Manifest.FILE_NAME);
    Path manifestFile = folders.path(manifestName);
    boolean exists;
    try {
      exists = storage.exists(manifestName);
    } catch (IOException e) {
      problems.add(new CorruptCheckpointException(manifestFile, -1, "unreadable: " + e, e));
      return new Result(null, problems);
    }
    if (!exists) {
      problems.add(
          new CorruptCheckpointException(
              manifestFile,
              "missing: the checkpoint was never committed or its manifest was lost"));
      return new Result(null, problems);
    }
    Manifest m;
    try {
      m = readManifest(storage, manifestName, manifestFile);
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
    Set<String> listed = new HashSet<>();
    for (Manifest.FileEntry f : m.files()) {
      listed.add(f.path());
      String name = StorageNames.join(folder, f.path());
      checkFile(storage, name, folders.path(name), f, level, problems);
    }
    if (problems.isEmpty()) {
      for (Manifest.PartEntry p : m.parts()) {
        checkPart(folders, folder, p, listed, problems);
      }
    }
    return new Result(m, problems);
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
      Storage storage,
      String name,
      Path file,
      Manifest.FileEntry entry,
      Verification level,
      List<CorruptCheckpointException> problems) {
    // One open per file: sizes and data are read through the same input, so a file deleted
    // meanwhile is read whole, or found missing at open (and the caller can tell it was deleted).
    try (Storage.Input in = storage.openSequential(name)) {
      long size = in.size();
      if (size != entry.size()) {
        problems.add(
            new CorruptCheckpointException(
                file,
                Math.min(size, entry.size()),
                "is " + size + " bytes but the manifest says " + entry.size(),
                null));
        return;
      }
      if (level == Verification.SIZES) {
        return;
      }
      checkData(in, file, entry, level == Verification.FULL, problems);
    } catch (java.nio.file.NoSuchFileException e) {
      problems.add(new CorruptCheckpointException(file, "missing (listed in the manifest)"));
    } catch (IOException e) {
      problems.add(new CorruptCheckpointException(file, -1, "unreadable: " + e, e));
    }
  }

  private static void checkData(
      Storage.Input in,
      Path file,
      Manifest.FileEntry entry,
      boolean sha,
      List<CorruptCheckpointException> problems)
      throws IOException {
    FileDigest digest = new FileDigest(sha);
    long chunk = entry.crc32cChunkBytes();
    // The digest's chunk size is fixed; a manifest written with another one is checked by SHA only.
    boolean crcComparable = chunk == FileDigest.CHUNK_BYTES;
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
    if (sha && !digest.sha256().equals(entry.sha256())) {
      problems.add(
          new CorruptCheckpointException(file, 0, "SHA-256 mismatch (data is damaged)", null));
    }
  }

  private static void checkPart(
      CheckpointFolders folders,
      String folder,
      Manifest.PartEntry part,
      Set<String> listed,
      List<CorruptCheckpointException> problems) {
    Storage storage = folders.storage();
    String name = StorageNames.join(folder, part.file());
    Path file = folders.path(name);
    if (!listed.contains(part.file())) {
      problems.add(
          new CorruptCheckpointException(
              file, "part '" + part.name() + "' is not listed among the manifest's files"));
      return;
    }
    try {
      if (part.kind().equals(Manifest.Kind.TENSORS.wireName())) {
        try (SafetensorsFile f = SafetensorsFile.open(storage.open(name), file)) {
          f.tensors();
        }
      } else {
        try (java.io.InputStream in = FileScanner.stream(storage.open(name))) {
          CheckpointJson.read(in);
        }
      }
    } catch (MalformedSafetensorsException e) {
      problems.add(new CorruptCheckpointException(file, e.offset(), e.getMessage(), e));
    } catch (IOException e) {
      problems.add(new CorruptCheckpointException(file, -1, "unreadable part: " + e, e));
    }
  }
}

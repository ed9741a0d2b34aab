package dev.cairn.run;

import dev.cairn.store.Storage;
import dev.cairn.store.StorageNames;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one place that spells the remote layout of {@link RunMirror} (its class javadoc states it):
 * which local files are mirrored and how, how objects are named, and which of them a reader may
 * use. The writer and {@link RunMirror#pull} both ask here, so they cannot disagree.
 */
final class MirrorLayout {
  static final String PARTS = ".parts";
  static final String VERSIONS = ".versions";

  /** More segments than this in one file's folder and the writer compacts them into one. */
  static final int MAX_SEGMENTS = 64;

  /** Whole-file versions kept on the remote; older ones are deleted. */
  static final int KEEP_VERSIONS = 2;

  private static final Pattern OBJECT = Pattern.compile("([0-9]{16})-([0-9]{16})");

  private MirrorLayout() {}

  /** How a local file is mirrored. */
  enum Kind {
    /** Never mirrored. */
    EXCLUDED,
    /** Append-only, pushed up to its last {@code '\n'} so a reader never sees half a record. */
    LINES,
    /** Append-only binary records (TensorBoard), pushed to the last byte. */
    BYTES,
    /** Replaced as a whole; pushed as a new version when it changed. */
    WHOLE
  }

  /**
   * How the file at {@code name} (relative to the run folder, {@code /} between elements) is
   * mirrored. Excluded: checkpoints (their store writes the remote copies itself), control requests
   * (meant for the local process only), the metrics sidecar (a local cache), locks, and scratch
   * files: hidden names (atomic-write temporaries are {@code .NAME.tmp-*}, I/O probes are hidden)
   * and any name holding {@code .tmp}. Names that would collide with the layout's own folders are
   * excluded too.
   */
  static Kind kind(String name) {
    String top = name.contains("/") ? name.substring(0, name.indexOf('/')) : name;
    if (top.equals("checkpoints") || top.equals("control")) {
      return Kind.EXCLUDED;
    }
    if (name.equals(RunFiles.METRICS_SIDECAR)) {
      // A local cache of metrics.jsonl, rewritten in place and cut on resume: mirrored whole it
      // would be uploaded again every few seconds, and readers of a pulled copy read the JSONL.
      return Kind.EXCLUDED;
    }
    for (String element : name.split("/", -1)) {
      if (element.isEmpty()
          || element.startsWith(".")
          || element.contains(".tmp")
          || element.endsWith(".lock")
          || element.endsWith(PARTS)
          || element.endsWith(VERSIONS)) {
        return Kind.EXCLUDED;
      }
    }
    try {
      StorageNames.check(name);
    } catch (IllegalArgumentException e) {
      return Kind.EXCLUDED;
    }
    if (top.equals("tb") && name.contains("/")) {
      return Kind.BYTES;
    }
    if (name.endsWith(".jsonl") || name.equals("training.log")) {
      return Kind.LINES;
    }
    return Kind.WHOLE;
  }

  /** {@code <first %016d>-<length %016d>}: a segment's offset or a version's sequence number. */
  static String objectName(long first, long length) {
    return String.format(Locale.ROOT, "%016d-%016d", first, length);
  }

  /**
   * One object of a {@code .parts} or {@code .versions} folder as named, with {@code complete} true
   * only when its size is the length its name promises (a killed writer's partial object, or one
   * still being written, is never used).
   */
  record RemoteObject(String name, long first, long length, boolean complete) {
    long end() {
      return first + length;
    }
  }

  /**
   * The objects in {@code folder}, sorted by their first number, each checked against its size;
   * empty when the folder does not exist. Names that are not the layout's are ignored. An object
   * that vanishes between the listing and its size (compaction, retention) is left out.
   */
  static List<RemoteObject> list(Storage remote, String folder) throws IOException {
    List<String> names;
    try {
      names = remote.list(folder);
    } catch (NoSuchFileException | NotDirectoryException e) {
      return List.of();
    }
    List<RemoteObject> out = new ArrayList<>();
    for (String n : names) {
      Matcher m = OBJECT.matcher(n);
      if (!m.matches()) {
        continue;
      }
      long first = Long.parseLong(m.group(1));
      long length = Long.parseLong(m.group(2));
      long size;
      try {
        size = remote.size(StorageNames.join(folder, n));
      } catch (NoSuchFileException e) {
        continue;
      }
      out.add(new RemoteObject(n, first, length, size == length));
    }
    out.sort(
        java.util.Comparator.comparingLong(RemoteObject::first)
            .thenComparingLong(RemoteObject::length));
    return out;
  }

  /**
   * The complete segment to read at {@code position}: among those with {@code first <= position <
   * end}, the one that reaches furthest; null when none covers it (the chain ends there).
   */
  static RemoteObject covering(List<RemoteObject> segments, long position) {
    RemoteObject best = null;
    for (RemoteObject s : segments) {
      if (s.complete() && s.first() <= position && position < s.end()) {
        if (best == null || s.end() > best.end()) {
          best = s;
        }
      }
    }
    return best;
  }

  /** Where the contiguous chain of complete segments from byte 0 ends. */
  static long chainEnd(List<RemoteObject> segments) {
    long pos = 0;
    for (RemoteObject s = covering(segments, pos); s != null; s = covering(segments, pos)) {
      pos = s.end();
    }
    return pos;
  }

  /** The complete version with the highest sequence number, or null. */
  static RemoteObject newestVersion(List<RemoteObject> versions) {
    RemoteObject best = null;
    for (RemoteObject v : versions) {
      if (v.complete() && (best == null || v.first() > best.first())) {
        best = v;
      }
    }
    return best;
  }
}

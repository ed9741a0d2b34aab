package dev.cairn.run;

import dev.cairn.store.Storage;
import dev.cairn.store.Storages;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * Runs whose folder is on remote storage (HDFS, S3 through S3A, any Hadoop FileSystem). The
 * training process writes a local working copy of the run folder as it always does (appends of a
 * few hundred nanoseconds cannot wait for a network) and a {@link RunMirror} copies it to the
 * remote folder every few seconds and after each checkpoint; checkpoints are written straight to
 * the remote folder by the checkpoint store. The remote folder is the run's home: a process on
 * another machine (or on this one after its disk was lost) pulls it into a fresh working copy and
 * goes on from there.
 */
final class RemoteRuns {
  /** System property naming the folder of local working copies of remote runs. */
  static final String LOCAL_PROPERTY = "cairn.local.runs";

  /** Environment variable naming that folder. */
  static final String LOCAL_ENV = "CAIRN_LOCAL_RUNS";

  /** How often the working copy is pushed: what a VM that dies loses of its logs at most. */
  static final Duration MIRROR_EVERY = Duration.ofSeconds(5);

  private RemoteRuns() {}

  /**
   * Where this machine keeps working copies of the runs in {@code runsLocation}: {@value
   * #LOCAL_PROPERTY} or {@value #LOCAL_ENV}, else the user cache folder; one folder per remote runs
   * folder, named readably plus a hash so that two locations never share one.
   */
  static Path localRoot(String location) {
    String runsLocation = location.replaceAll("/+$", "");
    String p = System.getProperty(LOCAL_PROPERTY);
    if (p == null || p.isBlank()) {
      p = System.getenv(LOCAL_ENV);
    }
    Path base =
        p != null && !p.isBlank()
            ? Path.of(p)
            : UserFolders.cache().resolve("cairn").resolve("remote-runs");
    String readable = runsLocation.replaceAll("[^A-Za-z0-9._-]+", "_");
    if (readable.length() > 60) {
      readable = readable.substring(readable.length() - 60);
    }
    return base.toAbsolutePath().resolve(readable + "-" + hash(runsLocation));
  }

  private static String hash(String s) {
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(d, 0, 6);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JVM lacks SHA-256", e);
    }
  }

  static Run open(String runsLocation, Map<String, String> settings, RunOptions options)
      throws IOException {
    return open(Storages.open(runsLocation, settings), localRoot(runsLocation), options);
  }

  /** Opens a run in the remote runs folder {@code runs}, its working copy in {@code localRuns}. */
  static Run open(Storage runs, Path localRuns, RunOptions options) throws IOException {
    String id = options.name != null ? options.name : DefaultRun.generateId(options);
    RunOptions named = options.name != null ? options : options.withName(id);
    runs.createFolders(id + "/checkpoints");
    Storage remote = runs.child(id);
    refresh(remote, localRuns.resolve(id));
    return DefaultRun.open(localRuns, named, remote);
  }

  /**
   * Makes {@code local} a copy of the remote run: pulled when the remote folder holds one, emptied
   * when it does not (the remote folder is the run's home; a working copy without one is a leftover
   * of a run that was deleted or never reached it).
   */
  static void refresh(Storage remote, Path local) throws IOException {
    if (RunMirror.exists(remote)) {
      RunMirror.pull(remote, local);
    } else if (Files.exists(local)) {
      deleteTree(local);
    }
  }

  /** The local copy of the remote run at {@code runLocation}, brought up to date, for readers. */
  static Path pull(String runLocation, Map<String, String> settings) throws IOException {
    String trimmed = runLocation.replaceAll("/+$", "");
    int slash = trimmed.lastIndexOf('/');
    if (slash < 0 || slash == trimmed.length() - 1) {
      throw new IllegalArgumentException(
          runLocation + " names no run; give a run folder like s3a://bucket/runs/NAME");
    }
    String name = trimmed.substring(slash + 1);
    Storage remote = Storages.open(trimmed, settings);
    if (!RunMirror.exists(remote)) {
      throw new IllegalArgumentException(
          runLocation + " is not a Cairn run (no run.json); give a folder like RUNS/NAME");
    }
    Path local = localRoot(trimmed.substring(0, slash)).resolve(name);
    RunMirror.pull(remote, local);
    return local;
  }

  /** Local copies of every run in the remote runs folder, for listings; returns their parent. */
  static Path pullAll(String runsLocation, Map<String, String> settings) throws IOException {
    Storage runs = Storages.open(runsLocation, settings);
    Path localRuns = localRoot(runsLocation);
    Files.createDirectories(localRuns);
    List<String> names = runs.exists("") ? runs.list("") : List.of();
    for (String name : names) {
      if (runs.isFolder(name) && RunMirror.exists(runs.child(name))) {
        RunMirror.pull(runs.child(name), localRuns.resolve(name));
      }
    }
    return localRuns;
  }

  private static void deleteTree(Path p) throws IOException {
    try (var walk = Files.walk(p)) {
      for (Path q : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(q);
      }
    }
  }
}

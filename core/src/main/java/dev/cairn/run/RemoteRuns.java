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

  /** What a local copy of a remote run is for; each has its own folder. */
  enum Use {
    /** The working copy a job writes and mirrors: one writer, rebuilt from the remote at open. */
    WORK,
    /** Copies that readers (runs, show, tail, serve) pull into, never written otherwise. */
    READ
  }

  /**
   * Where this machine keeps local copies of the runs in {@code runsLocation}: {@value
   * #LOCAL_PROPERTY} or {@value #LOCAL_ENV}, else the user cache folder; one folder per use and
   * remote runs folder, named readably plus a hash of the location and the settings that say which
   * server it is on (endpoints, default file system), so that two stores never share one. Readers
   * never pull into a writer's working copy.
   */
  static Path localRoot(String location, Map<String, String> settings, Use use) {
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
    StringBuilder identity = new StringBuilder(runsLocation);
    new java.util.TreeMap<>(settings)
        .forEach(
            (k, v) -> {
              if (k.contains("endpoint") || k.equals("fs.defaultFS")) {
                identity.append('\n').append(k).append('=').append(v);
              }
            });
    return base.toAbsolutePath()
        .resolve(use.name().toLowerCase(java.util.Locale.ROOT))
        .resolve(readable + "-" + hash(identity.toString()));
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
    return open(
        Storages.open(runsLocation, settings),
        localRoot(runsLocation, settings, Use.WORK),
        options);
  }

  /** Opens a run in the remote runs folder {@code runs}, its working copy in {@code localRuns}. */
  static Run open(Storage runs, Path localRuns, RunOptions options) throws IOException {
    String id = options.name != null ? options.name : DefaultRun.generateId(options);
    RunOptions named = options.name != null ? options : options.withName(id);
    runs.createFolders(id + "/checkpoints");
    Storage remote = runs.child(id);
    freshWorkingCopy(remote, localRuns, id);
    return DefaultRun.open(localRuns, named, remote);
  }

  /**
   * Rebuilds the working copy of run {@code id} from its remote folder, the run's home. A copy left
   * by an earlier process (killed before it pushed its last lines, or by a run of the same name
   * that went on elsewhere since) would not continue the remote logs byte for byte, and the mirror
   * would push its bytes after another writer's; so it is moved aside to {@code .superseded/<id>}
   * (the newest one kept, for inspection) and the run is pulled afresh. What that drops is what a
   * VM that died would have lost: the lines the mirror had not pushed yet.
   */
  static void freshWorkingCopy(Storage remote, Path localRuns, String id) throws IOException {
    Path local = localRuns.resolve(id);
    if (Files.exists(local)) {
      Path superseded = localRuns.resolve(".superseded");
      Path aside = superseded.resolve(id);
      if (Files.exists(aside)) {
        deleteTree(aside);
      }
      Files.createDirectories(superseded);
      Files.move(local, aside);
    }
    if (RunMirror.exists(remote)) {
      RunMirror.pull(remote, local);
    }
  }

  /**
   * Makes a reader's copy {@code local} match the remote run: pulled when the remote folder holds
   * one, removed when it does not (a reader's copy is only a cache).
   */
  static void refresh(Storage remote, Path local) throws IOException {
    if (RunMirror.exists(remote)) {
      RunMirror.pull(remote, local);
    } else if (Files.exists(local)) {
      deleteTree(local);
    }
  }

  /** A reader's copy of the remote run at {@code runLocation}, brought up to date. */
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
    Path local = localRoot(trimmed.substring(0, slash), settings, Use.READ).resolve(name);
    RunMirror.pull(remote, local);
    return local;
  }

  /**
   * Readers' copies of every run in the remote runs folder, for listings and the dashboard; returns
   * their parent. Copies of runs no longer there are removed; a run that cannot be pulled keeps its
   * previous copy and is named in a warning.
   *
   * @throws IllegalArgumentException when the remote runs folder does not exist
   */
  static Path pullAll(String runsLocation, Map<String, String> settings) throws IOException {
    Storage runs = Storages.open(runsLocation, settings);
    if (!runs.exists("") || !runs.isFolder("")) {
      throw new IllegalArgumentException(
          "no runs folder at " + runsLocation + "; give the folder that holds your runs");
    }
    Path localRuns = localRoot(runsLocation, settings, Use.READ);
    Files.createDirectories(localRuns);
    java.util.Set<String> remoteRuns = new java.util.HashSet<>();
    for (String name : runs.list("")) {
      if (!runs.isFolder(name)) {
        continue;
      }
      try {
        if (RunMirror.exists(runs.child(name))) {
          remoteRuns.add(name);
          RunMirror.pull(runs.child(name), localRuns.resolve(name));
        }
      } catch (IOException e) {
        remoteRuns.add(name); // keep what was pulled before
        org.slf4j.LoggerFactory.getLogger(RemoteRuns.class)
            .warn("could not refresh run {} from {}: {}", name, runsLocation, e.toString());
      }
    }
    try (var listing = Files.list(localRuns)) {
      for (Path stale :
          listing.filter(q -> !remoteRuns.contains(q.getFileName().toString())).toList()) {
        deleteTree(stale);
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

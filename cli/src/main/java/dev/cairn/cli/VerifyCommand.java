package dev.cairn.cli;

import dev.cairn.checkpoint.CheckpointState;
import dev.cairn.checkpoint.CheckpointStore;
import dev.cairn.checkpoint.Manifest;
import dev.cairn.checkpoint.Verification;
import dev.cairn.checkpoint.VerifyResult;
import dev.cairn.store.Bytes;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code cairn verify}: exit 0 only if every committed checkpoint under PATH is intact. */
@Command(
    name = "verify",
    mixinStandardHelpOptions = true,
    description =
        "Check every committed checkpoint under PATH (a runs folder, a run, its checkpoints"
            + " folder or one step-N folder) against its manifest: sizes, CRC32C and, where recorded, SHA-256."
            + " Exit 0 only if all are intact; names each damaged file.")
final class VerifyCommand implements Callable<Integer> {
  private static final int MAX_DEPTH = 6;

  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Parameters(
      paramLabel = "PATH",
      description = "a folder, or remote storage like s3a://bucket/runs/NAME (read in place)")
  String location;

  @picocli.CommandLine.Mixin Locations locations;

  @Override
  public Integer call() throws IOException {
    PrintWriter out = spec.commandLine().getOut();
    if (Locations.isRemote(location)) {
      return verifyRemote(out);
    }
    Path path = dev.cairn.store.Storages.localPath(location);
    if (!Files.isDirectory(path)) {
      throw new IllegalArgumentException(
          Files.exists(path) ? path + " is not a folder" : "no such folder: " + path);
    }
    List<Path> folders = find(path);
    if (folders.isEmpty()) {
      out.println("no committed checkpoints under " + path);
      return 0;
    }
    List<VerifyResult> results = new ArrayList<>();
    List<String> where = new ArrayList<>();
    for (Path f : folders) {
      results.add(CheckpointStore.verifyFolder(f, Verification.FULL));
      where.add(f.toString());
    }
    return report(out, where, results);
  }

  /** One line per checkpoint (one per problem of a damaged one) and the total; the exit code. */
  private static int report(PrintWriter out, List<String> where, List<VerifyResult> results) {
    int bad = 0;
    int checked = 0;
    for (int i = 0; i < results.size(); i++) {
      VerifyResult r = results.get(i);
      String f = where.get(i);
      switch (r.outcome()) {
        case INTACT -> {
          checked++;
          Manifest m = r.manifest();
          out.printf(
              "ok   %s  (%s, %d files)%n", f, Bytes.human(m.totalBytes()), m.files().size() + 1);
        }
        case DAMAGED -> {
          checked++;
          bad++;
          for (String p : r.problems()) {
            out.printf("BAD  %s: %s%n", f, p);
          }
        }
        case DELETED -> out.printf("gone %s: deleted while it was checked (retention)%n", f);
        case NOT_COMMITTED -> out.printf("skip %s: %s%n", f, r.problems().get(0));
      }
    }
    out.printf("%d checkpoint%s verified, %d damaged%n", checked, checked == 1 ? "" : "s", bad);
    return bad == 0 ? 0 : 1;
  }

  /** The same check on remote storage, through the storage contract (nothing is copied). */
  private int verifyRemote(PrintWriter out) throws IOException {
    dev.cairn.store.Storage s = dev.cairn.store.Storages.open(location, locations.settings);
    if (!s.exists("") || !s.isFolder("")) {
      throw new IllegalArgumentException("no such folder: " + location);
    }
    List<String> folders = new ArrayList<>();
    findRemote(s, "", 0, folders);
    if (folders.isEmpty()) {
      out.println("no committed checkpoints under " + location);
      return 0;
    }
    List<VerifyResult> results = new ArrayList<>();
    List<String> where = new ArrayList<>();
    for (String f : folders) {
      results.add(CheckpointStore.verifyFolder(s, f, Verification.FULL));
      where.add(s.location(f));
    }
    return report(out, where, results);
  }

  private static void findRemote(
      dev.cairn.store.Storage s, String folder, int depth, List<String> out) throws IOException {
    CheckpointState st = CheckpointStore.classify(s, folder).orElse(null);
    if (st == CheckpointState.COMMITTED || st == CheckpointState.DAMAGED) {
      out.add(folder);
      return;
    }
    if (depth >= MAX_DEPTH) {
      return;
    }
    for (String name : s.list(folder)) {
      String child = folder.isEmpty() ? name : folder + "/" + name;
      if (s.isFolder(child)) {
        findRemote(s, child, depth + 1, out);
      }
    }
  }

  /**
   * Published checkpoint folders under the path (the path itself included), by the store's own
   * rule; saves in flight and folders set aside are left out.
   */
  static List<Path> find(Path root) throws IOException {
    List<Path> out = new ArrayList<>();
    try (Stream<Path> s = Files.walk(root, MAX_DEPTH)) {
      s.filter(Files::isDirectory)
          .filter(
              p -> {
                CheckpointState st = CheckpointStore.classify(p).orElse(null);
                return st == CheckpointState.COMMITTED || st == CheckpointState.DAMAGED;
              })
          .sorted()
          .forEach(out::add);
    }
    return out;
  }
}

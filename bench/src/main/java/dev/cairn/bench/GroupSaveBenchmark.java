package dev.cairn.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cairn.checkpoint.CheckpointStore;
import dev.cairn.store.Storage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Aggregate durable save bandwidth of a group of ranks writing the shards of one checkpoint,
 * against this process alone writing the same total bytes raw; and what coordinating the group
 * costs a save. Per backend (a local folder, or a MiniDFSCluster in this JVM) and group size N,
 * rank 0 is this process and ranks 1 to N-1 are JVMs of their own ({@link GroupRanks}), started
 * once and kept for every repetition; a group of one is the store alone.
 *
 * <p>Each repetition alternates (raw first in even rounds, second in odd ones, counting from 0):
 *
 * <ul>
 *   <li>raw: this process writes the total bytes as one new file as durably as a save (local: 16
 *       MiB writes, force, the folder forced; HDFS: as {@link RemoteSaveBenchmark} does);
 *   <li>group: every rank saves the same step with its share (total / N bytes in a few tensors),
 *       timed on rank 0 from a barrier every rank passes just before calling save to rank 0's save
 *       returning, which is the commit.
 * </ul>
 *
 * <p>Then, for N above 1 and unless {@code --raw-group false}, what the machine gives N writers
 * without Cairn: every rank writing its share raw at once, each in its own JVM, alternated with the
 * raw write of the whole by this process as above. When the group falls short of one raw writer,
 * this says whether N raw writers fall short as well (the machine) or not (Cairn).
 *
 * <p>Then the coordinator's overhead: the same group saving a tiny share on every rank, against
 * rank 0 saving the same tiny checkpoint alone in a store of its own, alternated; the difference of
 * their medians is what the group's barriers and gathers add to a save.
 *
 * <p>Usage: {@code GroupSaveBenchmark WORK_DIR [--ranks 1,2,4] [--total-mib 1024] [--repeat 6]
 * [--backends local,hdfs] [--small-repeat 50] [--small-kib 4] [--tensors 4] [--raw-group true]};
 * one JSON line per backend and group size on stdout.
 */
public final class GroupSaveBenchmark {
  private static final ObjectMapper JSON = new ObjectMapper();

  private GroupSaveBenchmark() {}

  /**
   * The command line after WORK_DIR, each value checked.
   *
   * @param ranks the group sizes to measure
   * @param totalBytes the bytes of one checkpoint, over all ranks
   * @param repeat the rounds of raw and group saves: even, so that each side goes first as often
   * @param backends "local", "hdfs" or both
   * @param smallRepeat the rounds of tiny saves for the coordinator's overhead
   * @param smallBytes each rank's share in a tiny save
   * @param tensors the tensors of each rank's share in a full save
   * @param rawGroup whether to measure every rank writing its share raw at once, too
   */
  record Options(
      List<Integer> ranks,
      long totalBytes,
      int repeat,
      List<String> backends,
      int smallRepeat,
      int smallBytes,
      int tensors,
      boolean rawGroup) {

    static final String USAGE =
        "usage: GroupSaveBenchmark WORK_DIR [--ranks 1,2,4] [--total-mib 1024] [--repeat 6]"
            + " [--backends local,hdfs] [--small-repeat 50] [--small-kib 4] [--tensors 4]"
            + " [--raw-group true]";

    static Options parse(List<String> args) {
      List<Integer> ranks = List.of(1, 2, 4);
      long total = 1L << 30;
      int repeat = 6;
      List<String> backends = List.of("local", "hdfs");
      int smallRepeat = 50;
      int smallBytes = 4 << 10;
      int tensors = 4;
      boolean rawGroup = true;
      for (int i = 0; i < args.size(); i += 2) {
        String flag = args.get(i);
        if (i + 1 == args.size()) {
          throw new IllegalArgumentException(flag + " needs a value; " + USAGE);
        }
        String v = args.get(i + 1);
        switch (flag) {
          case "--ranks" -> ranks = positives(flag, v);
          case "--total-mib" -> total = (long) positive(flag, v) << 20;
          case "--repeat" -> repeat = positive(flag, v);
          case "--backends" -> backends = List.of(v.split(","));
          case "--small-repeat" -> smallRepeat = positive(flag, v);
          case "--small-kib" -> smallBytes = positive(flag, v) << 10;
          case "--tensors" -> tensors = positive(flag, v);
          case "--raw-group" -> rawGroup = bool(flag, v);
          default -> throw new IllegalArgumentException("unknown argument " + flag + "; " + USAGE);
        }
      }
      // Raw and group take turns going first: an even count gives each side the same share.
      if (repeat < 2 || repeat % 2 != 0) {
        throw new IllegalArgumentException("--repeat must be even and at least 2: " + repeat);
      }
      for (String b : backends) {
        if (!b.equals("local") && !b.equals("hdfs")) {
          throw new IllegalArgumentException("--backends takes local and hdfs, not " + b);
        }
      }
      int most = ranks.stream().max(Integer::compare).orElseThrow();
      if (total / most < tensors) {
        throw new IllegalArgumentException(
            "--total-mib is too small for " + tensors + " tensors on each of " + most + " ranks");
      }
      return new Options(
          ranks, total, repeat, backends, smallRepeat, smallBytes, tensors, rawGroup);
    }

    private static boolean bool(String flag, String value) {
      return switch (value) {
        case "true" -> true;
        case "false" -> false;
        default -> throw new IllegalArgumentException(flag + " takes true or false, not " + value);
      };
    }

    private static int positive(String flag, String value) {
      int n;
      try {
        n = Integer.parseInt(value.trim());
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(flag + " takes a whole number, not " + value, e);
      }
      if (n < 1) {
        throw new IllegalArgumentException(flag + " must be 1 or more, was " + n);
      }
      return n;
    }

    private static List<Integer> positives(String flag, String values) {
      List<Integer> out = new ArrayList<>();
      for (String v : values.split(",")) {
        out.add(positive(flag, v));
      }
      return List.copyOf(out);
    }
  }

  public static void main(String[] args) throws Exception {
    if (args.length < 1) {
      throw new IllegalArgumentException(Options.USAGE);
    }
    Path work = Path.of(args[0]).toAbsolutePath();
    Options o = Options.parse(List.of(args).subList(1, args.length));
    Files.createDirectories(work);
    Path dir = Files.createTempDirectory(work, "group-bench-");
    try {
      for (String b : o.backends()) {
        try (GroupBackend backend = GroupBackend.start(b, dir.resolve(b), o.totalBytes())) {
          for (int n : o.ranks()) {
            System.out.println(measure(backend, n, o));
          }
        }
      }
    } finally {
      Storage.at(dir).deleteTree("");
    }
  }

  /** Every measurement of one group size on one backend; returns its JSON line. */
  static String measure(GroupBackend backend, int n, Options o) throws IOException {
    String base = "ranks-" + n;
    List<ByteBuffer> share = SaveBenchmark.randomTensors(GroupRanks.share(0, n, o), o.tensors());
    List<ByteBuffer> tiny = SaveBenchmark.randomTensors(o.smallBytes(), 1);
    double[] raw = new double[o.repeat()];
    double[] group = new double[o.repeat()];
    boolean rawGroup = o.rawGroup() && n > 1;
    double[] rawAgain = new double[rawGroup ? o.repeat() : 0];
    double[] rawGroups = new double[rawAgain.length];
    double[] groupSmall = new double[o.smallRepeat()];
    double[] aloneSmall = new double[o.smallRepeat()];
    Storage aloneStorage = backend.storage(base + "/alone");
    try (GroupRanks ranks = GroupRanks.start(backend, base + "/group", n, o);
        CheckpointStore alone = CheckpointStore.builder(aloneStorage).events(e -> {}).open()) {
      // One untimed round of each: the first save allocates staging buffers, opens connections
      // and loads classes, on every rank.
      backend.rawSave("warm");
      backend.rawDelete("warm");
      ranks.save(share, true);
      ranks.deleteSteps();
      for (int i = 0; i < o.repeat(); i++) {
        String file = "file-" + i;
        // Alternate which goes first, so that a drift in the machine's load hits both alike.
        for (int k = 0; k < 2; k++) {
          RemoteSaveBenchmark.settle();
          if ((k == 0) == (i % 2 == 0)) {
            raw[i] = backend.rawSave(file);
          } else {
            group[i] = ranks.save(share, true);
          }
        }
        backend.rawDelete(file);
        ranks.deleteSteps();
      }
      if (rawGroup) {
        try (GroupBackend.RawWriter mine =
            GroupBackend.rawWriter(backend.locate(base + "/group"), share)) {
          for (int i = 0; i < o.repeat(); i++) {
            String file = "again-" + i;
            for (int k = 0; k < 2; k++) {
              RemoteSaveBenchmark.settle();
              if ((k == 0) == (i % 2 == 0)) {
                rawAgain[i] = backend.rawSave(file);
              } else {
                rawGroups[i] = ranks.rawSave(mine);
              }
            }
            backend.rawDelete(file);
          }
        }
      }
      // Tiny saves are not settled one by one: they leave next to nothing to write back, and a
      // sync each would be most of the run's time.
      long aloneStep = 0;
      ranks.save(tiny, false);
      alone.save(RemoteSaveBenchmark.checkpoint(++aloneStep, tiny));
      for (int i = 0; i < o.smallRepeat(); i++) {
        for (int k = 0; k < 2; k++) {
          if ((k == 0) == (i % 2 == 0)) {
            groupSmall[i] = ranks.save(tiny, false);
          } else {
            long start = System.nanoTime();
            alone.save(RemoteSaveBenchmark.checkpoint(++aloneStep, tiny));
            aloneSmall[i] = (System.nanoTime() - start) / 1e9;
          }
        }
        ranks.deleteSteps();
        GroupRanks.deleteSteps(alone, aloneStorage);
      }
    }
    ObjectNode j = json(backend.name(), n, o, raw, group, groupSmall, aloneSmall);
    if (rawGroup) {
      double againS = SaveBenchmark.median(rawAgain);
      double groupsS = SaveBenchmark.median(rawGroups);
      j.put("raw_group_s", groupsS);
      j.put("raw_group_mb_s", o.totalBytes() / 1e6 / groupsS);
      // N raw writers against one, alternated in their own rounds: the machine's share of a gap.
      j.put("raw_group_ratio", againS / groupsS);
      j.put(
          "raw_group_ratio_by_position_median",
          RemoteSaveBenchmark.byPosition(rawAgain, rawGroups));
      // Cairn's group against N raw writers (from separate rounds, so medians only).
      j.put("group_vs_raw_group", groupsS / SaveBenchmark.median(group));
      j.putPOJO("raw_again_runs_s", rawAgain);
      j.putPOJO("raw_group_runs_s", rawGroups);
    }
    return JSON.writeValueAsString(j);
  }

  private static ObjectNode json(
      String backend,
      int n,
      Options o,
      double[] raw,
      double[] group,
      double[] groupSmall,
      double[] aloneSmall)
      throws IOException {
    ObjectNode j = JSON.createObjectNode();
    j.put("backend", backend);
    j.put("ranks", n);
    j.put("total_bytes", o.totalBytes());
    j.put("share_bytes", GroupRanks.share(n - 1, n, o));
    j.put("tensors_per_rank", o.tensors());
    double rawS = SaveBenchmark.median(raw);
    double groupS = SaveBenchmark.median(group);
    double mb = o.totalBytes() / 1e6;
    j.put("raw_s", rawS);
    j.put("group_s", groupS);
    j.put("raw_mb_s", mb / rawS);
    j.put("group_mb_s", mb / groupS);
    j.put("ratio", rawS / groupS);
    // The second save of a round is often slower than the first, whichever side it is; compared
    // position by position (raw first against group first, and second against second), that
    // cancels (see RemoteSaveBenchmark).
    j.put("ratio_by_position_median", RemoteSaveBenchmark.byPosition(raw, group));
    j.putPOJO("raw_runs_s", raw);
    j.putPOJO("group_runs_s", group);
    double groupMs = SaveBenchmark.median(groupSmall) * 1e3;
    double aloneMs = SaveBenchmark.median(aloneSmall) * 1e3;
    j.put("small_bytes_per_rank", o.smallBytes());
    j.put("small_repeat", o.smallRepeat());
    j.put("group_small_ms", groupMs);
    j.put("alone_small_ms", aloneMs);
    j.put("coordinator_overhead_ms", groupMs - aloneMs);
    return j;
  }
}

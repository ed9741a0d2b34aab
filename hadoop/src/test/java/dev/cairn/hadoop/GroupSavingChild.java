package dev.cairn.hadoop;

import static java.nio.charset.StandardCharsets.UTF_8;

import dev.cairn.checkpoint.Checkpoint;
import dev.cairn.checkpoint.CheckpointStore;
import dev.cairn.checkpoint.LoadedCheckpoint;
import dev.cairn.checkpoint.Manifest;
import dev.cairn.coordination.Coordinator;
import dev.cairn.coordination.Coordinators;
import dev.cairn.testkit.FaultyStorage;
import dev.cairn.testkit.FaultyStorage.Op;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.hadoop.conf.Configuration;

/**
 * One rank of a group saving to remote storage, as its own JVM, for {@link
 * RemoteGroupCrashContract}. The rank and the group come from the environment, as a launcher sets
 * them; the store is on the backend through this module's factory, wrapped in a {@link
 * FaultyStorage} whose hook halts the JVM (as kill -9 would: no shutdown hook, no finally).
 *
 * <p>{@code save ROOT VICTIM POINT [hadoop.key=value ...]}: saves steps 10 and 20 with the group,
 * the victim rank halting at {@code POINT} of step 20's save; prints {@code "saved 10"}, then
 * {@code "saved 20"} or {@code "failed 20: why"}.
 *
 * <p>{@code resume ROOT [hadoop.key=value ...]}: opens the store with the group (rank 0 removes the
 * leftovers) and a {@code staleClaimAfter} of zero — a restart long after the crash, when a dead
 * writer's claim has gone stale — loads the newest checkpoint and prints {@code "resumed N own"}
 * when this rank got its own share of step N, byte-exact.
 *
 * <p>The store's events go to standard error, which the test keeps in {@code
 * target/group-children}.
 */
final class GroupSavingChild {
  private GroupSavingChild() {}

  /** Where in a group save a rank dies. */
  enum Point {
    /** A rank other than 0 with one file of its share whole, before the next one's bytes. */
    MID_SHARD(false),
    /** A rank other than 0 with its share written and synced, before it reports its manifest. */
    AFTER_SHARD(false),
    /** Rank 0 with every rank's shard manifest gathered (the vote), before the manifest. */
    BEFORE_MANIFEST(true),
    /**
     * Rank 0 with the manifest written, before the publish: on HDFS before the rename of the work
     * folder; on S3A before the manifest's close, which is when S3A uploads it (its create and
     * writes are still in the client: the marker does not exist yet).
     */
    BEFORE_PUBLISH(true),
    /**
     * Rank 0 right after the publish, before it tells the others: on HDFS after the rename; on S3A
     * after the manifest's close returned, so the marker is on the store.
     */
    AFTER_PUBLISH(true);

    private final boolean leader;

    Point(boolean leader) {
      this.leader = leader;
    }

    /** The rank that dies there. */
    int victim() {
      return leader ? 0 : 2;
    }
  }

  /** Rank {@code rank}'s share of a step: its own weights and state (its rank as the seed). */
  static Checkpoint share(long step, int rank) {
    return RemoteCheckpointStoreContract.checkpoint(step, rank);
  }

  public static void main(String[] args) throws Exception {
    PrintStream out = new PrintStream(System.out, true, UTF_8);
    boolean save = args[0].equals("save");
    URI root = URI.create(args[1]);
    Configuration conf = new Configuration();
    for (int i = save ? 4 : 2; i < args.length; i++) {
      String[] kv = args[i].split("=", 2);
      conf.set(kv[0], kv[1]);
    }
    try (Coordinator c = Coordinators.fromEnvironment(System.getenv())) {
      FaultyStorage storage = new FaultyStorage(HadoopStorages.at(root, conf));
      CheckpointStore.Builder b =
          CheckpointStore.builder(storage)
              .coordinator(c)
              .groupTimeout(Duration.ofMinutes(2))
              .events(e -> System.err.println("event " + e));
      if (!save) {
        b.staleClaimAfter(Duration.ZERO);
      }
      try (CheckpointStore store = b.open()) {
        if (!save) {
          out.println(resume(store, c.rank()));
          return;
        }
        store.save(share(10, c.rank()));
        out.println("saved 10");
        if (c.rank() == Integer.parseInt(args[2])) {
          storage.setHook(
              haltAt(Point.valueOf(args[3]), c.rank(), storage.capabilities().atomicRename()));
        }
        try {
          store.save(share(20, c.rank()));
          out.println("saved 20");
        } catch (IOException | RuntimeException e) {
          out.println("failed 20: " + e.getMessage());
        }
      }
    }
  }

  private static String resume(CheckpointStore store, int rank) throws IOException {
    Optional<LoadedCheckpoint> latest = store.loadLatestValid();
    if (latest.isEmpty()) {
      return "none";
    }
    try (LoadedCheckpoint l = latest.get()) {
      RemoteCheckpointStoreContract.assertHolds(l, l.step(), rank);
      return "resumed " + l.step() + " own";
    } catch (AssertionError e) {
      return "resumed " + latest.get().step() + " NOT OWN: " + e.getMessage();
    }
  }

  /**
   * Halts at {@code point} of the save that runs next.
   *
   * @param renames whether the storage publishes by rename (HDFS) or by the manifest (S3A)
   */
  static FaultyStorage.Hook haltAt(Point point, int rank, boolean renames) {
    String shard = Manifest.shardFolder(rank);
    String manifest = "/" + Manifest.FILE_NAME;
    AtomicBoolean fileOfShardClosed = new AtomicBoolean();
    return new FaultyStorage.Hook() {
      @Override
      public void before(long index, Op op, String name) {
        haltIf(
            switch (point) {
              case MID_SHARD ->
                  op == Op.OUTPUT_WRITE
                      && name.contains("/" + shard + "/")
                      && fileOfShardClosed.get();
              case BEFORE_MANIFEST -> op == Op.CREATE && name.endsWith(manifest);
              case BEFORE_PUBLISH -> publishing(op, name);
              default -> false;
            });
      }

      @Override
      public void after(long index, Op op, String name) {
        if (op == Op.OUTPUT_CLOSE && name.contains("/" + shard + "/")) {
          fileOfShardClosed.set(true);
        }
        haltIf(
            switch (point) {
              case AFTER_SHARD -> op == Op.SYNC_FOLDER && name.endsWith("/" + shard);
              case AFTER_PUBLISH -> publishing(op, name);
              default -> false;
            });
      }

      /**
       * The one operation that makes the checkpoint visible. On HDFS the rename of the work folder
       * (the only rename of a save where claims stand in for a lock). On S3A the manifest's close:
       * S3A uploads an object whole when it is closed, so the marker appears then; the strategy's
       * publish after it only syncs the root, which an object store cannot do.
       */
      private boolean publishing(Op op, String name) {
        return renames ? op == Op.RENAME : op == Op.OUTPUT_CLOSE && name.endsWith(manifest);
      }
    };
  }

  private static void haltIf(boolean now) {
    if (now) {
      Runtime.getRuntime().halt(137);
    }
  }
}

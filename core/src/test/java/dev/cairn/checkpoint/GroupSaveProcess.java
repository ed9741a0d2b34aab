package dev.cairn.checkpoint;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.cairn.coordination.Coordinator;
import dev.cairn.coordination.Coordinators;
import dev.cairn.safetensors.Tensor;
import dev.cairn.store.Storage;
import dev.cairn.testkit.FaultyStorage;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * One rank of a group as its own JVM, for {@link GroupCrashTest}. {@code save DIR VICTIM POINT}:
 * saves steps 10 and 20 with the group, the victim rank halting (as kill -9 would) at the protocol
 * point of step 20's save. {@code resume DIR}: opens the store with the group (rank 0 cleans up),
 * loads the newest checkpoint and prints its step and whether this rank's share is its own.
 */
public final class GroupSaveProcess {
  private GroupSaveProcess() {}

  /** Where in a group save a rank dies. */
  enum Point {
    /** A rank other than 0 while writing its share. */
    MID_SHARD,
    /** A rank other than 0 once its share is synced, before it reports. */
    AFTER_SHARD,
    /** Rank 0 with every share reported, before the manifest. */
    BEFORE_MANIFEST,
    /** Rank 0 with the manifest written, before the publish (rename or marker). */
    BEFORE_PUBLISH,
    /** Rank 0 right after the publish, before it tells the others. */
    AFTER_PUBLISH
  }

  static Checkpoint share(long step, int rank) {
    return Checkpoint.at(step)
        .tensors("model", List.of(Tensor.of("w", Fixtures.weights(step * 100 + rank, 4096), 4096)))
        .json("cursor", JsonNodeFactory.instance.objectNode().put("rank", rank).put("step", step))
        .build();
  }

  public static void main(String[] args) throws Exception {
    PrintStream out = new PrintStream(System.out, true, UTF_8);
    Path dir = Path.of(args[1]);
    Duration t = Duration.ofMinutes(2);
    try (Coordinator c = Coordinators.fromEnvironment(System.getenv())) {
      FaultyStorage storage = new FaultyStorage(Storage.at(dir));
      try (CheckpointStore store =
          CheckpointStore.builder(dir)
              .storage(storage)
              .coordinator(c)
              .groupTimeout(t)
              .events(e -> {})
              .open()) {
        if (args[0].equals("resume")) {
          Optional<LoadedCheckpoint> latest = store.loadLatestValid();
          if (latest.isEmpty()) {
            out.println("none");
            return;
          }
          try (LoadedCheckpoint l = latest.get()) {
            boolean own =
                java.util.Arrays.equals(
                        l.tensors("model").floats("w"),
                        Fixtures.weights(l.step() * 100 + c.rank(), 4096))
                    && l.json("cursor").path("rank").asInt() == c.rank();
            out.println("resumed " + l.step() + (own ? " own" : " NOT OWN"));
          }
          return;
        }
        store.save(share(10, c.rank()));
        out.println("saved 10");
        int victim = Integer.parseInt(args[2]);
        if (c.rank() == victim) {
          storage.setHook(haltAt(Point.valueOf(args[3]), c.rank()));
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

  private static FaultyStorage.Hook haltAt(Point point, int rank) {
    String shard = "rank-" + rank + "/";
    return new FaultyStorage.Hook() {
      @Override
      public void before(long index, FaultyStorage.Op op, String name) {
        boolean now =
            switch (point) {
              case MID_SHARD -> op == FaultyStorage.Op.OUTPUT_WRITE && name.contains(shard);
              case BEFORE_MANIFEST ->
                  (op == FaultyStorage.Op.CREATE || op == FaultyStorage.Op.CREATE_DIRECT)
                      && name.endsWith(Manifest.FILE_NAME);
              case BEFORE_PUBLISH -> op == FaultyStorage.Op.RENAME;
              default -> false;
            };
        if (now) {
          Runtime.getRuntime().halt(137);
        }
      }

      @Override
      public void after(long index, FaultyStorage.Op op, String name) {
        boolean now =
            switch (point) {
              case AFTER_SHARD ->
                  op == FaultyStorage.Op.SYNC_FOLDER && name.endsWith("rank-" + rank);
              case AFTER_PUBLISH -> op == FaultyStorage.Op.RENAME;
              default -> false;
            };
        if (now) {
          Runtime.getRuntime().halt(137);
        }
      }
    };
  }
}

package dev.cairn.hadoop;

import dev.cairn.checkpoint.CheckpointStore;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import org.apache.hadoop.conf.Configuration;

/**
 * The writer a kill test kills: saves the deterministic checkpoints of {@link
 * RemoteCheckpointStoreContract#checkpoint} from a step on, forever, and prints {@code "saving N"}
 * before and {@code "saved N"} after each save, so the test knows what was promised durable.
 *
 * <p>Usage: {@code SavingChild ROOT_URI FIRST_STEP SEED [hadoop.key=value ...]}.
 */
final class SavingChild {
  private SavingChild() {}

  public static void main(String[] args) throws Exception {
    URI root = URI.create(args[0]);
    long first = Long.parseLong(args[1]);
    long seed = Long.parseLong(args[2]);
    Configuration conf = new Configuration();
    for (int i = 3; i < args.length; i++) {
      String[] kv = args[i].split("=", 2);
      conf.set(kv[0], kv[1]);
    }
    PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    try (CheckpointStore store =
        CheckpointStore.builder(HadoopStorages.at(root, conf)).events(e -> {}).open()) {
      for (long step = first; ; step++) {
        out.println("saving " + step);
        store.save(RemoteCheckpointStoreContract.checkpoint(step, seed));
        out.println("saved " + step);
      }
    }
  }
}

package dev.cairn.coordination;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;

/**
 * One rank as its own JVM, for {@link CoordinatorProcessesTest}: joins the group the environment
 * describes, does a few rounds and prints what it saw. With "hold VICTIM", every rank then prints
 * "ready"; the victim waits to be killed and the others call a barrier that needs it, printing how
 * it failed.
 */
public final class RankProcess {
  private RankProcess() {}

  public static void main(String[] args) throws Exception {
    PrintStream out = new PrintStream(System.out, true, UTF_8);
    Duration t = Duration.ofMinutes(2);
    try (Coordinator c = Coordinators.fromEnvironment(System.getenv())) {
      for (int round = 0; round < 3; round++) {
        c.barrier("start-" + round, t);
        List<byte[]> all = c.allGather("ranks-" + round, ("r" + c.rank()).getBytes(UTF_8), t);
        byte[] word = c.broadcast("word-" + round, ("from-0-" + round).getBytes(UTF_8), t);
        out.println(
            "round "
                + round
                + " gathered "
                + all.stream().map(b -> new String(b, UTF_8)).collect(Collectors.joining(","))
                + " broadcast "
                + new String(word, UTF_8));
      }
      if (args.length == 2 && args[0].equals("hold")) {
        hold(c, Integer.parseInt(args[1]), out);
      }
    }
  }

  private static void hold(Coordinator c, int victim, PrintStream out) throws IOException {
    out.println("ready");
    if (c.rank() == victim) {
      System.in.read(); // until killed
      return;
    }
    try {
      c.barrier("after", Duration.ofMinutes(10));
      out.println("barrier passed");
    } catch (CoordinationException e) {
      out.println("failed: " + e.getMessage() + " missing " + e.missingRanks());
      System.exit(3);
    }
  }
}

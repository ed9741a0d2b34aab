package dev.cairn.coordination;

import java.io.IOException;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Groups of ranks on loopback for tests outside this package, as launchers describe them. */
public final class TestGroups {
  private TestGroups() {}

  /** The environment {@code cairn launch} gives rank {@code rank} of a group on this machine. */
  public static Map<String, String> environment(int rank, int world, int port, int attempt) {
    Map<String, String> env = new HashMap<>();
    env.put(Coordinators.RANK, Integer.toString(rank));
    env.put(Coordinators.WORLD_SIZE, Integer.toString(world));
    env.put(Coordinators.LOCAL_RANK, Integer.toString(rank));
    env.put(Coordinators.MASTER_ADDR, "127.0.0.1");
    env.put(Coordinators.CAIRN_COORD_PORT, Integer.toString(port));
    env.put(Coordinators.RESTART_COUNT, Integer.toString(attempt));
    return env;
  }

  /** A port nobody listens on now (the group's rank 0 binds it right after). */
  public static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /** What one rank does in a test. */
  public interface RankCall<T> {
    T call(int rank) throws Exception;
  }

  /**
   * Runs the call for every rank at once, each on its own thread; the results by rank once all are
   * done, or the first rank's failure (after every rank's call ended).
   */
  public static <T> List<T> onEveryRank(int world, RankCall<T> call) throws Exception {
    List<T> out = new ArrayList<>();
    Exception first = null;
    for (java.util.concurrent.Future<T> f : start(world, call)) {
      try {
        out.add(f.get());
      } catch (java.util.concurrent.ExecutionException e) {
        first = first == null && e.getCause() instanceof Exception c ? c : first;
        if (first == null) {
          throw new AssertionError(e.getCause());
        }
      }
    }
    if (first != null) {
      throw first;
    }
    return out;
  }

  /** What every rank's call threw, by rank (null where it returned). */
  public static List<Throwable> failures(int world, RankCall<?> call) throws InterruptedException {
    List<Throwable> out = new ArrayList<>();
    for (java.util.concurrent.Future<?> f : start(world, call)) {
      try {
        f.get();
        out.add(null);
      } catch (java.util.concurrent.ExecutionException e) {
        out.add(e.getCause());
      }
    }
    return out;
  }

  private static <T> List<java.util.concurrent.Future<T>> start(int world, RankCall<T> call) {
    List<java.util.concurrent.Future<T>> fs = new ArrayList<>();
    for (int r = 0; r < world; r++) {
      int rank = r;
      java.util.concurrent.FutureTask<T> f =
          new java.util.concurrent.FutureTask<>(() -> call.call(rank));
      Thread t = new Thread(f, "rank-" + r);
      t.setDaemon(true);
      t.start();
      fs.add(f);
    }
    return fs;
  }

  /** Every rank of a fresh group, rank r at index r; close each when done. */
  public static List<Coordinator> open(int world) throws IOException {
    int port = freePort();
    List<Coordinator> out = new ArrayList<>();
    try {
      for (int r = 0; r < world; r++) {
        out.add(Coordinators.fromEnvironment(environment(r, world, port, 0)));
      }
    } catch (IOException | RuntimeException e) {
      out.forEach(Coordinator::close);
      throw e;
    }
    return out;
  }
}

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

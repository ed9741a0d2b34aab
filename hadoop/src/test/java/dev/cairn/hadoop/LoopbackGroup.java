package dev.cairn.hadoop;

import dev.cairn.coordination.Coordinator;
import dev.cairn.coordination.Coordinators;
import java.io.IOException;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Groups of ranks on 127.0.0.1, described as a launcher describes them, through core's public API
 * only (core's own test helpers are not on this module's classpath).
 */
final class LoopbackGroup {
  private LoopbackGroup() {}

  /**
   * What {@code cairn launch} puts in rank {@code rank}'s environment, for a group on this host.
   */
  static Map<String, String> environment(int rank, int world, int port) {
    return Map.of(
        Coordinators.RANK, Integer.toString(rank),
        Coordinators.WORLD_SIZE, Integer.toString(world),
        Coordinators.LOCAL_RANK, Integer.toString(rank),
        Coordinators.MASTER_ADDR, "127.0.0.1",
        Coordinators.CAIRN_COORD_PORT, Integer.toString(port));
  }

  /** A port nobody listens on now (the group's rank 0 binds it right after). */
  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /** Every rank of a new group in this JVM, rank r at index r; close each when done. */
  static List<Coordinator> open(int world) throws IOException {
    int port = freePort();
    List<Coordinator> out = new ArrayList<>();
    try {
      for (int r = 0; r < world; r++) {
        out.add(Coordinators.fromEnvironment(environment(r, world, port)));
      }
    } catch (IOException | RuntimeException e) {
      out.forEach(Coordinator::close);
      throw e;
    }
    return out;
  }
}

package dev.cairn.coordination;

import java.util.Map;

/**
 * Where a process stands in its job, read from the variables that launchers set. torchrun and
 * Kubeflow set {@code RANK}/{@code WORLD_SIZE}; SLURM sets {@code SLURM_PROCID}/{@code
 * SLURM_NTASKS}; Open MPI sets {@code OMPI_COMM_WORLD_RANK}/{@code OMPI_COMM_WORLD_SIZE}; the first
 * family present wins, in that order. SLURM and Open MPI give no address of rank 0, so with them
 * {@code MASTER_ADDR} and a port must be set by the user.
 *
 * @param host where rank 0's rendezvous listens (MASTER_ADDR); null for a single process
 * @param port the rendezvous port: CAIRN_COORD_PORT, else MASTER_PORT + 1
 * @param bindHost the address rank 0 binds: CAIRN_COORD_BIND, else {@code host}
 * @param token a shared secret every rank must present (CAIRN_COORD_TOKEN), or null
 */
record RankEnvironment(
    int rank,
    int worldSize,
    int localRank,
    int attempt,
    String host,
    int port,
    String bindHost,
    String token) {

  static RankEnvironment parse(Map<String, String> env) {
    String[] family = family(env);
    int attempt = attempt(env);
    if (family == null) {
      return new RankEnvironment(0, 1, 0, attempt, null, 0, null, null);
    }
    int world = number(env, family[1], 1, Coordinators.MAX_WORLD_SIZE);
    int rank = number(env, family[0], 0, world - 1);
    int localRank =
        env.get(family[2]) == null ? 0 : number(env, family[2], 0, Coordinators.MAX_WORLD_SIZE);
    if (world == 1) {
      return new RankEnvironment(rank, 1, localRank, attempt, null, 0, null, null);
    }
    String host = env.get(Coordinators.MASTER_ADDR);
    int port = port(env);
    if (host == null || host.isBlank() || port < 0) {
      throw new IllegalArgumentException(
          family[0]
              + "/"
              + family[1]
              + " make this rank "
              + rank
              + " of "
              + world
              + ", but there is no rendezvous address: set MASTER_ADDR (the host of rank 0) and"
              + " MASTER_PORT or CAIRN_COORD_PORT");
    }
    String bind = env.getOrDefault(Coordinators.CAIRN_COORD_BIND, host);
    String token = env.get(Coordinators.CAIRN_COORD_TOKEN);
    return new RankEnvironment(
        rank, world, localRank, attempt, host.trim(), port, bind.trim(), token);
  }

  private static String[] family(Map<String, String> env) {
    String[][] families = {
      {Coordinators.RANK, Coordinators.WORLD_SIZE, Coordinators.LOCAL_RANK},
      {"SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID"},
      {"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK"}
    };
    for (String[] f : families) {
      if (env.get(f[0]) != null || env.get(f[1]) != null) {
        if (env.get(f[0]) == null || env.get(f[1]) == null) {
          throw new IllegalArgumentException(
              "set both " + f[0] + " and " + f[1] + " (only one of them is set)");
        }
        return f;
      }
    }
    return null;
  }

  /** TORCHELASTIC_RESTART_COUNT (torchrun, cairn launch), else SLURM_RESTART_COUNT (requeue). */
  private static int attempt(Map<String, String> env) {
    for (String name : new String[] {Coordinators.RESTART_COUNT, "SLURM_RESTART_COUNT"}) {
      if (env.get(name) != null) {
        return number(env, name, 0, Integer.MAX_VALUE);
      }
    }
    return 0;
  }

  /** -1 when neither variable is set. */
  private static int port(Map<String, String> env) {
    if (env.get(Coordinators.CAIRN_COORD_PORT) != null) {
      return number(env, Coordinators.CAIRN_COORD_PORT, 1, 65535);
    }
    if (env.get(Coordinators.MASTER_PORT) != null) {
      // The training collective owns MASTER_PORT itself; the rendezvous takes the next one.
      return number(env, Coordinators.MASTER_PORT, 1, 65534) + 1;
    }
    return -1;
  }

  private static int number(Map<String, String> env, String name, int min, int max) {
    String s = env.get(name).trim();
    try {
      int v = Integer.parseInt(s);
      if (v >= min && v <= max) {
        return v;
      }
    } catch (NumberFormatException e) {
      // reported below, with the range
    }
    throw new IllegalArgumentException(
        name + " must be a whole number from " + min + " to " + max + ", was '" + s + "'");
  }
}

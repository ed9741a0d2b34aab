package dev.cairn.coordination;

import java.io.IOException;
import java.time.Duration;
import java.util.Map;

/**
 * Makes the {@link Coordinator} of this process: one rank alone, or a rank of a group described by
 * the launcher's environment variables.
 *
 * <p>Variables read (the first family present gives rank and size):
 *
 * <ul>
 *   <li>{@code RANK}, {@code WORLD_SIZE}, {@code LOCAL_RANK}: torchrun, Kubeflow, {@code cairn
 *       launch};
 *   <li>{@code SLURM_PROCID}, {@code SLURM_NTASKS}, {@code SLURM_LOCALID}: SLURM's srun;
 *   <li>{@code OMPI_COMM_WORLD_RANK}, {@code OMPI_COMM_WORLD_SIZE}, {@code
 *       OMPI_COMM_WORLD_LOCAL_RANK}: Open MPI's mpirun;
 *   <li>{@code TORCHELASTIC_RESTART_COUNT}, else {@code SLURM_RESTART_COUNT}: the attempt;
 *   <li>{@code MASTER_ADDR}: the host of rank 0, where the rendezvous listens; required for a group
 *       (SLURM and Open MPI do not set it);
 *   <li>{@code CAIRN_COORD_PORT}: the rendezvous port; when unset, {@code MASTER_PORT + 1}. Not
 *       MASTER_PORT itself: that port belongs to the training collective (torch.distributed's
 *       store, for one), and save coordination must not ride on it;
 *   <li>{@code CAIRN_COORD_BIND}: the address rank 0 listens on, when MASTER_ADDR is not one of its
 *       own (a service name, say); {@code 0.0.0.0} for every interface;
 *   <li>{@code CAIRN_COORD_TOKEN}: optional; when rank 0 has one, a rank must present the same to
 *       join ({@code cairn launch} sets a random one per attempt);
 *   <li>{@code CAIRN_LAUNCHER_PID}: set by {@code cairn launch}; when that process ends (killed
 *       with -9, say), this rank exits through its shutdown hooks instead of training on alone.
 * </ul>
 */
public final class Coordinators {
  public static final String RANK = "RANK";
  public static final String WORLD_SIZE = "WORLD_SIZE";
  public static final String LOCAL_RANK = "LOCAL_RANK";
  public static final String LOCAL_WORLD_SIZE = "LOCAL_WORLD_SIZE";
  public static final String MASTER_ADDR = "MASTER_ADDR";
  public static final String MASTER_PORT = "MASTER_PORT";
  public static final String RESTART_COUNT = "TORCHELASTIC_RESTART_COUNT";
  public static final String CAIRN_COORD_PORT = "CAIRN_COORD_PORT";
  public static final String CAIRN_COORD_BIND = "CAIRN_COORD_BIND";
  public static final String CAIRN_COORD_TOKEN = "CAIRN_COORD_TOKEN";
  public static final String CAIRN_LAUNCHER_PID = LauncherWatch.LAUNCHER_PID;

  /** The most ranks one group may have (rank 0 keeps a connection and a thread per rank). */
  public static final int MAX_WORLD_SIZE = 4096;

  /** How long a rank waits for rank 0 to listen and admit it, unless told otherwise: 5 minutes. */
  public static final Duration DEFAULT_JOIN_TIMEOUT = Duration.ofMinutes(5);

  private Coordinators() {}

  /** One process alone: rank 0 of 1, attempt 0; every call returns at once. */
  public static Coordinator single() {
    return new SingleCoordinator(new RankEnvironment(0, 1, 0, 0, null, 0, null, null));
  }

  /** {@link #fromEnvironment(Map, Duration)} with {@link #DEFAULT_JOIN_TIMEOUT}. */
  public static Coordinator fromEnvironment(Map<String, String> env) throws IOException {
    return fromEnvironment(env, DEFAULT_JOIN_TIMEOUT);
  }

  /**
   * The coordinator the environment describes. Without rank variables, or with a world of one, it
   * is a single process (with the attempt, if one is set). Rank 0 starts listening and returns at
   * once; another rank connects to rank 0, retrying while rank 0 is not listening yet, and returns
   * once admitted.
   *
   * @param env the process environment ({@code System.getenv()}) or a map standing for it
   * @param joinTimeout how long a rank other than 0 tries to reach and join rank 0
   * @throws IllegalArgumentException when the variables are incomplete or out of range; the message
   *     names the variables to set
   * @throws CoordinationException when rank 0 cannot listen on its port, or another rank cannot
   *     join in time or is refused (another attempt, another group size, another token)
   */
  public static Coordinator fromEnvironment(Map<String, String> env, Duration joinTimeout)
      throws IOException {
    RankEnvironment e = RankEnvironment.parse(env);
    if (e.worldSize() == 1) {
      return new SingleCoordinator(e);
    }
    LauncherWatch.start(env);
    if (e.rank() == 0) {
      return HostCoordinator.start(e);
    }
    return PeerCoordinator.join(e, joinTimeout, () -> {});
  }
}

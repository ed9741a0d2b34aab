package dev.cairn.coordination;

import java.io.IOException;
import java.time.Duration;
import java.util.Map;

/**
 * Makes the {@link Coordinator} of this process: one rank alone, a rank of a group described by the
 * launcher's environment variables, or one described by explicit values ({@link #group}).
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
    if (e.worldSize() > 1) {
      LauncherWatch.start(env);
    }
    return start(e, joinTimeout);
  }

  /**
   * Ends this process, through its shutdown hooks, when the process named by {@code
   * CAIRN_LAUNCHER_PID} in {@code env} ends; nothing when it is not set. For a process that a Cairn
   * command started and that must not outlive it ({@link #fromEnvironment} does this for the ranks
   * of a group).
   *
   * @throws IllegalArgumentException when the variable is not a process id
   */
  public static void watchLauncher(Map<String, String> env) {
    LauncherWatch.start(env);
  }

  /**
   * A rank of a group whose place is known from somewhere other than launcher variables: a cluster
   * framework's API (the tasks of a Spark barrier stage, say). Give the rest with the returned
   * builder and {@link GroupBuilder#start() start} it.
   *
   * @param rank this process's rank, from 0 to {@code worldSize - 1}
   * @param worldSize the number of ranks, from 1 to {@link #MAX_WORLD_SIZE}
   * @throws IllegalArgumentException when a value is out of range
   */
  public static GroupBuilder group(int rank, int worldSize) {
    return new GroupBuilder(rank, worldSize);
  }

  /**
   * The port rank 0's rendezvous listens on: the one it was given, or the one the system chose when
   * it was given port 0. The other ranks need it to join.
   *
   * @throws IllegalArgumentException when {@code c} is not rank 0 of a group of two or more made by
   *     this class
   */
  public static int rendezvousPort(Coordinator c) {
    if (c instanceof HostCoordinator h) {
      return h.rendezvous().port();
    }
    throw new IllegalArgumentException(
        "only rank 0 of a group hosts the rendezvous; this coordinator is rank "
            + c.rank()
            + " of "
            + c.worldSize());
  }

  private static Coordinator start(RankEnvironment e, Duration joinTimeout) throws IOException {
    if (e.worldSize() == 1) {
      return new SingleCoordinator(e);
    }
    if (e.rank() == 0) {
      return HostCoordinator.start(e);
    }
    return PeerCoordinator.join(e, joinTimeout, () -> {});
  }

  /**
   * The place of one rank in its group and where rank 0's rendezvous is; each value is checked when
   * it is set. Defaults: local rank 0, attempt 0, no token, rank 0 binding the rendezvous host, and
   * {@link #DEFAULT_JOIN_TIMEOUT}. Not thread-safe; use it once.
   */
  public static final class GroupBuilder {
    private final int rank;
    private final int worldSize;
    private int localRank;
    private int attempt;
    private String host;
    private int port;
    private String bindHost;
    private String token;
    private Duration joinTimeout = DEFAULT_JOIN_TIMEOUT;

    private GroupBuilder(int rank, int worldSize) {
      this.worldSize = checkRange("worldSize", worldSize, 1, MAX_WORLD_SIZE);
      this.rank = checkRange("rank", rank, 0, worldSize - 1);
    }

    /** This rank's place among the ranks on its machine (LOCAL_RANK); 0 unless set. */
    public GroupBuilder localRank(int localRank) {
      this.localRank = checkRange("localRank", localRank, 0, MAX_WORLD_SIZE);
      return this;
    }

    /**
     * How many times the group has been restarted; 0 unless set. Every rank must give the same:
     * rank 0 refuses a rank of another attempt.
     */
    public GroupBuilder attempt(int attempt) {
      this.attempt = checkRange("attempt", attempt, 0, Integer.MAX_VALUE);
      return this;
    }

    /**
     * Where rank 0's rendezvous listens: required for a group of two or more.
     *
     * @param host rank 0's host name or address
     * @param port the rendezvous port; 0 on rank 0 lets the system choose a free one (see {@link
     *     Coordinators#rendezvousPort}), and other ranks must then be given the port it chose
     */
    public GroupBuilder rendezvous(String host, int port) {
      String h = nonBlank("the rendezvous host", host);
      this.port = checkRange("the rendezvous port", port, rank == 0 ? 0 : 1, 65535);
      this.host = h;
      return this;
    }

    /**
     * The address rank 0 listens on when the rendezvous host is not one of its own (a service name,
     * say); {@code 0.0.0.0} for every interface. The rendezvous host unless set.
     */
    public GroupBuilder bindHost(String bindHost) {
      this.bindHost = nonBlank("the bind host", bindHost);
      return this;
    }

    /** A shared secret every rank must present to join (null for none); the same on every rank. */
    public GroupBuilder token(String token) {
      if (token != null && token.isEmpty()) {
        throw new IllegalArgumentException("the token must not be empty (null for none)");
      }
      this.token = token;
      return this;
    }

    /** How long a rank other than 0 tries to reach and join rank 0. */
    public GroupBuilder joinTimeout(Duration joinTimeout) {
      if (joinTimeout == null || joinTimeout.isZero() || joinTimeout.isNegative()) {
        throw new IllegalArgumentException("the join timeout must be positive, was " + joinTimeout);
      }
      this.joinTimeout = joinTimeout;
      return this;
    }

    /**
     * This rank's coordinator. A world of one needs no rendezvous and answers every call at once;
     * rank 0 starts listening and returns at once; another rank connects to rank 0, retrying while
     * rank 0 is not listening yet, and returns once admitted.
     *
     * @throws IllegalStateException for a group of two or more without {@link #rendezvous}
     * @throws CoordinationException as {@link Coordinators#fromEnvironment(Map, Duration)} does
     */
    public Coordinator start() throws IOException {
      if (worldSize == 1) {
        return Coordinators.start(
            new RankEnvironment(rank, 1, localRank, attempt, null, 0, null, null), joinTimeout);
      }
      if (host == null) {
        throw new IllegalStateException(
            "rank "
                + rank
                + " of "
                + worldSize
                + " needs the address of rank 0's rendezvous: call rendezvous(host, port)");
      }
      String bind = bindHost == null ? host : bindHost;
      return Coordinators.start(
          new RankEnvironment(rank, worldSize, localRank, attempt, host, port, bind, token),
          joinTimeout);
    }

    private static String nonBlank(String what, String value) {
      if (value == null || value.isBlank()) {
        throw new IllegalArgumentException(what + " must not be blank");
      }
      return value.trim();
    }

    private static int checkRange(String what, int value, int min, int max) {
      if (value < min || value > max) {
        throw new IllegalArgumentException(
            what + " must be from " + min + " to " + max + ", was " + value);
      }
      return value;
    }
  }
}

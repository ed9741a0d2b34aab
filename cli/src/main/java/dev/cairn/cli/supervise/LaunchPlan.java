package dev.cairn.cli.supervise;

import dev.cairn.coordination.Coordinators;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * {@code cairn launch}: N copies of one command on this machine, each told its rank the way
 * torchrun tells it ({@code RANK}, {@code LOCAL_RANK}, {@code WORLD_SIZE}, {@code
 * LOCAL_WORLD_SIZE}, {@code MASTER_ADDR}, {@code MASTER_PORT}, {@code TORCHELASTIC_RESTART_COUNT},
 * {@code TORCHELASTIC_MAX_RESTARTS}), plus the rendezvous port and a token for Cairn's coordinator.
 * Every attempt gets fresh ports (unless a master port was given) and a fresh token, so a straggler
 * of an earlier attempt can reach neither the new group's collective nor its rendezvous.
 */
public final class LaunchPlan implements Supervisor.Plan {
  private static final String ADDR = "127.0.0.1";

  private final List<String> command;
  private final int nproc;
  private final int masterPort;
  private final int maxRestarts;
  private final Duration stopGrace;
  private final PrintWriter err;
  private final Random random;

  /**
   * @param masterPort the MASTER_PORT of every attempt, or 0 for a free port chosen per attempt
   * @param err where each attempt's ports are announced
   * @param random source of the rendezvous tokens
   */
  public LaunchPlan(
      List<String> command,
      int nproc,
      int masterPort,
      int maxRestarts,
      Duration stopGrace,
      PrintWriter err,
      Random random) {
    if (nproc < 1 || nproc > Coordinators.MAX_WORLD_SIZE) {
      throw new IllegalArgumentException(
          "--nproc must be from 1 to " + Coordinators.MAX_WORLD_SIZE + ", was " + nproc);
    }
    if (masterPort < 0 || masterPort > 65535) {
      throw new IllegalArgumentException(
          "--master-port must be from 1 to 65535, was " + masterPort);
    }
    if (stopGrace.isNegative()) {
      throw new IllegalArgumentException("--stop-grace must not be negative");
    }
    this.command = List.copyOf(command);
    this.nproc = nproc;
    this.masterPort = masterPort;
    this.maxRestarts = maxRestarts;
    this.stopGrace = stopGrace;
    this.err = err;
    this.random = random;
  }

  @Override
  public String name() {
    return "cairn launch";
  }

  @Override
  public List<String> command() {
    return command;
  }

  @Override
  public List<Map<String, String>> environments(int attempt) throws IOException {
    int[] ports = freePorts(masterPort == 0 ? 2 : 1);
    int master = masterPort == 0 ? ports[1] : masterPort;
    byte[] token = new byte[16];
    random.nextBytes(token);
    err.printf(
        "cairn launch: attempt %d: %d rank%s, MASTER_ADDR=%s MASTER_PORT=%d%n",
        attempt, nproc, nproc == 1 ? "" : "s", ADDR, master);
    err.flush();
    List<Map<String, String>> out = new ArrayList<>();
    for (int rank = 0; rank < nproc; rank++) {
      Map<String, String> env = new HashMap<>();
      env.put(Coordinators.RANK, Integer.toString(rank));
      env.put(Coordinators.LOCAL_RANK, Integer.toString(rank));
      env.put(Coordinators.WORLD_SIZE, Integer.toString(nproc));
      env.put(Coordinators.LOCAL_WORLD_SIZE, Integer.toString(nproc));
      env.put(Coordinators.MASTER_ADDR, ADDR);
      env.put(Coordinators.MASTER_PORT, Integer.toString(master));
      env.put(Coordinators.RESTART_COUNT, Integer.toString(attempt));
      env.put("TORCHELASTIC_MAX_RESTARTS", Integer.toString(maxRestarts));
      env.put(Coordinators.CAIRN_COORD_PORT, Integer.toString(ports[0]));
      env.put(Coordinators.CAIRN_COORD_TOKEN, HexFormat.of().formatHex(token));
      env.put(Coordinators.CAIRN_LAUNCHER_PID, Long.toString(ProcessHandle.current().pid()));
      out.add(env);
    }
    return out;
  }

  /**
   * Ports free on loopback right now, all different. Another program may take one before a rank
   * binds it (torchrun has the same race); that attempt then fails and the group restarts.
   */
  private static int[] freePorts(int n) throws IOException {
    List<ServerSocket> held = new ArrayList<>();
    try {
      int[] ports = new int[n];
      for (int i = 0; i < n; i++) {
        ServerSocket s = new ServerSocket();
        held.add(s);
        s.bind(new InetSocketAddress(InetAddress.getByName(ADDR), 0));
        ports[i] = s.getLocalPort();
      }
      return ports;
    } finally {
      for (ServerSocket s : held) {
        s.close();
      }
    }
  }

  @Override
  public List<String> tags() {
    List<String> tags = new ArrayList<>();
    for (int rank = 0; rank < nproc; rank++) {
      tags.add("[rank " + rank + "] ");
    }
    return tags;
  }

  @Override
  public String where(int index) {
    return index < 0 ? "" : " on rank " + index;
  }

  @Override
  public Duration stopGrace() {
    return stopGrace;
  }

  @Override
  public Duration signalGrace() {
    return stopGrace;
  }
}

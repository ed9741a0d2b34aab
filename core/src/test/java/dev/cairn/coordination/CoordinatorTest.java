package dev.cairn.coordination;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.DataOutputStream;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** N ranks as N threads of one JVM, talking over loopback. */
@Timeout(120)
class CoordinatorTest {
  private static final Duration LONG = Duration.ofMinutes(10);

  private final List<Coordinator> opened = new ArrayList<>();
  private final ExecutorService threads = Executors.newCachedThreadPool();

  @AfterEach
  void closeAll() {
    threads.shutdownNow();
    opened.forEach(Coordinator::close);
  }

  private HostCoordinator host(int world, int attempt) throws IOException {
    HostCoordinator h =
        HostCoordinator.start(
            new RankEnvironment(0, world, 0, attempt, "127.0.0.1", 0, "127.0.0.1", null));
    opened.add(h);
    return h;
  }

  private PeerCoordinator peer(HostCoordinator h, int rank, int attempt) throws IOException {
    PeerCoordinator p =
        PeerCoordinator.join(peerEnv(h.worldSize(), rank, attempt, port(h)), LONG, () -> {});
    opened.add(p);
    return p;
  }

  private static RankEnvironment peerEnv(int world, int rank, int attempt, int port) {
    return new RankEnvironment(rank, world, 0, attempt, "127.0.0.1", port, "127.0.0.1", null);
  }

  private static int port(HostCoordinator h) {
    return h.rendezvous().port();
  }

  /** Rank 0 and peers 1..world-1 of a fresh group of the given attempt. */
  private List<Coordinator> group(int world) throws IOException {
    HostCoordinator h = host(world, 0);
    List<Coordinator> g = new ArrayList<>(List.of(h));
    for (int r = 1; r < world; r++) {
      g.add(peer(h, r, 0));
    }
    return g;
  }

  private interface RankCall<T> {
    T call(Coordinator c) throws Exception;
  }

  /** Runs the call on every rank at once, each on its own thread. */
  private <T> List<Future<T>> onEveryRank(List<Coordinator> g, RankCall<T> call) {
    List<Future<T>> out = new ArrayList<>();
    for (Coordinator c : g) {
      out.add(threads.submit(() -> call.call(c)));
    }
    return out;
  }

  private static <T> T get(Future<T> f) throws Exception {
    return f.get(60, TimeUnit.SECONDS);
  }

  private static Throwable failure(Future<?> f) throws Exception {
    try {
      f.get(60, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      return e.getCause();
    }
    throw new AssertionError("the call succeeded");
  }

  @Test
  void callsOnSeparateChannelsRunSideBySideWhateverOrderRanksMakeThem() throws Exception {
    List<Coordinator> g = group(3);
    // Rank 1 makes its channel call before its main call is even started, and waits on it; the
    // others make their main call first. On one sequence, rank 1's first call would meet the
    // others' main call and fail as a mismatch.
    Rendezvous rv = ((HostCoordinator) g.get(0)).rendezvous();
    List<Future<String>> main = new ArrayList<>();
    List<Future<String>> side = new ArrayList<>();
    for (Coordinator c : g) {
      Coordinator ch = c.channel("checkpoints");
      if (c.rank() == 1) {
        side.add(threads.submit(() -> gathered(ch, "side")));
        main.add(
            threads.submit(
                () -> {
                  rv.awaitArrival(0, 0); // rank 0's main call is in
                  return gathered(c, "main");
                }));
      } else {
        main.add(threads.submit(() -> gathered(c, "main")));
        side.add(threads.submit(() -> gathered(ch, "side")));
      }
    }
    for (int r = 0; r < 3; r++) {
      assertThat(get(main.get(r))).isEqualTo("main:0,1,2");
      assertThat(get(side.get(r))).isEqualTo("side:0,1,2");
    }
    assertThat(g.get(2).channel("checkpoints")).isSameAs(g.get(2).channel("checkpoints"));
  }

  @Test
  void aFailureOnOneChannelBreaksEveryChannelOfTheGroup() throws Exception {
    List<Coordinator> g = group(2);
    Future<Void> waiting =
        threads.submit(
            () -> {
              g.get(0).channel("checkpoints").barrier("side", LONG);
              return null;
            });
    g.get(1).close();
    assertThat(failure(waiting))
        .isInstanceOf(CoordinationException.class)
        .hasMessageContaining("rank 1");
    assertThatThrownBy(() -> g.get(0).barrier("main", LONG))
        .isInstanceOf(CoordinationException.class)
        .hasMessageContaining("failed earlier");
  }

  private static String gathered(Coordinator c, String name) throws IOException {
    List<byte[]> all = c.allGather(name, Integer.toString(c.rank()).getBytes(UTF_8), LONG);
    StringBuilder b = new StringBuilder(name).append(':');
    for (int r = 0; r < all.size(); r++) {
      b.append(r == 0 ? "" : ",").append(new String(all.get(r), UTF_8));
    }
    return b.toString();
  }

  @Test
  void barrierReturnsOnEveryRankOnlyOnceTheLastRankArrives() throws Exception {
    List<Coordinator> g = group(4);
    CountDownLatch lastMayGo = new CountDownLatch(1);
    List<Future<Integer>> calls =
        onEveryRank(
            g,
            c -> {
              if (c.rank() == 3) {
                lastMayGo.await();
              }
              c.barrier("save-120", LONG);
              return c.rank();
            });
    Rendezvous rv = ((HostCoordinator) g.get(0)).rendezvous();
    for (int r = 0; r < 3; r++) {
      rv.awaitArrival(r, 0);
    }
    assertThat(calls.subList(0, 3)).noneMatch(Future::isDone);
    lastMayGo.countDown();
    for (int r = 0; r < 4; r++) {
      assertThat(get(calls.get(r))).isEqualTo(r);
    }
  }

  @Test
  void allGatherGivesEveryRankAllPayloadsInRankOrderRoundAfterRound() throws Exception {
    List<Coordinator> g = group(4);
    List<Future<List<String>>> calls =
        onEveryRank(
            g,
            c -> {
              List<String> seen = new ArrayList<>();
              for (int round = 0; round < 5; round++) {
                byte[] mine = ("r" + c.rank() + "-" + round).getBytes(UTF_8);
                List<byte[]> all = c.allGather("plan-" + round, mine, LONG);
                all.forEach(b -> seen.add(new String(b, UTF_8)));
              }
              return seen;
            });
    for (Future<List<String>> f : calls) {
      List<String> seen = get(f);
      assertThat(seen).hasSize(20);
      assertThat(seen.subList(0, 4)).containsExactly("r0-0", "r1-0", "r2-0", "r3-0");
      assertThat(seen.subList(16, 20)).containsExactly("r0-4", "r1-4", "r2-4", "r3-4");
    }
  }

  @Test
  void broadcastDeliversRankZerosPayloadToEveryRank() throws Exception {
    List<Coordinator> g = group(3);
    List<Future<String>> calls =
        onEveryRank(
            g,
            c -> {
              byte[] mine = c.isLeader() ? "{\"save\":120}".getBytes(UTF_8) : null;
              return new String(c.broadcast("decision", mine, LONG), UTF_8);
            });
    for (Future<String> f : calls) {
      assertThat(get(f)).isEqualTo("{\"save\":120}");
    }
  }

  @Test
  void aTimeoutFailsEveryWaitingRankNamingTheMissingRanks() throws Exception {
    HostCoordinator h = host(4, 0);
    PeerCoordinator one = peer(h, 1, 0);
    PeerCoordinator two = peer(h, 2, 0); // joined, but never calls; rank 3 never joins
    Future<Void> zero =
        threads.submit(
            () -> {
              h.barrier("save-120", LONG);
              return null;
            });
    h.rendezvous().awaitArrival(0, 0);

    String expected =
        "barrier 'save-120' timed out after 200ms waiting for ranks 2, 3 (never joined: 3)";
    assertThatThrownBy(() -> one.barrier("save-120", Duration.ofMillis(200)))
        .isInstanceOf(CoordinationException.class)
        .hasMessage(expected)
        .satisfies(
            e -> assertThat(((CoordinationException) e).missingRanks()).containsExactly(2, 3));
    assertThat(failure(zero)).isInstanceOf(CoordinationException.class).hasMessage(expected);

    // The group is broken for good: a late rank fails at once, saying why.
    assertThatThrownBy(() -> two.barrier("save-120", LONG))
        .isInstanceOf(CoordinationException.class)
        .hasMessageContaining("the group failed earlier: " + expected);
    assertThatThrownBy(() -> one.barrier("next", LONG))
        .hasMessageContaining("the group failed earlier: " + expected);
  }

  @Test
  void aRankFromAnotherAttemptIsRefusedAndTheGroupCarriesOn() throws Exception {
    HostCoordinator h = host(2, 1);
    assertThatThrownBy(() -> PeerCoordinator.join(peerEnv(2, 1, 0, port(h)), LONG, () -> {}))
        .isInstanceOf(CoordinationException.class)
        .hasMessage(
            "rank 0 refused rank 1: it belongs to attempt 0, the group is attempt 1"
                + " (a process left over from another attempt?)");
    PeerCoordinator right = peer(h, 1, 1);
    List<Future<Integer>> calls =
        onEveryRank(
            List.of(h, right),
            c -> {
              c.barrier("after-refusal", LONG);
              return c.attempt();
            });
    assertThat(get(calls.get(0))).isEqualTo(1);
    assertThat(get(calls.get(1))).isEqualTo(1);
  }

  @Test
  void aSecondProcessClaimingATakenRankIsRefused() throws Exception {
    HostCoordinator h = host(3, 0);
    peer(h, 1, 0);
    assertThatThrownBy(() -> PeerCoordinator.join(peerEnv(3, 1, 0, port(h)), LONG, () -> {}))
        .isInstanceOf(CoordinationException.class)
        .hasMessageContaining("another process already joined as rank 1");
    assertThatThrownBy(() -> PeerCoordinator.join(peerEnv(4, 2, 0, port(h)), LONG, () -> {}))
        .hasMessage("rank 0 refused rank 2: it expects 4 ranks, the group has 3");
  }

  @Test
  void aRankWithoutRankZerosTokenIsRefused() throws Exception {
    HostCoordinator h =
        HostCoordinator.start(
            new RankEnvironment(0, 2, 0, 0, "127.0.0.1", 0, "127.0.0.1", "secret-a"));
    opened.add(h);
    RankEnvironment wrong =
        new RankEnvironment(1, 2, 0, 0, "127.0.0.1", port(h), "127.0.0.1", "secret-b");
    assertThatThrownBy(() -> PeerCoordinator.join(wrong, LONG, () -> {}))
        .isInstanceOf(CoordinationException.class)
        .hasMessage("rank 0 refused rank 1: its CAIRN_COORD_TOKEN differs from rank 0's");
    RankEnvironment none = new RankEnvironment(1, 2, 0, 0, "127.0.0.1", port(h), null, null);
    assertThatThrownBy(() -> PeerCoordinator.join(none, LONG, () -> {}))
        .hasMessageContaining("CAIRN_COORD_TOKEN differs");
    RankEnvironment right =
        new RankEnvironment(1, 2, 0, 0, "127.0.0.1", port(h), "127.0.0.1", "secret-a");
    opened.add(PeerCoordinator.join(right, LONG, () -> {}));
  }

  @Test
  void whenRankZeroGoesAwayTheWaitingRanksFailAtOnce() throws Exception {
    List<Coordinator> g = group(3);
    HostCoordinator h = (HostCoordinator) g.get(0);
    List<Future<Void>> calls =
        onEveryRank(
            g.subList(1, 3),
            c -> {
              c.barrier("save-7", LONG);
              return null;
            });
    h.rendezvous().awaitArrival(1, 0);
    h.rendezvous().awaitArrival(2, 0);
    h.close();
    for (Future<Void> f : calls) {
      // Within the 60 s bound of failure(), against a 10 minute timeout.
      assertThat(failure(f))
          .isInstanceOf(CoordinationException.class)
          .hasMessage("rank 0 closed its coordinator")
          .satisfies(
              e -> assertThat(((CoordinationException) e).missingRanks()).containsExactly(0));
    }
    // A rank that calls afterwards finds the connection gone.
    assertThatThrownBy(() -> g.get(1).barrier("save-8", LONG))
        .isInstanceOf(CoordinationException.class)
        .hasMessageContaining("rank 0");
  }

  @Test
  void whenARankClosesTheCallsThatNeedItFailAtOnce() throws Exception {
    List<Coordinator> g = group(3);
    List<Future<Void>> calls =
        onEveryRank(
            g.subList(0, 2),
            c -> {
              c.barrier("final", LONG);
              return null;
            });
    ((HostCoordinator) g.get(0)).rendezvous().awaitArrival(1, 0);
    g.get(2).close();
    for (Future<Void> f : calls) {
      assertThat(failure(f))
          .hasMessage("rank 2 closed its coordinator, so barrier 'final' cannot complete");
    }
  }

  @Test
  void closingFromAnotherThreadEndsACallInProgress() throws Exception {
    List<Coordinator> g = group(2);
    Coordinator one = g.get(1);
    Future<Void> call =
        threads.submit(
            () -> {
              one.barrier("stuck", LONG);
              return null;
            });
    ((HostCoordinator) g.get(0)).rendezvous().awaitArrival(1, 0);
    one.close(); // a shutdown hook, say: must not wait 10 minutes for the barrier
    assertThat(failure(call))
        .hasMessage("barrier 'stuck': this rank's coordinator was closed during the call");
  }

  @Test
  void anInterruptedRankZeroLetsTheOthersFailAtOnce() throws Exception {
    List<Coordinator> g = group(2);
    HostCoordinator h = (HostCoordinator) g.get(0);
    List<Throwable> seen = new ArrayList<>();
    Thread zero =
        new Thread(
            () -> {
              try {
                h.barrier("save-3", LONG);
              } catch (IOException e) {
                seen.add(e);
              }
            });
    zero.start();
    h.rendezvous().awaitArrival(0, 0);
    zero.interrupt();
    zero.join(); // rank 0 has given up on the call
    assertThat(seen).singleElement().isInstanceOf(java.io.InterruptedIOException.class);
    assertThatThrownBy(() -> g.get(1).barrier("save-3", LONG))
        .isInstanceOf(CoordinationException.class)
        .hasMessageContaining("rank 0 was interrupted during barrier 'save-3'");
  }

  @Test
  void callsThatDoNotMatchFailOnEveryRankNamingBoth() throws Exception {
    List<Coordinator> g = group(2);
    List<Future<Void>> calls =
        onEveryRank(
            g,
            c -> {
              if (c.rank() == 0) {
                c.barrier("save-1", LONG);
              } else {
                c.allGather("plan-1", new byte[] {1}, LONG);
              }
              return null;
            });
    for (Future<Void> f : calls) {
      assertThat(failure(f))
          .isInstanceOf(CoordinationException.class)
          .hasMessageContaining("call #0 does not match across ranks")
          .hasMessageContaining("called barrier 'save-1'")
          .hasMessageContaining("called allGather 'plan-1'");
    }
  }

  @Test
  void aRankThatStartsFirstWaitsForRankZeroToListen() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    CountDownLatch refused = new CountDownLatch(1);
    Future<PeerCoordinator> joining =
        threads.submit(
            () -> PeerCoordinator.join(peerEnv(2, 1, 0, port), LONG, refused::countDown));
    assertThat(refused.await(60, TimeUnit.SECONDS)).isTrue(); // tried, and nobody listened
    HostCoordinator h =
        HostCoordinator.start(
            new RankEnvironment(0, 2, 0, 0, "127.0.0.1", port, "127.0.0.1", null));
    opened.add(h);
    PeerCoordinator p = get(joining);
    opened.add(p);
    List<Future<Integer>> calls =
        onEveryRank(
            List.of(h, p),
            c -> new String(c.broadcast("hello", "ok".getBytes(UTF_8), LONG), UTF_8).length());
    assertThat(get(calls.get(1))).isEqualTo(2);
  }

  @Test
  void aRankThatCannotReachRankZeroFailsAfterItsJoinTimeout() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    assertThatThrownBy(
            () -> PeerCoordinator.join(peerEnv(2, 1, 0, port), Duration.ofMillis(300), () -> {}))
        .isInstanceOf(CoordinationException.class)
        .hasMessageStartingWith(
            "rank 1 could not reach rank 0's rendezvous at 127.0.0.1:" + port + " within 300ms");
  }

  @Test
  void aStrayConnectionAnnouncingAHugeMessageIsDroppedWithoutHurtingTheGroup() throws Exception {
    HostCoordinator h = host(2, 0);
    try (Socket stray = new Socket("127.0.0.1", port(h))) {
      DataOutputStream out = new DataOutputStream(stray.getOutputStream());
      out.writeInt(1 << 30);
      out.flush();
      assertThat(stray.getInputStream().read()).isEqualTo(-1); // closed by rank 0
    }
    PeerCoordinator p = peer(h, 1, 0);
    List<Future<Integer>> calls =
        onEveryRank(
            List.of(h, p), c -> c.allGather("x", new byte[] {(byte) c.rank()}, LONG).size());
    assertThat(get(calls.get(0))).isEqualTo(2);
    assertThat(get(calls.get(1))).isEqualTo(2);
  }

  @Test
  void aSingleProcessAnswersEveryCallAtOnce() throws Exception {
    try (Coordinator c = Coordinators.single()) {
      assertThat(c.rank()).isZero();
      assertThat(c.worldSize()).isEqualTo(1);
      assertThat(c.isLeader()).isTrue();
      c.barrier("b", Duration.ofMillis(1));
      assertThat(c.allGather("g", new byte[] {7}, Duration.ofMillis(1)))
          .singleElement()
          .satisfies(b -> assertThat(b).containsExactly(7));
      assertThat(c.broadcast("d", new byte[] {9}, Duration.ofMillis(1))).containsExactly(9);
    }
  }

  @Test
  void argumentsOutsideTheRulesAreRefusedBeforeAnythingIsSent() throws Exception {
    try (Coordinator c = Coordinators.single()) {
      assertThatThrownBy(() -> c.barrier("../x", LONG))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("barrier name '../x' is not allowed");
      assertThatThrownBy(() -> c.allGather("g", new byte[Coordinator.MAX_PAYLOAD_BYTES + 1], LONG))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("over the limit of 1048576");
      assertThatThrownBy(() -> c.broadcast("d", null, LONG))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("broadcast 'd': rank 0 must give the payload to broadcast");
      assertThatThrownBy(() -> c.barrier("b", Duration.ZERO))
          .isInstanceOf(IllegalArgumentException.class);
      c.barrier("still-usable", LONG);
    }
  }
}

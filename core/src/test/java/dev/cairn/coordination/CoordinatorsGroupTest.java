package dev.cairn.coordination;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A group described by explicit values (as a cluster framework gives them), not by variables. */
@Timeout(60)
class CoordinatorsGroupTest {
  private static final Duration LONG = Duration.ofMinutes(1);

  @Test
  void rankZeroOnAFreePortTellsItAndAnotherRankJoinsThere() throws Exception {
    try (Coordinator zero =
        Coordinators.group(0, 2).attempt(3).rendezvous("127.0.0.1", 0).token("t0k").start()) {
      int port = Coordinators.rendezvousPort(zero);
      assertThat(port).isPositive();
      try (Coordinator one =
          Coordinators.group(1, 2)
              .localRank(1)
              .attempt(3)
              .rendezvous("127.0.0.1", port)
              .token("t0k")
              .joinTimeout(LONG)
              .start()) {
        assertThat(List.of(one.rank(), one.worldSize(), one.localRank(), one.attempt()))
            .containsExactly(1, 2, 1, 3);
        CompletableFuture<List<byte[]>> atZero =
            CompletableFuture.supplyAsync(() -> gather(zero, "zero"));
        List<byte[]> atOne = one.allGather("plan", "one".getBytes(UTF_8), LONG);
        assertThat(atOne).extracting(b -> new String(b, UTF_8)).containsExactly("zero", "one");
        assertThat(atZero.get(30, TimeUnit.SECONDS))
            .extracting(b -> new String(b, UTF_8))
            .containsExactly("zero", "one");
      }
    }
  }

  @Test
  void aRankWithAnotherTokenIsRefused() throws Exception {
    try (Coordinator zero =
        Coordinators.group(0, 2).rendezvous("127.0.0.1", 0).token("right").start()) {
      int port = Coordinators.rendezvousPort(zero);
      assertThatThrownBy(
              () ->
                  Coordinators.group(1, 2)
                      .rendezvous("127.0.0.1", port)
                      .token("wrong")
                      .joinTimeout(LONG)
                      .start())
          .isInstanceOf(CoordinationException.class)
          .hasMessage("rank 0 refused rank 1: its CAIRN_COORD_TOKEN differs from rank 0's");
    }
  }

  @Test
  void aWorldOfOneNeedsNoRendezvousAndKeepsItsAttempt() throws Exception {
    try (Coordinator c = Coordinators.group(0, 1).attempt(2).start()) {
      assertThat(c).isInstanceOf(SingleCoordinator.class);
      assertThat(c.attempt()).isEqualTo(2);
      assertThat(c.allGather("x", new byte[] {7}, LONG)).containsExactly(new byte[] {7});
      assertThatThrownBy(() -> Coordinators.rendezvousPort(c))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage(
              "only rank 0 of a group hosts the rendezvous; this coordinator is rank 0 of 1");
    }
  }

  @Test
  void valuesOutOfRangeAreRefusedWhenSetNamingTheValue() {
    assertThatThrownBy(() -> Coordinators.group(2, 2))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("rank must be from 0 to 1, was 2");
    assertThatThrownBy(() -> Coordinators.group(0, 0))
        .hasMessage("worldSize must be from 1 to 4096, was 0");
    assertThatThrownBy(() -> Coordinators.group(1, 2).rendezvous("h", 0))
        .hasMessage("the rendezvous port must be from 1 to 65535, was 0");
    assertThatThrownBy(() -> Coordinators.group(0, 2).rendezvous(" ", 0))
        .hasMessage("the rendezvous host must not be blank");
    assertThatThrownBy(() -> Coordinators.group(0, 2).attempt(-1))
        .hasMessage("attempt must be from 0 to 2147483647, was -1");
    assertThatThrownBy(() -> Coordinators.group(0, 2).token(""))
        .hasMessage("the token must not be empty (null for none)");
    assertThatThrownBy(() -> Coordinators.group(0, 2).joinTimeout(Duration.ZERO))
        .hasMessage("the join timeout must be positive, was PT0S");
    assertThatThrownBy(() -> Coordinators.group(1, 3).start())
        .isInstanceOf(IllegalStateException.class)
        .hasMessage(
            "rank 1 of 3 needs the address of rank 0's rendezvous: call rendezvous(host, port)");
  }

  private static List<byte[]> gather(Coordinator c, String payload) {
    try {
      return c.allGather("plan", payload.getBytes(UTF_8), LONG);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}

package dev.cairn.web;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cairn.testkit.MutableClock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class StreamTicketsTest {
  private final MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
  private final StreamTickets tickets = new StreamTickets(clock);

  @Test
  void aTicketOpensOneStreamOnly() {
    String t = tickets.issue();
    assertThat(tickets.redeem(t)).isTrue();
    assertThat(tickets.redeem(t)).isFalse();
    assertThat(tickets.redeem("0".repeat(32))).isFalse();
    assertThat(tickets.redeem(null)).isFalse();
  }

  @Test
  void aTicketExpiresAfterItsLifetime() {
    String young = tickets.issue();
    String old = tickets.issue();
    clock.advance(StreamTickets.LIFETIME.minusMillis(1));
    assertThat(tickets.redeem(young)).isTrue();
    clock.advance(Duration.ofMillis(1));
    assertThat(tickets.redeem(old)).isFalse();
    assertThat(tickets.live()).isZero();
  }

  @Test
  void outstandingTicketsAreBoundedAndTheOldestGoFirst() {
    List<String> issued = new ArrayList<>();
    for (int i = 0; i < 10 * StreamTickets.MAX_LIVE; i++) {
      issued.add(tickets.issue());
    }
    assertThat(tickets.live()).isEqualTo(StreamTickets.MAX_LIVE);
    assertThat(tickets.redeem(issued.get(0))).isFalse();
    assertThat(tickets.redeem(issued.get(issued.size() - 1))).isTrue();
  }
}

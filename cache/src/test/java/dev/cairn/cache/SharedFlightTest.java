package dev.cairn.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.InterruptedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Waiting for another worker's claim, with time that moves only when the waiter sleeps: what
 * happens at each pause is decided by the test, never by the machine's speed.
 */
class SharedFlightTest {
  /** A clock that stands still until slept on; each sleep runs the test's step for it. */
  static final class StepTicker implements SharedFlight.Ticker {
    interface Step {
      void at(int sleep) throws Exception;
    }

    long now = 1_000_000_000L;
    final List<Duration> sleeps = new ArrayList<>();
    Step step = n -> {};

    @Override
    public long nanoTime() {
      return now;
    }

    @Override
    public void sleep(Duration d) throws InterruptedException {
      sleeps.add(d);
      now += d.toNanos();
      try {
        step.at(sleeps.size());
      } catch (InterruptedException e) {
        throw e;
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }

    Duration slept() {
      return sleeps.stream().reduce(Duration.ZERO, Duration::plus);
    }
  }

  private String db;
  private PostgresCache claimant;
  private PostgresCache waiter;
  private final StepTicker ticker = new StepTicker();

  @BeforeEach
  void workers() throws Exception {
    db = TestPostgres.newDatabase();
    claimant = (PostgresCache) ResponseCache.open(TestPostgres.uri(db), Duration.ofHours(1));
    waiter = (PostgresCache) ResponseCache.open(TestPostgres.uri(db), Duration.ofHours(1));
    assertThat(claimant.claim("k")).isEqualTo(ResponseCache.Claim.CLAIMED);
  }

  @AfterEach
  void close() throws Exception {
    claimant.close();
    waiter.close();
  }

  private SharedFlight flight(Duration maxWait) {
    return new SharedFlight(waiter, maxWait, ticker);
  }

  @Test
  void theWaiterGetsTheClaimantsAnswerWithBackoff() throws Exception {
    ticker.step =
        n -> {
          if (n == 4) {
            claimant.put(PostgresCacheTest.answer("k", "paid once"));
          }
        };
    SharedFlight.Turn turn = flight(Duration.ofMinutes(30)).await("k");
    assertThat(turn.answer()).isNotNull();
    assertThat(ContentCodec.content(turn.answer().response())).isEqualTo("paid once");
    assertThat(turn.waited()).isTrue();
    assertThat(ticker.sleeps).containsExactly(ms(5), ms(10), ms(20), ms(40));
  }

  @Test
  void aClaimWhoseLeaseRanOutIsTakenOverAndPaidByTheWaiter() throws Exception {
    ticker.step =
        n -> {
          if (n == 2) {
            PostgresCacheTest.expireClaims(db); // the claimant died; its lease ran out
          }
        };
    SharedFlight.Turn turn = flight(Duration.ofMinutes(30)).await("k");
    assertThat(turn.answer()).isNull();
    assertThat(turn.tookOver()).isTrue();
    assertThat(ticker.sleeps).hasSize(2);
    assertThat(claimant.claim("k")).isEqualTo(ResponseCache.Claim.HELD_ELSEWHERE);
  }

  @Test
  void aClaimGivenUpIsClaimedAtOnceWithoutATakeover() throws Exception {
    ticker.step =
        n -> {
          if (n == 1) {
            claimant.release("k"); // its call failed for good
          }
        };
    SharedFlight.Turn turn = flight(Duration.ofMinutes(30)).await("k");
    assertThat(turn.answer()).isNull();
    assertThat(turn.tookOver()).isFalse();
    assertThat(turn.waited()).isTrue();
  }

  @Test
  void waitingEndsAtItsBoundWhileTheClaimIsKeptAlive() throws Exception {
    ticker.step = n -> claimant.renew();
    assertThatThrownBy(() -> flight(Duration.ofSeconds(3)).await("k"))
        .isInstanceOf(CallFailedException.class)
        .hasMessageContaining("another worker has held the same request for 3 s");
    assertThat(ticker.slept()).isEqualTo(Duration.ofSeconds(3));
    assertThat(ticker.sleeps).allMatch(d -> d.compareTo(SharedFlight.MAX_PAUSE) <= 0);
    assertThat(ticker.sleeps).contains(SharedFlight.MAX_PAUSE);
  }

  @Test
  void anInterruptEndsTheWaitAtOnce() throws Exception {
    ticker.step =
        n -> {
          throw new InterruptedException();
        };
    assertThatThrownBy(() -> flight(Duration.ofMinutes(30)).await("k"))
        .isInstanceOf(InterruptedIOException.class);
    assertThat(Thread.interrupted()).as("the interrupt is kept").isTrue();
    assertThat(ticker.sleeps).hasSize(1);
  }

  @Test
  void anAnswerStoredBeforeTheClaimIsReadAfterClaiming() throws Exception {
    claimant.put(PostgresCacheTest.answer("k", "already there"));
    SharedFlight.Turn turn = flight(Duration.ofMinutes(30)).await("k");
    assertThat(turn.answer()).isNotNull();
    assertThat(turn.waited()).isFalse();
    assertThat(ticker.sleeps).isEmpty();
    // The claim the waiter made to find it is given up again.
    assertThat(claimant.claim("k")).isEqualTo(ResponseCache.Claim.CLAIMED);
  }

  private static Duration ms(long n) {
    return Duration.ofMillis(n);
  }
}

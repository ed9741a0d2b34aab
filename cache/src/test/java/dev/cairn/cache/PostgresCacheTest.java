package dev.cairn.cache;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The PostgreSQL cache: answers, claims, leases and takeovers, two workers in one JVM. */
class PostgresCacheTest {
  private String db;
  private final List<ResponseCache> open = new ArrayList<>();

  @BeforeEach
  void database() throws Exception {
    db = TestPostgres.newDatabase();
  }

  @AfterEach
  void closeAll() throws Exception {
    for (ResponseCache c : open) {
      c.close();
    }
  }

  private PostgresCache worker(Duration lease) throws Exception {
    PostgresCache c = (PostgresCache) ResponseCache.open(TestPostgres.uri(db), lease);
    open.add(c);
    return c;
  }

  static CachedAnswer answer(String key, String content) {
    return new CachedAnswer(
        key,
        "{\"q\":\"" + key + "\"}",
        ContentCodec.wrap("{}", content),
        12,
        1,
        0.5,
        7,
        1,
        Instant.parse("2026-01-02T03:04:05.678Z"));
  }

  /** What the database says about a claim: owner and seconds until it expires. */
  private Object[] claimRow(String key) throws Exception {
    try (Connection c = TestPostgres.server().getDatabase("postgres", db).getConnection();
        Statement st = c.createStatement();
        ResultSet rs =
            st.executeQuery(
                "SELECT owner, extract(epoch FROM expires_at - now()) FROM cairn_claims"
                    + " WHERE key = '"
                    + key
                    + "'")) {
      return rs.next() ? new Object[] {rs.getString(1), rs.getDouble(2)} : null;
    }
  }

  /** The lease of every claim runs out, as if its worker had stopped renewing long ago. */
  static void expireClaims(String database) throws Exception {
    TestPostgres.superuserIn(
        database, "UPDATE cairn_claims SET expires_at = now() - interval '1 second'");
  }

  @Test
  void answersAreStoredOnceKeptAndReadBackByEveryWorker() throws Exception {
    PostgresCache a = worker(Duration.ofMinutes(1));
    assertThat(a.get("k1")).isEmpty();
    assertThat(a.put(answer("k1", "first"))).isTrue();
    assertThat(a.put(answer("k1", "second"))).as("the first answer wins").isFalse();
    a.close();
    open.remove(a);
    PostgresCache b = worker(Duration.ofMinutes(1));
    CachedAnswer back = b.get("k1").orElseThrow();
    assertThat(back).isEqualTo(answer("k1", "first"));
    assertThat(b.size()).isEqualTo(1);
    assertThat(b.location()).doesNotContain(TestPostgres.PASSWORD).contains("cairn@127.0.0.1");
  }

  @Test
  void aClaimedRequestIsHeldElsewhereUntilItsAnswerIsStored() throws Exception {
    PostgresCache a = worker(Duration.ofHours(1));
    PostgresCache b = worker(Duration.ofHours(1));
    assertThat(a.claim("k")).isEqualTo(ResponseCache.Claim.CLAIMED);
    assertThat(b.claim("k")).isEqualTo(ResponseCache.Claim.HELD_ELSEWHERE);
    assertThat(a.claim("k")).as("its own claim again").isEqualTo(ResponseCache.Claim.CLAIMED);
    a.put(answer("k", "paid by a"));
    assertThat(claimRow("k")).as("the answer's commit ends the claim").isNull();
    assertThat(b.get("k")).isPresent();
  }

  @Test
  void anExpiredClaimIsTakenOverByExactlyOneOfTwoRacingWorkers() throws Exception {
    PostgresCache dead = worker(Duration.ofHours(1));
    PostgresCache b = worker(Duration.ofHours(1));
    PostgresCache c = worker(Duration.ofHours(1));
    assertThat(dead.claim("k")).isEqualTo(ResponseCache.Claim.CLAIMED);
    assertThat(b.claim("k")).isEqualTo(ResponseCache.Claim.HELD_ELSEWHERE);
    expireClaims(db);
    CountDownLatch go = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      List<Future<ResponseCache.Claim>> race = new ArrayList<>();
      for (PostgresCache w : List.of(b, c)) {
        Callable<ResponseCache.Claim> take =
            () -> {
              go.await();
              return w.claim("k");
            };
        race.add(pool.submit(take));
      }
      go.countDown();
      List<ResponseCache.Claim> got = List.of(race.get(0).get(), race.get(1).get());
      assertThat(got)
          .containsExactlyInAnyOrder(
              ResponseCache.Claim.TAKEN_OVER, ResponseCache.Claim.HELD_ELSEWHERE);
      PostgresCache winner = got.get(0) == ResponseCache.Claim.TAKEN_OVER ? b : c;
      assertThat(claimRow("k")[0]).isEqualTo(winner.owner());
      // The overtaken worker, alive after all, can neither renew nor end the new claim.
      dead.renew();
      dead.release("k");
      assertThat(claimRow("k")[0]).isEqualTo(winner.owner());
      assertThat((double) claimRow("k")[1]).isGreaterThan(3000);
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void aLiveClaimIsRenewedForAnotherLease() throws Exception {
    PostgresCache a = worker(Duration.ofHours(1));
    a.claim("k");
    TestPostgres.superuserIn(db, "UPDATE cairn_claims SET expires_at = now() + interval '1 s'");
    assertThat((double) claimRow("k")[1]).isLessThanOrEqualTo(1.0);
    a.renew();
    assertThat((double) claimRow("k")[1]).isGreaterThan(3500);
  }

  @Test
  void releasingOrClosingGivesTheClaimsUpAtOnce() throws Exception {
    PostgresCache a = worker(Duration.ofHours(1));
    PostgresCache b = worker(Duration.ofHours(1));
    a.claim("one");
    a.claim("two");
    a.release("one");
    assertThat(b.claim("one")).isEqualTo(ResponseCache.Claim.CLAIMED);
    assertThat(b.claim("two")).isEqualTo(ResponseCache.Claim.HELD_ELSEWHERE);
    a.close();
    open.remove(a);
    assertThat(b.claim("two")).isEqualTo(ResponseCache.Claim.CLAIMED);
  }

  @Test
  void aLostConnectionIsOpenedAgain() throws Exception {
    PostgresCache a = worker(Duration.ofHours(1));
    a.put(answer("k", "v"));
    String pid = a.session("pg_backend_pid()");
    TestPostgres.superuser("SELECT pg_terminate_backend(" + pid + ")");
    assertThat(a.get("k")).isPresent();
    assertThat(a.session("pg_backend_pid()")).isNotEqualTo(pid);
    assertThat(a.session("current_setting('synchronous_commit')")).isEqualTo("on");
  }

  @Test
  void commitsAreSynchronousWhateverTheServersDefault() throws Exception {
    // The test server runs with synchronous_commit=off (zonky's default, for speed).
    try (Connection c = TestPostgres.server().getDatabase("postgres", db).getConnection();
        Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SHOW synchronous_commit")) {
      rs.next();
      assertThat(rs.getString(1)).isEqualTo("off");
    }
    PostgresCache a = worker(Duration.ofMinutes(1));
    assertThat(a.session("current_setting('synchronous_commit')")).isEqualTo("on");
  }
}

package dev.cairn.cache;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link ResponseCache} a fleet of workers shares: a PostgreSQL database (pgjdbc).
 *
 * <p>Single flight across processes: a worker that misses inserts a claim row for the key ({@code
 * INSERT … ON CONFLICT}); the one whose row is in pays, the others wait for the answer. A claim
 * lasts a lease, renewed every third of it by a background thread while the worker's call is in
 * flight, and is deleted in the transaction that stores the answer; a claim whose lease ran out
 * (its worker died or lost the database) is taken over by the next worker that asks. Times are the
 * database server's, so the workers' clocks need not agree. The answer row is the truth: a claim is
 * advice on who should pay, and whatever a slow or overtaken worker stores is subject to the
 * first-answer-wins rule like any other.
 *
 * <p>Every commit runs with {@code synchronous_commit=on}. A connection lost (a server restart) is
 * opened again once per operation before the operation fails.
 */
final class PostgresCache extends ResponseCache {
  private static final Logger LOG = LoggerFactory.getLogger(PostgresCache.class);

  private final PostgresLocation where;
  private final Duration lease;
  private final String owner;
  // Short statements (reads, claims, renewals) on one connection, answers' transactions on
  // another, so that a read never waits behind a commit's flush.
  private final Link reads;
  private final Link writes;
  private final Set<String> held = ConcurrentHashMap.newKeySet();
  private final ScheduledExecutorService renewer;

  private PostgresCache(PostgresLocation where, Duration lease, Link reads, Link writes) {
    this.where = where;
    this.lease = lease;
    this.owner = ownerName();
    this.reads = reads;
    this.writes = writes;
    this.renewer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "cairn-cache-lease");
              t.setDaemon(true);
              return t;
            });
    long every = Math.max(1, lease.toMillis() / 3);
    renewer.scheduleWithFixedDelay(this::renew, every, every, TimeUnit.MILLISECONDS);
  }

  static PostgresCache connect(PostgresLocation where, Duration lease) throws CacheFileException {
    Link reads = new Link(where);
    Link writes = new Link(where);
    try {
      PostgresSchema.prepare(reads.connection(), where);
      writes.connection();
      return new PostgresCache(where, lease, reads, writes);
    } catch (SQLException e) {
      reads.close();
      writes.close();
      throw PostgresErrors.translate(where, e);
    } catch (CacheFileException e) {
      reads.close();
      writes.close();
      throw e;
    }
  }

  private static String ownerName() {
    String host = System.getenv("HOSTNAME");
    return ProcessHandle.current().pid()
        + "@"
        + (host == null || host.isBlank() ? "localhost" : host)
        + "/"
        + UUID.randomUUID().toString().substring(0, 8);
  }

  @Override
  public String location() {
    return where.toString();
  }

  /** The name this worker's claims carry: process id, host, and a random part. */
  String owner() {
    return owner;
  }

  @Override
  Duration lease() {
    return lease;
  }

  @Override
  public Optional<CachedAnswer> get(String key) throws CacheFileException {
    return reads.run(
        db -> {
          try (PreparedStatement ps =
              db.prepareStatement(
                  "SELECT " + AnswerRows.COLUMNS + " FROM cairn_responses WHERE key = ?")) {
            ps.setString(1, key);
            try (ResultSet rs = ps.executeQuery()) {
              if (!rs.next()) {
                return Optional.empty();
              }
              return Optional.of(AnswerRows.read(key, rs, rs.getTimestamp(8).toInstant()));
            }
          }
        });
  }

  @Override
  public long size() throws CacheFileException {
    return reads.run(
        db -> {
          try (Statement st = db.createStatement();
              ResultSet rs = st.executeQuery("SELECT count(*) FROM cairn_responses")) {
            rs.next();
            return rs.getLong(1);
          }
        });
  }

  @Override
  boolean[] write(List<CachedAnswer> answers) throws CacheFileException {
    boolean[] stored =
        writes.run(
            db -> {
              db.setAutoCommit(false);
              try {
                boolean[] done = insert(db, answers);
                db.commit();
                return done;
              } catch (SQLException e) {
                rollbackQuietly(db);
                throw e;
              } finally {
                db.setAutoCommit(true);
              }
            });
    answers.forEach(a -> held.remove(a.key()));
    return stored;
  }

  private static boolean[] insert(Connection db, List<CachedAnswer> answers) throws SQLException {
    boolean[] done = new boolean[answers.size()];
    try (PreparedStatement ins =
            db.prepareStatement(
                "INSERT INTO cairn_responses (key, request, response, prompt_tokens,"
                    + " completion_tokens, cost, latency_ms, attempts, created_at)"
                    + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING");
        PreparedStatement unclaim =
            db.prepareStatement("DELETE FROM cairn_claims WHERE key = ANY (?)")) {
      // Rows are locked in key order, so two workers storing overlapping batches cannot deadlock.
      Integer[] order = new Integer[done.length];
      for (int i = 0; i < order.length; i++) {
        order[i] = i;
      }
      java.util.Arrays.sort(order, java.util.Comparator.comparing(i -> answers.get(i).key()));
      String[] keys = new String[done.length];
      for (int n = 0; n < done.length; n++) {
        int i = order[n];
        CachedAnswer a = answers.get(i);
        keys[n] = a.key();
        ins.setString(1, a.key());
        ins.setString(2, a.request());
        ins.setString(3, a.response());
        ins.setLong(4, a.promptTokens());
        ins.setLong(5, a.completionTokens());
        ins.setDouble(6, a.cost());
        ins.setLong(7, a.latencyMillis());
        ins.setInt(8, a.attempts());
        ins.setTimestamp(9, Timestamp.from(a.createdAt()));
        done[i] = ins.executeUpdate() == 1;
      }
      // Answered: whoever holds the claim, nobody needs to pay for it any more.
      unclaim.setArray(1, db.createArrayOf("text", keys));
      unclaim.executeUpdate();
    }
    return done;
  }

  @Override
  Claim claim(String key) throws CacheFileException {
    // One statement decides: a new row is a claim; an existing row is taken over only when its
    // lease has run out (or it is this worker's own), and the row lock makes one of two racing
    // takeovers see the other's fresh lease and lose.
    String previous =
        reads.run(
            db -> {
              try (PreparedStatement ps =
                  db.prepareStatement(
                      "INSERT INTO cairn_claims AS c (key, owner, claimed_at, expires_at)"
                          + " VALUES (?, ?, now(), now() + make_interval(secs => ?))"
                          + " ON CONFLICT (key) DO UPDATE SET owner = excluded.owner,"
                          + " previous_owner = c.owner, claimed_at = excluded.claimed_at,"
                          + " expires_at = excluded.expires_at"
                          + " WHERE c.expires_at <= now() OR c.owner = excluded.owner"
                          + " RETURNING coalesce(previous_owner, '')")) {
                ps.setString(1, key);
                ps.setString(2, owner);
                ps.setDouble(3, lease.toMillis() / 1000.0);
                try (ResultSet rs = ps.executeQuery()) {
                  return rs.next() ? rs.getString(1) : null;
                }
              }
            });
    if (previous == null) {
      return Claim.HELD_ELSEWHERE;
    }
    held.add(key);
    if (!previous.isEmpty() && !previous.equals(owner)) {
      LOG.warn(
          "took over the claim of {} on a request after its lease of {} s ran out",
          previous,
          lease.toSeconds());
      return Claim.TAKEN_OVER;
    }
    return Claim.CLAIMED;
  }

  @Override
  void release(String key) throws CacheFileException {
    if (!held.remove(key)) {
      return;
    }
    reads.run(
        db -> {
          try (PreparedStatement ps =
              db.prepareStatement("DELETE FROM cairn_claims WHERE key = ? AND owner = ?")) {
            ps.setString(1, key);
            ps.setString(2, owner);
            return ps.executeUpdate();
          }
        });
  }

  /**
   * Extends the lease of every claim this worker holds; a claim taken over meanwhile stays lost.
   * Runs every third of the lease.
   */
  void renew() {
    String[] keys = held.toArray(String[]::new);
    if (keys.length == 0) {
      return;
    }
    try {
      reads.run(
          db -> {
            try (PreparedStatement ps =
                db.prepareStatement(
                    "UPDATE cairn_claims SET expires_at = now() + make_interval(secs => ?)"
                        + " WHERE owner = ? AND key = ANY (?)")) {
              ps.setDouble(1, lease.toMillis() / 1000.0);
              ps.setString(2, owner);
              ps.setArray(3, db.createArrayOf("text", keys));
              return ps.executeUpdate();
            }
          });
    } catch (CacheFileException e) {
      // The next renewal tries again; until then other workers may take these requests over.
      LOG.warn("could not renew {} claim(s): {}", keys.length, e.getMessage());
    }
  }

  /** A value of this worker's reading session, such as pg_backend_pid() (tests). */
  String session(String expression) throws CacheFileException {
    return reads.run(
        db -> {
          try (Statement st = db.createStatement();
              ResultSet rs = st.executeQuery("SELECT (" + expression + ")::text")) {
            rs.next();
            return rs.getString(1);
          }
        });
  }

  private static void rollbackQuietly(Connection db) {
    try {
      db.rollback();
    } catch (SQLException ignored) {
      // the connection is gone: the transaction is rolled back with it
    }
  }

  @Override
  public void close() throws CacheFileException {
    renewer.shutdownNow();
    try {
      // Claims still held are of calls that will not finish: let other workers have them now.
      if (!held.isEmpty()) {
        reads.run(
            db -> {
              try (PreparedStatement ps =
                  db.prepareStatement("DELETE FROM cairn_claims WHERE owner = ?")) {
                ps.setString(1, owner);
                return ps.executeUpdate();
              }
            });
        held.clear();
      }
    } finally {
      reads.close();
      writes.close();
    }
  }

  /** One connection, used by one thread at a time, opened again once when it was lost. */
  static final class Link {
    interface Work<T> {
      T run(Connection db) throws SQLException;
    }

    private final PostgresLocation where;
    private Connection db;

    Link(PostgresLocation where) {
      this.where = where;
    }

    synchronized Connection connection() throws SQLException {
      if (db == null) {
        db = DriverManager.getConnection(where.jdbcUrl(), where.properties());
        try (Statement st = db.createStatement()) {
          // Durable before acknowledged, whatever the server's default.
          st.execute("SET synchronous_commit = on");
        }
      }
      return db;
    }

    synchronized <T> T run(Work<T> work) throws CacheFileException {
      try {
        return work.run(connection());
      } catch (SQLException e) {
        // Once more on a new connection when it was lost; once more on this one when PostgreSQL
        // chose this transaction to break a deadlock. Every work here can be repeated.
        if (lost(e)) {
          close();
        } else if (!"40P01".equals(e.getSQLState())) {
          throw PostgresErrors.translate(where, e);
        }
        try {
          return work.run(connection());
        } catch (SQLException again) {
          throw PostgresErrors.translate(where, again);
        }
      }
    }

    private boolean lost(SQLException e) {
      String state = e.getSQLState();
      if (state != null && (state.startsWith("08") || state.startsWith("57P"))) {
        return true;
      }
      try {
        return db != null && !db.isValid(5);
      } catch (SQLException ignored) {
        return true;
      }
    }

    synchronized void close() {
      if (db != null) {
        try {
          db.close();
        } catch (SQLException ignored) {
          // already failing or closing: nothing left to release
        }
        db = null;
      }
    }
  }
}

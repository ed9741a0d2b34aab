package dev.cairn.cache;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Answers of paid API calls, keyed by the SHA-256 of the canonical request; the first answer stored
 * for a key wins and is kept for good. Two backends behind one type:
 *
 * <ul>
 *   <li>{@link #open(Path)}: an SQLite file, the one-machine default. Several threads and several
 *       processes on one machine may share it; the same request asked by two processes at once may
 *       be paid twice (single flight is per process).
 *   <li>{@link #open(String)} with {@code postgresql://user:pass@host:port/db}: a PostgreSQL
 *       database shared by a fleet of workers. The same request asked by any number of workers is
 *       paid once: the first to claim it calls, the others wait for its answer; a claim whose
 *       worker died is taken over after its lease.
 * </ul>
 *
 * <p>Durability: {@link #put} returns only after the answer's commit is durable (fsynced by SQLite;
 * committed with {@code synchronous_commit=on} by PostgreSQL), so an answer a job acted on survives
 * a crash of the job. Thread-safe. Problems with the file or the database (not a cache, a newer
 * schema, unreachable, refused) are {@link CacheFileException}s whose message is one line saying
 * what is wrong and what to do.
 */
public abstract class ResponseCache implements AutoCloseable {
  /** How long a PostgreSQL claim lasts unless renewed, when {@link #open(String)} is not told. */
  public static final Duration DEFAULT_LEASE = Duration.ofSeconds(60);

  /** What {@link #claim} found. */
  enum Claim {
    /** This worker holds a new claim: it pays. */
    CLAIMED,
    /** This worker holds a claim whose previous holder's lease had ended: it pays. */
    TAKEN_OVER,
    /** Another worker holds a live claim: wait for its answer. */
    HELD_ELSEWHERE
  }

  private final Object queueLock = new Object();
  private List<Pending> queue = new ArrayList<>();
  private boolean committing;

  ResponseCache() {}

  /** Opens (creating when absent) an SQLite cache file. */
  public static ResponseCache open(Path file) throws IOException {
    return SqliteCache.openFile(file);
  }

  /**
   * Opens the cache at {@code location}: a PostgreSQL URI ({@code
   * postgresql://user:pass@host:port/db}, {@code postgres://…} or {@code jdbc:postgresql://…}; a
   * password not in the URI comes from PGPASSWORD or ~/.pgpass), otherwise the path of an SQLite
   * file. Claims last {@link #DEFAULT_LEASE}.
   *
   * @throws IllegalArgumentException the URI is malformed (the message says how to write it)
   * @throws CacheFileException the database cannot be used (unreachable, refused, not a cache)
   */
  public static ResponseCache open(String location) throws IOException {
    return open(location, DEFAULT_LEASE);
  }

  /**
   * As {@link #open(String)}, with claims of {@code lease}: a worker that holds a claim renews it
   * every third of the lease while its call is in flight; when the worker dies, another takes the
   * request over once the lease has run out. Ignored for SQLite files.
   */
  public static ResponseCache open(String location, Duration lease) throws IOException {
    if (lease == null || lease.isNegative() || lease.isZero()) {
      throw new IllegalArgumentException("the lease of a claim must be positive, was " + lease);
    }
    if (PostgresLocation.isPostgres(location)) {
      return PostgresCache.connect(PostgresLocation.parse(location), lease);
    }
    return open(checkedPath(location));
  }

  /**
   * Checks, without opening anything, that {@code location} names a cache {@link #open(String)}
   * accepts.
   *
   * @throws IllegalArgumentException it does not; the message says how to write one
   */
  public static void validate(String location) {
    if (PostgresLocation.isPostgres(location)) {
      PostgresLocation.parse(location);
    } else {
      checkedPath(location);
    }
  }

  private static Path checkedPath(String location) {
    if (location == null || location.isBlank()) {
      throw new IllegalArgumentException("the response cache location is empty");
    }
    if (location.matches("^(jdbc:)?[A-Za-z][A-Za-z0-9+.-]*://.*")) {
      throw new IllegalArgumentException(
          "response cache "
              + location.substring(0, location.indexOf("://"))
              + "://… is not supported; give a file path or postgresql://user@host:port/db");
    }
    try {
      return Path.of(location);
    } catch (java.nio.file.InvalidPathException e) {
      throw new IllegalArgumentException(
          "response cache " + location + " is not a file path: " + e.getReason());
    }
  }

  /** Where the cache is, for messages: a file path, or a URI without its password. */
  public abstract String location();

  /** The stored answer for a key. */
  public abstract Optional<CachedAnswer> get(String key) throws IOException;

  /** Stored answers. */
  public abstract long size() throws IOException;

  /**
   * Stores an answer durably (see the class description) before returning.
   *
   * <p>Group commit: answers stored by several threads at once go into one transaction, and each
   * caller returns when the transaction holding its answer is durable.
   *
   * @return false when the key already had an answer (which is kept)
   */
  public boolean put(CachedAnswer a) throws IOException {
    Pending mine = new Pending(a);
    List<Pending> batch;
    synchronized (queueLock) {
      queue.add(mine);
      while (!mine.done && committing) {
        try {
          queueLock.wait();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new java.io.InterruptedIOException("interrupted while storing an answer");
        }
      }
      if (mine.done) {
        return mine.result();
      }
      committing = true;
      batch = queue;
      queue = new ArrayList<>();
    }
    try {
      List<CachedAnswer> answers = new ArrayList<>(batch.size());
      batch.forEach(p -> answers.add(p.answer));
      try {
        boolean[] stored = write(answers);
        for (int i = 0; i < batch.size(); i++) {
          batch.get(i).stored = stored[i];
        }
      } catch (CacheFileException e) {
        batch.forEach(p -> p.error = e);
      }
    } finally {
      synchronized (queueLock) {
        committing = false;
        for (Pending p : batch) {
          p.done = true;
        }
        queueLock.notifyAll();
      }
    }
    return mine.result();
  }

  /**
   * Stores the answers in one durable transaction (and, where claims exist, ends their claims in
   * it); one thread at a time.
   *
   * @return for each answer, whether it was stored (false: its key already had one)
   */
  abstract boolean[] write(List<CachedAnswer> answers) throws CacheFileException;

  /**
   * Tries to become the worker that pays for {@code key}. A worker holding a claim keeps it alive
   * until {@link #put} stores the key's answer or {@link #release} gives it up.
   */
  abstract Claim claim(String key) throws IOException;

  /** Gives up this worker's claim on {@code key}, if it holds one (its call failed or stopped). */
  abstract void release(String key) throws IOException;

  /** How long a claim outlives its worker; zero when claims are not shared between processes. */
  abstract Duration lease();

  /** An answer waiting for its transaction. */
  private static final class Pending {
    final CachedAnswer answer;
    volatile boolean done;
    volatile boolean stored;
    volatile CacheFileException error;

    Pending(CachedAnswer answer) {
      this.answer = answer;
    }

    boolean result() throws IOException {
      if (error != null) {
        throw new CacheFileException(error.getMessage(), error);
      }
      return stored;
    }
  }

  @Override
  public abstract void close() throws IOException;
}

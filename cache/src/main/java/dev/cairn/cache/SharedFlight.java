package dev.cairn.cache;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.util.Optional;

/**
 * Single flight across the processes sharing a {@link ResponseCache}: for a key nobody has
 * answered, either this worker gets the claim (and pays), or it waits for the answer of the worker
 * holding it, asking again with backoff, and takes the claim over when that worker's lease runs
 * out. Waiting is bounded ({@code maxWait}) and ends at once when the thread is interrupted. The
 * answer row is the truth: whatever the claims say, a stored answer ends the wait.
 */
final class SharedFlight {
  static final Duration FIRST_PAUSE = Duration.ofMillis(5);
  static final Duration MAX_PAUSE = Duration.ofMillis(500);

  /** Time as the waiting sees it; tests give one that moves only when slept on. */
  interface Ticker {
    long nanoTime();

    void sleep(Duration d) throws InterruptedException;

    Ticker SYSTEM =
        new Ticker() {
          @Override
          public long nanoTime() {
            return System.nanoTime();
          }

          @Override
          public void sleep(Duration d) throws InterruptedException {
            Thread.sleep(d.toMillis(), d.toNanosPart() % 1_000_000);
          }
        };
  }

  /**
   * How a wait ended: with another worker's stored {@code answer}, or (answer null) with this
   * worker holding the claim, having {@code tookOver} a claim whose lease ran out.
   *
   * @param waited the key was found claimed by another worker at least once
   */
  record Turn(CachedAnswer answer, boolean waited, boolean tookOver) {}

  private final ResponseCache cache;
  private final Duration maxWait;
  private final Ticker ticker;

  SharedFlight(ResponseCache cache, Duration maxWait, Ticker ticker) {
    this.cache = cache;
    this.maxWait = maxWait;
    this.ticker = ticker;
  }

  /**
   * The stored answer for {@code key}, or the claim on it. A caller that gets the claim must end
   * it: {@link ResponseCache#put} of the answer, or {@link ResponseCache#release}.
   *
   * @throws CallFailedException another worker kept the claim alive for longer than {@code maxWait}
   *     without storing an answer
   * @throws InterruptedIOException the thread was interrupted while waiting
   */
  Turn await(String key) throws IOException {
    long start = ticker.nanoTime();
    Duration pause = FIRST_PAUSE;
    boolean waited = false;
    while (true) {
      ResponseCache.Claim claim = cache.claim(key);
      // Read after claiming: an answer committed just before the claim ended the claim with it.
      Optional<CachedAnswer> stored = cache.get(key);
      if (claim != ResponseCache.Claim.HELD_ELSEWHERE) {
        if (stored.isPresent()) {
          cache.release(key);
          return new Turn(stored.get(), waited, false);
        }
        return new Turn(null, waited, claim == ResponseCache.Claim.TAKEN_OVER);
      }
      if (stored.isPresent()) {
        return new Turn(stored.get(), true, false);
      }
      waited = true;
      long left = maxWait.toNanos() - (ticker.nanoTime() - start);
      if (left <= 0) {
        throw new CallFailedException(
            "another worker has held the same request for "
                + CachedCalls.human(maxWait)
                + " without storing an answer (its lease kept being renewed); check the other"
                + " workers, or allow longer with a longer deadline",
            null);
      }
      try {
        ticker.sleep(Duration.ofNanos(Math.min(pause.toNanos(), left)));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("stopped while waiting for another worker's answer");
      }
      pause = pause.multipliedBy(2).compareTo(MAX_PAUSE) > 0 ? MAX_PAUSE : pause.multipliedBy(2);
    }
  }
}

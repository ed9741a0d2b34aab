package dev.cairn.cache;

import java.time.Duration;

/**
 * How paid calls are retried. Defaults: 6 attempts, exponential backoff from 0.5 s doubling to 30 s
 * with ±25% jitter, a server's Retry-After honoured up to 2 minutes, a 30 s timeout per attempt, a
 * circuit breaker that opens after 5 failures in a row and tries again after 30 s, and a deadline
 * of 30 minutes per call.
 *
 * @param deadline the longest one call keeps trying: its attempts, their backoff, and the pauses
 *     while the circuit breaker is open (an open breaker is a pause, not a failure); only past it
 *     does the call fail
 */
public record RetrySettings(
    int maxAttempts,
    Duration backoff,
    Duration maxBackoff,
    double jitter,
    Duration maxRetryAfter,
    Duration timeout,
    int breakerFailures,
    Duration breakerDelay,
    Duration deadline) {

  public RetrySettings {
    if (maxAttempts < 1 || breakerFailures < 1) {
      throw new IllegalArgumentException("attempts and breaker failures must be at least 1");
    }
    if (jitter < 0 || jitter >= 1) {
      throw new IllegalArgumentException("jitter is a fraction in [0, 1)");
    }
    if (backoff.isNegative() || backoff.isZero() || maxBackoff.compareTo(backoff) < 0) {
      throw new IllegalArgumentException("backoff must be positive and at most maxBackoff");
    }
    if (deadline.isNegative() || deadline.isZero()) {
      throw new IllegalArgumentException(
          "the deadline of a call must be positive, was " + deadline);
    }
  }

  public static RetrySettings defaults() {
    return new RetrySettings(
        6,
        Duration.ofMillis(500),
        Duration.ofSeconds(30),
        0.25,
        Duration.ofMinutes(2),
        Duration.ofSeconds(30),
        5,
        Duration.ofSeconds(30),
        Duration.ofMinutes(30));
  }

  public RetrySettings attempts(int n) {
    return new RetrySettings(
        n,
        backoff,
        maxBackoff,
        jitter,
        maxRetryAfter,
        timeout,
        breakerFailures,
        breakerDelay,
        deadline);
  }

  public RetrySettings backoff(Duration first, Duration max) {
    return new RetrySettings(
        maxAttempts,
        first,
        max,
        jitter,
        maxRetryAfter,
        timeout,
        breakerFailures,
        breakerDelay,
        deadline);
  }

  public RetrySettings timeout(Duration t) {
    return new RetrySettings(
        maxAttempts,
        backoff,
        maxBackoff,
        jitter,
        maxRetryAfter,
        t,
        breakerFailures,
        breakerDelay,
        deadline);
  }

  public RetrySettings breaker(int failures, Duration delay) {
    return new RetrySettings(
        maxAttempts,
        backoff,
        maxBackoff,
        jitter,
        maxRetryAfter,
        timeout,
        failures,
        delay,
        deadline);
  }

  /** The deadline of one call (see the record's description). */
  public RetrySettings deadline(Duration d) {
    return new RetrySettings(
        maxAttempts,
        backoff,
        maxBackoff,
        jitter,
        maxRetryAfter,
        timeout,
        breakerFailures,
        breakerDelay,
        d);
  }
}

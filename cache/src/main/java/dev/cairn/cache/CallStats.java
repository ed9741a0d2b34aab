package dev.cairn.cache;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.DoubleAdder;

/** Counts of a {@link CachedCalls}: what was answered from where, and at what price. */
public final class CallStats {
  final AtomicLong hits = new AtomicLong();
  final AtomicLong paid = new AtomicLong();
  final AtomicLong attempts = new AtomicLong();
  final AtomicLong retries = new AtomicLong();
  final AtomicLong failedAttempts = new AtomicLong();
  final AtomicLong connectionFailures = new AtomicLong();
  final AtomicLong failedCalls = new AtomicLong();
  final AtomicLong coalesced = new AtomicLong();
  final AtomicLong claimWaits = new AtomicLong();
  final AtomicLong takeovers = new AtomicLong();
  final AtomicLong breakerOpened = new AtomicLong();
  final AtomicLong breakerWaits = new AtomicLong();
  final AtomicLong storeFailures = new AtomicLong();
  final DoubleAdder cost = new DoubleAdder();
  final DoubleAdder saved = new DoubleAdder();
  volatile boolean breakerOpen;

  public long hits() {
    return hits.get();
  }

  /** Calls answered by the server (each paid once). */
  public long paid() {
    return paid.get();
  }

  /** Requests sent, successful or not. */
  public long attempts() {
    return attempts.get();
  }

  public long retries() {
    return retries.get();
  }

  public long failedAttempts() {
    return failedAttempts.get();
  }

  /** Failed attempts that never got an HTTP answer (refused, reset, timed out). */
  public long connectionFailures() {
    return connectionFailures.get();
  }

  /** Calls that failed for good. */
  public long failedCalls() {
    return failedCalls.get();
  }

  /** Calls that waited for the same request already in flight instead of sending it again. */
  public long coalesced() {
    return coalesced.get();
  }

  /** Calls that found the request claimed by another worker (a shared cache) and waited. */
  public long claimWaits() {
    return claimWaits.get();
  }

  /** Calls that took over another worker's claim after its lease ran out (it died). */
  public long takeovers() {
    return takeovers.get();
  }

  public long breakerOpened() {
    return breakerOpened.get();
  }

  /** Times a call paused for an open circuit breaker (and then went on). */
  public long breakerWaits() {
    return breakerWaits.get();
  }

  /** Answers received but not stored (a full or broken cache). */
  public long storeFailures() {
    return storeFailures.get();
  }

  /** Money spent on paid calls. */
  public double cost() {
    return cost.sum();
  }

  /** What the cache hits would have cost. */
  public double saved() {
    return saved.sum();
  }

  /** The counts as run metrics, named {@code <prefix>_...}. */
  public Map<String, Double> metrics(String prefix) {
    Map<String, Double> m = new LinkedHashMap<>();
    m.put(prefix + "_hits", (double) hits());
    m.put(prefix + "_paid_calls", (double) paid());
    m.put(prefix + "_retries", (double) retries());
    m.put(prefix + "_connection_failures", (double) connectionFailures());
    m.put(prefix + "_failed_calls", (double) failedCalls());
    m.put(prefix + "_breaker_waits", (double) breakerWaits());
    m.put(prefix + "_cost", cost());
    m.put(prefix + "_saved", saved());
    m.put(prefix + "_breaker_open", breakerOpen ? 1.0 : 0.0);
    return m;
  }
}

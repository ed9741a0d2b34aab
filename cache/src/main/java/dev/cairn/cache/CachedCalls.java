package dev.cairn.cache;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cairn.events.EventType;
import dev.cairn.events.Events;
import dev.failsafe.CircuitBreaker;
import dev.failsafe.CircuitBreakerOpenException;
import dev.failsafe.Failsafe;
import dev.failsafe.FailsafeException;
import dev.failsafe.FailsafeExecutor;
import dev.failsafe.RetryPolicy;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Any paid call, made at most once per distinct request: answered from the {@link ResponseCache}
 * when it was answered before (in this process or any earlier one), otherwise sent with retries
 * (Failsafe: exponential backoff with jitter, Retry-After honoured, no retry on other 4xx) behind a
 * circuit breaker, stored durably before it is returned, and counted. Two threads asking the same
 * request at once send it once (single flight); the second waits for the first's answer. With a
 * cache shared by several processes (PostgreSQL), so do two workers: the first to claim the request
 * pays, the others wait for its answer, up to the call's deadline plus the claim's lease; a claim
 * whose worker died is taken over once its lease has run out (with a warning event).
 *
 * <pre>{@code
 * CachedCalls calls = new CachedCalls(cache, RetrySettings.defaults(), run.events());
 * Answer a = calls.call(requestJson, () -> myClient.send(requestJson));   // one attempt
 * }</pre>
 *
 * <p>A received answer that cannot be stored (full disk, damaged cache) is still returned, with a
 * warning event: it was paid for, and the training run should not die for the cache.
 */
public final class CachedCalls {
  /** One attempt of the paid call; throw to fail it (IOException and 429/5xx are retried). */
  @FunctionalInterface
  public interface Attempt {
    Answer call() throws Exception;
  }

  private final ResponseCache cache;
  private final RetrySettings settings;
  private final Events events;
  private final CallStats stats = new CallStats();
  private final ConcurrentHashMap<String, CompletableFuture<Answer>> inFlight =
      new ConcurrentHashMap<>();
  private final FailsafeExecutor<Answer> failsafe;
  private final CircuitBreaker<Answer> breaker;
  private final SharedFlight flight;

  public CachedCalls(ResponseCache cache, RetrySettings settings, Events events) {
    this.cache = cache;
    // Waiting for another worker is bounded by what its call may take, plus the lease after
    // which a dead worker's claim is taken over.
    this.flight =
        new SharedFlight(
            cache, settings.deadline().plus(cache.lease()), SharedFlight.Ticker.SYSTEM);
    this.settings = settings;
    this.events = events == null ? Events.NONE : events;
    RetryPolicy<Answer> retry =
        RetryPolicy.<Answer>builder()
            .handleIf((Throwable e) -> retryable(e))
            .withMaxAttempts(settings.maxAttempts())
            .withMaxDuration(settings.deadline())
            .withDelayFn(ctx -> delay(ctx.getAttemptCount(), ctx.getLastException()))
            .onRetry(e -> stats.retries.incrementAndGet())
            .onFailedAttempt(
                e -> {
                  stats.failedAttempts.incrementAndGet();
                  Throwable t = e.getLastException();
                  if (t instanceof IOException
                      && !(t instanceof HttpStatusException)
                      && !(t instanceof MalformedAnswerException)) {
                    stats.connectionFailures.incrementAndGet();
                  }
                })
            .build();
    CircuitBreaker<Answer> breaker =
        CircuitBreaker.<Answer>builder()
            .handleIf((Throwable e) -> retryable(e))
            .withFailureThreshold(settings.breakerFailures())
            .withDelay(settings.breakerDelay())
            .onOpen(
                e -> {
                  stats.breakerOpened.incrementAndGet();
                  stats.breakerOpen = true;
                  this.events.emit(
                      EventType.API_CIRCUIT_OPEN,
                      -1,
                      "API circuit breaker open after "
                          + settings.breakerFailures()
                          + " failures in a row; calls fail fast for "
                          + settings.breakerDelay().toSeconds()
                          + " s");
                })
            .onClose(
                e -> {
                  if (stats.breakerOpen) {
                    stats.breakerOpen = false;
                    this.events.emit(
                        EventType.API_CIRCUIT_CLOSED, -1, "API circuit breaker closed: calls work");
                  }
                })
            .build();
    this.breaker = breaker;
    this.failsafe = Failsafe.with(retry, breaker);
  }

  public CallStats stats() {
    return stats;
  }

  public ResponseCache cache() {
    return cache;
  }

  /** Retried: no HTTP answer (I/O, timeout), 429, 5xx, or a 200 that was not the expected JSON. */
  static boolean retryable(Throwable e) {
    if (e instanceof HttpStatusException h) {
      return h.retryable();
    }
    return e instanceof IOException;
  }

  /**
   * The wait before the next attempt: the server's Retry-After when it sent one (as asked, capped
   * at maxRetryAfter, no jitter: waiting less would be refused again), else exponential backoff
   * from {@code backoff}, doubling per attempt up to {@code maxBackoff}, ± {@code jitter}.
   */
  Duration delay(int failedAttempts, Throwable e) {
    if (e instanceof HttpStatusException h && h.retryAfter() != null) {
      Duration d = h.retryAfter();
      return d.compareTo(settings.maxRetryAfter()) > 0 ? settings.maxRetryAfter() : d;
    }
    double base = settings.backoff().toMillis() * Math.pow(2, Math.max(0, failedAttempts - 1));
    double capped = Math.min(base, settings.maxBackoff().toMillis());
    double jittered =
        capped * (1 + settings.jitter() * (2 * ThreadLocalRandom.current().nextDouble() - 1));
    return Duration.ofMillis(Math.round(jittered));
  }

  /** The answer to {@code request}: from the cache, or from {@code attempt} (retried), stored. */
  public Answer call(JsonNode request, Attempt attempt) throws IOException {
    String canonical = Requests.canonical(request);
    String key = Requests.key(canonical);
    Optional<Answer> hit = lookup(key);
    if (hit.isPresent()) {
      return hit.get();
    }
    CompletableFuture<Answer> mine = new CompletableFuture<>();
    CompletableFuture<Answer> other = inFlight.putIfAbsent(key, mine);
    if (other != null) {
      stats.coalesced.incrementAndGet();
      return await(other);
    }
    try {
      Answer a = claimAndSend(key, canonical, attempt);
      mine.complete(a);
      return a;
    } catch (IOException | RuntimeException e) {
      mine.completeExceptionally(e);
      throw e;
    } finally {
      inFlight.remove(key, mine);
    }
  }

  /** Pays for the request when this worker holds its claim; else the claimant's answer. */
  private Answer claimAndSend(String key, String canonical, Attempt attempt) throws IOException {
    SharedFlight.Turn turn;
    try {
      turn = flight.await(key);
    } catch (CallFailedException e) {
      stats.failedCalls.incrementAndGet();
      events.emit(EventType.API_CALL_FAILED, -1, e.getMessage());
      throw e;
    }
    if (turn.waited()) {
      stats.claimWaits.incrementAndGet();
    }
    if (turn.answer() != null) {
      return hit(turn.answer());
    }
    if (turn.tookOver()) {
      stats.takeovers.incrementAndGet();
      events.emit(
          EventType.WARNING,
          -1,
          "took over a request whose worker stopped renewing its claim for "
              + human(cache.lease())
              + " (it died or lost the cache's database); if it had sent it, it is paid twice");
    }
    try {
      return send(key, canonical, attempt);
    } finally {
      // Stored: the claim ended with the answer's commit, and this does nothing. Failed, stopped
      // or not stored: the others need not wait for the lease.
      try {
        cache.release(key);
      } catch (IOException e) {
        events.emit(
            EventType.WARNING,
            -1,
            "a claim could not be given up (others take it over after its lease): "
                + e.getMessage());
      }
    }
  }

  private Optional<Answer> lookup(String key) throws IOException {
    Optional<CachedAnswer> c = cache.get(key);
    return c.isEmpty() ? Optional.empty() : Optional.of(hit(c.get()));
  }

  private Answer hit(CachedAnswer s) {
    stats.hits.incrementAndGet();
    stats.saved.add(s.cost());
    return new Answer(
        ContentCodec.content(s.response()),
        ContentCodec.raw(s.response()),
        s.promptTokens(),
        s.completionTokens(),
        s.cost(),
        0,
        0,
        true);
  }

  private Answer send(String key, String canonical, Attempt attempt) throws IOException {
    long deadline = System.nanoTime() + settings.deadline().toNanos();
    while (true) {
      try {
        return sendOnce(key, canonical, attempt);
      } catch (CircuitBreakerOpenException e) {
        // An open breaker is a pause: the API failed many times in a row, so nobody calls it for
        // a while; then it lets a trial call through (half-open). Wait for that, then try again,
        // until this call's deadline.
        long waitMillis =
            Math.max(breaker.getRemainingDelay().toMillis(), settings.backoff().toMillis());
        if (System.nanoTime() + waitMillis * 1_000_000 - deadline > 0) {
          stats.failedCalls.incrementAndGet();
          throw new CallFailedException(
              "the API kept failing for "
                  + human(settings.deadline())
                  + " (its circuit breaker is open after repeated failures); check the server,"
                  + " or allow it longer with a longer deadline (cairn demo: --teacher-deadline)",
              e);
        }
        stats.breakerWaits.incrementAndGet();
        try {
          Thread.sleep(waitMillis);
        } catch (InterruptedException interrupted) {
          Thread.currentThread().interrupt();
          throw new java.io.InterruptedIOException("stopped while waiting for the API");
        }
      }
    }
  }

  static String human(Duration d) {
    long s = d.toSeconds();
    if (s == 0) {
      return d.toMillis() + " ms";
    }
    return s % 3600 == 0 ? s / 3600 + " h" : s % 60 == 0 ? s / 60 + " min" : s + " s";
  }

  private Answer sendOnce(String key, String canonical, Attempt attempt) throws IOException {
    Answer a;
    int[] attempts = {0};
    try {
      a =
          failsafe.get(
              ctx -> {
                attempts[0] = ctx.getAttemptCount() + 1;
                stats.attempts.incrementAndGet();
                long t0 = System.nanoTime();
                Answer r = attempt.call();
                long ms = (System.nanoTime() - t0) / 1_000_000;
                return new Answer(
                    r.content(),
                    r.raw(),
                    r.promptTokens(),
                    r.completionTokens(),
                    r.cost(),
                    ms,
                    attempts[0],
                    false);
              });
    } catch (CircuitBreakerOpenException e) {
      throw e;
    } catch (FailsafeException e) {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      if (cause instanceof InterruptedException || Thread.currentThread().isInterrupted()) {
        // Stopped from outside (the job is shutting down): not the API's failure, no event.
        Thread.currentThread().interrupt();
        throw new java.io.InterruptedIOException("stopped while calling the API");
      }
      throw failed(attempts[0], cause);
    } catch (RuntimeException e) {
      throw failed(attempts[0], e);
    }
    stats.paid.incrementAndGet();
    stats.cost.add(a.cost());
    CachedAnswer stored =
        new CachedAnswer(
            key,
            canonical,
            ContentCodec.wrap(a.raw(), a.content()),
            a.promptTokens(),
            a.completionTokens(),
            a.cost(),
            a.latencyMillis(),
            a.attempts(),
            Instant.now());
    try {
      cache.put(stored);
    } catch (IOException e) {
      stats.storeFailures.incrementAndGet();
      events.emit(EventType.WARNING, -1, "a paid answer could not be cached: " + e.getMessage());
    }
    return a;
  }

  private CallFailedException failed(int attempts, Throwable cause) {
    stats.failedCalls.incrementAndGet();
    String why = cause.getMessage() == null ? cause.toString() : cause.getMessage();
    String message =
        cause instanceof HttpStatusException h && !h.retryable()
            ? "the API refused the request (" + why + "); not retried"
            : "the API call failed after "
                + attempts
                + " attempt"
                + (attempts == 1 ? "" : "s")
                + ": "
                + why;
    ObjectNode f = JsonNodeFactory.instance.objectNode();
    f.put("attempts", attempts);
    f.put("error", why);
    events.emit(EventType.API_CALL_FAILED, -1, message, f);
    return new CallFailedException(message, cause);
  }

  private static Answer await(CompletableFuture<Answer> f) throws IOException {
    try {
      return f.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CallFailedException("interrupted while waiting for the same request", e);
    } catch (ExecutionException e) {
      Throwable c = e.getCause();
      if (c instanceof IOException io) {
        throw io;
      }
      throw new CallFailedException(String.valueOf(c), c);
    }
  }
}

package dev.cairn.cache;

import java.time.Instant;

/**
 * One stored answer: what was asked (canonical JSON), what came back, and what it cost.
 *
 * @param key SHA-256 (hex) of the canonical request
 * @param latencyMillis time of the successful attempt
 * @param attempts attempts it took (1 when the first succeeded)
 */
public record CachedAnswer(
    String key,
    String request,
    String response,
    long promptTokens,
    long completionTokens,
    double cost,
    long latencyMillis,
    int attempts,
    Instant createdAt) {}

package dev.cairn.cache;

/**
 * What a call returned.
 *
 * @param content the answer (for chat completions, the message text)
 * @param raw the full response as received (JSON text)
 * @param cost in the price table's currency; 0 without a price
 * @param attempts attempts the paid call took; 0 when answered from the cache
 * @param fromCache answered from the cache (nothing paid)
 */
public record Answer(
    String content,
    String raw,
    long promptTokens,
    long completionTokens,
    double cost,
    long latencyMillis,
    int attempts,
    boolean fromCache) {}

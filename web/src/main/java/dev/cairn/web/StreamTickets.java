package dev.cairn.web;

import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Single-use tickets for the event stream. A browser's EventSource cannot send an Authorization
 * header, and the token must not travel in a URL or a cookie (a cookie for 127.0.0.1 goes to every
 * local server, whatever its port). So the page, holding the token, asks for a ticket with an
 * authenticated POST and opens the stream with {@code ?ticket=}: a ticket opens one stream, within
 * {@link #LIFETIME} of being issued, and is worth nothing after that. At most {@link #MAX_LIVE} are
 * outstanding; issuing one more forgets the oldest, so memory stays bounded whoever asks.
 */
final class StreamTickets {
  /** How long a ticket may wait before it opens a stream. */
  static final Duration LIFETIME = Duration.ofSeconds(30);

  /** Tickets outstanding at once. */
  static final int MAX_LIVE = 64;

  private static final SecureRandom RANDOM = new SecureRandom();

  private final Clock clock;
  // Insertion order is issue order, so the eldest entry is the oldest ticket.
  private final Map<String, Long> expiries = new LinkedHashMap<>();

  StreamTickets(Clock clock) {
    this.clock = clock;
  }

  /** A new ticket (128 random bits as hex), valid once for {@link #LIFETIME}. */
  synchronized String issue() {
    forgetExpired();
    while (expiries.size() >= MAX_LIVE) {
      Iterator<String> oldest = expiries.keySet().iterator();
      oldest.next();
      oldest.remove();
    }
    byte[] raw = new byte[16];
    RANDOM.nextBytes(raw);
    String ticket = HexFormat.of().formatHex(raw);
    expiries.put(ticket, clock.millis() + LIFETIME.toMillis());
    return ticket;
  }

  /** True, once, for a ticket issued here and not yet expired; it is spent either way. */
  synchronized boolean redeem(String ticket) {
    forgetExpired();
    return ticket != null && expiries.remove(ticket) != null;
  }

  /** Tickets outstanding (for tests). */
  synchronized int live() {
    forgetExpired();
    return expiries.size();
  }

  private void forgetExpired() {
    long now = clock.millis();
    expiries.values().removeIf(expiry -> expiry <= now);
  }
}

package dev.cairn.web;

import io.javalin.http.Context;
import io.javalin.http.HandlerType;
import java.util.Locale;
import java.util.Set;

/**
 * The checks every request passes before any handler runs, in this order: the Host header names
 * this server (a page on another site reaching 127.0.0.1 through DNS rebinding carries its own
 * name); a state change carries this server's own Origin (cross-site forms and fetches do not);
 * and, except for the page's own files, a credential: the token in {@code Authorization: Bearer},
 * or on an event stream a single-use ticket ({@link StreamTickets}).
 *
 * <p>No cookie is ever set. Cookies are scoped to a host, not a port, so a cookie of this server
 * would also be sent to every other server on 127.0.0.1 (and a second dashboard on another port
 * would overwrite it). The page instead reads the token from the URL's fragment (never sent to any
 * server), keeps it in sessionStorage, which belongs to this origin (scheme, host and port) alone,
 * and sends it as a header. A cookie left by an older version is expired on sight.
 */
final class Guard {
  /** The cookie older versions set; only ever cleared now. */
  static final String OLD_COOKIE = "cairn_token";

  private static final Set<String> PUBLIC = Set.of("/", "/favicon.ico");

  private final AccessToken token;
  private final StreamTickets tickets;

  /** Accepted Host values, lower case with the port; empty (refuse all) until the port is known. */
  private volatile Set<String> hosts = Set.of();

  Guard(AccessToken token, StreamTickets tickets) {
    this.token = token;
    this.tickets = tickets;
  }

  /** The Host values to accept, lower case with the port, once the server knows its port. */
  void accept(Set<String> hostsWithPort) {
    this.hosts = new java.util.LinkedHashSet<>(hostsWithPort);
  }

  void check(Context ctx) {
    headers(ctx);
    if (ctx.cookie(OLD_COOKIE) != null) {
      ctx.header("Set-Cookie", OLD_COOKIE + "=; Max-Age=0; Path=/; HttpOnly; SameSite=Strict");
    }
    String host = ctx.header("Host");
    Set<String> hosts = this.hosts;
    if (host == null || !hosts.contains(host.toLowerCase(Locale.ROOT))) {
      throw new ApiError(
          403,
          "request refused: Host '"
              + RunCatalog.printable(host)
              + "' is not this dashboard; open it as "
              + (hosts.isEmpty() ? "the printed URL" : "http://" + hosts.iterator().next() + "/"));
    }
    boolean read = ctx.method() == HandlerType.GET || ctx.method() == HandlerType.HEAD;
    if (!read) {
      String origin = ctx.header("Origin");
      if (origin == null || !origin.equalsIgnoreCase("http://" + host)) {
        throw new ApiError(
            403,
            "request refused: a "
                + ctx.method()
                + " needs the Origin header http://"
                + host
                + (origin == null
                    ? " (it had none)"
                    : ", not '" + RunCatalog.printable(origin) + "'"));
      }
    }
    String path = ctx.path();
    if (read && isPageFile(path)) {
      return; // the page's own code and styles: no data, and a browser cannot add a header here
    }
    String ticket = ctx.queryParam("ticket");
    if (read && ticket != null && isEventStream(path)) {
      if (!tickets.redeem(ticket)) {
        throw new ApiError(
            401,
            "stream ticket unknown, used or expired: get a new one with POST /api/stream-tickets");
      }
      return;
    }
    String bearer = bearer(ctx.header("Authorization"));
    if (bearer == null) {
      throw new ApiError(
          401,
          "no token: open the URL the server printed (it ends with #token=...), or send"
              + " 'Authorization: Bearer <token>' with the token from the dashboard's token file");
    }
    if (!token.matches(bearer)) {
      throw new ApiError(401, "wrong token: use the one the server printed");
    }
  }

  private static boolean isPageFile(String path) {
    return PUBLIC.contains(path) || (path.startsWith("/static/") && path.indexOf('/', 8) < 0);
  }

  private static boolean isEventStream(String path) {
    return path.startsWith("/api/runs/")
        && path.endsWith("/events")
        && path.indexOf('/', "/api/runs/".length()) == path.length() - "/events".length();
  }

  private static String bearer(String header) {
    if (header == null) {
      return null;
    }
    String h = header.trim();
    return h.regionMatches(true, 0, "Bearer ", 0, 7) ? h.substring(7).trim() : "";
  }

  /** Headers on every answer, refusals included. */
  static void headers(Context ctx) {
    ctx.header("X-Content-Type-Options", "nosniff");
    ctx.header("X-Frame-Options", "DENY");
    ctx.header("Referrer-Policy", "no-referrer");
    ctx.header("Cache-Control", "no-store");
    ctx.header(
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self'"
            + " data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action"
            + " 'self'");
  }
}

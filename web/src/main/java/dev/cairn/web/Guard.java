package dev.cairn.web;

import io.javalin.http.Context;
import io.javalin.http.HandlerType;
import java.util.Locale;
import java.util.Set;

/**
 * The checks every request passes before any handler runs, in this order: the Host header names
 * this server (a page on another site reaching 127.0.0.1 through DNS rebinding carries its own
 * name); a state change carries this server's own Origin (cross-site forms and fetches do not); and
 * the token, from {@code Authorization: Bearer}, from the cookie, or once from {@code ?token=} on a
 * GET, which is swapped for an HttpOnly, SameSite=Strict cookie and a redirect that drops it from
 * the address bar.
 */
final class Guard {
  static final String COOKIE = "cairn_token";

  private final AccessToken token;

  /** Accepted Host values, lower case with the port; empty (refuse all) until the port is known. */
  private volatile Set<String> hosts = Set.of();

  Guard(AccessToken token) {
    this.token = token;
  }

  /** The Host values to accept, lower case with the port, once the server knows its port. */
  void accept(Set<String> hostsWithPort) {
    this.hosts = new java.util.LinkedHashSet<>(hostsWithPort);
  }

  void check(Context ctx) {
    headers(ctx);
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
    String query = ctx.queryParam("token");
    if (read && query != null) {
      if (!token.matches(query)) {
        throw new ApiError(401, "wrong token in the URL: use the URL the server printed");
      }
      ctx.header(
          "Set-Cookie", COOKIE + "=" + token.value() + "; Path=/; HttpOnly; SameSite=Strict");
      ctx.redirect(ctx.path(), io.javalin.http.HttpStatus.SEE_OTHER);
      ctx.skipRemainingHandlers();
      return;
    }
    String bearer = bearer(ctx.header("Authorization"));
    String presented = bearer != null ? bearer : ctx.cookie(COOKIE);
    if (presented == null) {
      throw new ApiError(
          401,
          "no token: open the URL with ?token= that the server printed, or send 'Authorization:"
              + " Bearer <token>' (the token is in "
              + token.file()
              + ")");
    }
    if (!token.matches(presented)) {
      throw new ApiError(401, "wrong token: use the one in " + token.file());
    }
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

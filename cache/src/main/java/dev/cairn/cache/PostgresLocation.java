package dev.cairn.cache;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Properties;

/**
 * A PostgreSQL cache location as a user writes it, {@code postgresql://user:pass@host:port/db?…}
 * (libpq's form; also {@code postgres://} and {@code jdbc:postgresql://}), turned into what pgjdbc
 * takes: a JDBC URL without credentials, and the user and password as properties. A password not in
 * the URI comes from PGPASSWORD, else pgjdbc reads ~/.pgpass (or PGPASSFILE); a user not in the URI
 * from PGUSER, else pgjdbc's default (the system user).
 *
 * @param jdbcUrl {@code jdbc:postgresql://hosts/db?params}, no credentials
 * @param display the location for messages: the URI without its password
 */
record PostgresLocation(
    String jdbcUrl, String display, String hosts, String database, String user, String password) {

  private static final String FORM = "postgresql://user:password@host:5432/database";

  static boolean isPostgres(String location) {
    return location != null
        && (location.startsWith("postgresql://")
            || location.startsWith("postgres://")
            || location.startsWith("jdbc:postgresql:"));
  }

  /**
   * @throws IllegalArgumentException not a PostgreSQL URI with a host and a database
   */
  static PostgresLocation parse(String uri) {
    String rest = uri.substring(uri.indexOf("//") < 0 ? uri.length() : uri.indexOf("//") + 2);
    if (!uri.startsWith("jdbc:postgresql://") && uri.startsWith("jdbc:")) {
      throw bad(uri, "write jdbc:postgresql://host/database");
    }
    String query = "";
    int q = rest.indexOf('?');
    if (q >= 0) {
      query = rest.substring(q + 1);
      rest = rest.substring(0, q);
    }
    int slash = rest.indexOf('/');
    String authority = slash < 0 ? rest : rest.substring(0, slash);
    String database = slash < 0 ? "" : decode(uri, rest.substring(slash + 1));
    String user = null;
    String password = null;
    int at = authority.lastIndexOf('@');
    if (at >= 0) {
      String info = authority.substring(0, at);
      authority = authority.substring(at + 1);
      int colon = info.indexOf(':');
      user = decode(uri, colon < 0 ? info : info.substring(0, colon));
      password = colon < 0 ? null : decode(uri, info.substring(colon + 1));
    }
    if (authority.isEmpty()) {
      throw bad(uri, "name the server, like " + FORM);
    }
    if (database.isEmpty() || database.contains("/")) {
      throw bad(uri, "name one database after the server, like " + FORM);
    }
    if (!authority.matches("[A-Za-z0-9.\\-_:\\[\\],%]+")) {
      throw bad(uri, "'" + authority + "' is not host:port");
    }
    StringBuilder params = new StringBuilder();
    for (String p : query.split("&")) {
      if (p.isEmpty()) {
        continue;
      }
      String name = decode(uri, p.contains("=") ? p.substring(0, p.indexOf('=')) : p);
      String value = p.contains("=") ? decode(uri, p.substring(p.indexOf('=') + 1)) : "";
      if (name.equals("user")) {
        user = value;
      } else if (name.equals("password")) {
        password = value;
      } else {
        params.append(params.length() == 0 ? '?' : '&').append(p);
      }
    }
    if (user == null || user.isEmpty()) {
      user = System.getenv("PGUSER");
    }
    if (password == null) {
      password = System.getenv("PGPASSWORD");
    }
    String db = encode(database);
    String jdbc = "jdbc:postgresql://" + authority + "/" + db + params;
    String display =
        "postgresql://" + (user == null ? "" : user + "@") + authority + "/" + database + params;
    return new PostgresLocation(jdbc, display, authority, database, user, password);
  }

  /** What pgjdbc takes besides the URL: the credentials, and short timeouts to fail fast. */
  Properties properties() {
    Properties p = new Properties();
    if (user != null && !user.isEmpty()) {
      p.setProperty("user", user);
    }
    if (password != null) {
      p.setProperty("password", password);
    }
    p.setProperty("connectTimeout", "10");
    p.setProperty("ApplicationName", "cairn-cache");
    return p;
  }

  /** The user for messages: the given one, or what pgjdbc falls back to. */
  String userName() {
    return user != null && !user.isEmpty() ? user : System.getProperty("user.name", "?");
  }

  @Override
  public String toString() {
    return display; // never the password
  }

  private static String decode(String uri, String s) {
    try {
      return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw bad(uri, "a %-escape is malformed");
    }
  }

  private static String encode(String s) {
    return java.net.URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
  }

  private static IllegalArgumentException bad(String uri, String fix) {
    return new IllegalArgumentException(
        "response cache " + redact(uri) + " is not a PostgreSQL URI: " + fix);
  }

  /** The URI with anything between "//" and "@" after a colon hidden. */
  private static String redact(String uri) {
    return uri.replaceFirst("//([^/@:]*):[^/@]*@", "//$1:***@");
  }
}

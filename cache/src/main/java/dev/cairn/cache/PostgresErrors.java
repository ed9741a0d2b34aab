package dev.cairn.cache;

import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.sql.SQLException;

/** PostgreSQL's errors as one line each: what is wrong with the cache's database, what to do. */
final class PostgresErrors {
  private PostgresErrors() {}

  static CacheFileException translate(PostgresLocation where, SQLException e) {
    String state = e.getSQLState() == null ? "" : e.getSQLState();
    String server = firstLine(e.getMessage());
    String what;
    if (state.equals("28P01") || state.equals("28000")) {
      what =
          "PostgreSQL refused user '"
              + where.userName()
              + "' ("
              + server
              + "); check the user and password (in the URI, PGPASSWORD or ~/.pgpass)";
    } else if (state.equals("3D000")) {
      what =
          "database '"
              + where.database()
              + "' does not exist on "
              + where.hosts()
              + "; create it (createdb "
              + where.database()
              + ") or name another";
    } else if (state.equals("42501")) {
      what =
          "user '"
              + where.userName()
              + "' may not use the cache's tables ("
              + server
              + "); grant it CREATE on the schema (or let the database's owner open the cache once)"
              + " and SELECT, INSERT, UPDATE, DELETE on the cairn_ tables";
    } else if (state.equals("3F000")) {
      what = "the schema to create the tables in does not exist (" + server + "); create it";
    } else if (state.startsWith("08") || state.isEmpty() && causedBy(e, ConnectException.class)) {
      what = unreachable(where, e, server);
    } else if (state.startsWith("53")) {
      what = "the server is out of resources (" + server + "); ask its administrator";
    } else if (state.startsWith("57P")) {
      what = "the server is shutting down or restarting (" + server + "); try again";
    } else {
      what = "failed: " + server + (state.isEmpty() ? "" : " (SQLSTATE " + state + ")");
    }
    return new CacheFileException("response cache " + where + ": " + what, e);
  }

  private static String unreachable(PostgresLocation where, SQLException e, String server) {
    if (causedBy(e, UnknownHostException.class)) {
      return "unknown host in '" + where.hosts() + "'; check the host name";
    }
    if (causedBy(e, ConnectException.class) || causedBy(e, NoRouteToHostException.class)) {
      return "cannot reach PostgreSQL at "
          + where.hosts()
          + " (connection refused); check the host and port, and that the server is running";
    }
    if (causedBy(e, SocketTimeoutException.class)) {
      return "PostgreSQL at " + where.hosts() + " did not answer in time; check the host and port";
    }
    return "lost or could not open the connection to " + where.hosts() + " (" + server + ")";
  }

  private static boolean causedBy(Throwable e, Class<? extends Throwable> type) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (type.isInstance(t)) {
        return true;
      }
    }
    return false;
  }

  private static String firstLine(String m) {
    if (m == null) {
      return "no message";
    }
    int nl = m.indexOf('\n');
    return (nl < 0 ? m : m.substring(0, nl)).strip();
  }
}

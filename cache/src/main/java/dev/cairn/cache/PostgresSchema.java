package dev.cairn.cache;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * The cache's tables in PostgreSQL, created when absent and checked when present. All are named
 * {@code cairn_…} so that the cache can live in a database other programs use too; {@code
 * cairn_cache_meta} says who made them and at which schema version, and a database whose tables are
 * another program's, or a newer Cairn's, is refused without being changed.
 */
final class PostgresSchema {
  static final String APPLICATION = "cairn-response-cache";
  static final int VERSION = 1;

  // Any constant: several workers starting at once create the tables one after the other (a
  // concurrent CREATE TABLE IF NOT EXISTS can fail in PostgreSQL on its catalog's unique index).
  private static final long CREATE_LOCK = 0x43524E31_00000001L;

  private PostgresSchema() {}

  /** Creates or checks the tables, in one transaction. */
  static void prepare(Connection db, PostgresLocation where)
      throws SQLException, CacheFileException {
    db.setAutoCommit(false);
    try (Statement st = db.createStatement()) {
      st.execute("SELECT pg_advisory_xact_lock(" + CREATE_LOCK + ")");
      if (exists(db, "cairn_cache_meta")) {
        check(db, where);
      } else {
        for (String t : new String[] {"cairn_responses", "cairn_claims"}) {
          if (exists(db, t)) {
            throw new CacheFileException(
                "response cache "
                    + where
                    + ": table "
                    + t
                    + " exists but was not made by Cairn; use another database, or another"
                    + " schema (?currentSchema=NAME)",
                null);
          }
        }
        create(st);
      }
      db.commit();
    } catch (SQLException | CacheFileException e) {
      db.rollback();
      throw e;
    } finally {
      db.setAutoCommit(true);
    }
  }

  private static void create(Statement st) throws SQLException {
    st.executeUpdate("CREATE TABLE cairn_cache_meta (name text PRIMARY KEY, value text NOT NULL)");
    st.executeUpdate(
        "INSERT INTO cairn_cache_meta VALUES ('application', '"
            + APPLICATION
            + "'), ('schema', '"
            + VERSION
            + "')");
    st.executeUpdate(
        "CREATE TABLE cairn_responses ("
            + " key text PRIMARY KEY,"
            + " request text NOT NULL,"
            + " response text NOT NULL,"
            + " prompt_tokens bigint NOT NULL,"
            + " completion_tokens bigint NOT NULL,"
            + " cost double precision NOT NULL,"
            + " latency_ms bigint NOT NULL,"
            + " attempts integer NOT NULL,"
            + " created_at timestamptz NOT NULL)");
    // One row per request being paid for right now; deleted in the transaction that stores the
    // answer. previous_owner records a takeover.
    st.executeUpdate(
        "CREATE TABLE cairn_claims ("
            + " key text PRIMARY KEY,"
            + " owner text NOT NULL,"
            + " previous_owner text,"
            + " claimed_at timestamptz NOT NULL,"
            + " expires_at timestamptz NOT NULL)");
  }

  private static void check(Connection db, PostgresLocation where)
      throws SQLException, CacheFileException {
    String app = null;
    String version = null;
    try (Statement st = db.createStatement();
        ResultSet rs = st.executeQuery("SELECT name, value FROM cairn_cache_meta")) {
      while (rs.next()) {
        if ("application".equals(rs.getString(1))) {
          app = rs.getString(2);
        } else if ("schema".equals(rs.getString(1))) {
          version = rs.getString(2);
        }
      }
    }
    int v;
    try {
      v = Integer.parseInt(String.valueOf(version));
    } catch (NumberFormatException e) {
      v = -1;
    }
    if (!APPLICATION.equals(app) || v < 1) {
      throw new CacheFileException(
          "response cache "
              + where
              + ": table cairn_cache_meta was not made by Cairn's response cache; use another"
              + " database, or another schema (?currentSchema=NAME)",
          null);
    }
    if (v > VERSION) {
      throw new CacheFileException(
          "response cache "
              + where
              + " was made by a newer Cairn (schema "
              + v
              + "); upgrade Cairn",
          null);
    }
  }

  private static boolean exists(Connection db, String table) throws SQLException {
    try (PreparedStatement ps = db.prepareStatement("SELECT to_regclass(?) IS NOT NULL")) {
      ps.setString(1, table);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() && rs.getBoolean(1);
      }
    }
  }
}

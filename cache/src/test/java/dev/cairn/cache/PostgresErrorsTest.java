package dev.cairn.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Every way a PostgreSQL cache cannot be used is one line naming what is wrong and the fix. */
class PostgresErrorsTest {
  private static String failure(String uri) {
    try (ResponseCache c = ResponseCache.open(uri)) {
      throw new AssertionError("opened " + c.location());
    } catch (CacheFileException e) {
      assertThat(e.getMessage()).doesNotContain("\n").doesNotContain(TestPostgres.PASSWORD);
      return e.getMessage();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private static String base() {
    return "postgresql://" + TestPostgres.USER + ":" + TestPostgres.PASSWORD + "@127.0.0.1:";
  }

  @Test
  void anUnreachableServerIsNamedWithItsPort() throws Exception {
    int free;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      free = s.getLocalPort(); // nothing listens here once it is closed
    }
    assertThat(failure(base() + free + "/cache"))
        .isEqualTo(
            "response cache postgresql://cairn@127.0.0.1:"
                + free
                + "/cache: cannot reach PostgreSQL at 127.0.0.1:"
                + free
                + " (connection refused); check the host and port, and that the server is"
                + " running");
  }

  @Test
  void aWrongPasswordIsRefusedNamingTheUser() throws Exception {
    String db = TestPostgres.newDatabase();
    String uri = "postgresql://cairn:wrong@127.0.0.1:" + TestPostgres.port() + "/" + db;
    assertThat(failure(uri))
        .startsWith("response cache postgresql://cairn@127.0.0.1:")
        .contains("PostgreSQL refused user 'cairn' (")
        .contains("password authentication failed")
        .endsWith("check the user and password (in the URI, PGPASSWORD or ~/.pgpass)")
        .doesNotContain("wrong");
  }

  @Test
  void aMissingDatabaseIsNamedWithHowToCreateIt() throws Exception {
    TestPostgres.server();
    assertThat(failure(base() + TestPostgres.port() + "/nosuchdb"))
        .endsWith(
            ": database 'nosuchdb' does not exist on 127.0.0.1:"
                + TestPostgres.port()
                + "; create it (createdb nosuchdb) or name another");
  }

  @Test
  void aUserWhoMayNotCreateTheTablesIsToldWhatToGrant() throws Exception {
    String db = "locked_" + System.nanoTime();
    TestPostgres.superuser("CREATE DATABASE " + db);
    TestPostgres.superuserIn(db, "REVOKE CREATE ON SCHEMA public FROM PUBLIC");
    assertThat(failure(base() + TestPostgres.port() + "/" + db))
        .contains("user 'cairn' may not use the cache's tables (")
        .contains("permission denied for schema public")
        .contains("grant it CREATE on the schema");
  }

  @Test
  void tablesOfAnotherProgramOrANewerCairnAreRefusedAndLeftAlone() throws Exception {
    String foreign = TestPostgres.newDatabase();
    TestPostgres.superuserIn(foreign, "CREATE TABLE cairn_responses (id int)");
    assertThat(failure(TestPostgres.uri(foreign)))
        .endsWith(
            ": table cairn_responses exists but was not made by Cairn; use another database, or"
                + " another schema (?currentSchema=NAME)");
    TestPostgres.superuserIn(foreign, "SELECT id FROM cairn_responses"); // unchanged

    String newer = TestPostgres.newDatabase();
    ResponseCache.open(TestPostgres.uri(newer)).close();
    TestPostgres.superuserIn(
        newer, "UPDATE cairn_cache_meta SET value = '2' WHERE name = 'schema'");
    assertThat(failure(TestPostgres.uri(newer)))
        .endsWith(" was made by a newer Cairn (schema 2); upgrade Cairn");
  }

  @Test
  void malformedLocationsAreRefusedBeforeConnecting() {
    assertThatThrownBy(() -> ResponseCache.validate("postgresql://cairn:pw@127.0.0.1:5432"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "response cache postgresql://cairn:***@127.0.0.1:5432 is not a PostgreSQL URI: name"
                + " one database after the server, like"
                + " postgresql://user:password@host:5432/database");
    assertThatThrownBy(() -> ResponseCache.validate("postgresql:///db"))
        .hasMessageContaining("name the server");
    assertThatThrownBy(() -> ResponseCache.validate("postgresql://h o st/db"))
        .hasMessageContaining("'h o st' is not host:port");
    assertThatThrownBy(() -> ResponseCache.validate("jdbc:mysql://h/db"))
        .hasMessageStartingWith("response cache jdbc:mysql://… is not supported");
    assertThatThrownBy(() -> ResponseCache.validate("redis://h:6379/0"))
        .hasMessage(
            "response cache redis://… is not supported; give a file path or"
                + " postgresql://user@host:port/db");
    assertThatThrownBy(() -> ResponseCache.open("postgresql://h/db", Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("lease");
    ResponseCache.validate("cache/responses.db");
  }

  @Test
  void uriFormsBecomeOneJdbcUrlWithCredentialsApart() {
    PostgresLocation a =
        PostgresLocation.parse(
            "postgresql://u%40x:p%3Aw@db.example:6543/teach%20er?sslmode=require");
    assertThat(a.jdbcUrl())
        .isEqualTo("jdbc:postgresql://db.example:6543/teach%20er?sslmode=require");
    assertThat(a.user()).isEqualTo("u@x");
    assertThat(a.password()).isEqualTo("p:w");
    assertThat(a.toString()).isEqualTo("postgresql://u@x@db.example:6543/teach er?sslmode=require");
    PostgresLocation b =
        PostgresLocation.parse("jdbc:postgresql://h1:5432,h2:5433/db?user=u&password=pw&ssl=true");
    assertThat(b.jdbcUrl()).isEqualTo("jdbc:postgresql://h1:5432,h2:5433/db?ssl=true");
    assertThat(b.user()).isEqualTo("u");
    assertThat(b.password()).isEqualTo("pw");
    assertThat(b.properties().getProperty("password")).isEqualTo("pw");
    assertThat(PostgresLocation.parse("postgres://h/db").jdbcUrl())
        .isEqualTo("jdbc:postgresql://h/db");
  }
}

package dev.cairn.cache;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteErrorCode;
import org.sqlite.SQLiteException;

/**
 * The one-machine {@link ResponseCache}: an SQLite database (xerial sqlite-jdbc). Durability: WAL
 * journal with {@code synchronous=FULL}, so {@link #put} returns only after the answer's commit is
 * fsynced: an answer acknowledged to the caller survives a crash of the process or of the machine.
 * Several threads share one connection (SQLite runs one writer at a time anyway); several processes
 * may open the same file (WAL readers do not block the writer; a busy database is waited for up to
 * 30 s). Claims are not shared between processes: every claim is granted, and single flight is the
 * one {@link CachedCalls} keeps within its process.
 *
 * <p>Files are checked at open: a file that is not SQLite, an SQLite database of another program,
 * or a damaged one is refused with an {@link CacheFileException} saying what it is, and nothing is
 * written to it.
 */
final class SqliteCache extends ResponseCache {
  /** PRAGMA application_id of Cairn caches ("CRN1"). */
  static final int APPLICATION_ID = 0x43524E31;

  private static final int SCHEMA = 1;
  private static final byte[] SQLITE_MAGIC =
      "SQLite format 3\0".getBytes(StandardCharsets.US_ASCII);

  private final Path file;
  private final Connection db;
  // Reads use their own connection: in WAL mode they proceed while the writer waits for fsync.
  private final Connection reader;
  private final PreparedStatement select;
  private final PreparedStatement insert;

  private SqliteCache(Path file, Connection db, Connection reader) throws SQLException {
    this.file = file;
    this.db = db;
    this.reader = reader;
    this.select =
        reader.prepareStatement("SELECT " + AnswerRows.COLUMNS + " FROM responses WHERE key = ?");
    this.insert =
        db.prepareStatement(
            "INSERT OR IGNORE INTO responses (key, request, response, prompt_tokens,"
                + " completion_tokens, cost, latency_ms, attempts, created_at)"
                + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
  }

  /** Opens (creating when absent) the cache file. */
  static SqliteCache openFile(Path file) throws IOException {
    Path dir = file.toAbsolutePath().getParent();
    if (dir != null) {
      Files.createDirectories(dir);
    }
    checkHeader(file);
    // WAL and FULL sync are set after the checks: switching a foreign file to WAL would change it.
    SQLiteConfig config = new SQLiteConfig();
    config.setBusyTimeout(30_000);
    Connection db = null;
    Connection reader = null;
    String url = "jdbc:sqlite:" + file.toAbsolutePath();
    try {
      db = DriverManager.getConnection(url, config.toProperties());
      prepare(file, db);
      reader = DriverManager.getConnection(url, config.toProperties());
      return new SqliteCache(file, db, reader);
    } catch (SQLException e) {
      closeQuietly(reader);
      closeQuietly(db);
      throw translate(file, e);
    } catch (CacheFileException e) {
      closeQuietly(db);
      throw e;
    }
  }

  private static void checkHeader(Path file) throws IOException {
    if (!Files.isRegularFile(file) || Files.size(file) == 0) {
      return;
    }
    byte[] head = new byte[SQLITE_MAGIC.length];
    int n;
    try (InputStream in = Files.newInputStream(file)) {
      n = in.readNBytes(head, 0, head.length);
    }
    if (n < head.length || !java.util.Arrays.equals(head, SQLITE_MAGIC)) {
      throw new CacheFileException(
          file
              + " is not a response cache (not an SQLite database); move it away or give another"
              + " cache path",
          null);
    }
  }

  private static void prepare(Path file, Connection db) throws SQLException, CacheFileException {
    try (Statement st = db.createStatement()) {
      String check = single(st, "PRAGMA quick_check");
      if (!"ok".equals(check)) {
        throw new CacheFileException(
            file + " is damaged (SQLite quick_check: " + check + "); move it away", null);
      }
      int app = Integer.parseInt(single(st, "PRAGMA application_id"));
      List<String> tables = new ArrayList<>();
      try (ResultSet rs = st.executeQuery("SELECT name FROM sqlite_master WHERE type='table'")) {
        while (rs.next()) {
          tables.add(rs.getString(1));
        }
      }
      if (app != APPLICATION_ID && !tables.isEmpty()) {
        throw new CacheFileException(
            file
                + " is an SQLite database of another program (tables: "
                + String.join(", ", tables)
                + "), not a response cache; give another cache path",
            null);
      }
      single(st, "PRAGMA journal_mode = WAL");
      st.executeUpdate("PRAGMA synchronous = FULL");
      if (app == APPLICATION_ID) {
        int version = Integer.parseInt(single(st, "PRAGMA user_version"));
        if (version > SCHEMA) {
          throw new CacheFileException(
              file + " was written by a newer Cairn (schema " + version + "); upgrade Cairn", null);
        }
        return;
      }
      st.executeUpdate(
          "CREATE TABLE IF NOT EXISTS responses ("
              + " key TEXT PRIMARY KEY,"
              + " request TEXT NOT NULL,"
              + " response TEXT NOT NULL,"
              + " prompt_tokens INTEGER NOT NULL,"
              + " completion_tokens INTEGER NOT NULL,"
              + " cost REAL NOT NULL,"
              + " latency_ms INTEGER NOT NULL,"
              + " attempts INTEGER NOT NULL,"
              + " created_at TEXT NOT NULL)");
      st.executeUpdate("PRAGMA application_id = " + APPLICATION_ID);
      st.executeUpdate("PRAGMA user_version = " + SCHEMA);
    }
  }

  private static String single(Statement st, String sql) throws SQLException {
    try (ResultSet rs = st.executeQuery(sql)) {
      return rs.next() ? rs.getString(1) : "";
    }
  }

  @Override
  public String location() {
    return file.toString();
  }

  @Override
  public Optional<CachedAnswer> get(String key) throws IOException {
    synchronized (select) {
      return read(key);
    }
  }

  private Optional<CachedAnswer> read(String key) throws IOException {
    try {
      select.setString(1, key);
      try (ResultSet rs = select.executeQuery()) {
        if (!rs.next()) {
          return Optional.empty();
        }
        return Optional.of(AnswerRows.read(key, rs, Instant.parse(rs.getString(8))));
      }
    } catch (SQLException e) {
      throw translate(file, e);
    }
  }

  @Override
  synchronized boolean[] write(List<CachedAnswer> answers) throws CacheFileException {
    boolean[] stored = new boolean[answers.size()];
    // Explicit BEGIN/COMMIT statements (not the driver's auto-commit switch), so that an error
    // at commit, such as a full disk, is reported as itself.
    try (Statement st = db.createStatement()) {
      st.execute("BEGIN IMMEDIATE");
      try {
        for (int i = 0; i < stored.length; i++) {
          CachedAnswer a = answers.get(i);
          insert.setString(1, a.key());
          insert.setString(2, a.request());
          insert.setString(3, a.response());
          insert.setLong(4, a.promptTokens());
          insert.setLong(5, a.completionTokens());
          insert.setDouble(6, a.cost());
          insert.setLong(7, a.latencyMillis());
          insert.setInt(8, a.attempts());
          insert.setString(9, a.createdAt().toString());
          stored[i] = insert.executeUpdate() == 1;
        }
        st.execute("COMMIT");
      } catch (SQLException e) {
        try {
          st.execute("ROLLBACK");
        } catch (SQLException ignored) {
          // SQLite may have rolled back already (it does on a full disk)
        }
        throw e;
      }
    } catch (SQLException e) {
      throw translate(file, e);
    }
    return stored;
  }

  @Override
  Claim claim(String key) {
    return Claim.CLAIMED;
  }

  @Override
  void release(String key) {
    // nothing is held outside this process
  }

  @Override
  Duration lease() {
    return Duration.ZERO;
  }

  @Override
  public long size() throws IOException {
    synchronized (select) {
      return count();
    }
  }

  private long count() throws IOException {
    try (Statement st = reader.createStatement()) {
      return Long.parseLong(single(st, "SELECT count(*) FROM responses"));
    } catch (SQLException e) {
      throw translate(file, e);
    }
  }

  /** Limits the database to {@code pages} pages (tests simulate a full disk with it). */
  synchronized void maxPages(long pages) throws SQLException {
    try (Statement st = db.createStatement()) {
      st.execute("PRAGMA max_page_count = " + pages);
    }
  }

  static CacheFileException translate(Path file, SQLException e) {
    SQLiteErrorCode code = e instanceof SQLiteException s ? s.getResultCode() : null;
    String base = code == null ? "" : code.name();
    String what;
    if (base.startsWith("SQLITE_FULL")) {
      what = "is full (the disk, or the database's size limit); free space or give another path";
    } else if (base.startsWith("SQLITE_CORRUPT")) {
      what = "is damaged; move it away";
    } else if (base.startsWith("SQLITE_NOTADB")) {
      what = "is not an SQLite database; move it away or give another cache path";
    } else if (base.startsWith("SQLITE_BUSY") || base.startsWith("SQLITE_LOCKED")) {
      what = "stayed locked by another process for 30 s";
    } else if (base.startsWith("SQLITE_READONLY") || base.startsWith("SQLITE_CANTOPEN")) {
      what = "cannot be opened for writing (permissions?)";
    } else {
      what = "failed: " + e.getMessage();
    }
    return new CacheFileException("response cache " + file + " " + what, e);
  }

  private static void closeQuietly(Connection c) {
    if (c != null) {
      try {
        c.close();
      } catch (SQLException ignored) {
        // already failing; the first error is the one to report
      }
    }
  }

  @Override
  public synchronized void close() throws IOException {
    try {
      synchronized (select) {
        select.close();
        reader.close();
      }
      insert.close();
      db.close();
    } catch (SQLException e) {
      throw translate(file, e);
    }
  }
}

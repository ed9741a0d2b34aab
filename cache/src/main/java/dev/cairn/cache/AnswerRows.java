package dev.cairn.cache;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;

/** The row of a stored answer as both backends select it: the column list and its reading. */
final class AnswerRows {
  /** Selected in this order by {@link #read}. */
  static final String COLUMNS =
      "request, response, prompt_tokens, completion_tokens, cost, latency_ms, attempts, created_at";

  private AnswerRows() {}

  /**
   * The answer in the current row of a {@code SELECT COLUMNS}; {@code createdAt} is its last column
   * as the backend stores time (SQLite: ISO text, PostgreSQL: a timestamp).
   */
  static CachedAnswer read(String key, ResultSet rs, Instant createdAt) throws SQLException {
    return new CachedAnswer(
        key,
        rs.getString(1),
        rs.getString(2),
        rs.getLong(3),
        rs.getLong(4),
        rs.getDouble(5),
        rs.getLong(6),
        rs.getInt(7),
        createdAt);
  }
}

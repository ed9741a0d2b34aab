package dev.cairn.cli;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Durations as people write them on a command line: 500ms, 90s, 5m, 1h, 2d. */
final class Durations {
  private static final Pattern D = Pattern.compile("(\\d+)(ms|s|m|h|d)");

  private Durations() {}

  static Duration parse(String text) {
    Matcher m = D.matcher(text == null ? "" : text.trim());
    if (!m.matches()) {
      throw new IllegalArgumentException(
          "'" + text + "' is not a duration; write it like 90s, 5m or 1h");
    }
    long n = Long.parseLong(m.group(1));
    return switch (m.group(2)) {
      case "ms" -> Duration.ofMillis(n);
      case "s" -> Duration.ofSeconds(n);
      case "m" -> Duration.ofMinutes(n);
      case "h" -> Duration.ofHours(n);
      default -> Duration.ofDays(n);
    };
  }

  /** "3h 12m", "45 s", "-" for unknown. */
  static String human(double seconds) {
    if (!Double.isFinite(seconds)) {
      return "-";
    }
    long s = Math.round(seconds);
    if (s < 60) {
      return s + "s";
    }
    if (s < 3600) {
      return (s / 60) + "m" + (s % 60 > 0 ? " " + (s % 60) + "s" : "");
    }
    if (s < 86400) {
      return (s / 3600) + "h " + (s % 3600) / 60 + "m";
    }
    return (s / 86400) + "d " + (s % 86400) / 3600 + "h";
  }
}

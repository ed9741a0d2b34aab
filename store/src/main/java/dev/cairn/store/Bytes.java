package dev.cairn.store;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Byte counts as people write them: 512MiB, 2GiB, 1.5GB, 4096. */
public final class Bytes {
  private static final Pattern SIZE =
      Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*([KMGT]?i?B?)?", Pattern.CASE_INSENSITIVE);

  private Bytes() {}

  /** Binary units to one decimal: "1.5 GiB", "512 B". */
  public static String human(long bytes) {
    String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = bytes;
    int u = 0;
    while (Math.abs(v) >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    return u == 0 ? bytes + " B" : String.format(Locale.ROOT, "%.1f %s", v, units[u]);
  }

  /**
   * Parses "512MiB", "2GiB", "1GB" (decimal), "4096". IllegalArgumentException with an example when
   * the text is not a size.
   */
  public static long parse(String text) {
    Matcher m = SIZE.matcher(text == null ? "" : text.trim());
    if (!m.matches()) {
      throw new IllegalArgumentException(
          "'" + text + "' is not a size; write it like 512MiB, 2GiB or 1000000");
    }
    double n = Double.parseDouble(m.group(1));
    String unit = m.group(2) == null ? "" : m.group(2).toUpperCase(Locale.ROOT);
    boolean binary = unit.contains("I");
    long base = binary ? 1024 : 1000;
    int power = unit.isEmpty() ? 0 : "BKMGT".indexOf(unit.charAt(0));
    if (power < 0) {
      power = 0;
    }
    double value = n * Math.pow(base, power);
    if (value > Long.MAX_VALUE) {
      throw new IllegalArgumentException("'" + text + "' is too large");
    }
    return (long) value;
  }
}

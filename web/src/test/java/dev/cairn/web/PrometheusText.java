package dev.cairn.web;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A strict reader of the Prometheus text format 0.0.4, for tests: every sample must belong to a
 * family declared with # TYPE before it, names and label names must be valid, label values properly
 * quoted and escaped, values numbers; anything else throws.
 */
final class PrometheusText {
  record Sample(String name, Map<String, String> labels, double value) {}

  record Family(String name, String type, String help, List<Sample> samples) {}

  private static final Pattern NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
  private static final Pattern LABEL = Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*");

  private PrometheusText() {}

  static Map<String, Family> parse(String text) {
    Map<String, Family> families = new LinkedHashMap<>();
    Map<String, String> help = new LinkedHashMap<>();
    if (!text.endsWith("\n")) {
      throw new IllegalArgumentException("the exposition must end with a newline");
    }
    for (String line : text.split("\n")) {
      if (line.isEmpty()) {
        continue;
      }
      if (line.startsWith("# HELP ")) {
        String[] p = line.substring(7).split(" ", 2);
        requireName(p[0]);
        help.put(p[0], p.length > 1 ? p[1] : "");
      } else if (line.startsWith("# TYPE ")) {
        String[] p = line.substring(7).split(" ");
        requireName(p[0]);
        if (p.length != 2
            || !List.of("counter", "gauge", "histogram", "summary", "untyped").contains(p[1])) {
          throw new IllegalArgumentException("bad TYPE line: " + line);
        }
        if (families.containsKey(p[0])) {
          throw new IllegalArgumentException("family declared twice: " + p[0]);
        }
        families.put(p[0], new Family(p[0], p[1], help.get(p[0]), new ArrayList<>()));
      } else if (line.startsWith("#")) {
        continue; // a comment
      } else {
        Sample s = sample(line);
        Family f = familyOf(families, s.name());
        if (f == null) {
          throw new IllegalArgumentException("sample of an undeclared family: " + line);
        }
        f.samples().add(s);
      }
    }
    return families;
  }

  private static Family familyOf(Map<String, Family> families, String sample) {
    Family f = families.get(sample);
    // A counter may be declared with its _total name (what the Prometheus Java client writes).
    if (f != null
        && !f.type().equals("histogram")
        && (!f.type().equals("counter") || sample.endsWith("_total"))) {
      return f;
    }
    for (String suffix : List.of("_total", "_created", "_bucket", "_sum", "_count")) {
      if (sample.endsWith(suffix)) {
        Family g = families.get(sample.substring(0, sample.length() - suffix.length()));
        if (g != null) {
          boolean ok =
              g.type().equals("counter")
                  ? suffix.equals("_total") || suffix.equals("_created")
                  : g.type().equals("histogram") && !suffix.equals("_total");
          if (ok) {
            return g;
          }
        }
      }
    }
    return null;
  }

  private static Sample sample(String line) {
    Matcher m =
        Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(.*)\\})? (\\S+)( -?\\d+)?$").matcher(line);
    if (!m.matches()) {
      throw new IllegalArgumentException("not a sample line: " + line);
    }
    Map<String, String> labels = new LinkedHashMap<>();
    if (m.group(3) != null) {
      String body = m.group(3);
      int i = 0;
      while (i < body.length()) {
        int eq = body.indexOf('=', i);
        String name = body.substring(i, eq);
        if (!LABEL.matcher(name).matches()) {
          throw new IllegalArgumentException("bad label name '" + name + "' in " + line);
        }
        if (body.charAt(eq + 1) != '"') {
          throw new IllegalArgumentException("unquoted label value in " + line);
        }
        StringBuilder v = new StringBuilder();
        int j = eq + 2;
        for (; body.charAt(j) != '"'; j++) {
          char c = body.charAt(j);
          if (c == '\\') {
            char n = body.charAt(++j);
            v.append(n == 'n' ? '\n' : n);
          } else {
            v.append(c);
          }
        }
        labels.put(name, v.toString());
        i = j + 1;
        if (i < body.length()) {
          if (body.charAt(i) != ',') {
            throw new IllegalArgumentException("labels not separated by ',' in " + line);
          }
          i++;
        }
      }
    }
    return new Sample(m.group(1), labels, value(m.group(4), line));
  }

  private static double value(String v, String line) {
    switch (v) {
      case "+Inf":
        return Double.POSITIVE_INFINITY;
      case "-Inf":
        return Double.NEGATIVE_INFINITY;
      case "NaN":
        return Double.NaN;
      default:
        try {
          return Double.parseDouble(v);
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException("not a number: " + line, e);
        }
    }
  }

  private static void requireName(String n) {
    if (!NAME.matcher(n).matches()) {
      throw new IllegalArgumentException("bad metric name: " + n);
    }
  }
}

package dev.cairn.web;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.Properties;

/**
 * The page's files, read from the classpath once at startup into a fixed table: a request names an
 * entry of the table, never a file, so no path is ever built from a URL. uPlot comes from its
 * webjar (no CDN, nothing fetched at run time).
 */
final class Assets {
  record Asset(byte[] bytes, String contentType) {}

  private final Map<String, Asset> byName;

  private Assets(Map<String, Asset> byName) {
    this.byName = byName;
  }

  static Assets load() {
    String uplot = "META-INF/resources/webjars/uplot/" + uplotVersion() + "/dist/";
    String own = "dev/cairn/web/static/";
    return new Assets(
        Map.of(
            "index.html", new Asset(read(own + "index.html"), "text/html; charset=utf-8"),
            "app.js", new Asset(read(own + "app.js"), "text/javascript; charset=utf-8"),
            "app.css", new Asset(read(own + "app.css"), "text/css; charset=utf-8"),
            "favicon.ico", new Asset(read(own + "favicon.ico"), "image/x-icon"),
            "uPlot.js",
                new Asset(read(uplot + "uPlot.iife.min.js"), "text/javascript; charset=utf-8"),
            "uPlot.css", new Asset(read(uplot + "uPlot.min.css"), "text/css; charset=utf-8")));
  }

  /** The entry with this name, or null. */
  Asset get(String name) {
    return byName.get(name);
  }

  private static String uplotVersion() {
    Properties p = new Properties();
    try (InputStream in = resource("META-INF/maven/org.webjars.npm/uplot/pom.properties")) {
      p.load(in);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return p.getProperty("version");
  }

  private static byte[] read(String name) {
    try (InputStream in = resource(name)) {
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static InputStream resource(String name) throws IOException {
    InputStream in = Assets.class.getClassLoader().getResourceAsStream(name);
    if (in == null) {
      throw new IOException("missing from the build: " + name);
    }
    return in;
  }
}

package dev.cairn.web;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cairn.events.JsonLines;
import io.javalin.http.Context;
import java.io.IOException;
import java.time.Instant;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code GET /api/runs/{run}/system?max_points=N}: the run's system.jsonl (CPU, memory, disk, GPUs)
 * as one series per numeric key over time (unix seconds), each thinned to N points, and the newest
 * sample as it was written.
 */
final class SystemApi {
  private final RunCatalog catalog;

  SystemApi(RunCatalog catalog) {
    this.catalog = catalog;
  }

  void system(Context ctx) throws IOException {
    RunView run = catalog.resolve(ctx.pathParam("run"));
    int maxPoints = maxPoints(ctx.queryParam("max_points"));
    List<ObjectNode> samples = JsonLines.read(run.files().system()).records();
    double[] times = new double[samples.size()];
    Map<String, double[]> columns = new TreeMap<>();
    for (int i = 0; i < samples.size(); i++) {
      ObjectNode s = samples.get(i);
      times[i] = seconds(s.path("time").asText());
      for (Iterator<Map.Entry<String, JsonNode>> it = s.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        if (!e.getValue().isNumber() || e.getKey().equals("step")) {
          continue;
        }
        double[] col =
            columns.computeIfAbsent(
                e.getKey(),
                k -> {
                  double[] c = new double[samples.size()];
                  java.util.Arrays.fill(c, Double.NaN);
                  return c;
                });
        col[i] = e.getValue().asDouble();
      }
    }
    ObjectNode o = Json.MAPPER.createObjectNode();
    o.put("run", run.name());
    o.put("samples", samples.size());
    ObjectNode series = o.putObject("series");
    for (Map.Entry<String, double[]> c : columns.entrySet()) {
      int[] at = Downsampling.lttb(times, nanAsZero(c.getValue()), 0, times.length, maxPoints);
      ObjectNode s = series.putObject(c.getKey());
      s.set("times", Json.doubles(times, at));
      s.set("values", Json.doubles(c.getValue(), at));
    }
    if (samples.isEmpty()) {
      o.putNull("latest");
    } else {
      o.set("latest", samples.get(samples.size() - 1));
    }
    Api.send(ctx, 200, o);
  }

  /** LTTB needs numbers to compare; a missing value is drawn as a gap from the original column. */
  private static double[] nanAsZero(double[] v) {
    double[] out = v.clone();
    for (int i = 0; i < out.length; i++) {
      if (!Double.isFinite(out[i])) {
        out[i] = 0;
      }
    }
    return out;
  }

  private static double seconds(String iso) {
    try {
      return Instant.parse(iso).toEpochMilli() / 1000.0;
    } catch (RuntimeException e) {
      return Double.NaN;
    }
  }

  private static int maxPoints(String v) {
    if (v == null || v.isBlank()) {
      return Api.DEFAULT_POINTS;
    }
    try {
      int n = Integer.parseInt(v.trim());
      if (n >= 2 && n <= Api.MAX_POINTS) {
        return n;
      }
    } catch (NumberFormatException e) {
      // answered below
    }
    throw ApiError.badRequest("max_points must be between 2 and " + Api.MAX_POINTS);
  }
}

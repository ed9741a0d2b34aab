package dev.cairn.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cairn.run.Cairn;
import dev.cairn.run.Run;
import dev.cairn.run.RunOptions;
import dev.cairn.web.Dashboard;
import dev.cairn.web.Downsampling;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;

/**
 * The dashboard's metrics endpoint on a long run: a real run folder with {@code points} logged
 * steps (loss and lr), a real server, real HTTP requests for {@code max_points=2000}. Reports the
 * first (cold: the file is parsed) request, the median of warm requests with and without the moving
 * average, and, measured in the same run as the floor, the median time of one in-memory copy of the
 * series' arrays and of the downsampling alone.
 */
public final class DashboardBenchmark {
  /** Times in milliseconds. */
  public record Result(
      int points,
      int maxPoints,
      int returnedPoints,
      long responseBytes,
      double coldMillis,
      double warmMedianMillis,
      double warmSmoothMedianMillis,
      double lttbMedianMillis,
      double copyMedianMillis) {}

  private DashboardBenchmark() {}

  public static Result run(Path dir, int points, int requests) throws Exception {
    Files.createDirectories(dir);
    Path runs = Files.createTempDirectory(dir, "cairn-bench-dashboard-");
    Random noise = new Random(1);
    try (Run run = Cairn.open(runs, RunOptions.named("long").totalSteps(points))) {
      Map<String, Double> m = new HashMap<>();
      for (int s = 0; s < points; s++) {
        m.put("loss", 2.0 / (1 + s * 1e-4) + noise.nextGaussian() * 0.05);
        m.put("lr", 1e-3);
        run.log(s, m);
      }
      run.finish(Map.of());
    }
    ObjectMapper json = new ObjectMapper();
    int max = 2000;
    try (Dashboard d = Dashboard.builder(runs).port(0).start()) {
      String token = Files.readString(d.tokenFile()).trim();
      HttpClient http = HttpClient.newHttpClient();
      String base = "http://127.0.0.1:" + d.port() + "/api/runs/long/metrics?keys=loss&max_points=";
      long t0 = System.nanoTime();
      HttpResponse<String> first = get(http, base + max, token);
      double cold = (System.nanoTime() - t0) / 1e6;
      JsonNode body = json.readTree(first.body());
      int returned = body.path("series").path("loss").path("steps").size();
      int total = body.path("series").path("loss").path("total_points").asInt();
      if (total != points) {
        throw new IllegalStateException("the server saw " + total + " points, not " + points);
      }
      double[] warm = new double[requests];
      double[] smooth = new double[requests];
      for (int i = 0; i < requests; i++) {
        long a = System.nanoTime();
        get(http, base + max, token);
        warm[i] = (System.nanoTime() - a) / 1e6;
        long b = System.nanoTime();
        get(http, base + max + "&smooth=auto", token);
        smooth[i] = (System.nanoTime() - b) / 1e6;
      }
      // The floor, in this run: touching every point once (a copy), and the thinning alone.
      double[] xs = new double[points];
      double[] ys = new double[points];
      for (int i = 0; i < points; i++) {
        xs[i] = i;
        ys[i] = 2.0 / (1 + i * 1e-4) + noise.nextGaussian() * 0.05;
      }
      double[] copy = new double[requests];
      double[] lttb = new double[requests];
      long sink = 0;
      for (int i = 0; i < requests; i++) {
        long a = System.nanoTime();
        double[] cx = xs.clone();
        double[] cy = ys.clone();
        copy[i] = (System.nanoTime() - a) / 1e6;
        sink += (long) (cx[i] + cy[i]);
        long b = System.nanoTime();
        sink += Downsampling.lttb(xs, ys, 0, points, max).length;
        lttb[i] = (System.nanoTime() - b) / 1e6;
      }
      if (sink == Long.MIN_VALUE) {
        System.out.println(sink); // keeps the JIT from dropping the work
      }
      return new Result(
          points,
          max,
          returned,
          first.body().length(),
          cold,
          CacheBenchmark.median(warm),
          CacheBenchmark.median(smooth),
          CacheBenchmark.median(lttb),
          CacheBenchmark.median(copy));
    } finally {
      deleteTree(runs);
    }
  }

  private static HttpResponse<String> get(HttpClient http, String url, String token)
      throws IOException, InterruptedException {
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(URI.create(url))
                .header("Authorization", "Bearer " + token)
                .build(),
            HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 200) {
      throw new IOException("HTTP " + r.statusCode() + ": " + r.body());
    }
    return r;
  }

  private static void deleteTree(Path p) throws IOException {
    dev.cairn.store.Storage.at(p).deleteTree("");
  }
}

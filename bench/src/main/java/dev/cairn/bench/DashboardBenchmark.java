package dev.cairn.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.cairn.metrics.Durability;
import dev.cairn.metrics.MetricsLog;
import dev.cairn.metrics.OverflowPolicy;
import dev.cairn.run.Cairn;
import dev.cairn.run.Run;
import dev.cairn.run.RunFiles;
import dev.cairn.run.RunOptions;
import dev.cairn.web.Dashboard;
import dev.cairn.web.Downsampling;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The dashboard's metrics endpoint on a long run: a real run folder with {@code points} logged
 * steps (loss and lr), a real server, real HTTP requests for {@code max_points=2000}. Reports the
 * first (cold: the file is parsed) request, the median of warm requests with and without the moving
 * average, and, measured in the same run as the floor, the median time of one in-memory copy of the
 * series' arrays and of the downsampling alone. Also the first request to a server in a process of
 * its own started just before (a cold JVM, as after {@code cairn serve}), once with the run's
 * metrics.bin and once with metrics.jsonl alone (an old run).
 *
 * <p>A server keeps at most 2,000,000 points of a series at full resolution (and a budget for all
 * series) and averages neighbours beyond: past that, {@code heldPoints} is what it holds and
 * answers from, and the in-memory floor is measured on that many points.
 */
public final class DashboardBenchmark {
  /** Times in milliseconds. */
  public record Result(
      int points,
      int heldPoints,
      int maxPoints,
      int returnedPoints,
      long responseBytes,
      double coldMillis,
      double coldProcessMillis,
      double coldProcessLaunchMillis,
      double coldProcessJsonlMillis,
      long jsonlBytes,
      long sidecarBytes,
      double warmMedianMillis,
      double warmSmoothMedianMillis,
      double lttbMedianMillis,
      double copyMedianMillis) {}

  private DashboardBenchmark() {}

  public static Result run(Path dir, int points, int requests) throws Exception {
    Files.createDirectories(dir);
    Path runs = Files.createTempDirectory(dir, "cairn-bench-dashboard-");
    SplittableRandom noise = new SplittableRandom(1);
    // A fixture, not a job to keep through a power cut: the metrics writer does not fsync (at ten
    // million records, the default group commit's ten thousand fsyncs kept the logging loop
    // waiting for minutes); the files written are the same.
    RunOptions options =
        RunOptions.named("long")
            .totalSteps(points)
            .metrics(Durability.OS_BUFFERED, OverflowPolicy.BLOCK, 1 << 16);
    try (Run run = Cairn.open(runs, options)) {
      // The allocation-free call: ten million Map records would be garbage for nothing.
      MetricsLog metrics = run.metrics();
      for (int s = 0; s < points; s++) {
        double loss = 2.0 / (1 + s * 1e-4) + noise.nextGaussian() * 0.05;
        metrics.begin(s).put("loss", loss).put("lr", 1e-3).commit();
      }
      run.finish(Map.of());
    }
    ObjectMapper json = new ObjectMapper();
    int max = 2000;
    RunFiles files = new RunFiles(runs.resolve("long"));
    long jsonlBytes = Files.size(files.metrics());
    long sidecarBytes = Files.size(files.metricsSidecar());
    HttpClient client = HttpClient.newHttpClient();
    warmUp(client);
    double[] coldProcess = coldProcess(runs, client, max, points);
    Path aside = runs.resolve("metrics.bin.aside");
    Files.move(files.metricsSidecar(), aside);
    double coldProcessJsonl = coldProcess(runs, client, max, points)[0];
    Files.move(aside, files.metricsSidecar());
    try (Dashboard d = Dashboard.builder(runs).port(0).warmUp(true).start()) {
      String token = Files.readString(d.tokenFile()).trim();
      HttpClient http = HttpClient.newHttpClient();
      String base = "http://127.0.0.1:" + d.port() + "/api/runs/long/metrics?keys=loss&max_points=";
      long t0 = System.nanoTime();
      HttpResponse<String> first = get(http, base + max, token);
      double cold = (System.nanoTime() - t0) / 1e6;
      JsonNode body = json.readTree(first.body());
      int returned = body.path("series").path("loss").path("steps").size();
      int total = body.path("series").path("loss").path("total_points").asInt();
      checkHeld(total, points);
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
      double[] xs = new double[total];
      double[] ys = new double[total];
      for (int i = 0; i < total; i++) {
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
        sink += Downsampling.lttb(xs, ys, 0, total, max).length;
        lttb[i] = (System.nanoTime() - b) / 1e6;
      }
      if (sink == Long.MIN_VALUE) {
        System.out.println(sink); // keeps the JIT from dropping the work
      }
      return new Result(
          points,
          total,
          max,
          returned,
          first.body().length(),
          cold,
          coldProcess[0],
          coldProcess[1],
          coldProcessJsonl,
          jsonlBytes,
          sidecarBytes,
          CacheBenchmark.median(warm),
          CacheBenchmark.median(smooth),
          CacheBenchmark.median(lttb),
          CacheBenchmark.median(copy));
    } finally {
      deleteTree(runs);
    }
  }

  /**
   * The first request to a server process started just before: its JVM, the server and the run are
   * all cold, as when a dashboard is opened after {@code cairn serve}. Two times in milliseconds:
   * the request alone, sent once the server says it listens (the server may have begun reading the
   * newest run meanwhile: it starts that while Javalin starts), and from the process's launch to
   * the answer (the JVM's start, the server's and the request's).
   */
  private static double[] coldProcess(Path runs, HttpClient http, int max, int points)
      throws IOException, InterruptedException {
    try (DashboardProcess server = DashboardProcess.start(runs)) {
      String token = Files.readString(runs.resolve(".cairn").resolve("dashboard-token")).trim();
      String url =
          "http://127.0.0.1:"
              + server.port()
              + "/api/runs/long/metrics?keys=loss&max_points="
              + max;
      long t0 = System.nanoTime();
      HttpResponse<String> r = get(http, url, token);
      long done = System.nanoTime();
      JsonNode body = new ObjectMapper().readTree(r.body());
      checkHeld(body.path("series").path("loss").path("total_points").asInt(), points);
      return new double[] {(done - t0) / 1e6, (done - server.launchedNanos()) / 1e6};
    }
  }

  /**
   * Every logged point must be held up to a million points (well inside the server's limits);
   * beyond, the server may have averaged neighbours, but it must hold some and never more.
   */
  static void checkHeld(int held, int points) {
    boolean ok = points <= 1_000_000 ? held == points : held > 0 && held <= points;
    if (!ok) {
      throw new IllegalStateException(
          "the server holds " + held + " points of the " + points + " logged");
    }
  }

  /**
   * Makes this process's HTTP client warm, on a server of its own, so that only the server's cold
   * start is measured.
   */
  private static void warmUp(HttpClient http) throws IOException, InterruptedException {
    HttpServer local = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    local.createContext(
        "/",
        x -> {
          byte[] ok = "{}".getBytes(StandardCharsets.UTF_8);
          x.sendResponseHeaders(200, ok.length);
          x.getResponseBody().write(ok);
          x.close();
        });
    local.start();
    try {
      for (int i = 0; i < 20; i++) {
        get(http, "http://127.0.0.1:" + local.getAddress().getPort() + "/", "warm-up");
      }
    } finally {
      local.stop(0);
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

package dev.cairn.web;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cairn.metrics.MetricsFile;
import dev.cairn.metrics.PointBudget;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.Handler;
import java.io.Closeable;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The web dashboard over a folder of runs: REST API, server-sent events and the pages. It reads
 * only the run folders, so it shows any job (running or not, in this process or another) and asks
 * jobs to save through their control folders.
 *
 * <pre>{@code
 * try (Dashboard d = Dashboard.builder(Path.of("runs")).port(8765).start()) {
 *   System.out.println(d.url()); // http://127.0.0.1:8765/#token=...
 * }
 * }</pre>
 */
public final class Dashboard implements Closeable {
  private static final Logger LOG = LoggerFactory.getLogger(Dashboard.class);

  /** The port when none is given. */
  public static final int DEFAULT_PORT = 8765;

  private final Javalin app;
  private final AccessToken token;
  private final EventHub hub;
  private final CheckpointTable checkpoints;
  private final String host;
  private final int port;

  private Dashboard(Builder b) throws IOException {
    RunCatalog catalog =
        new RunCatalog(
            b.runs,
            new RunCatalog.Limits(
                b.maxPointsPerSeries, b.maxMetricNames, PointBudget.of(b.maxHeldPoints)));
    Path tokenFile =
        b.tokenFile != null
            ? b.tokenFile
            : catalog.root().resolve(".cairn").resolve("dashboard-token");
    try {
      this.token = AccessToken.loadOrCreate(tokenFile);
    } catch (IOException e) {
      throw new IllegalArgumentException(
          "cannot keep the dashboard token in "
              + tokenFile
              + " ("
              + e.getClass().getSimpleName()
              + ": "
              + e.getMessage()
              + "); give a writable file with --token-file",
          e);
    }
    if (b.warmUp) {
      WarmUp.start(catalog); // from here on, in parallel with Javalin's start
    }
    this.checkpoints = new CheckpointTable(b.remoteCheckpoints);
    this.hub = new EventHub(b.clock, b.pollMillis);
    Api api = new Api(catalog, checkpoints, b.clock);
    SystemApi systemApi = new SystemApi(catalog);
    PrometheusEndpoint prometheus = new PrometheusEndpoint(catalog, b.clock);
    StopApi stopApi = new StopApi(catalog, b.clock);
    Assets assets = Assets.load();
    StreamTickets tickets = new StreamTickets(b.clock);
    Guard guard = new Guard(token, tickets);
    try {
      this.app =
          Javalin.create(
              config -> {
                config.startup.showJavalinBanner = false;
                config.startup.showOldJavalinVersionWarning = false;
                config.jetty.host = b.host;
                config.jetty.port = b.port;
                config.jetty.modifyServer(server -> server.setErrorHandler(new JsonErrorHandler()));
                config.routes.before(guard::check);
                config.routes.before(
                    "/api/runs/{run}/events", ctx -> catalog.resolve(ctx.pathParam("run")));
                config.routes.get("/", ctx -> asset(ctx, assets, "index.html"));
                config.routes.get("/favicon.ico", ctx -> asset(ctx, assets, "favicon.ico"));
                config.routes.post(
                    "/api/stream-tickets",
                    ctx -> {
                      ObjectNode t = Json.MAPPER.createObjectNode();
                      t.put("ticket", tickets.issue());
                      t.put("expires_in_seconds", StreamTickets.LIFETIME.toSeconds());
                      Api.send(ctx, 201, t);
                    });
                config.routes.get(
                    "/static/{file}", ctx -> asset(ctx, assets, ctx.pathParam("file")));
                config.routes.get("/api/runs", safe(api::runs));
                config.routes.get("/api/runs/{run}", safe(api::run));
                config.routes.get("/api/runs/{run}/metrics", safe(api::metrics));
                config.routes.get("/api/runs/{run}/checkpoints", safe(api::checkpoints));
                config.routes.get("/api/runs/{run}/system", safe(systemApi::system));
                config.routes.get("/metrics", safe(prometheus::scrape));
                config.routes.post(
                    "/api/runs/{run}/checkpoints", controls(b.readOnly, safe(api::save)));
                config.routes.post(
                    "/api/runs/{run}/stop", controls(b.readOnly, safe(stopApi::stop)));
                config.routes.post(
                    "/api/runs/{run}/checkpoints/{ckpt}/pin",
                    controls(b.readOnly, safe(ctx -> api.pin(ctx, true))));
                config.routes.post(
                    "/api/runs/{run}/checkpoints/{ckpt}/unpin",
                    controls(b.readOnly, safe(ctx -> api.pin(ctx, false))));
                config.routes.sse(
                    "/api/runs/{run}/events",
                    client ->
                        hub.subscribe(catalog.resolve(client.ctx().pathParam("run")), client));
                config.routes.exception(
                    ApiError.class, (e, ctx) -> error(ctx, e.status(), e.getMessage()));
                config.routes.exception(
                    Exception.class,
                    (e, ctx) -> {
                      ApiError answer = Failures.answer(e, ctx.pathParamMap().get("run"));
                      if (answer.status() >= 500) {
                        LOG.warn("{} {} failed", ctx.method(), ctx.path(), e);
                      }
                      error(ctx, answer.status(), answer.getMessage());
                    });
                // Whatever else Javalin or Jetty answers with (404, 405, ...) is JSON too.
                for (int status : Failures.STATUSES) {
                  config.routes.error(
                      status,
                      ctx -> {
                        String type = ctx.res().getContentType();
                        if (type == null || !type.startsWith("application/json")) {
                          error(ctx, status, Failures.sentence(status, ctx));
                        }
                      });
                }
              });
      app.start();
    } catch (RuntimeException e) {
      hub.close();
      checkpoints.close();
      if (e.getClass().getSimpleName().contains("Bind") || e.getCause() instanceof IOException) {
        throw new IllegalArgumentException(
            "cannot listen on "
                + b.host
                + ":"
                + b.port
                + " ("
                + e.getMessage()
                + "): choose another port with --port");
      }
      throw e;
    }
    this.host = b.host;
    this.port = app.port();
    Set<String> hosts = new LinkedHashSet<>();
    for (String h : java.util.List.of("127.0.0.1", "localhost", "[::1]")) {
      hosts.add(h + ":" + port);
    }
    if (!b.host.equals("0.0.0.0") && !b.host.equals("::")) {
      String h = b.host.toLowerCase(Locale.ROOT);
      hosts.add((h.contains(":") ? "[" + h + "]" : h) + ":" + port);
    }
    if (!isLoopback(b.host)) {
      try {
        hosts.add(InetAddress.getLocalHost().getHostName().toLowerCase(Locale.ROOT) + ":" + port);
      } catch (UnknownHostException e) {
        LOG.debug("no local host name: {}", e.toString());
      }
    }
    guard.accept(hosts);
  }

  public static Builder builder(Path runs) {
    return new Builder(runs);
  }

  /**
   * The URL to open, with the token in its fragment: a browser never sends a fragment to any
   * server; the page moves it into this origin's sessionStorage and out of the address bar.
   */
  public String url() {
    String h =
        host.equals("0.0.0.0") || host.equals("::") || host.equals("localhost")
            ? "127.0.0.1"
            : host.contains(":") ? "[" + host + "]" : host;
    return "http://" + h + ":" + port + "/#token=" + token.value();
  }

  public int port() {
    return port;
  }

  /** Where the token is kept (owner-only). */
  public Path tokenFile() {
    return token.file();
  }

  /** Whether the server listens on a loopback address only. */
  public boolean loopbackOnly() {
    return isLoopback(host);
  }

  static boolean isLoopback(String host) {
    try {
      return InetAddress.getByName(host).isLoopbackAddress();
    } catch (UnknownHostException e) {
      return false;
    }
  }

  /**
   * A handler that answers JSON even when the JVM runs short of memory or stack: the allocation
   * that failed is gone, and the training job this server may live in goes on.
   */
  /** A control (save, stop, pin) unless the dashboard is read-only; then a 409 saying why. */
  private static Handler controls(String readOnly, Handler h) {
    if (readOnly == null) {
      return h;
    }
    return ctx -> {
      throw new ApiError(409, readOnly);
    };
  }

  static Handler safe(Handler h) {
    return ctx -> {
      try {
        h.handle(ctx);
      } catch (OutOfMemoryError | StackOverflowError e) {
        LOG.warn("a dashboard request ran short of memory or stack; answered 503", e);
        throw new ApiError(
            503,
            "the dashboard ran short of memory answering this and gave up on it; ask for fewer"
                + " points or metrics, or give the server more heap (-Xmx)");
      }
    };
  }

  private static void asset(Context ctx, Assets assets, String name) {
    Assets.Asset a = assets.get(name);
    if (a == null) {
      throw ApiError.notFound("no such file: " + RunCatalog.printable(name));
    }
    ctx.contentType(a.contentType());
    ctx.result(a.bytes());
  }

  private static void error(Context ctx, int status, String message) {
    Guard.headers(ctx);
    ObjectNode o = Json.MAPPER.createObjectNode();
    o.put("error", message);
    o.put("status", status);
    ctx.status(status);
    ctx.contentType("application/json");
    ctx.result(o.toString());
  }

  @Override
  public void close() {
    hub.close();
    checkpoints.close();
    app.stop();
  }

  /** The storage holding one remote run's checkpoints, by the run's folder name. */
  @FunctionalInterface
  public interface RemoteCheckpoints {
    dev.cairn.store.Storage checkpointsOf(String run) throws IOException;
  }

  /** Where and how to serve; every setter validates its value. */
  public static final class Builder {
    private final Path runs;
    private String host = "127.0.0.1";
    private int port = DEFAULT_PORT;
    private Path tokenFile;
    private Clock clock = Clock.systemUTC();
    private long pollMillis = 250;
    private int maxPointsPerSeries = 2_000_000;
    private int maxMetricNames = MetricsFile.DEFAULT_MAX_METRICS;
    private long maxHeldPoints = defaultHeldPoints();
    private String readOnly;
    private RemoteCheckpoints remoteCheckpoints;
    private boolean warmUp;

    private Builder(Path runs) {
      if (runs == null) {
        throw new IllegalArgumentException("runs folder must not be null");
      }
      this.runs = runs;
    }

    /** Address to listen on; anything but loopback exposes the runs to the network. */
    public Builder host(String host) {
      if (host == null || host.isBlank()) {
        throw new IllegalArgumentException("host must not be empty");
      }
      this.host = host.trim();
      return this;
    }

    /** Port, 0 for any free one. */
    public Builder port(int port) {
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("port must be 0 to 65535, not " + port);
      }
      this.port = port;
      return this;
    }

    /** Token file (default: RUNS/.cairn/dashboard-token). */
    public Builder tokenFile(Path file) {
      this.tokenFile = file;
      return this;
    }

    public Builder clock(Clock clock) {
      if (clock == null) {
        throw new IllegalArgumentException("clock must not be null");
      }
      this.clock = clock;
      return this;
    }

    /** How often watched runs' files are looked at for the event stream (default 250 ms). */
    public Builder pollInterval(long millis) {
      if (millis < 10) {
        throw new IllegalArgumentException("poll interval must be at least 10 ms");
      }
      this.pollMillis = millis;
      return this;
    }

    /** Points of each metric kept at full resolution (default 2,000,000; more are averaged). */
    public Builder maxPointsPerSeries(int points) {
      if (points < 1024) {
        throw new IllegalArgumentException("keep at least 1024 points per series");
      }
      this.maxPointsPerSeries = points;
      return this;
    }

    /**
     * Metric names followed per run (default 10,000): the values of names past the first ones read
     * are dropped, and asking for only such names is a 422 that says so.
     */
    public Builder maxMetricNames(int names) {
      if (names < 1) {
        throw new IllegalArgumentException("follow at least one metric name per run");
      }
      this.maxMetricNames = names;
      return this;
    }

    /**
     * Points (16 bytes each) held in memory for all followed runs together; beyond it, series stop
     * growing and average neighbouring points instead. Default: an eighth of the heap, from
     * 1,000,000 to 16,000,000 points.
     */
    /**
     * Serves the runs without their controls: Save, Stop, Pin and Unpin answer 409 with {@code why}
     * (for copies of runs that a job elsewhere writes, which would never see a request).
     */
    public Builder readOnly(String why) {
      if (why == null || why.isBlank()) {
        throw new IllegalArgumentException("say why the dashboard is read-only");
      }
      this.readOnly = why;
      return this;
    }

    /**
     * Where the checkpoints of the runs are, when the runs folder holds copies of remote runs
     * (whose checkpoints stay remote): the checkpoint table lists and verifies them there.
     */
    /**
     * Whether the new server reads the run written to most recently before anyone asks for it, so
     * that the first page opened answers sooner (see {@code WarmUp}). Off by default: a dashboard
     * inside a training job must not spend CPU and memory on a run no one opened. {@code cairn
     * serve} turns it on.
     */
    public Builder warmUp(boolean on) {
      this.warmUp = on;
      return this;
    }

    public Builder remoteCheckpoints(RemoteCheckpoints where) {
      this.remoteCheckpoints = java.util.Objects.requireNonNull(where, "where");
      return this;
    }

    public Builder maxHeldPoints(long points) {
      if (points < 1024) {
        throw new IllegalArgumentException("hold at least 1024 points");
      }
      this.maxHeldPoints = points;
      return this;
    }

    private static long defaultHeldPoints() {
      long eighth = Runtime.getRuntime().maxMemory() / 8 / 16;
      return Math.max(1_000_000, Math.min(16_000_000, eighth));
    }

    /** Starts serving; IllegalArgumentException when the port cannot be had. */
    public Dashboard start() throws IOException {
      return new Dashboard(this);
    }
  }
}

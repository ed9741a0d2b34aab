package dev.cairn.web;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cairn.run.Cairn;
import dev.cairn.run.Run;
import dev.cairn.run.RunOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The REST API and its refusals, with the server in this JVM and a real training job in another:
 * every endpoint, every refusal named in PRODUCT.md's safety defaults, and no stack trace in any
 * answer.
 */
class DashboardApiTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir static Path runs;
  static Process job;
  static Dashboard dashboard;
  static String token;
  static int port;

  @BeforeAll
  static void start() throws Exception {
    job = Jobs.start(runs, "live", 1_000_000, 2);
    // A finished run beside the live one.
    try (Run r = Cairn.open(runs, RunOptions.named("done").totalSteps(3))) {
      for (int s = 0; s < 3; s++) {
        r.log(s, Map.of("loss", 1.0 / (s + 1)));
      }
      r.finish(Map.of());
    }
    dashboard = Dashboard.builder(runs).port(0).pollInterval(50).start();
    port = dashboard.port();
    token = Files.readString(dashboard.tokenFile()).trim();
    Jobs.awaitStep(runs.resolve("live"), 250);
  }

  @AfterAll
  static void stop() throws Exception {
    if (dashboard != null) {
      dashboard.close();
    }
    if (job != null) {
      job.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    }
  }

  static Map<String, String> auth() {
    return Map.of("Authorization", "Bearer " + token);
  }

  static Map<String, String> post() {
    Map<String, String> h = new HashMap<>(auth());
    h.put("Origin", "http://127.0.0.1:" + port);
    return h;
  }

  static RawHttp.Response get(String path) throws IOException {
    return RawHttp.send(port, "GET", path, auth(), null);
  }

  static JsonNode json(RawHttp.Response r) throws IOException {
    assertThat(r.header("content-type")).startsWith("application/json");
    return JSON.readTree(r.body());
  }

  static void assertRefused(RawHttp.Response r, int status, String words) throws IOException {
    assertThat(r.status()).as(r.body()).isEqualTo(status);
    JsonNode body = json(r);
    assertThat(body.path("error").asText()).contains(words);
    assertThat(r.body())
        .doesNotContain("Exception")
        .doesNotContain("\tat ")
        .doesNotContain("at dev.");
  }

  @Test
  void tokenIsRandomPrivateAndReused() throws Exception {
    assertThat(token).matches("[0-9a-f]{64}");
    assertThat(Files.getPosixFilePermissions(dashboard.tokenFile()))
        .containsExactlyInAnyOrder(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);
    assertThat(dashboard.url()).isEqualTo("http://127.0.0.1:" + port + "/#token=" + token);
    Path other = runs.resolve("other-token");
    try (Dashboard second = Dashboard.builder(runs).port(0).tokenFile(other).start()) {
      String t2 = Files.readString(other).trim();
      assertThat(t2).matches("[0-9a-f]{64}").isNotEqualTo(token);
    }
    try (Dashboard again = Dashboard.builder(runs).port(0).tokenFile(other).start()) {
      assertThat(Files.readString(other).trim())
          .as("a sound private file is reused")
          .isEqualTo(Files.readString(other).trim());
      assertThat(again.url()).endsWith(Files.readString(other).trim());
    }
    String before = Files.readString(other).trim();
    Files.setPosixFilePermissions(other, PosixFilePermissions.fromString("rw-r--r--"));
    try (Dashboard exposed = Dashboard.builder(runs).port(0).tokenFile(other).start()) {
      assertThat(Files.readString(other).trim())
          .as("a readable token is replaced")
          .isNotEqualTo(before);
      assertThat(Files.getPosixFilePermissions(other)).hasSize(2);
    }
  }

  @Test
  void noCookieIsEverSetAndTheTokenTravelsOnlyInAHeader() throws Exception {
    // The page's own files need no token (a browser cannot add a header to a navigation) and
    // hold no data; the page takes the token from the URL's fragment, which no server sees.
    for (String path : List.of("/", "/?token=" + token, "/static/app.js", "/favicon.ico")) {
      RawHttp.Response r = RawHttp.send(port, "GET", path, Map.of(), null);
      assertThat(r.status()).as(path).isEqualTo(200);
      assertThat(r.header("set-cookie")).as(path).isNull();
      assertThat(r.header("location")).as(path).isNull();
      assertThat(r.body()).as(path).doesNotContain(token);
    }
    RawHttp.Response page = RawHttp.send(port, "GET", "/", Map.of(), null);
    assertThat(page.body()).contains("<title>Cairn").contains("/favicon.ico");
    assertThat(page.header("content-security-policy")).contains("script-src 'self'");
    RawHttp.Response icon = RawHttp.send(port, "GET", "/favicon.ico", Map.of(), null);
    assertThat(icon.header("content-type")).isEqualTo("image/x-icon");
    // A cookie (as older versions set) is no credential, and is expired on sight.
    RawHttp.Response withCookie =
        RawHttp.send(port, "GET", "/api/runs", Map.of("Cookie", "cairn_token=" + token), null);
    assertRefused(withCookie, 401, "no token");
    assertThat(withCookie.header("set-cookie")).contains("cairn_token=;").contains("Max-Age=0");
    // A refusal tells an anonymous caller nothing of this machine: not where the token is.
    RawHttp.Response wrong =
        RawHttp.send(
            port, "GET", "/api/runs", Map.of("Authorization", "Bearer " + "0".repeat(64)), null);
    assertRefused(wrong, 401, "wrong token");
    for (RawHttp.Response r : List.of(withCookie, wrong)) {
      assertThat(r.body())
          .doesNotContain(dashboard.tokenFile().toString())
          .doesNotContain(dashboard.tokenFile().getParent().toString());
    }
    assertThat(RawHttp.send(port, "GET", "/api/runs", auth(), null).status()).isEqualTo(200);
  }

  @Test
  void theEventStreamOpensWithASingleUseTicket() throws Exception {
    RawHttp.Response issued = RawHttp.send(port, "POST", "/api/stream-tickets", post(), null);
    assertThat(issued.status()).as(issued.body()).isEqualTo(201);
    String ticket = json(issued).path("ticket").asText();
    assertThat(ticket).matches("[0-9a-f]{32}").isNotEqualTo(token);
    assertThat(json(issued).path("expires_in_seconds").asLong()).isEqualTo(30);
    try (RawHttp.Stream events =
        new RawHttp.Stream(port, "/api/runs/live/events?ticket=" + ticket, Map.of())) {
      assertThat(events.until(l -> l.startsWith(":") || l.startsWith("HTTP/")))
          .startsWith("HTTP/1.1 200");
      events.until(l -> l.startsWith("event: metrics"));
    }
    assertRefused(
        RawHttp.send(port, "GET", "/api/runs/live/events?ticket=" + ticket, Map.of(), null),
        401,
        "used or expired");
    // A ticket opens an event stream and nothing else.
    String another =
        json(RawHttp.send(port, "POST", "/api/stream-tickets", post(), null))
            .path("ticket")
            .asText();
    assertRefused(
        RawHttp.send(port, "GET", "/api/runs?ticket=" + another, Map.of(), null), 401, "no token");
    assertRefused(
        RawHttp.send(
            port,
            "POST",
            "/api/stream-tickets",
            Map.of("Origin", "http://127.0.0.1:" + port),
            null),
        401,
        "no token");
  }

  @Test
  void aSchemeRelativePathNeverRedirectsOffSite() throws Exception {
    for (String path :
        List.of("//other.example/?token=" + token, "//other.example/", "/\\other.example/")) {
      RawHttp.Response r = RawHttp.send(port, "GET", path, Map.of(), null);
      assertThat(r.status() / 100).as(path).isNotEqualTo(3);
      assertThat(r.header("location")).as(path).isNull();
      assertThat(r.body()).as(path).doesNotContain(token);
    }
  }

  @Test
  void refusesForeignHosts() throws Exception {
    Map<String, String> h = new HashMap<>(auth());
    h.put("Host", "evil.example:" + port);
    assertRefused(RawHttp.send(port, "GET", "/api/runs", h, null), 403, "Host");
    h.put("Host", "127.0.0.1:" + (port + 1));
    assertRefused(RawHttp.send(port, "GET", "/api/runs", h, null), 403, "Host");
    h.put("Host", "localhost:" + port);
    assertThat(RawHttp.send(port, "GET", "/api/runs", h, null).status()).isEqualTo(200);
  }

  @Test
  void stateChangesNeedTheSameOrigin() throws Exception {
    String body = "{\"name\":\"x1\"}";
    Map<String, String> none = new HashMap<>(auth());
    assertRefused(
        RawHttp.send(port, "POST", "/api/runs/live/checkpoints", none, body), 403, "Origin");
    Map<String, String> foreign = new HashMap<>(auth());
    foreign.put("Origin", "http://evil.example");
    assertRefused(
        RawHttp.send(port, "POST", "/api/runs/live/checkpoints", foreign, body), 403, "Origin");
    foreign.put("Origin", "http://127.0.0.1:" + (port + 1));
    assertRefused(
        RawHttp.send(port, "POST", "/api/runs/live/checkpoints/step-200/pin", foreign, null),
        403,
        "Origin");
    // A token is still needed with the right Origin.
    assertRefused(
        RawHttp.send(
            port,
            "POST",
            "/api/runs/live/checkpoints",
            Map.of("Origin", "http://127.0.0.1:" + port),
            body),
        401,
        "no token");
    assertThat(
            Files.exists(runs.resolve("live/control"))
                && Files.list(runs.resolve("live/control"))
                    .anyMatch(p -> p.toString().contains("x1")))
        .as("no request was filed")
        .isFalse();
  }

  @Test
  void getNeverChangesState() throws Exception {
    RawHttp.Response r = get("/api/runs/live/checkpoints/step-200/pin");
    assertThat(r.status()).isIn(404, 405);
    assertThat(Files.exists(runs.resolve("live/checkpoints/pinned/step-200"))).isFalse();
  }

  @Test
  void namesAreValidatedAndResolvedAmongExistingFolders() throws Exception {
    assertRefused(get("/api/runs/..%2F..%2Fetc"), 400, "not allowed");
    assertRefused(get("/api/runs/%2e%2e"), 400, "");
    assertRefused(get("/api/runs/a%00b"), 400, "");
    assertRefused(get("/api/runs/a%20b"), 400, "not allowed");
    assertRefused(get("/api/runs/" + "a".repeat(65)), 400, "not allowed");
    assertRefused(get("/api/runs/nosuchrun"), 404, "no run named 'nosuchrun'");
    assertThat(get("/api/runs/nosuchrun").body()).doesNotContain(runs.toString());
    // A folder that exists but is not a run (no run.json) is not a run.
    assertRefused(get("/api/runs/.cairn"), 404, "no run named");
    assertRefused(get("/api/runs/live/checkpoints/..%2F..%2Frun.json/pin"), 404, "no such page");
    assertRefused(
        RawHttp.send(port, "POST", "/api/runs/live/checkpoints/..%2Fx/pin", post(), null), 400, "");
    assertRefused(
        RawHttp.send(port, "POST", "/api/runs/live/checkpoints/a%20b/pin", post(), null),
        400,
        "not allowed");
    assertRefused(
        RawHttp.send(port, "POST", "/api/runs/live/checkpoints/step-999999/pin", post(), null),
        404,
        "no checkpoint 'step-999999'");
    assertRefused(get("/api/runs/live/metrics?keys=../x"), 400, "not a metric name");
    assertRefused(get("/api/runs/live/metrics?max_points=abc"), 400, "whole number");
    assertRefused(get("/api/runs/live/metrics?max_points=1000000"), 400, "max_points");
    assertRefused(get("/static/..%2F..%2Fpom.xml"), 404, "no such file");
    assertRefused(get("/static/pom.xml"), 404, "no such file");
    assertRefused(get("/nothing-here"), 404, "no such page");
  }

  @Test
  void bodiesAreLimitedAndChecked() throws Exception {
    String big = "{\"name\":\"" + "a".repeat(5000) + "\"}";
    assertRefused(
        RawHttp.send(port, "POST", "/api/runs/live/checkpoints", post(), big), 413, "too large");
    assertRefused(
        RawHttp.send(port, "POST", "/api/runs/live/checkpoints", post(), "not json"),
        400,
        "not JSON");
    assertRefused(
        RawHttp.send(port, "POST", "/api/runs/live/checkpoints", post(), "[1]"),
        400,
        "JSON object");
    assertRefused(
        RawHttp.send(port, "POST", "/api/runs/live/checkpoints", post(), "{\"name\":\"../x\"}"),
        400,
        "not allowed");
    assertRefused(
        RawHttp.send(port, "POST", "/api/runs/live/checkpoints", post(), "{\"name\":5}"),
        400,
        "string");
    assertRefused(
        RawHttp.send(port, "POST", "/api/runs/done/checkpoints", post(), "{}"), 409, "finished");
  }

  @Test
  void listsRunsWithStatusAndProgress() throws Exception {
    JsonNode runsJson = json(get("/api/runs"));
    assertThat(runsJson).hasSize(2);
    JsonNode live =
        runsJson.get(1).path("name").asText().equals("live") ? runsJson.get(1) : runsJson.get(0);
    assertThat(live.path("status").asText()).isEqualTo("running");
    assertThat(live.path("step").asLong()).isGreaterThanOrEqualTo(250);
    assertThat(live.path("total_steps").asLong()).isEqualTo(1_000_000);
    assertThat(live.path("heartbeat_age_seconds").asDouble()).isLessThan(30);
    JsonNode done = json(get("/api/runs/done"));
    assertThat(done.path("status").asText()).isEqualTo("finished");
    JsonNode detail = json(get("/api/runs/live"));
    assertThat(detail.path("config").path("lr").asDouble()).isEqualTo(0.05);
    assertThat(detail.path("sessions").asInt()).isEqualTo(1);
    assertThat(detail.path("session_records")).hasSize(1);
    assertThat(detail.path("events").isArray()).isTrue();
    assertThat(detail.path("metrics").toString()).contains("loss", "lr", "val_loss");
  }

  @Test
  void aRunningRunWithAStalledRankIsStalledAndNamesIt() throws Exception {
    // As a rank other than 0 of a run of several ranks leaves it: a heartbeat of this session
    // that stopped a minute ago.
    java.nio.file.Path rank = runs.resolve("live/ranks/rank-3");
    java.nio.file.Files.createDirectories(rank);
    try {
      java.nio.file.Files.writeString(
          rank.resolve("progress.json"),
          "{\"session\":1,\"step\":7,\"heartbeat\":\""
              + java.time.Instant.now().minusSeconds(60)
              + "\"}");
      JsonNode live = json(get("/api/runs/live"));
      assertThat(live.path("status").asText()).isEqualTo("stalled");
      assertThat(live.path("rank_problems").get(0).asText())
          .startsWith("rank 3 stalled (heartbeat");
    } finally {
      dev.cairn.store.Storage.at(runs.resolve("live")).deleteTree("ranks");
    }
    assertThat(json(get("/api/runs/live")).path("status").asText()).isEqualTo("running");
    assertThat(json(get("/api/runs/live")).has("rank_problems")).isFalse();
  }

  @Test
  void metricsAreDownsampledToTheWidthAsked() throws Exception {
    Jobs.awaitStep(runs.resolve("live"), 600);
    JsonNode m = json(get("/api/runs/live/metrics?keys=loss,lr,nope&max_points=50&smooth=10"));
    JsonNode loss = m.path("series").path("loss");
    assertThat(loss.path("total_points").asLong()).isGreaterThan(500);
    assertThat(loss.path("steps")).hasSize(50);
    assertThat(loss.path("values")).hasSize(50);
    assertThat(loss.path("smoothed")).hasSize(50);
    assertThat(loss.path("steps").get(0).asLong()).isZero();
    for (int i = 1; i < 50; i++) {
      assertThat(loss.path("steps").get(i).asDouble())
          .isGreaterThan(loss.path("steps").get(i - 1).asDouble());
    }
    assertThat(m.path("series").has("lr")).isTrue();
    assertThat(m.path("missing").get(0).asText()).isEqualTo("nope");
    JsonNode from = json(get("/api/runs/live/metrics?keys=loss&from=300&max_points=5000"));
    assertThat(from.path("series").path("loss").path("steps").get(0).asLong()).isEqualTo(300);
  }

  @Test
  void saveNowFromAnotherProcessIsNamedPinnedAndStreamed() throws Exception {
    try (RawHttp.Stream events = new RawHttp.Stream(port, "/api/runs/live/events", auth())) {
      events.until(l -> l.startsWith("event: metrics"));
      events.until(l -> l.startsWith("event: progress"));
      RawHttp.Response r =
          RawHttp.send(
              port, "POST", "/api/runs/live/checkpoints", post(), "{\"name\":\"keep-me\"}");
      assertThat(r.status()).as(r.body()).isEqualTo(202);
      String id = json(r).path("request_id").asText();
      assertThat(id).isNotEmpty();
      String done =
          events.until(
              l -> l.startsWith("data:") && l.contains(id) && l.contains("save_request_done"));
      JsonNode event = JSON.readTree(done.substring(5));
      long step = event.path("step").asLong();
      assertThat(event.path("path").asText()).endsWith("step-" + step);
      JsonNode list = json(get("/api/runs/live/checkpoints"));
      JsonNode named = null;
      for (JsonNode c : list) {
        if ("keep-me".equals(c.path("name").asText(null))) {
          named = c;
        }
      }
      assertThat(named).as(list.toString()).isNotNull();
      assertThat(named.path("step").asLong()).isEqualTo(step);
      assertThat(named.path("pinned").asBoolean()).isTrue();
      assertThat(named.path("bytes").asLong()).isPositive();
      assertRefused(
          RawHttp.send(
              port, "POST", "/api/runs/live/checkpoints", post(), "{\"name\":\"keep-me\"}"),
          409,
          "already has a checkpoint named 'keep-me'");
      assertRefused(
          RawHttp.send(port, "POST", "/api/runs/live/checkpoints/keep-me/unpin", post(), null),
          409,
          "stay pinned");
    }
  }

  @Test
  void pinAndUnpin() throws Exception {
    Jobs.awaitStep(runs.resolve("live"), 450);
    JsonNode list = json(get("/api/runs/live/checkpoints"));
    JsonNode target = null;
    for (JsonNode c : list) {
      if (c.path("name").isNull() && !c.path("pinned").asBoolean()) {
        target = c; // the newest: retention removes the oldest first
        break;
      }
    }
    assertThat(target).as(list.toString()).isNotNull();
    String id = target.path("id").asText();
    JsonNode pinned =
        json(RawHttp.send(port, "POST", "/api/runs/live/checkpoints/" + id + "/pin", post(), null));
    assertThat(pinned.path("pinned").asBoolean()).isTrue();
    assertThat(runs.resolve("live/checkpoints/pinned").resolve(id)).exists();
    JsonNode unpinned =
        json(
            RawHttp.send(
                port, "POST", "/api/runs/live/checkpoints/" + id + "/unpin", post(), null));
    assertThat(unpinned.path("pinned").asBoolean()).isFalse();
    Jobs.await(
        "verification of " + id,
        30_000,
        () -> {
          try {
            for (JsonNode c : json(get("/api/runs/live/checkpoints"))) {
              if (c.path("id").asText().equals(id)) {
                return c.path("verified").asText().equals("ok");
              }
            }
            return false;
          } catch (IOException e) {
            return false;
          }
        });
  }

  @Test
  void aTakenPortIsOneClearLine() {
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> Dashboard.builder(runs).port(port).start())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cannot listen on 127.0.0.1:" + port)
        .hasMessageContaining("--port");
  }
}

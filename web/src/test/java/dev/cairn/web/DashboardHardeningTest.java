package dev.cairn.web;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cairn.control.ControlFolder;
import dev.cairn.run.Cairn;
import dev.cairn.run.Run;
import dev.cairn.run.RunOptions;
import java.io.IOException;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.UserPrincipal;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the audit of issue 18 found, each answered: runs too wide to hold, save requests piling up,
 * names that look like folders, failures that named exception classes, symbolic links out of the
 * runs folder, and a token file of another user. The "running" job here is a run held open in this
 * JVM without a checkpoint manager, so its save requests stay pending.
 */
class DashboardHardeningTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir static Path runs;
  @TempDir static Path outside;
  static Run idle;
  static Dashboard dashboard;
  static String token;
  static int port;

  @BeforeAll
  static void start() throws Exception {
    idle = Cairn.open(runs, RunOptions.named("idle"));
    idle.log(0, Map.of("loss", 1.0));
    try (Run r = Cairn.open(runs, RunOptions.named("wide"))) {
      r.log(0, Map.of("loss", 1.0));
      r.finish(Map.of());
    }
    // One 575 KB line with 40,000 names, as the audit sent.
    StringBuilder line = new StringBuilder("{\"step\":1,\"loss\":0.5");
    for (int i = 0; i < 40_000; i++) {
      line.append(",\"m").append(i).append("\":").append(i);
    }
    Files.writeString(
        runs.resolve("wide/metrics.jsonl"), line.append("}\n"), StandardOpenOption.APPEND);
    try (Run r = Cairn.open(runs, RunOptions.named("layers"))) {
      r.finish(Map.of());
    }
    try (Writer w =
        Files.newBufferedWriter(runs.resolve("layers/metrics.jsonl"), StandardOpenOption.APPEND)) {
      for (int step = 0; step < 20; step++) {
        w.write("{\"step\":" + step + ",\"loss\":" + 1.0 / (step + 1));
        for (int layer = 0; layer < 5_000; layer++) {
          w.write(",\"layer" + layer + "_norm\":" + (layer + step));
        }
        w.write("}\n");
      }
    }
    dashboard = Dashboard.builder(runs).port(0).pollInterval(50).start();
    port = dashboard.port();
    token = Files.readString(dashboard.tokenFile()).trim();
  }

  @AfterAll
  static void stop() throws Exception {
    if (dashboard != null) {
      dashboard.close();
    }
    if (idle != null) {
      idle.close();
    }
  }

  static Map<String, String> post() {
    Map<String, String> h = new HashMap<>();
    h.put("Authorization", "Bearer " + token);
    h.put("Origin", "http://127.0.0.1:" + port);
    return h;
  }

  static RawHttp.Response get(String path) throws IOException {
    return RawHttp.send(port, "GET", path, Map.of("Authorization", "Bearer " + token), null);
  }

  static RawHttp.Response save(String run, String body) throws IOException {
    return RawHttp.send(port, "POST", "/api/runs/" + run + "/checkpoints", post(), body);
  }

  static JsonNode json(RawHttp.Response r) throws IOException {
    assertThat(r.header("content-type")).as(r.body()).startsWith("application/json");
    return JSON.readTree(r.body());
  }

  /** A JSON answer with a sentence, no exception class and no folder path. */
  static JsonNode answered(RawHttp.Response r, int status, String words) throws IOException {
    assertThat(r.status()).as(r.body()).isEqualTo(status);
    JsonNode body = json(r);
    assertThat(body.path("error").asText()).contains(words);
    assertThat(r.body())
        .doesNotContain("Exception")
        .doesNotContain("\tat ")
        .doesNotContain(runs.toString())
        .doesNotContain(outside.toString());
    return body;
  }

  @Test
  void aRunWithFortyThousandMetricNamesIsServedWithinItsLimit() throws Exception {
    JsonNode run = json(get("/api/runs/wide"));
    assertThat(run.path("metrics")).hasSize(10_000);
    assertThat(run.path("metric_names_over_limit").asBoolean()).isTrue();
    assertThat(run.path("metrics").toString()).contains("\"loss\"");
    answered(get("/api/runs/wide/metrics?keys=m39999"), 422, "more than 10000 metric names");
    JsonNode loss = json(get("/api/runs/wide/metrics?keys=loss,m39999"));
    assertThat(loss.path("series").path("loss").path("values")).hasSize(2);
    assertThat(loss.path("missing").get(0).asText()).isEqualTo("m39999");
  }

  @Test
  void aJobLoggingFiveThousandPerLayerMetricsIsServedInFull() throws Exception {
    JsonNode run = json(get("/api/runs/layers"));
    assertThat(run.path("metrics")).hasSize(5_001);
    assertThat(run.path("metric_names_over_limit").asBoolean()).isFalse();
    JsonNode m = json(get("/api/runs/layers/metrics?keys=layer4999_norm,layer0_norm"));
    assertThat(m.path("series").path("layer4999_norm").path("values")).hasSize(20);
    assertThat(m.path("series").path("layer0_norm").path("values").get(19).asDouble())
        .isEqualTo(19);
  }

  @Test
  void quickSavesAreCoalescedNamesAreCheckedAgainstPendingRequestsAndCapped() throws Exception {
    Jobs.await("idle to be running", 30_000, () -> status("idle").equals("running"));
    ControlFolder control = new ControlFolder(runs.resolve("idle/control"));
    JsonNode first = json(save("idle", "{}"));
    Set<String> ids = new HashSet<>();
    for (int i = 0; i < 20; i++) {
      RawHttp.Response r = save("idle", "{}");
      assertThat(r.status()).isEqualTo(202);
      ids.add(json(r).path("request_id").asText());
      assertThat(json(r).path("coalesced").asBoolean()).isTrue();
    }
    assertThat(ids).containsExactly(first.path("request_id").asText());
    assertThat(control.pending()).hasSize(1);

    assertThat(save("idle", "{\"name\":\"same\"}").status()).isEqualTo(202);
    answered(save("idle", "{\"name\":\"same\"}"), 409, "a save named 'same' is already waiting");
    for (String n : new String[] {"n2", "n3", "n4"}) {
      assertThat(save("idle", "{\"name\":\"" + n + "\"}").status()).isEqualTo(202);
    }
    answered(save("idle", "{\"name\":\"n5\"}"), 429, "4 named saves are already waiting");
    assertThat(control.pending()).hasSize(5);

    answered(save("idle", "{\"name\":\"step-20\"}"), 400, "looks like a checkpoint folder");
    answered(save("idle", "{\"name\":\"STEP-7.tmp-x\"}"), 400, "looks like a checkpoint folder");
    assertThat(control.pending()).hasSize(5);
  }

  @Test
  void brokenFilesAndUnknownMethodsAreJsonSentences() throws Exception {
    Path broken = runs.resolve("broken");
    Files.createDirectories(broken);
    Files.writeString(broken.resolve("run.json"), "{\"id\": \"bro");
    answered(get("/api/runs/broken"), 503, "not complete JSON");
    for (String method : new String[] {"PUT", "DELETE", "PATCH"}) {
      RawHttp.Response r = RawHttp.send(port, method, "/api/runs", post(), "{}");
      assertThat(r.status()).as(method).isBetween(400, 499);
      assertThat(json(r).path("error").asText()).as(method).isNotBlank();
    }
    RawHttp.Response head =
        RawHttp.send(port, "GET", "/api/runs/idle/metrics?max_points=x", post(), null);
    answered(head, 400, "whole number");
  }

  @Test
  void symbolicLinksOutOfTheRunsFolderAreNotFollowed() throws Exception {
    // A run folder that is a link: not listed, not served.
    try (Run r = Cairn.open(outside, RunOptions.named("elsewhere"))) {
      r.finish(Map.of());
    }
    Files.createSymbolicLink(runs.resolve("linked"), outside.resolve("elsewhere"));
    assertThat(json(get("/api/runs")).toString()).doesNotContain("linked");
    answered(get("/api/runs/linked"), 404, "no run named 'linked'");

    // A control folder that is a link: no request is written through it.
    try (Run r = Cairn.open(runs, RunOptions.named("sneaky"))) {
      r.log(0, Map.of("loss", 1.0));
      Path target = Files.createDirectories(outside.resolve("control-target"));
      Files.createSymbolicLink(runs.resolve("sneaky/control"), target);
      Jobs.await("sneaky to be running", 30_000, () -> status("sneaky").equals("running"));
      answered(save("sneaky", "{}"), 409, "control folder that is a symbolic link");
      try (var files = Files.list(target)) {
        assertThat(files).isEmpty();
      }
    }

    // A checkpoints folder that is a link, dangling or not: a sentence saying why, not
    // NoSuchFileException (the checkpoint store never follows links).
    try (Run r = Cairn.open(runs, RunOptions.named("dangling"))) {
      r.finish(Map.of());
    }
    Files.createSymbolicLink(
        runs.resolve("dangling/checkpoints"), outside.resolve("no-such-folder"));
    answered(get("/api/runs/dangling/checkpoints"), 409, "checkpoints folder that is a symbolic");
    try (Run r = Cairn.open(runs, RunOptions.named("ckptlink"))) {
      r.finish(Map.of());
    }
    Path disk = outside.resolve("big-disk/checkpoints");
    try (var store = dev.cairn.checkpoint.CheckpointStore.open(disk)) {
      store.save(
          dev.cairn.checkpoint.Checkpoint.at(7)
              .tensors(
                  "model",
                  java.util.List.of(dev.cairn.safetensors.Tensor.of("w", new float[] {1}, 1)))
              .build());
    }
    Files.createSymbolicLink(runs.resolve("ckptlink/checkpoints"), disk);
    answered(get("/api/runs/ckptlink/checkpoints"), 409, "checkpoints folder that is a symbolic");
    answered(
        RawHttp.send(port, "POST", "/api/runs/ckptlink/checkpoints/step-7/pin", post(), null),
        409,
        "does not follow");
    assertThat(disk.resolve("pinned")).doesNotExist();
  }

  @Test
  void aTokenFileOfAnotherUserIsReplaced() throws Exception {
    UserPrincipal nobody;
    Path file = outside.resolve("token-of-another");
    Files.writeString(file, "ab".repeat(32) + "\n");
    Files.setPosixFilePermissions(
        file, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
    try {
      nobody = file.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("nobody");
      Files.setOwner(file, nobody);
    } catch (IOException | UnsupportedOperationException e) {
      Assumptions.abort("giving a file to another user needs root: " + e);
      return;
    }
    try (Dashboard d = Dashboard.builder(runs).port(0).tokenFile(file).start()) {
      assertThat(Files.readString(file).trim())
          .matches("[0-9a-f]{64}")
          .isNotEqualTo("ab".repeat(32));
      assertThat(Files.getOwner(file)).isNotEqualTo(nobody);
      assertThat(d.url()).doesNotContain("ab".repeat(32));
    }
  }

  private static String status(String run) {
    try {
      return json(get("/api/runs/" + run)).path("status").asText();
    } catch (IOException e) {
      return "";
    }
  }
}

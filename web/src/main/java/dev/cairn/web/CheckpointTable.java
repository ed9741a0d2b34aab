package dev.cairn.web;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cairn.checkpoint.CheckpointInfo;
import dev.cairn.checkpoint.CheckpointStore;
import dev.cairn.checkpoint.Manifest;
import dev.cairn.checkpoint.Names;
import dev.cairn.checkpoint.Verification;
import dev.cairn.checkpoint.VerifyResult;
import dev.cairn.concurrent.DaemonThreads;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;

/**
 * A run's checkpoints as the dashboard shows them, read from the store without its lock (the job
 * may be writing), and pinned or unpinned by marker files, which the job's retention honours. Each
 * checkpoint is verified once (CRC32C of every byte) in the background; the table says "pending"
 * until then, so listing never waits on reading gigabytes.
 */
final class CheckpointTable implements AutoCloseable {
  private final ExecutorService verifier = DaemonThreads.single("cairn-dashboard-verify");
  private final Map<Path, Verdict> verdicts = new ConcurrentHashMap<>();

  /** A verification result for one manifest version (a rewritten folder is verified again). */
  private record Verdict(FileTime manifestTime, Boolean ok, String problem) {}

  ArrayNode list(RunView run) throws IOException {
    List<CheckpointInfo> infos = infos(run);
    long latest = -1;
    long best = -1;
    for (CheckpointInfo c : infos) {
      if (!c.committed()) {
        continue;
      }
      latest = Math.max(latest, c.step());
      if (reasons(c.manifest()).contains("best")) {
        // Best saves happen only on improvement, so the newest one holds the best value.
        best = Math.max(best, c.step());
      }
    }
    // Verdicts of checkpoints that retention has since removed are forgotten, so a server
    // watching a long run does not keep one per checkpoint ever written.
    Path folder = run.files().checkpoints();
    java.util.Set<Path> present = new java.util.HashSet<>();
    infos.forEach(c -> present.add(c.folder()));
    verdicts.keySet().removeIf(p -> p.startsWith(folder) && !present.contains(p));
    ArrayNode out = JsonNodeFactory.instance.arrayNode();
    for (int i = infos.size() - 1; i >= 0; i--) {
      CheckpointInfo c = infos.get(i);
      if (c.committed()) {
        out.add(row(c, c.step() == latest, c.step() == best));
      }
    }
    return out;
  }

  private ObjectNode row(CheckpointInfo c, boolean latest, boolean best) {
    Manifest m = c.manifest();
    ObjectNode o = JsonNodeFactory.instance.objectNode();
    Path folderName = c.folder().getFileName();
    o.put("id", folderName == null ? "" : folderName.toString());
    o.put("step", c.step());
    o.put("name", m.name());
    o.put("time", m.created().toString());
    o.put("bytes", m.totalBytes());
    ObjectNode metrics = o.putObject("metrics");
    m.metrics().forEach((k, v) -> Json.put(metrics, k, v));
    o.set(
        "reasons",
        JsonNodeFactory.instance
            .arrayNode()
            .addAll(reasons(m).stream().map(JsonNodeFactory.instance::textNode).toList()));
    o.put("pinned", c.pinned());
    o.put("named", m.name() != null);
    o.put("latest", latest);
    o.put("best", best);
    o.put("path", c.folder().toString());
    Verdict v = verdict(c.folder());
    if (v == null || v.ok() == null) {
      o.put("verified", "pending");
    } else {
      o.put("verified", v.ok() ? "ok" : "damaged");
      if (!v.ok()) {
        o.put("problem", v.problem());
      }
    }
    return o;
  }

  private static List<String> reasons(Manifest m) {
    List<String> out = new ArrayList<>();
    m.metadata().path("reasons").forEach(r -> out.add(r.asText()));
    return out;
  }

  private Verdict verdict(Path folder) {
    FileTime t;
    try {
      t = Files.getLastModifiedTime(folder.resolve(Manifest.FILE_NAME));
    } catch (IOException e) {
      return null;
    }
    Verdict v = verdicts.get(folder);
    if (v != null && v.manifestTime().equals(t)) {
      return v;
    }
    Verdict pending = new Verdict(t, null, null);
    verdicts.put(folder, pending);
    try {
      verifier.execute(
          () -> {
            VerifyResult r = CheckpointStore.verifyFolder(folder, Verification.CRC32C);
            verdicts.replace(
                folder,
                pending,
                new Verdict(t, r.ok(), r.ok() ? null : String.join("; ", r.problems())));
          });
    } catch (RejectedExecutionException e) {
      return null; // closing
    }
    return pending;
  }

  /** How many verification results are remembered (for tests). */
  int remembered() {
    return verdicts.size();
  }

  /** The checkpoint with this folder name or checkpoint name, among those that exist. */
  CheckpointInfo resolve(RunView run, String id) throws IOException {
    if (!Names.isSafe(id)) {
      throw ApiError.badRequest(
          "checkpoint '"
              + RunCatalog.printable(id)
              + "' is not allowed: use 1 to 64 letters, digits, '.', '-' or '_'");
    }
    for (CheckpointInfo c : infos(run)) {
      Path f = c.folder().getFileName();
      boolean byFolder = f != null && f.toString().equals(id);
      boolean byName = c.committed() && id.equals(c.manifest().name());
      if (c.committed() && (byFolder || byName)) {
        return c;
      }
    }
    throw ApiError.notFound("run '" + run.name() + "' has no checkpoint '" + id + "'");
  }

  void pin(RunView run, CheckpointInfo c, boolean pin) throws IOException {
    try (CheckpointStore store = readOnly(run)) {
      if (pin) {
        store.pin(c.step());
      } else {
        if (c.manifest().name() != null) {
          throw ApiError.conflict(
              "checkpoint step-"
                  + c.step()
                  + " is named '"
                  + c.manifest().name()
                  + "', and named checkpoints stay pinned");
        }
        store.unpin(c.step());
      }
    }
  }

  ObjectNode describe(RunView run, long step) throws IOException {
    for (var n : list(run)) {
      if (n.path("step").asLong() == step) {
        return (ObjectNode) n;
      }
    }
    throw ApiError.notFound("run '" + run.name() + "' has no checkpoint at step " + step);
  }

  /** Whether a committed checkpoint already carries this name. */
  CheckpointInfo named(RunView run, String name) throws IOException {
    for (CheckpointInfo c : infos(run)) {
      if (c.committed() && name.equals(c.manifest().name())) {
        return c;
      }
    }
    return null;
  }

  private static List<CheckpointInfo> infos(RunView run) throws IOException {
    Path folder = run.files().checkpoints();
    if (!Files.isDirectory(folder)) {
      return List.of();
    }
    try (CheckpointStore store = readOnly(run)) {
      return store.list();
    }
  }

  private static CheckpointStore readOnly(RunView run) throws IOException {
    return CheckpointStore.builder(run.files().checkpoints()).readOnly(true).events(e -> {}).open();
  }

  @Override
  public void close() {
    verifier.shutdownNow();
  }
}

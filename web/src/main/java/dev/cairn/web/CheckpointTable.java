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
import dev.cairn.store.Storage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
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
 * until then, so listing never waits on reading gigabytes. The checkpoints are in the run's folder,
 * or, for the copies of remote runs, where {@link Dashboard.RemoteCheckpoints} says: a copy holds a
 * run's files but not its checkpoints, which stay where the job wrote them.
 */
final class CheckpointTable implements AutoCloseable {
  private final ExecutorService verifier = DaemonThreads.single("cairn-dashboard-verify");

  /** Per run, per checkpoint location: what its verification found. */
  private final Map<String, Map<String, Verdict>> verdicts = new ConcurrentHashMap<>();

  private final Dashboard.RemoteCheckpoints remote;
  private final Map<String, Storage> storages = new ConcurrentHashMap<>();

  /**
   * A verification result for one manifest (a folder saved afresh is verified again); {@code ok}
   * null while it runs, and after a check that could not read the bytes (a network error is not
   * damage) until {@code retryAt}.
   */
  private record Verdict(
      java.time.Instant created, Boolean ok, String problem, java.time.Instant retryAt) {}

  /** How long a check that could not read a checkpoint stands before it is tried again. */
  private static final java.time.Duration RETRY_UNREADABLE = java.time.Duration.ofMinutes(1);

  /** Checkpoints in each run's own folder. */
  CheckpointTable() {
    this(null);
  }

  /** Checkpoints where {@code remote} says (null: in each run's own folder). */
  CheckpointTable(Dashboard.RemoteCheckpoints remote) {
    this.remote = remote;
  }

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
    Map<String, Verdict> known =
        verdicts.computeIfAbsent(run.name(), n -> new ConcurrentHashMap<>());
    java.util.Set<String> present = new java.util.HashSet<>();
    infos.forEach(c -> present.add(c.location()));
    known.keySet().retainAll(present);
    ArrayNode out = JsonNodeFactory.instance.arrayNode();
    for (int i = infos.size() - 1; i >= 0; i--) {
      CheckpointInfo c = infos.get(i);
      if (c.committed()) {
        out.add(row(run, known, c, c.step() == latest, c.step() == best));
      }
    }
    return out;
  }

  private ObjectNode row(
      RunView run, Map<String, Verdict> known, CheckpointInfo c, boolean latest, boolean best) {
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
    o.put("path", remote == null ? c.folder().toString() : c.location());
    Verdict v = verdict(run, known, c);
    if (v != null && v.ok() == null && v.problem() != null) {
      o.put("verified", "unreadable");
      o.put("problem", v.problem());
    } else if (v == null || v.ok() == null) {
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

  private Verdict verdict(RunView run, Map<String, Verdict> known, CheckpointInfo c) {
    String key = c.location();
    java.time.Instant t = c.manifest().created();
    Verdict v = known.get(key);
    if (v != null
        && v.created().equals(t)
        && (v.retryAt() == null || java.time.Instant.now().isBefore(v.retryAt()))) {
      return v;
    }
    Verdict pending = new Verdict(t, null, null, null);
    known.put(key, pending);
    Path folder = c.folder();
    try {
      verifier.execute(
          () -> {
            VerifyResult r;
            if (remote == null) {
              r = CheckpointStore.verifyFolder(folder, Verification.CRC32C);
            } else {
              try {
                r =
                    CheckpointStore.verifyFolder(
                        storage(run), String.valueOf(folder.getFileName()), Verification.CRC32C);
              } catch (IOException | RuntimeException e) {
                known.replace(key, pending, unreadable(t, e.toString()));
                return;
              }
            }
            Verdict found;
            if (r.ok()) {
              found = new Verdict(t, true, null, null);
            } else if (r.outcome() == VerifyResult.Outcome.DAMAGED && !unreadable(r)) {
              found = new Verdict(t, false, String.join("; ", r.problems()), null);
            } else {
              // Deleted while checked, or bytes that could not be read (a timeout, a 503): no
              // verdict on the data; said as such, and tried again later.
              found = unreadable(t, String.join("; ", r.problems()));
            }
            known.replace(key, pending, found);
          });
    } catch (RejectedExecutionException e) {
      return null; // closing
    }
    return pending;
  }

  private static Verdict unreadable(java.time.Instant created, String why) {
    return new Verdict(created, null, why, java.time.Instant.now().plus(RETRY_UNREADABLE));
  }

  /**
   * Whether a check failed only for want of reading the bytes. A missing file is damage; any other
   * I/O failure says nothing about the data.
   */
  private static boolean unreadable(VerifyResult r) {
    for (String p : r.problems()) {
      if (!p.contains("unreadable") || p.contains("NoSuchFileException")) {
        return false;
      }
    }
    return !r.problems().isEmpty();
  }

  /** Waits until every check queued so far has its verdict (for tests: one verifier thread). */
  void awaitChecks() throws InterruptedException {
    try {
      verifier.submit(() -> {}).get();
    } catch (java.util.concurrent.ExecutionException e) {
      throw new IllegalStateException(e);
    }
  }

  /** How many verification results are remembered (for tests). */
  int remembered() {
    return verdicts.values().stream().mapToInt(Map::size).sum();
  }

  /** The checkpoint with this folder name or checkpoint name, among those that exist. */
  CheckpointInfo resolve(RunView run, String id) throws IOException {
    if (!Names.isSafe(id)) {
      throw ApiError.badRequest(
          "checkpoint '"
              + RunCatalog.printable(id)
              + "' is not allowed: use 1 to 64 letters, digits, '.', '-' or '_'");
    }
    // A folder name wins over a checkpoint name: the page's buttons name folders, and a
    // checkpoint someone named "step-20" must not take over folder step-20's.
    List<CheckpointInfo> all = infos(run);
    for (CheckpointInfo c : all) {
      Path f = c.folder().getFileName();
      if (c.committed() && f != null && f.toString().equals(id)) {
        return c;
      }
    }
    for (CheckpointInfo c : all) {
      if (c.committed() && id.equals(c.manifest().name())) {
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

  private List<CheckpointInfo> infos(RunView run) throws IOException {
    if (remote != null) {
      Storage s = storage(run);
      if (!s.isFolder("")) {
        return List.of(); // no checkpoint saved yet
      }
      try (CheckpointStore store = readOnly(run)) {
        return store.list();
      }
    }
    Path folder = run.files().checkpoints();
    if (Files.isSymbolicLink(folder)) {
      // The store never follows links (it would answer "no such file"): say so instead.
      throw ApiError.conflict(
          "run '"
              + run.name()
              + "' has a checkpoints folder that is a symbolic link, which the checkpoint store"
              + " does not follow: keep checkpoints/ a plain folder (to use another disk, put the"
              + " whole runs folder there)");
    }
    if (!Files.isDirectory(folder)) {
      return List.of();
    }
    try (CheckpointStore store = readOnly(run)) {
      return store.list();
    }
  }

  private CheckpointStore readOnly(RunView run) throws IOException {
    CheckpointStore.Builder b =
        remote == null
            ? CheckpointStore.builder(run.files().checkpoints())
            : CheckpointStore.builder(storage(run));
    return b.readOnly(true).events(e -> {}).open();
  }

  /** The storage of a remote run's checkpoints, opened once per run. */
  private Storage storage(RunView run) throws IOException {
    Storage s = storages.get(run.name());
    if (s == null) {
      s = remote.checkpointsOf(run.name());
      Storage raced = storages.putIfAbsent(run.name(), s);
      if (raced != null) {
        s = raced;
      }
    }
    return s;
  }

  @Override
  public void close() {
    verifier.shutdownNow();
  }
}

package dev.cairn.control;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cairn.checkpoint.Names;
import dev.cairn.store.AtomicFile;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The run's {@code control/} folder: how any process (the CLI, the dashboard) asks a running job to
 * act. A request is one small JSON file published by an atomic rename, so the job never reads half
 * of one; the job moves it to {@code control/done/} once answered.
 */
public final class ControlFolder {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String PREFIX = "save-";
  private static final String STOP_PREFIX = "stop-";
  private static final String SUFFIX = ".json";

  private final Path folder;

  public ControlFolder(Path folder) {
    this.folder = folder;
  }

  public Path folder() {
    return folder;
  }

  /**
   * Publishes a save request and returns it.
   *
   * @param name checkpoint name or null; IllegalArgumentException when not a safe name
   */
  public SaveRequest requestSave(String name) throws IOException {
    if (name != null) {
      Names.requireSafe(name, "checkpoint name");
    }
    return publish(PREFIX, name);
  }

  /**
   * Publishes a stop request: the job saves a checkpoint at its next step (answered like a save
   * request with this id) and then ends its session as stopped.
   */
  public SaveRequest requestStop() throws IOException {
    return publish(STOP_PREFIX, null);
  }

  private SaveRequest publish(String prefix, String name) throws IOException {
    String id =
        Instant.now().toEpochMilli()
            + "-"
            + Long.toHexString(ThreadLocalRandom.current().nextLong());
    Files.createDirectories(folder);
    ObjectNode o = JSON.createObjectNode();
    o.put("id", id);
    if (name == null) {
      o.putNull("name");
    } else {
      o.put("name", name);
    }
    o.put("requested", Instant.now().toString());
    // Durable: a request acknowledged to the user must not vanish in a power cut.
    AtomicFile.write(
        folder.resolve(prefix + id + SUFFIX), JSON.writeValueAsBytes(o), AtomicFile.Sync.DURABLE);
    return new SaveRequest(id, name);
  }

  /** Save requests waiting to be answered, oldest first; unreadable files are skipped. */
  public List<SaveRequest> pending() throws IOException {
    return pending(PREFIX);
  }

  /** Stop requests waiting to be answered, oldest first. */
  public List<SaveRequest> pendingStops() throws IOException {
    return pending(STOP_PREFIX);
  }

  private List<SaveRequest> pending(String prefix) throws IOException {
    List<SaveRequest> out = new ArrayList<>();
    if (!Files.isDirectory(folder)) {
      return out;
    }
    List<Path> files = new ArrayList<>();
    try (DirectoryStream<Path> s = Files.newDirectoryStream(folder, prefix + "*" + SUFFIX)) {
      s.forEach(files::add);
    }
    files.sort(null);
    for (Path f : files) {
      try {
        JsonNode n = JSON.readTree(f.toFile());
        String id = n.path("id").asText("");
        String name = n.path("name").isTextual() ? n.path("name").asText() : null;
        if (!id.isEmpty()) {
          out.add(new SaveRequest(id, name));
        }
      } catch (IOException e) {
        // Being written by an old client without rename, or damaged: not a request.
      }
    }
    return out;
  }

  /** Moves an answered request out of the way, so it is not answered twice. */
  public void markDone(SaveRequest request) throws IOException {
    Path f = folder.resolve(PREFIX + request.id() + SUFFIX);
    if (!Files.exists(f)) {
      f = folder.resolve(STOP_PREFIX + request.id() + SUFFIX);
    }
    if (Files.exists(f)) {
      Path done = folder.resolve("done");
      Files.createDirectories(done);
      Files.move(f, done.resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
    }
  }
}

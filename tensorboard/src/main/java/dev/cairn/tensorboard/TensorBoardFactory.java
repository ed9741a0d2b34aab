package dev.cairn.tensorboard;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cairn.run.Run;
import dev.cairn.run.RunFiles;
import dev.cairn.run.RunListener;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Found by {@link java.util.ServiceLoader} when this module is on the class path: every session of
 * every run then also writes a TensorBoard event file in the run's {@code tb/} folder.
 */
public final class TensorBoardFactory implements RunListener.Factory {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** For the ServiceLoader. */
  public TensorBoardFactory() {}

  @Override
  public RunListener open(Run run) throws IOException {
    RunFiles files = new RunFiles(run.dir());
    EventFile file =
        EventFile.create(
            files.tensorboard(), System.currentTimeMillis(), String.valueOf(run.session()));
    return new TensorBoardListener(
        file,
        run.events(),
        run.session() > 1,
        configMarkdown(files.runJson()),
        TensorBoardListener.CAPACITY);
  }

  /** The run's config as Markdown (an indented code block), or null when there is none. */
  static String configMarkdown(Path runJson) throws IOException {
    if (!Files.exists(runJson)) {
      return null;
    }
    JsonNode config = JSON.readTree(runJson.toFile()).path("config");
    if (!config.isObject() || config.isEmpty()) {
      return null;
    }
    String pretty = JSON.writerWithDefaultPrettyPrinter().writeValueAsString(config);
    return "    " + pretty.replace("\n", "\n    ");
  }
}

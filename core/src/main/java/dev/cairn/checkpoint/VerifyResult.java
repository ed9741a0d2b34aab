package dev.cairn.checkpoint;

import java.nio.file.Path;
import java.util.List;

/**
 * The outcome of checking one checkpoint folder.
 *
 * @param manifest null when the manifest itself could not be read
 * @param problems one line per defect, each naming the file; empty when intact
 */
public record VerifyResult(Path folder, Manifest manifest, List<String> problems) {
  public VerifyResult {
    problems = List.copyOf(problems);
  }

  public boolean ok() {
    return problems.isEmpty();
  }
}

package dev.cairn.run;

import java.util.List;

/** Resuming a run with a config that differs from the one it started with. */
public final class ConfigChangedException extends IllegalStateException {
  private static final long serialVersionUID = 1L;
  private final List<String> diff;

  public ConfigChangedException(String run, List<String> diff) {
    super(
        "the config of run '"
            + run
            + "' changed since it started: "
            + String.join("; ", diff)
            + ". Use the original config, a new run name, or allow the change to resume anyway");
    this.diff = List.copyOf(diff);
  }

  public List<String> diff() {
    return diff;
  }
}

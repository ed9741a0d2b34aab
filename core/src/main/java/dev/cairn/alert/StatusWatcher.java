package dev.cairn.alert;

import dev.cairn.run.RunStatus;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Watches run folders from a process that outlives the jobs ({@code cairn serve}, {@code cairn
 * supervise}) and says when a run turns stalled or dead. Only changes count: a run already dead
 * when watching starts is not reported, and a run is reported again only after it ran again.
 */
public final class StatusWatcher {
  private final Path folder;
  private final Clock clock;
  private final Map<Path, String> last = new HashMap<>();
  private boolean first = true;

  /**
   * @param folder a runs folder, or one run's folder
   */
  public StatusWatcher(Path folder, Clock clock) {
    this.folder = folder;
    this.clock = clock;
  }

  /** Reads every run's status; the alerts for runs that turned stalled or dead since last time. */
  public List<String> poll() throws IOException {
    List<Path> dirs = RunStatus.isRun(folder) ? List.of(folder) : RunStatus.runsIn(folder);
    List<String> alerts = new ArrayList<>();
    for (Path dir : dirs) {
      RunStatus s;
      try {
        s = RunStatus.of(dir, clock);
      } catch (IOException | RuntimeException e) {
        continue; // being created or rewritten: next round
      }
      String before = last.put(dir, s.status());
      boolean bad = s.status().equals("dead") || s.status().equals("stalled");
      boolean changed = before == null ? !first : !before.equals(s.status());
      if (bad && changed) {
        alerts.add(RunAlerts.status(s.id(), s.status(), s.step(), s.heartbeatAgeSeconds()));
      }
    }
    first = false;
    return alerts;
  }
}

package dev.cairn.coordination;

import java.util.Map;
import java.util.Optional;
import org.slf4j.LoggerFactory;

/**
 * A rank started by {@code cairn launch} ends when its launcher does, as torchrun's workers end
 * with their agent: a launcher killed with -9 leaves no group of orphans training on (and holding
 * the run's lock) while a new launcher starts the next group. The rank exits through its shutdown
 * hooks, so a group whose launcher died still takes its last save.
 */
final class LauncherWatch {
  /** Set by {@code cairn launch}: its process id. */
  static final String LAUNCHER_PID = "CAIRN_LAUNCHER_PID";

  /** The exit code of a rank whose launcher is gone (128 + SIGHUP, as a terminal's hang-up). */
  static final int EXIT_CODE = 129;

  private LauncherWatch() {}

  static void start(Map<String, String> env) {
    String pid = env.get(LAUNCHER_PID);
    if (pid == null || pid.isBlank()) {
      return;
    }
    Optional<ProcessHandle> launcher;
    try {
      launcher = ProcessHandle.of(Long.parseLong(pid.trim()));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(LAUNCHER_PID + " must be a process id, was " + pid);
    }
    if (launcher.isEmpty()) {
      gone(pid);
      return;
    }
    launcher.get().onExit().thenRun(() -> gone(pid));
  }

  private static void gone(String pid) {
    LoggerFactory.getLogger(LauncherWatch.class)
        .error("the launcher (pid {}) is gone: this rank exits, as its whole group does", pid);
    Thread t = new Thread(() -> System.exit(EXIT_CODE), "cairn-launcher-gone");
    t.setDaemon(true);
    t.start();
  }
}

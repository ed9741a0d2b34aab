package dev.cairn.concurrent;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;

/**
 * Cairn's background threads: named (they show up in thread dumps as cairn-*) and daemons, so a
 * training job whose main thread ends is never kept alive by monitoring.
 */
public final class DaemonThreads {
  private DaemonThreads() {}

  public static ThreadFactory named(String name) {
    return r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    };
  }

  public static ExecutorService single(String name) {
    return Executors.newSingleThreadExecutor(named(name));
  }

  public static ScheduledExecutorService scheduled(String name) {
    return Executors.newSingleThreadScheduledExecutor(named(name));
  }
}

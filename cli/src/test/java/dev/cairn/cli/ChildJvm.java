package dev.cairn.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The command line of a child JVM running {@code cairn} from the test classpath, offline. */
public final class ChildJvm {
  private ChildJvm() {}

  /** {@code java -cp <tests> -Dai.djl.offline=true [engine cache] dev.cairn.cli.Main args...}. */
  public static List<String> cairn(List<String> args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add("-Dai.djl.offline=true");
    String cache = System.getProperty("DJL_CACHE_DIR");
    if (cache != null) {
      cmd.add("-DDJL_CACHE_DIR=" + cache);
      cmd.add("-DENGINE_CACHE_DIR=" + cache);
    }
    cmd.add(Main.class.getName());
    cmd.addAll(args);
    return cmd;
  }
}

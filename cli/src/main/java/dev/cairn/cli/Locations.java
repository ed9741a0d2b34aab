package dev.cairn.cli;

import dev.cairn.run.Cairn;
import dev.cairn.store.Storages;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * Where a command's runs are: a folder, or remote storage ({@code hdfs://…}, {@code s3a://…}) with
 * its settings given as {@code -D KEY=VALUE}, after Hadoop's defaults and {@code HADOOP_CONF_DIR}.
 * Readers work on a local copy brought up to date from the remote folder.
 */
final class Locations {
  @Option(
      names = "-D",
      paramLabel = "KEY=VALUE",
      description =
          "a setting of remote storage, such as -D fs.s3a.endpoint=http://127.0.0.1:9000 (Hadoop"
              + " keys; repeatable; core-site.xml from HADOOP_CONF_DIR applies first)")
  Map<String, String> settings = new LinkedHashMap<>();

  static boolean isRemote(String location) {
    return !Storages.isLocal(location);
  }

  /** A run folder on this machine: the folder itself, or an up-to-date copy of a remote run. */
  Path run(String location) throws IOException {
    return Cairn.localCopy(location, settings);
  }

  /**
   * The checkpoints folder of a run, where it is (checkpoints of a remote run are read in place,
   * never copied); empty when the run has none yet.
   */
  java.util.Optional<dev.cairn.store.Storage> checkpoints(String runLocation, Path localCopy)
      throws IOException {
    if (!isRemote(runLocation)) {
      Path p = localCopy.resolve("checkpoints");
      return java.nio.file.Files.isDirectory(p)
          ? java.util.Optional.of(dev.cairn.store.Storage.at(p))
          : java.util.Optional.empty();
    }
    dev.cairn.store.Storage s =
        Storages.open(runLocation.replaceAll("/+$", "") + "/checkpoints", settings);
    return s.exists("") ? java.util.Optional.of(s) : java.util.Optional.empty();
  }

  /**
   * For a dashboard over the local copies of the runs in a remote runs folder: where each run's
   * checkpoints are, read in place (a copy holds a run's files, never its checkpoints); null for a
   * local runs folder, whose runs hold their own.
   */
  dev.cairn.web.Dashboard.RemoteCheckpoints checkpointsOfRuns(String runsLocation) {
    if (!isRemote(runsLocation)) {
      return null;
    }
    String runsAt = runsLocation.replaceAll("/+$", "");
    return run -> Storages.open(runsAt + "/" + run + "/checkpoints", settings);
  }

  /** A runs folder on this machine: the folder itself, or copies of each remote run in it. */
  Path runs(String location) throws IOException {
    return Cairn.localCopyOfRuns(location, settings);
  }
}

package dev.cairn.cli;

import dev.cairn.tensorboard.TensorBoardExport;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code cairn export tensorboard RUN_DIR...}: event files for runs made before. */
@Command(
    name = "export",
    mixinStandardHelpOptions = true,
    description = "Write a run's data in another tool's format.",
    subcommands = ExportCommand.TensorBoard.class)
final class ExportCommand implements Runnable {
  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new picocli.CommandLine.ParameterException(
        spec.commandLine(), "say what to export, e.g. 'cairn export tensorboard runs/NAME'");
  }

  @Command(
      name = "tensorboard",
      mixinStandardHelpOptions = true,
      description =
          "Write TensorBoard event files (RUN_DIR/tb/) from each run's metrics.jsonl and config,"
              + " for runs made without the TensorBoard module. Every run is checked before any"
              + " file is written.")
  static final class TensorBoard implements Callable<Integer> {
    @Spec picocli.CommandLine.Model.CommandSpec spec;

    @Parameters(paramLabel = "RUN_DIR", arity = "1..*")
    List<Path> dirs;

    @Override
    public Integer call() throws IOException {
      for (Path d : dirs) {
        RunArgs.requireRun(d);
        TensorBoardExport.requireExportable(d);
      }
      for (Path d : dirs) {
        Path f = TensorBoardExport.export(d);
        spec.commandLine().getOut().println("wrote " + f);
      }
      return 0;
    }
  }
}

package dev.cairn.cli;

import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of the {@code cairn} command: parses, dispatches, maps failures to one line. */
@Command(
    name = "cairn",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    description = "Crash-proof, visible long-running training jobs on the JVM.",
    subcommands = {
      DemoCommand.class,
      SuperviseCommand.class,
      LaunchCommand.class,
      ServeCommand.class,
      PlotCommand.class,
      RunsCommand.class,
      ShowCommand.class,
      TailCommand.class,
      SaveCommand.class,
      StopCommand.class,
      CompareCommand.class,
      InspectCommand.class,
      VerifyCommand.class,
      ExportCommand.class,
      BenchCommand.class
    })
public final class Main implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  public static void main(String[] args) {
    System.exit(
        run(
            args,
            new PrintWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8), true),
            new PrintWriter(new OutputStreamWriter(System.err, StandardCharsets.UTF_8), true)));
  }

  /** Runs the command line with the given streams; returns the exit code. */
  public static int run(String[] args, PrintWriter out, PrintWriter err) {
    CommandLine cli = new CommandLine(new Main());
    cli.setOut(out);
    cli.setErr(err);
    cli.setParameterExceptionHandler(
        (ex, a) -> {
          CommandLine c = ex.getCommandLine();
          c.getErr().println(prefix(c) + ex.getMessage());
          c.getErr().println("Try '" + c.getCommandSpec().qualifiedName() + " --help'.");
          return 2;
        });
    cli.setExecutionExceptionHandler(
        (ex, c, parsed) -> {
          c.getErr().println(prefix(c) + oneLine(ex));
          if (System.getenv("CAIRN_DEBUG") != null) {
            ex.printStackTrace(c.getErr());
          }
          return ex instanceof IllegalArgumentException ? 2 : 1;
        });
    return cli.execute(args);
  }

  private static String prefix(CommandLine c) {
    return c.getCommandSpec().qualifiedName() + ": ";
  }

  /** The message a person needs, without a stack trace. */
  static String oneLine(Throwable e) {
    String m = e.getMessage();
    if (m == null || m.isBlank()) {
      m = e.getClass().getSimpleName();
    }
    if (e instanceof java.nio.file.NoSuchFileException) {
      m = "no such file or folder: " + m;
    } else if (e instanceof java.nio.file.AccessDeniedException) {
      m = "permission denied: " + m;
    }
    return m.replace('\n', ' ');
  }

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** Reads the version from the jar manifest. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = Main.class.getPackage().getImplementationVersion();
      return new String[] {"cairn " + (v == null ? "(development build)" : v)};
    }
  }
}

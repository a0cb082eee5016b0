package io.countersign.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code countersign} command. */
@Command(
        name = "countersign",
        mixinStandardHelpOptions = true,
        version = "countersign 0.1.0",
        description = "A human checkpoint in front of the privileged actions AI agents take.",
        subcommands = {
            ServeCommand.class,
            RequestCommand.class,
            ClientCommands.Requests.class,
            ClientCommands.Get.class,
            ClientCommands.Review.class,
            ClientCommands.Cancel.class,
            ClientCommands.Revoke.class,
            ClientCommands.Redeem.class,
            ClientCommands.ReportOutcome.class,
            ClientCommands.Events.class,
            PolicyCommands.class,
            KeygenCommand.class,
            McpCommand.class,
            LedgerCommands.class,
            SlackCommands.class,
            HelpCommand.class
        })
public final class Main implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns its exit code (tests call this). */
    public static int run(String... args) {
        CommandLine cli = new CommandLine(new Main())
                .setExecutionExceptionHandler(new ErrorHandler())
                .setCaseInsensitiveEnumValuesAllowed(true);
        shareVersion(cli, cli.getCommandSpec().version());
        return cli.execute(args);
    }

    /** Every subcommand offers -V/--version; without this they would print an empty line. */
    private static void shareVersion(CommandLine cmd, String[] version) {
        for (CommandLine sub : cmd.getSubcommands().values()) {
            if (sub.getCommandSpec().version().length == 0) sub.getCommandSpec().version(version);
            shareVersion(sub, version);
        }
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** Prints a problem or failure in one line on stderr instead of a stack trace. */
    static final class ErrorHandler implements CommandLine.IExecutionExceptionHandler {
        @Override
        public int handleExecutionException(Exception e, CommandLine cmd, CommandLine.ParseResult parsed) {
            cmd.getErr().println("countersign: " + describe(e));
            if (e instanceof ApiClient.ProblemException p) return p.exitCode();
            // A bad argument, or an input file that is missing, unreadable or not JSON: the caller's to fix.
            boolean usage = e instanceof IllegalArgumentException
                    || e instanceof java.nio.file.FileSystemException
                    || e instanceof com.fasterxml.jackson.core.JsonProcessingException;
            return usage ? CommandLine.ExitCode.USAGE : 1;
        }

        /** A file system failure's message is often the bare path: say what went wrong with it. */
        static String describe(Exception e) {
            return switch (e) {
                case java.nio.file.NoSuchFileException f -> "no such file or directory: " + f.getFile();
                case java.nio.file.AccessDeniedException f -> "permission denied: " + f.getFile();
                case java.nio.file.FileSystemException f ->
                    f.getFile() + ": "
                            + (f.getReason() != null
                                    ? f.getReason()
                                    : e.getClass().getSimpleName());
                case com.fasterxml.jackson.databind.exc.MismatchedInputException m ->
                    "not the JSON expected: " + io.countersign.core.json.JsonMismatch.describe(m)
                            + (m.getLocation() == null
                                    ? ""
                                    : " (line " + m.getLocation().getLineNr() + ", column "
                                            + m.getLocation().getColumnNr() + ")");
                case com.fasterxml.jackson.core.JsonProcessingException j ->
                    "not valid JSON: " + j.getOriginalMessage()
                            + (j.getLocation() == null
                                    ? ""
                                    : " (line " + j.getLocation().getLineNr() + ", column "
                                            + j.getLocation().getColumnNr() + ")");
                default -> e.getMessage() == null ? e.toString() : e.getMessage();
            };
        }
    }
}

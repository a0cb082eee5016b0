package io.countersign.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code countersign} command. */
@Command(
        name = "countersign",
        mixinStandardHelpOptions = true,
        version = "countersign " + Main.VERSION,
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
public final class Main implements java.util.concurrent.Callable<Integer> {
    static final String VERSION = "0.1.0";

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns its exit code (tests call this). */
    public static int run(String... args) {
        CommandLine cli = new CommandLine(new Main())
                .setExecutionExceptionHandler(new ErrorHandler())
                .setParameterExceptionHandler(new ParameterHandler())
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

    /** No command: the usage, on stderr, and the usage exit code. */
    @Override
    public Integer call() {
        spec.commandLine().usage(System.err);
        return CommandLine.ExitCode.USAGE;
    }

    /** An input file that is not what its command expects: the message names the file. */
    static final class BadInputFile extends IllegalArgumentException {
        final String file;
        final Exception problem;

        BadInputFile(String file, Exception problem) {
            super(file + ": " + problem.getMessage(), problem);
            this.file = file;
            this.problem = problem;
        }
    }

    interface Reading<T> {
        T read() throws java.io.IOException;
    }

    /** {@code read}'s result; JSON or YAML it cannot parse is a {@link BadInputFile} naming {@code file}. */
    static <T> T reading(Object file, Reading<T> read) throws java.io.IOException {
        try {
            return read.read();
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new BadInputFile(String.valueOf(file), e);
        }
    }

    /**
     * A client option put before the command ({@code countersign --server URL get ID}) is said so,
     * with where it goes, rather than as an unknown option followed by the whole usage.
     */
    static final class ParameterHandler implements CommandLine.IParameterExceptionHandler {
        private static final java.util.Set<String> CLIENT_OPTIONS = java.util.Set.of("--server", "--key", "--json");

        @Override
        public int handleParseException(CommandLine.ParameterException e, String[] args) {
            CommandLine cmd = e.getCommandLine();
            if (cmd.getParent() == null && e instanceof CommandLine.UnmatchedArgumentException u) {
                String first =
                        u.getUnmatched().isEmpty() ? "" : u.getUnmatched().getFirst();
                String name = first.contains("=") ? first.substring(0, first.indexOf('=')) : first;
                if (CLIENT_OPTIONS.contains(name)) {
                    cmd.getErr()
                            .println("countersign: " + name + " goes after the command, e.g. countersign get " + name
                                    + (name.equals("--json") ? "" : " VALUE") + " ID (see countersign COMMAND --help)");
                    return CommandLine.ExitCode.USAGE;
                }
            }
            cmd.getErr().println(e.getMessage());
            if (!CommandLine.UnmatchedArgumentException.printSuggestions(e, cmd.getErr()))
                e.getCommandLine().usage(cmd.getErr());
            return CommandLine.ExitCode.USAGE;
        }
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
                case BadInputFile b -> b.file + ": " + describe(b.problem);
                case java.nio.file.NoSuchFileException f -> "no such file or directory: " + f.getFile();
                case java.nio.file.FileAlreadyExistsException f -> f.getFile() + ": already exists; not overwritten";
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

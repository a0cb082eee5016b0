package io.countersign.cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * {@code countersign help [COMMAND...]}: the help of the command named, however deep. Picocli's own
 * help command reads one name, so {@code help ledger verify} printed the help of {@code ledger}.
 */
@Command(
        name = "help",
        helpCommand = true,
        mixinStandardHelpOptions = true,
        description = "Print the help of a command or of its subcommand, as in help ledger verify.")
final class HelpCommand implements CommandLine.IHelpCommandInitializable2, Runnable {
    @Parameters(
            paramLabel = "COMMAND",
            arity = "0..*",
            description = "The command, then its subcommand and theirs, down to the one to describe")
    List<String> names = new ArrayList<>();

    private CommandLine self;
    private CommandLine.Help.ColorScheme colors;
    private PrintWriter out;

    @Override
    public void init(
            CommandLine helpCommandLine, CommandLine.Help.ColorScheme colorScheme, PrintWriter out, PrintWriter err) {
        this.self = helpCommandLine;
        this.colors = colorScheme;
        this.out = out;
    }

    @Override
    public void run() {
        CommandLine command = self.getParent();
        for (String name : names) {
            CommandLine sub = command.getSubcommands().get(name);
            // Thrown here, it is a usage error: picocli prints it with the help of the command that lacks it.
            if (sub == null)
                throw new CommandLine.ParameterException(
                        command,
                        "Unknown subcommand '" + name + "' of "
                                + command.getCommandSpec().qualifiedName());
            command = sub;
        }
        command.usage(out, colors);
    }
}

package io.countersign.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code countersign slack ...}: tools for trying the Slack channel without a Slack workspace. */
@Command(
        name = "slack",
        mixinStandardHelpOptions = true,
        description = "Try Slack approvals without a Slack workspace: play Slack's part against a server.",
        subcommands = {SlackInteractionCommand.class})
final class SlackCommands implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}

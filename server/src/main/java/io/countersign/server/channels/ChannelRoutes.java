package io.countersign.server.channels;

import io.countersign.server.Problem;
import io.helidon.webserver.http.HttpRules;
import java.util.List;

/**
 * The HTTP routes of the channels: the deliveries API, the review-link page, and each configured
 * channel's own (Slack's interactivity endpoint). A channel's endpoint that is not configured answers
 * a problem that says so, rather than a bare 404, so that a misconfigured app is easy to diagnose.
 */
public final class ChannelRoutes {
    private ChannelRoutes() {}

    public static void register(HttpRules rules, ChannelContext ctx, List<Channel> configured) {
        new DeliveriesApi(ctx).routes(rules);
        new ReviewPage(ctx).routes(rules);
        configured.forEach(c -> c.routes(rules));
        if (configured.stream().noneMatch(c -> c instanceof SlackChannel)) {
            rules.post(SlackInteractions.PATH, (req, res) -> {
                throw new Problem(
                                404,
                                "channel-not-configured",
                                "Channel not configured",
                                "Slack is not configured on this server (channels.slack)")
                        .thrown();
            });
        }
    }
}

package io.countersign.core;

import java.util.List;

/**
 * What an action acts on.
 *
 * @param type resource type, e.g. {@code table}, {@code bucket}, {@code mcp_tool}
 * @param id the resource's identifier
 * @param env environment, e.g. {@code prod}; empty when not given
 * @param tags labels such as {@code pii} that policy matches on
 * @param domain the data domain, empty when not given
 */
public record Resource(String type, String id, String env, List<String> tags, String domain) {
    public Resource {
        type = InvalidRequestException.requireText("resource.type", type, 128);
        id = InvalidRequestException.requireText("resource.id", id, 1024);
        env = InvalidRequestException.optionalText("resource.env", env, 64);
        domain = InvalidRequestException.optionalText("resource.domain", domain, 128);
        tags = tags == null ? List.of() : List.copyOf(tags);
        if (tags.size() > 64) throw new InvalidRequestException("resource.tags", "at most 64 tags");
        for (String tag : tags) InvalidRequestException.requireText("resource.tags[]", tag, 64);
    }
}

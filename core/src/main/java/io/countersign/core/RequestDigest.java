package io.countersign.core;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.core.json.CanonicalJson;

/**
 * The digest an approval binds to: hex SHA-256 over the RFC 8785 canonical JSON of the requester,
 * the action (type and params) and the resource. Justification and context are shown to reviewers
 * but are not part of what runs, so they are not covered.
 */
public final class RequestDigest {
    private RequestDigest() {}

    public static String of(Principal requester, ActionRequest request) {
        return CanonicalJson.sha256Hex(subject(requester, request));
    }

    /** The object that is digested. */
    public static ObjectNode subject(Principal requester, ActionRequest request) {
        JsonNodeFactory f = JsonNodeFactory.instance;
        ObjectNode who = f.objectNode()
                .put("id", requester.id())
                .put("kind", requester.kind().wire());
        if (requester.owner() != null) who.put("owner", requester.owner());
        if (request.onBehalfOf() != null) who.put("on_behalf_of", request.onBehalfOf());
        ObjectNode action = f.objectNode().put("type", request.action().type());
        action.set("params", request.action().params());
        Resource r = request.resource();
        ObjectNode resource = f.objectNode()
                .put("type", r.type())
                .put("id", r.id())
                .put("env", r.env())
                .put("domain", r.domain());
        resource.set(
                "tags", f.arrayNode().addAll(r.tags().stream().map(f::textNode).toList()));
        ObjectNode subject = f.objectNode();
        subject.set("requester", who);
        subject.set("action", action);
        subject.set("resource", resource);
        return subject;
    }

    /** Whether {@code s} has a digest's form: 64 hex digits (either case), around them only whitespace. */
    public static boolean wellFormed(String s) {
        String t = s.strip();
        if (t.length() != 64) return false;
        for (int i = 0; i < 64; i++) {
            char c = t.charAt(i);
            if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F')) return false;
        }
        return true;
    }

    /** Constant-time comparison of two hex digests; a null or malformed candidate never matches. */
    public static boolean matches(String expected, String candidate) {
        if (candidate == null) return false;
        return java.security.MessageDigest.isEqual(
                expected.getBytes(java.nio.charset.StandardCharsets.US_ASCII),
                candidate
                        .strip()
                        .toLowerCase(java.util.Locale.ROOT)
                        .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    }
}

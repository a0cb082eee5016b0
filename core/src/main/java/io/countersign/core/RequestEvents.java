package io.countersign.core;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.core.json.CanonicalJson;
import java.time.Instant;

/** Builds the ledger events of the request service. Metadata only: params and context as hashes. */
final class RequestEvents {
    static final String SYSTEM = "system";
    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    private RequestEvents() {}

    static LedgerEvent submitted(Request r, java.util.List<String> paramsInClear) {
        ActionRequest a = r.action();
        ObjectNode d = F.objectNode()
                .put("requester_kind", r.requester().kind().wire())
                .put("action_type", a.action().type())
                .put("params_sha256", CanonicalJson.sha256Hex(a.action().params()))
                .put("context_sha256", CanonicalJson.sha256Hex(a.context()))
                .put("justification", a.justification())
                .put("digest", r.digest());
        if (r.requester().owner() != null) d.put("owner", r.requester().owner());
        if (a.onBehalfOf() != null) d.put("on_behalf_of", a.onBehalfOf());
        ObjectNode resource = d.putObject("resource")
                .put("type", a.resource().type())
                .put("id", a.resource().id())
                .put("env", a.resource().env())
                .put("domain", a.resource().domain());
        a.resource().tags().forEach(resource.putArray("tags")::add);
        ObjectNode clear = F.objectNode();
        for (String name : paramsInClear) {
            var v = a.action().params().get(name);
            if (v != null) clear.set(name, v);
        }
        if (!clear.isEmpty()) d.set("params_in_clear", clear);
        return new LedgerEvent(
                "request.submitted", r.id(), r.createdAt(), r.requester().id(), d);
    }

    static LedgerEvent decided(Request r) {
        ObjectNode d = F.objectNode();
        d.put(
                "outcome",
                switch (r.decision()) {
                    case Decision.Allow a -> "allow";
                    case Decision.Deny x -> "deny";
                    case Decision.RequireApproval x -> "require_approval";
                });
        d.put("policy_version", r.decision().policyVersion());
        r.decision().matchedRules().forEach(d.putArray("matched_rules")::add);
        if (r.decision() instanceof Decision.Deny deny) d.put("reason", deny.reason());
        return new LedgerEvent("request.decided", r.id(), r.createdAt(), SYSTEM, d);
    }

    static LedgerEvent grantIssued(Request r) {
        ObjectNode d = F.objectNode()
                .put("grant_id", r.grant().id())
                .put("digest", r.grant().digest())
                .put("expires_at", r.grant().expiresAt().toString());
        return new LedgerEvent("grant.issued", r.id(), r.grant().issuedAt(), SYSTEM, d);
    }

    static LedgerEvent reviewed(Request r, Review v) {
        ObjectNode d = F.objectNode()
                .put("verdict", v.verdict().wire())
                .put("reason", v.reason())
                .put("channel", v.channel())
                .put("digest", r.digest());
        if (v.groups() != null) v.groups().stream().sorted().forEach(d.putArray("reviewer_groups")::add);
        return new LedgerEvent("review.recorded", r.id(), v.at(), v.reviewer(), d);
    }

    static LedgerEvent reviewRefused(
            Request r, String reviewer, Verdict verdict, String channel, RefusedException e, Instant at) {
        ObjectNode d = F.objectNode()
                .put("verdict", verdict.wire())
                .put("channel", channel)
                .put("refusal", e.refusal().slug())
                .put("message", e.getMessage());
        return new LedgerEvent("review.refused", r.id(), at, reviewer, d);
    }

    static LedgerEvent moved(Request r, String type, String actor, Instant at, String reason) {
        ObjectNode d = F.objectNode().put("state", r.state().wire());
        if (reason != null) d.put("reason", reason);
        return new LedgerEvent(type, r.id(), at, actor, d);
    }

    static LedgerEvent redeemed(Request r, Instant at) {
        ObjectNode d = F.objectNode()
                .put("grant_id", r.grant().id())
                .put("digest", r.grant().digest());
        return new LedgerEvent("grant.redeemed", r.id(), at, r.requester().id(), d);
    }

    static LedgerEvent redeemRefused(Request r, String actor, RefusedException e, Instant at) {
        ObjectNode d = F.objectNode().put("refusal", e.refusal().slug()).put("message", e.getMessage());
        return new LedgerEvent("grant.redeem_refused", r.id(), at, actor, d);
    }

    static LedgerEvent outcome(Request r) {
        Outcome o = r.outcome();
        ObjectNode d = F.objectNode().put("status", o.status().wire()).put("detail", o.detail());
        if (o.resultSha256() != null) d.put("result_sha256", o.resultSha256());
        return new LedgerEvent(
                "request." + o.status().wire(), r.id(), o.at(), r.requester().id(), d);
    }
}

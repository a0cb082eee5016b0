package io.countersign.core.policy;

import io.countersign.core.Decision;
import java.util.List;

/**
 * Why policy decided what it did: every rule's result and the combined decision.
 *
 * @param decision the combined decision
 * @param rules each rule in file order with whether it counted and any evaluation error
 * @param defaultApplied whether no rule counted and the file's default decided
 */
public record Explanation(Decision decision, List<RuleResult> rules, boolean defaultApplied) {
    public Explanation {
        rules = List.copyOf(rules);
    }

    /**
     * One rule's result.
     *
     * @param rule its name
     * @param effect allow, deny or require_approval
     * @param matched whether it counted towards the decision
     * @param error the evaluation error, or null; an erroring deny or require_approval counts as matched
     */
    public record RuleResult(String rule, String effect, boolean matched, String error) {}
}

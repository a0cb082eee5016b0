package io.countersign.core.policy;

import dev.cel.common.CelAbstractSyntaxTree;
import dev.cel.common.CelOptions;
import dev.cel.common.CelValidationException;
import dev.cel.common.ast.CelConstant;
import dev.cel.common.ast.CelExpr;
import dev.cel.common.types.MapType;
import dev.cel.common.types.SimpleType;
import dev.cel.compiler.CelCompiler;
import dev.cel.compiler.CelCompilerFactory;
import dev.cel.parser.CelStandardMacro;
import dev.cel.runtime.CelEvaluationException;
import dev.cel.runtime.CelRuntime;
import dev.cel.runtime.CelRuntimeFactory;
import dev.cel.runtime.CelVariableResolver;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** One compiled rule: its CEL program, its effect, and the action types its match pins (if any). */
record Rule(
        int position, String name, String match, Effect effect, CelRuntime.Program program, Set<String> pinnedTypes) {
    private static final CelOptions OPTIONS =
            CelOptions.current().enableHeterogeneousNumericComparisons(true).build();
    private static final CelCompiler COMPILER = CelCompilerFactory.standardCelCompilerBuilder()
            .setOptions(OPTIONS)
            .setStandardMacros(CelStandardMacro.STANDARD_MACROS)
            .addVar("requester", MapType.create(SimpleType.STRING, SimpleType.DYN))
            .addVar("action", MapType.create(SimpleType.STRING, SimpleType.DYN))
            .addVar("resource", MapType.create(SimpleType.STRING, SimpleType.DYN))
            .addVar("context", MapType.create(SimpleType.STRING, SimpleType.DYN))
            .addVar("now", SimpleType.TIMESTAMP)
            .build();
    private static final CelRuntime RUNTIME =
            CelRuntimeFactory.standardCelRuntimeBuilder().setOptions(OPTIONS).build();

    static Rule compile(int position, String name, String match, Effect effect, String label) {
        CelAbstractSyntaxTree ast;
        try {
            ast = COMPILER.compile(match).getAst();
        } catch (CelValidationException e) {
            throw new PolicyException(label + ": match does not compile: " + e.getMessage());
        }
        if (!ast.getResultType().equals(SimpleType.BOOL) && !ast.getResultType().equals(SimpleType.DYN)) {
            throw new PolicyException(label + ": match must be a bool expression; it is "
                    + ast.getResultType().name());
        }
        try {
            return new Rule(position, name, match, effect, RUNTIME.createProgram(ast), pins(ast.getExpr()));
        } catch (CelEvaluationException e) {
            throw new PolicyException(label + ": match cannot be planned: " + e.getMessage());
        }
    }

    /**
     * Whether the match may read {@code action.params}: conservatively, whether its text mentions
     * {@code params} at all. A rule that does not cannot depend on what a call passes.
     */
    boolean readsParams() {
        return match.contains("params");
    }

    String effectName() {
        return switch (effect) {
            case Effect.Allow a -> "allow";
            case Effect.Deny d -> "deny";
            case Effect.RequireApproval r -> "require_approval";
        };
    }

    Result evaluate(CelVariableResolver vars) {
        try {
            Object value = program.eval(vars);
            if (value instanceof Boolean b) return b ? Result.MATCHED : Result.NOT_MATCHED;
            return new Result(false, "match returned " + value.getClass().getSimpleName() + ", not bool");
        } catch (CelEvaluationException | RuntimeException e) {
            return new Result(false, e.getMessage());
        }
    }

    /** A rule's raw result: matched, or an error (which counts per {@link Effect#restricts()}). */
    record Result(boolean matched, String error) {
        static final Result MATCHED = new Result(true, null);
        static final Result NOT_MATCHED = new Result(false, null);

        boolean counts(Effect effect) {
            return matched || (error != null && effect.restricts());
        }
    }

    /**
     * The action types a match pins, or empty when it pins none. {@code a && b} pins what either
     * side pins (the intersection when both do); {@code a || b} pins the union when both sides pin.
     */
    static Set<String> pins(CelExpr e) {
        if (e.getKind() != CelExpr.ExprKind.Kind.CALL) return Set.of();
        List<CelExpr> args = e.call().args();
        return switch (e.call().function()) {
            case "_&&_" -> both(pins(args.get(0)), pins(args.get(1)), true);
            case "_||_" -> both(pins(args.get(0)), pins(args.get(1)), false);
            case "_==_" -> equality(args.get(0), args.get(1));
            case "@in" -> isActionType(args.get(0)) ? stringList(args.get(1)) : Set.of();
            default -> Set.of();
        };
    }

    private static Set<String> both(Set<String> a, Set<String> b, boolean and) {
        if (and) {
            if (a.isEmpty()) return b;
            if (b.isEmpty()) return a;
            Set<String> common = new HashSet<>(a);
            common.retainAll(b);
            return common.isEmpty() ? Set.of("\u0000never") : Set.copyOf(common);
        }
        if (a.isEmpty() || b.isEmpty()) return Set.of();
        Set<String> union = new HashSet<>(a);
        union.addAll(b);
        return Set.copyOf(union);
    }

    private static Set<String> equality(CelExpr left, CelExpr right) {
        if (isActionType(left) && isString(right))
            return Set.of(right.constant().stringValue());
        if (isActionType(right) && isString(left)) return Set.of(left.constant().stringValue());
        return Set.of();
    }

    private static Set<String> stringList(CelExpr e) {
        if (e.getKind() != CelExpr.ExprKind.Kind.LIST || e.list().elements().isEmpty()) return Set.of();
        Set<String> out = new HashSet<>();
        for (CelExpr element : e.list().elements()) {
            if (!isString(element)) return Set.of();
            out.add(element.constant().stringValue());
        }
        return Set.copyOf(out);
    }

    private static boolean isActionType(CelExpr e) {
        return e.getKind() == CelExpr.ExprKind.Kind.SELECT
                && !e.select().testOnly()
                && e.select().field().equals("type")
                && e.select().operand().getKind() == CelExpr.ExprKind.Kind.IDENT
                && e.select().operand().ident().name().equals("action");
    }

    private static boolean isString(CelExpr e) {
        return e.getKind() == CelExpr.ExprKind.Kind.CONSTANT && e.constant().getKind() == CelConstant.Kind.STRING_VALUE;
    }
}

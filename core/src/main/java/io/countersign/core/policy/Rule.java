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
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * One compiled rule: its CEL program, its effect, the action types its match pins (if any), and the
 * {@link Guard}s among its conjuncts.
 *
 * <p>Design notes: how {@link #evaluate(CelInputs)} gives what running the whole program gives.
 *
 * <ul>
 *   <li>The one fact of CEL it rests on: in the runtime used here, an {@code &&} node whose operands
 *       each evaluate to a bool or an error is false if either is false (whatever the other is), else
 *       an error if either errors, else true ({@code ||} likewise with true). So a tree of {@code &&}
 *       over such conjuncts is false if any conjunct is false, else an error if any errors, else true.
 *   <li>The condition: an operand that evaluates to a value that is not a bool (say {@code
 *       action.params.flag && ...} with a string flag) makes the runtime throw <em>before</em> it
 *       looks at the other operand, so a false elsewhere does not save it. A conjunct the checker
 *       types {@code bool} never evaluates to a non-bool value. So guards are taken, and the residual
 *       program built, only when every conjunct is typed {@code bool}; and action types are pinned
 *       only when every operand under the {@code &&}/{@code ||} tree is typed {@code bool}.
 *   <li>Guards first. A guard's {@link Guard#test} is either sure, and then it is the value CEL gives
 *       that conjunct, or {@link Guard.Verdict#UNSURE}. When a guard is false, the match is false.
 *       When every guard is true, they are true conjuncts, and the match is what the {@code &&} of
 *       the other conjuncts is: the {@code residual} program, built at load from the same checked
 *       AST (the other conjuncts' subtrees joined by the original {@code &&} nodes, so that every id
 *       keeps its type and overload), or {@code true} when every conjunct is a guard. Otherwise
 *       (none false, one unsure) the whole program runs.
 *   <li>The residual can differ from the whole program only in an error's message, never in whether
 *       there is one, so {@link Result#counts} is the same; {@link Policy#explain} runs the whole
 *       program to report the message.
 * </ul>
 *
 * @param program the whole match
 * @param pinnedTypes the action types the match requires, or empty when it requires none
 * @param guards the conjuncts that Java decides, tested before any CEL runs
 * @param residual the {@code &&} of the conjuncts that are not guards ({@code program} when there
 *     are no guards, {@code true} when there is nothing else)
 */
record Rule(
        int position,
        String name,
        String match,
        Effect effect,
        CelRuntime.Program program,
        Set<String> pinnedTypes,
        List<Guard> guards,
        CelRuntime.Program residual) {
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
            return plan(position, name, match, effect, ast);
        } catch (CelEvaluationException e) {
            throw new PolicyException(label + ": match cannot be planned: " + e.getMessage());
        }
    }

    private static Rule plan(int position, String name, String match, Effect effect, CelAbstractSyntaxTree ast)
            throws CelEvaluationException {
        CelRuntime.Program program = RUNTIME.createProgram(ast);
        Set<String> pinned = operandsAreBool(ast, ast.getExpr()) ? pins(ast.getExpr()) : Set.of();
        Conjunction conjunction = Conjunction.of(ast.getExpr());
        if (!conjunction.conjuncts().stream().allMatch(c -> isBool(ast, c))) {
            return new Rule(position, name, match, effect, program, pinned, List.of(), program);
        }
        List<Guard> guards = new ArrayList<>();
        List<CelExpr> rest = new ArrayList<>();
        for (CelExpr c : conjunction.conjuncts()) {
            Guard.of(c).ifPresentOrElse(guards::add, () -> rest.add(c));
        }
        CelRuntime.Program residual =
                guards.isEmpty() ? program : RUNTIME.createProgram(conjunction.residual(ast, rest));
        return new Rule(position, name, match, effect, program, pinned, List.copyOf(guards), residual);
    }

    /** The leaves of a tree of {@code &&} and the ids of its {@code &&} nodes. */
    private record Conjunction(List<CelExpr> conjuncts, List<Long> andIds) {
        static Conjunction of(CelExpr root) {
            Conjunction c = new Conjunction(new ArrayList<>(), new ArrayList<>());
            c.add(root);
            return c;
        }

        private void add(CelExpr e) {
            if (isCall(e, "_&&_")) {
                andIds.add(e.id());
                e.call().args().forEach(this::add);
            } else {
                conjuncts.add(e);
            }
        }

        /**
         * {@code rest} (some of the conjuncts, in order) joined by {@code &&}, reusing this tree's
         * {@code &&} node ids (there are more of them than {@code rest} needs) so that the checked AST's
         * types and overloads cover every node; {@code true} when {@code rest} is empty.
         */
        CelAbstractSyntaxTree residual(CelAbstractSyntaxTree ast, List<CelExpr> rest) {
            if (rest.isEmpty()) return TRUE;
            CelExpr joined = rest.getFirst();
            for (int i = 1; i < rest.size(); i++) {
                CelExpr.CelCall and = CelExpr.CelCall.newBuilder()
                        .setFunction("_&&_")
                        .addArgs(joined, rest.get(i))
                        .build();
                joined = CelExpr.newBuilder()
                        .setId(andIds.get(i - 1))
                        .setCall(and)
                        .build();
            }
            return CelAbstractSyntaxTree.newCheckedAst(
                    joined, ast.getSource(), ast.getReferenceMap(), ast.getTypeMap());
        }
    }

    private static final CelAbstractSyntaxTree TRUE = compileTrue();

    private static CelAbstractSyntaxTree compileTrue() {
        try {
            return COMPILER.compile("true").getAst();
        } catch (CelValidationException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Whether every operand under the {@code &&}/{@code ||} tree at {@code e} is typed {@code bool}. */
    private static boolean operandsAreBool(CelAbstractSyntaxTree ast, CelExpr e) {
        if (isCall(e, "_&&_") || isCall(e, "_||_")) {
            return e.call().args().stream().allMatch(arg -> operandsAreBool(ast, arg));
        }
        return isBool(ast, e);
    }

    private static boolean isBool(CelAbstractSyntaxTree ast, CelExpr e) {
        return ast.getType(e.id()).map(SimpleType.BOOL::equals).orElse(false);
    }

    private static boolean isCall(CelExpr e, String function) {
        return e.getKind() == CelExpr.ExprKind.Kind.CALL && e.call().function().equals(function);
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

    /**
     * This rule's result for a decision: what {@link #evaluateInCel} gives (but for an error's
     * message): false when a guard is false; else, when every guard is true, the residual program's
     * result; else (a guard is unsure) the whole program's.
     */
    Result evaluate(CelInputs in) {
        boolean sure = true;
        for (int i = 0; i < guards.size(); i++) {
            switch (guards.get(i).test(in)) {
                case FALSE -> {
                    return Result.NOT_MATCHED;
                }
                case UNSURE -> sure = false;
                case TRUE -> {}
            }
        }
        return run(sure ? residual : program, in);
    }

    /** This rule's result from running its whole CEL program on {@code vars}. */
    Result evaluateInCel(CelVariableResolver vars) {
        return run(program, vars);
    }

    private static Result run(CelRuntime.Program program, CelVariableResolver vars) {
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

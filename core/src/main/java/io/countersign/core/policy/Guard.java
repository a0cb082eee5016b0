package io.countersign.core.policy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cel.common.ast.CelConstant;
import dev.cel.common.ast.CelExpr;
import io.countersign.core.policy.CelInputs.Field;
import io.countersign.core.policy.CelInputs.JsonObject;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;

/**
 * A conjunct of a match that Java evaluates from the request, giving the value CEL would give it, or
 * saying it is not sure (and then CEL decides). The forms:
 *
 * <ul>
 *   <li>{@link OneOf}: {@code resource.env == "prod"}, {@code action.type in ["db.query", "db.export"]}
 *       (a {@link Field} that is always a string, compared with string literals);
 *   <li>{@link NoneOf}: {@code requester.kind != "agent"};
 *   <li>{@link Contains}: {@code "pii" in resource.tags} (a field that is always a list of strings);
 *   <li>{@link Has}: {@code has(action.params.rows)}, {@code has(context.pipeline)} (a key of a
 *       variable that is always a map);
 *   <li>{@link JsonEquals}, {@link JsonOneOf}, {@link JsonOrder}: {@code action.params.readonly ==
 *       true}, {@code action.params.region in ["eu", "us"]}, {@code action.params.rows > 1000}, or the
 *       same on {@code context}: a key the agent may or may not have sent, compared with a string,
 *       bool or int literal.
 * </ul>
 *
 * <p>The first four read only what {@link CelInputs} sets for every request, so they are always
 * sure. The JSON forms are sure only when the key is there and its value is a string, a bool or an
 * integer (as the literal is): then CEL compares exactly as Java does here. A missing key (an error
 * in CEL) or a value of another kind (where CEL's answer depends on its equality and overload rules)
 * is {@link Verdict#UNSURE}.
 *
 * <p>How {@link Rule} uses them, and why that is exact, is in its design notes.
 */
sealed interface Guard {
    /** What a guard says of its conjunct for one request. */
    enum Verdict {
        TRUE,
        FALSE,
        /** Only CEL can say: the conjunct may error, or compare values of different kinds. */
        UNSURE;

        static Verdict of(boolean value) {
            return value ? TRUE : FALSE;
        }
    }

    /** The value CEL gives this conjunct for the request {@code in} holds, or {@link Verdict#UNSURE}. */
    Verdict test(CelInputs in);

    /** The field equals one of the literals. */
    record OneOf(Field field, Set<String> literals) implements Guard {
        public Verdict test(CelInputs in) {
            return Verdict.of(literals.contains(in.text(field)));
        }
    }

    /** The field equals none of the literals. */
    record NoneOf(Field field, Set<String> literals) implements Guard {
        public Verdict test(CelInputs in) {
            return Verdict.of(!literals.contains(in.text(field)));
        }
    }

    /** The list field contains the literal. */
    record Contains(Field field, String literal) implements Guard {
        public Verdict test(CelInputs in) {
            return Verdict.of(in.listContains(field, literal));
        }
    }

    /** The map has the key. */
    record Has(JsonObject object, String key) implements Guard {
        public Verdict test(CelInputs in) {
            return Verdict.of(in.json(object, key) != null);
        }
    }

    /**
     * {@code object.key == literal} ({@code equal}) or {@code !=} ({@code !equal}), the literal a
     * String, Boolean or Long; sure when the value is of the literal's kind.
     */
    record JsonEquals(JsonObject object, String key, Object literal, boolean equal) implements Guard {
        public Verdict test(CelInputs in) {
            Object value = scalar(in.json(object, key));
            if (value == null || value.getClass() != literal.getClass()) return Verdict.UNSURE;
            return Verdict.of(value.equals(literal) == equal);
        }
    }

    /** {@code object.key in [literals]}; sure when the value is a string. */
    record JsonOneOf(JsonObject object, String key, Set<String> literals) implements Guard {
        public Verdict test(CelInputs in) {
            return scalar(in.json(object, key)) instanceof String s ? Verdict.of(literals.contains(s)) : Verdict.UNSURE;
        }
    }

    /** {@code object.key < literal} (or {@code <=}, {@code >}, {@code >=}); sure when the value is an integer. */
    record JsonOrder(JsonObject object, String key, String function, long literal) implements Guard {
        public JsonOrder {
            if (!Set.of("_<_", "_<=_", "_>_", "_>=_").contains(function)) throw new IllegalArgumentException(function);
        }

        public Verdict test(CelInputs in) {
            if (!(scalar(in.json(object, key)) instanceof Long value)) return Verdict.UNSURE;
            int c = Long.compare(value, literal);
            return Verdict.of(
                    switch (function) {
                        case "_<_" -> c < 0;
                        case "_<=_" -> c <= 0;
                        case "_>_" -> c > 0;
                        default -> c >= 0;
                    });
        }
    }

    /**
     * The value of a JSON scalar as {@link CelInputs#value} gives it to CEL, for the kinds a guard
     * compares (String, Boolean, Long); null for anything else or a missing key.
     */
    private static Object scalar(JsonNode node) {
        if (node == null) return null;
        if (node.isTextual()) return node.textValue();
        if (node.isBoolean()) return node.booleanValue();
        if (node.isIntegralNumber() && node.canConvertToLong()) return node.longValue();
        return null;
    }

    /** The guard {@code conjunct} is, if it has one of the forms above. */
    static Optional<Guard> of(CelExpr conjunct) {
        if (conjunct.getKind() == CelExpr.ExprKind.Kind.SELECT) return presence(conjunct.select());
        if (conjunct.getKind() != CelExpr.ExprKind.Kind.CALL
                || conjunct.call().target().isPresent()
                || conjunct.call().args().size() != 2) return Optional.empty();
        CelExpr left = conjunct.call().args().get(0);
        CelExpr right = conjunct.call().args().get(1);
        String function = conjunct.call().function();
        return switch (function) {
            case "_==_" -> equality(left, right, true).or(() -> equality(right, left, true));
            case "_!=_" -> equality(left, right, false).or(() -> equality(right, left, false));
            case "@in" -> membership(left, right).or(() -> lookup(left, right));
            case "_<_", "_<=_", "_>_", "_>=_" ->
                order(left, function, right).or(() -> order(right, mirror(function), left));
            default -> Optional.empty();
        };
    }

    private static Optional<Guard> order(CelExpr value, String function, CelExpr literal) {
        if (!isConstant(literal, CelConstant.Kind.INT64_VALUE)) return Optional.empty();
        return jsonKey(value)
                .map(k -> new JsonOrder(
                        k.object(), k.key(), function, literal.constant().int64Value()));
    }

    /** The same comparison with its operands swapped: {@code 5 < x} is {@code x > 5}. */
    private static String mirror(String function) {
        return switch (function) {
            case "_<_" -> "_>_";
            case "_<=_" -> "_>=_";
            case "_>_" -> "_<_";
            default -> "_<=_";
        };
    }

    private static Optional<Guard> equality(CelExpr field, CelExpr literal, boolean equal) {
        Optional<Object> value = scalarLiteral(literal);
        if (value.isEmpty()) return Optional.empty();
        Optional<Guard> json = jsonKey(field).map(k -> new JsonEquals(k.object(), k.key(), value.get(), equal));
        if (!(value.get() instanceof String s)) return json;
        Set<String> literals = Set.of(s);
        return textField(field)
                .<Guard>map(f -> equal ? new OneOf(f, literals) : new NoneOf(f, literals))
                .or(() -> json);
    }

    /** A string, bool or int literal as the Java value CEL compares it as. */
    private static Optional<Object> scalarLiteral(CelExpr e) {
        if (e.getKind() != CelExpr.ExprKind.Kind.CONSTANT) return Optional.empty();
        return switch (e.constant().getKind()) {
            case STRING_VALUE -> Optional.of(e.constant().stringValue());
            case BOOLEAN_VALUE -> Optional.of(e.constant().booleanValue());
            case INT64_VALUE -> Optional.of(e.constant().int64Value());
            default -> Optional.empty();
        };
    }

    private static Optional<Guard> membership(CelExpr field, CelExpr list) {
        if (list.getKind() != CelExpr.ExprKind.Kind.LIST) return Optional.empty();
        Set<String> literals = new HashSet<>();
        for (CelExpr element : list.list().elements()) {
            if (!isString(element)) return Optional.empty();
            literals.add(element.constant().stringValue());
        }
        Set<String> copy = Set.copyOf(literals);
        return textField(field)
                .<Guard>map(f -> new OneOf(f, copy))
                .or(() -> jsonKey(field).map(k -> new JsonOneOf(k.object(), k.key(), copy)));
    }

    private static Optional<Guard> lookup(CelExpr literal, CelExpr list) {
        if (!isString(literal)) return Optional.empty();
        return field(list)
                .filter(Field::isList)
                .map(f -> new Contains(f, literal.constant().stringValue()));
    }

    /** {@code has(action.params.key)} or {@code has(context.key)}. */
    private static Optional<Guard> presence(CelExpr.CelSelect select) {
        if (!select.testOnly()) return Optional.empty();
        return jsonObject(select.operand()).map(o -> new Has(o, select.field()));
    }

    /** A key of a JSON variable: {@code action.params.key} or {@code context.key}, as a plain select. */
    record JsonKey(JsonObject object, String key) {}

    private static Optional<JsonKey> jsonKey(CelExpr e) {
        if (e.getKind() != CelExpr.ExprKind.Kind.SELECT || e.select().testOnly()) return Optional.empty();
        return jsonObject(e.select().operand())
                .map(o -> new JsonKey(o, e.select().field()));
    }

    /** {@code action.params} or {@code context}. */
    private static Optional<JsonObject> jsonObject(CelExpr e) {
        if (isIdent(e, "context")) return Optional.of(JsonObject.CONTEXT);
        boolean params = e.getKind() == CelExpr.ExprKind.Kind.SELECT
                && !e.select().testOnly()
                && e.select().field().equals("params")
                && isIdent(e.select().operand(), "action");
        return params ? Optional.of(JsonObject.ACTION_PARAMS) : Optional.empty();
    }

    private static Optional<Field> textField(CelExpr e) {
        return field(e).filter(f -> !f.isList());
    }

    /** {@code variable.key} as a plain select (not {@code has()}) on a variable. */
    private static Optional<Field> field(CelExpr e) {
        if (e.getKind() != CelExpr.ExprKind.Kind.SELECT || e.select().testOnly()) return Optional.empty();
        CelExpr operand = e.select().operand();
        if (operand.getKind() != CelExpr.ExprKind.Kind.IDENT) return Optional.empty();
        return Field.of(operand.ident().name(), e.select().field());
    }

    private static boolean isIdent(CelExpr e, String name) {
        return e.getKind() == CelExpr.ExprKind.Kind.IDENT && e.ident().name().equals(name);
    }

    private static boolean isString(CelExpr e) {
        return isConstant(e, CelConstant.Kind.STRING_VALUE);
    }

    private static boolean isConstant(CelExpr e, CelConstant.Kind kind) {
        return e.getKind() == CelExpr.ExprKind.Kind.CONSTANT && e.constant().getKind() == kind;
    }
}

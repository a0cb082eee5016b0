package io.countersign.core.json;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonSetter;
import com.fasterxml.jackson.annotation.Nulls;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.BeanDescription;
import com.fasterxml.jackson.databind.DeserializationConfig;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.deser.BeanDeserializerModifier;
import com.fasterxml.jackson.databind.deser.std.DelegatingDeserializer;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.type.LogicalType;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import java.io.IOException;

/**
 * The one JSON mapping of Countersign's records, shared by the store and the API: snake_case
 * names, ISO-8601 instants and durations, unknown fields and duplicate keys refused.
 */
public final class Json {
    private static final ObjectMapper MAPPER = builder().build();
    private static final ObjectMapper CLIENT = builder()
            .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS) // "12" for a number, "true" for a boolean
            .withCoercionConfig(
                    LogicalType.Textual,
                    strings -> strings.setCoercion(CoercionInputShape.Integer, CoercionAction.Fail)
                            .setCoercion(CoercionInputShape.Float, CoercionAction.Fail)
                            .setCoercion(CoercionInputShape.Boolean, CoercionAction.Fail))
            .defaultSetterInfo(JsonSetter.Value.forContentNulls(Nulls.FAIL)) // ["a", null]: refused at [1]
            .addModule(new SimpleModule().setDeserializerModifier(new BeanDeserializerModifier() {
                @Override
                public JsonDeserializer<?> modifyEnumDeserializer(
                        DeserializationConfig config, JavaType type, BeanDescription desc, JsonDeserializer<?> d) {
                    return new EnumFromStringOnly(d);
                }
            }))
            .build();

    private Json() {}

    private static JsonMapper.Builder builder() {
        return JsonMapper.builder()
                .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
                .addModule(new JavaTimeModule())
                .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
                .disable(SerializationFeature.WRITE_DURATIONS_AS_TIMESTAMPS)
                .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
                .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
                .serializationInclusion(JsonInclude.Include.NON_NULL);
    }

    /**
     * An enum read only from a JSON string: an enum's {@code @JsonCreator} taking a string is given
     * the text of any scalar ({@code 12} as {@code "12"}), whatever the coercion config says.
     */
    private static final class EnumFromStringOnly extends DelegatingDeserializer {
        EnumFromStringOnly(JsonDeserializer<?> d) {
            super(d);
        }

        @Override
        protected JsonDeserializer<?> newDelegatingInstance(JsonDeserializer<?> d) {
            return new EnumFromStringOnly(d);
        }

        @Override
        public Object deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
            if (!p.hasToken(JsonToken.VALUE_STRING)) return ctxt.handleUnexpectedToken(handledType(), p);
            return super.deserialize(p, ctxt);
        }
    }

    /** {@code value} as {@link #mapper()} writes it. A record that cannot be written is a bug, hence unchecked. */
    public static String write(Object value) {
        try {
            return MAPPER.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write a " + value.getClass().getSimpleName() + " as JSON", e);
        }
    }

    /** The shared, thread-safe mapper. Do not reconfigure it. */
    public static ObjectMapper mapper() {
        return MAPPER;
    }

    /**
     * The mapper for what clients send: as {@link #mapper()}, and a scalar of the wrong JSON type is
     * refused rather than converted (Jackson would read {@code 12} or {@code true} as the string
     * {@code "12"} or {@code "true"}, and {@code "12"} as a number), so that a request reads as
     * exactly what was sent; a null inside a list is refused where it stands. Free-form values
     * ({@code params}, {@code context}) are trees, kept as they are. The store's own documents and
     * the CLI's files (policy fixtures from YAML, where {@code id: 42} is a number) are read with
     * {@link #mapper()}.
     */
    public static ObjectMapper clientMapper() {
        return CLIENT;
    }
}

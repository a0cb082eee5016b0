package io.countersign.core.json;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import io.countersign.core.ActionRequest;
import io.countersign.core.Verdict;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class JsonTest {
    record Body(String text, Integer count, Boolean flag, List<String> tags, Verdict verdict) {}

    @ParameterizedTest(name = "{0}")
    @CsvSource(
            delimiter = '|',
            value = {
                "{\"text\":12}              | expected a string, not a number",
                "{\"text\":1.5}             | expected a string, not a number",
                "{\"text\":true}            | expected a string, not true",
                "{\"tags\":[false]}         | expected a string, not false",
                "{\"count\":\"12\"}         | expected a number, not a string",
                "{\"flag\":1}               | expected true or false, not a number",
                "{\"flag\":\"true\"}        | expected true or false, not a string",
                "{\"tags\":\"pii\"}         | expected an array, not a string",
                "{\"tags\":[\"pii\",null]}  | expected a string, not null",
                "{\"verdict\":12}           | expected a string, not a number",
                "{\"verdict\":false}        | expected a string, not false",
                "{\"verdict\":[\"deny\"]}   | expected a string, not an array",
            })
    void theClientMapperRefusesAScalarOfAnotherJsonTypeInJsonsWords(String json, String said) {
        MismatchedInputException e = catchThrowableOfType(
                MismatchedInputException.class, () -> Json.clientMapper().readValue(json, Body.class));
        assertThat(JsonMismatch.describe(e)).isEqualTo(said);
    }

    @Test
    void theClientMapperKeepsFreeFormValuesExactlyAsSent() throws Exception {
        String params = "{\"id\":\"12\",\"n\":12,\"x\":1.5,\"on\":true,\"off\":\"false\",\"none\":null}";
        ActionRequest r = Json.clientMapper()
                .readValue(
                        "{\"action\":{\"type\":\"db.query\",\"params\":" + params + "},"
                                + "\"resource\":{\"type\":\"db\",\"id\":\"x\"},\"context\":" + params + "}",
                        ActionRequest.class);
        assertThat(r.action().params().toString()).isEqualTo(params);
        assertThat(r.context().toString()).isEqualTo(params);
    }
}

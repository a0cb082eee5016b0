package io.countersign.core.spi;

import io.countersign.core.Principal;
import java.util.Collection;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;

/** The known principals, by id. Loaded from configuration (later also from an identity provider). */
public interface Directory {
    Optional<Principal> find(String id);

    /** A fixed directory of {@code principals}; ids must be unique. */
    static Directory of(Collection<Principal> principals) {
        Map<String, Principal> byId =
                principals.stream().collect(Collectors.toUnmodifiableMap(Principal::id, Function.identity()));
        return id -> Optional.ofNullable(byId.get(id));
    }
}

package io.countersign.server.channels;

import io.countersign.core.Principal;
import io.helidon.webserver.http.ServerRequest;
import java.util.Optional;

/**
 * Who is signed in to the console in this browser. A review link that was not sent to one person
 * (a Teams card seen by a whole channel) asks whoever opens it to sign in first.
 */
public interface ConsoleSignIn {
    /** No sign-in configured: links sent to a channel cannot be used. */
    ConsoleSignIn NONE = new ConsoleSignIn() {
        @Override
        public Optional<Principal> principal(ServerRequest req) {
            return Optional.empty();
        }

        @Override
        public Optional<String> signInUrl(String returnPath) {
            return Optional.empty();
        }
    };

    /** The signed-in person of this request's browser session, if any. */
    Optional<Principal> principal(ServerRequest req);

    /** Where to send a browser to sign in and then come back to {@code returnPath}; empty when sign-in is not configured. */
    Optional<String> signInUrl(String returnPath);
}

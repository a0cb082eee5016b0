package io.countersign.server.console;

/**
 * A sign-in that did not go through. The message is shown to the person in the browser: it says
 * what to do and never contains a code, a token, a key or a secret.
 */
final class SignInRefused extends RuntimeException {
    private final int status;

    SignInRefused(int status, String message) {
        super(message, null, false, false);
        this.status = status;
    }

    int status() {
        return status;
    }
}

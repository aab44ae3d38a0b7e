package dev.longpo.deploy;

/** The embedded stack could not start or stop; the message is meant for the user as it is. */
public class StackException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public StackException(String message) {
        super(message);
    }
}

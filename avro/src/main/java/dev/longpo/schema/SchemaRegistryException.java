package dev.longpo.schema;

/**
 * A schema registry call failed. {@link #httpStatus()} is -1 when the registry could not be reached;
 * {@link #errorCode()} is the Confluent error code from the response body (e.g. 40401, 409), or -1.
 */
public class SchemaRegistryException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int httpStatus;
    private final int errorCode;

    public SchemaRegistryException(String message, int httpStatus, int errorCode, Throwable cause) {
        super(message, cause);
        this.httpStatus = httpStatus;
        this.errorCode = errorCode;
    }

    public int httpStatus() {
        return httpStatus;
    }

    public int errorCode() {
        return errorCode;
    }

    /** True when the registry answered 404 (no such subject, version or schema id). */
    public boolean isNotFound() {
        return httpStatus == 404;
    }

    /** True when the registry refused a schema as incompatible (HTTP 409). */
    public boolean isIncompatible() {
        return httpStatus == 409;
    }

    /** True when no HTTP answer came back at all. */
    public boolean isUnreachable() {
        return httpStatus == -1;
    }
}

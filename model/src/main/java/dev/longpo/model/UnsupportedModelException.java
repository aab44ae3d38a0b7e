package dev.longpo.model;

/**
 * A model configuration whose forward pass this implementation does not compute (another
 * architecture, an unknown RoPE rule, ...): refused before any weight is loaded, with the key named.
 */
public class UnsupportedModelException extends IllegalArgumentException {
    public UnsupportedModelException(String message) {
        super(message);
    }
}

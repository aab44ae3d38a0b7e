package dev.longpo.schema;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * Where and how to reach a schema registry that speaks the Confluent REST API.
 *
 * @param url base URL, e.g. {@code http://127.0.0.1:8081} (Confluent) or
 *     {@code http://127.0.0.1:8085/apis/ccompat/v7} (Apicurio)
 * @param basicAuthUserInfo {@code user:password} for HTTP basic auth, or null
 * @param truststore PKCS12/JKS truststore for TLS, or null for the JVM default
 * @param truststorePassword its password, or null
 * @param timeout connect and request timeout
 * @param autoRegister whether serializers register missing schemas (off in locked-down production)
 */
public record RegistrySettings(URI url, String basicAuthUserInfo, Path truststore, String truststorePassword,
                               Duration timeout, boolean autoRegister) {
    public RegistrySettings {
        Objects.requireNonNull(url, "registry url");
        Objects.requireNonNull(timeout, "timeout");
    }

    /** Plain HTTP, no auth, 10 s timeout, auto-registration on. */
    public static RegistrySettings of(String url) {
        return new RegistrySettings(URI.create(url), null, null, null, Duration.ofSeconds(10), true);
    }
}

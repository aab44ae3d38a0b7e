package dev.longpo.schema;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longpo.avro.Chunk;
import java.net.ServerSocket;
import java.net.URI;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class SchemaRegistryClientTest {

    @Test
    void registryDownIsReportedAsUnreachable() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        SchemaRegistryClient client = new SchemaRegistryClient(new RegistrySettings(
                URI.create("http://127.0.0.1:" + port), null, null, null, Duration.ofSeconds(2), true));
        SchemaRegistryException e = assertThrows(SchemaRegistryException.class,
                () -> client.register("chunks-value", Chunk.getClassSchema()));
        assertTrue(e.isUnreachable());
        assertTrue(e.getMessage().contains("unreachable"), e.getMessage());
    }

    @Test
    void incompatibleSchemaIs409WithTheRegistryMessage() throws Exception {
        try (LoopbackRegistry reg = new LoopbackRegistry()) {
            reg.forcedStatus = 409;
            reg.forcedBody = "{\"error_code\":409,\"message\":\"Schema being registered is incompatible\"}";
            SchemaRegistryClient client = new SchemaRegistryClient(RegistrySettings.of(reg.url()));
            SchemaRegistryException e = assertThrows(SchemaRegistryException.class,
                    () -> client.register("chunks-value", Chunk.getClassSchema()));
            assertTrue(e.isIncompatible());
            assertEquals(409, e.errorCode());
            assertTrue(e.getMessage().contains("incompatible"), e.getMessage());
        }
    }

    @Test
    void unknownIdIs404() throws Exception {
        try (LoopbackRegistry reg = new LoopbackRegistry()) {
            SchemaRegistryClient client = new SchemaRegistryClient(RegistrySettings.of(reg.url()));
            SchemaRegistryException e = assertThrows(SchemaRegistryException.class, () -> client.schemaById(999));
            assertTrue(e.isNotFound());
            assertEquals(40403, e.errorCode());
        }
    }

    @Test
    void compatibilityCheckOnUnknownSubjectIsTrue() throws Exception {
        try (LoopbackRegistry reg = new LoopbackRegistry()) {
            SchemaRegistryClient client = new SchemaRegistryClient(RegistrySettings.of(reg.url()));
            assertTrue(client.isCompatible("nothing-value", Chunk.getClassSchema()));
        }
    }

    @Test
    void registerIsCachedAndSendsBasicAuth() throws Exception {
        try (LoopbackRegistry reg = new LoopbackRegistry()) {
            SchemaRegistryClient client = new SchemaRegistryClient(new RegistrySettings(URI.create(reg.url()),
                    "alice:secret", null, null, Duration.ofSeconds(5), true));
            int a = client.register("chunks-value", Chunk.getClassSchema());
            int b = client.register("chunks-value", Chunk.getClassSchema());
            assertEquals(a, b);
            assertEquals(1, reg.authHeaders.size(), "second register must be served from the cache");
            assertEquals("Basic YWxpY2U6c2VjcmV0", reg.authHeaders.get(0));
        }
    }
}

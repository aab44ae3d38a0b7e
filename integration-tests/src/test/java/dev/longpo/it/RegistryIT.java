package dev.longpo.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longpo.events.Topics;
import dev.longpo.schema.SchemaRegistryClient;
import dev.longpo.schema.SchemaRegistryException;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The project's registry client against a real Apicurio Registry's Confluent-compatible API. */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class RegistryIT {
    private static Schema v1() {
        return SchemaBuilder.record("Probe").namespace("dev.longpo.it").fields().requiredString("id").endRecord();
    }

    @Test
    void backwardCompatibilityIsEnforced() throws Exception {
        SchemaRegistryClient client = RealStack.get().clients().registry();
        String subject = "probe-" + UUID.randomUUID() + "-value";
        int id1 = client.register(subject, v1());
        client.setCompatibility(subject, "BACKWARD");
        assertEquals("BACKWARD", client.getCompatibility(subject));
        assertEquals(id1, client.register(subject, v1()), "same schema, same id");

        Schema withDefault = SchemaBuilder.record("Probe").namespace("dev.longpo.it").fields().requiredString("id")
                .name("score").type().doubleType().doubleDefault(0.0).endRecord();
        assertTrue(client.isCompatible(subject, withDefault));
        int id2 = client.register(subject, withDefault);
        assertTrue(id2 != id1);

        Schema required = SchemaBuilder.record("Probe").namespace("dev.longpo.it").fields().requiredString("id")
                .requiredDouble("score").requiredLong("must_exist").endRecord();
        assertFalse(client.isCompatible(subject, required));
        SchemaRegistryException e = assertThrows(SchemaRegistryException.class, () -> client.register(subject, required));
        assertTrue(e.isIncompatible(), e.getMessage());
        assertEquals(2, client.versions(subject).size());
        assertEquals(withDefault, client.schemaById(id2));
        assertTrue(client.subjects().contains(subject));
    }

    @Test
    void theStackRegistersEveryTopicSubjectAsBackward() throws Exception {
        SchemaRegistryClient client = RealStack.get().clients().registry();
        for (var t : Topics.all()) {
            assertEquals("BACKWARD", client.getCompatibility(t.valueSubject()), t.valueSubject());
            assertFalse(client.versions(t.valueSubject()).isEmpty());
        }
    }

    @Test
    void unknownSchemaIdIsNotFound() throws Exception {
        SchemaRegistryClient client = RealStack.get().clients().registry();
        SchemaRegistryException e = assertThrows(SchemaRegistryException.class, () -> client.schemaById(987654));
        assertTrue(e.isNotFound(), e.getMessage());
    }
}

package dev.longpo.schema;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longpo.avro.Chunk;
import dev.longpo.avro.Turn;
import dev.longpo.avro.TrainingSample;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.Test;

class AvroSerdeTest {
    static Chunk chunk() {
        return Chunk.newBuilder().setDocId("d-1").setChunkIndex(2).setNumChunks(5).setStartByte(10).setEndByte(19)
                .setNumTokens(9).setText("héllo ✓ 🙂").setDocSha256("ab").build();
    }

    @Test
    void roundTripInConfluentWireFormat() throws Exception {
        try (LoopbackRegistry reg = new LoopbackRegistry()) {
            AvroSerde<Chunk> serde = AvroSerde.forValue(new SchemaRegistryClient(RegistrySettings.of(reg.url())), Chunk.class);
            byte[] bytes = serde.serialize("chunks", chunk());
            assertEquals(0, bytes[0], "magic byte");
            int id = ByteBuffer.wrap(bytes, 1, 4).getInt();
            assertEquals(List.of(id), reg.registeredIds());
            assertEquals(chunk(), serde.deserialize("chunks", bytes));
        }
    }

    @Test
    void nestedRecordsAndTimestampsRoundTrip() throws Exception {
        try (LoopbackRegistry reg = new LoopbackRegistry()) {
            AvroSerde<TrainingSample> serde = AvroSerde.forValue(
                    new SchemaRegistryClient(RegistrySettings.of(reg.url())), TrainingSample.class);
            Turn t = Turn.newBuilder().setPairId("p").setChunkIndex(0).setInstruction("q?").setShortContext("c")
                    .setChosen("a").setRejected("b").setChosenTokenIds(List.of(1, 2)).setRejectedTokenIds(List.of(3))
                    .setRefChosenLogp(-1.5).setRefRejectedLogp(-7.25).setRefChosenLogpLong(null).build();
            TrainingSample s = TrainingSample.newBuilder().setSampleId("s").setDocId("d").setLongContext("long")
                    .setTurns(List.of(t, t)).setComplete(true).setIteration(1).setTargetLength(2048).setTheta0(1e4)
                    .setTheta1(4e4).setModelVersion("m0").setCreatedAt(Instant.now().truncatedTo(ChronoUnit.MILLIS)).build();
            assertEquals(s, serde.deserialize("training-samples", serde.serialize("training-samples", s)));
        }
    }

    @Test
    void anyRecordSerdeWritesEachRecordWithItsOwnSchema() throws Exception {
        try (LoopbackRegistry reg = new LoopbackRegistry()) {
            SchemaRegistryClient client = new SchemaRegistryClient(RegistrySettings.of(reg.url()));
            AvroSerde<SpecificRecord> any = AvroSerde.forAnyValue(client);
            byte[] bytes = any.serialize("chunks", chunk());
            assertEquals(chunk(), AvroSerde.forValue(client, Chunk.class).deserialize("chunks", bytes));
            assertEquals(chunk(), any.deserialize("chunks", bytes));
        }
    }

    @Test
    void projectsTheWriterSchemaOntoTheCompiledSchema() throws Exception {
        // The writer's schema (resolved by id) has a field the reader's compiled schema lacks: it is skipped.
        Schema older = SchemaBuilder.record("Chunk").namespace("dev.longpo.avro").fields()
                .requiredString("doc_id").requiredInt("chunk_index").requiredInt("num_chunks")
                .requiredLong("start_byte").requiredLong("end_byte").requiredInt("num_tokens")
                .requiredString("text").requiredString("doc_sha256").requiredString("extra_field_dropped_later")
                .endRecord();
        try (LoopbackRegistry reg = new LoopbackRegistry()) {
            SchemaRegistryClient client = new SchemaRegistryClient(RegistrySettings.of(reg.url()));
            int id = client.register("chunks-value", older);
            GenericRecord r = new GenericData.Record(older);
            r.put("doc_id", "d-9");
            r.put("chunk_index", 1);
            r.put("num_chunks", 3);
            r.put("start_byte", 4L);
            r.put("end_byte", 8L);
            r.put("num_tokens", 4);
            r.put("text", "abcd");
            r.put("doc_sha256", "ff");
            r.put("extra_field_dropped_later", "gone");
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            out.write(0);
            out.write(ByteBuffer.allocate(4).putInt(id).array());
            BinaryEncoder enc = EncoderFactory.get().binaryEncoder(out, null);
            new GenericDatumWriter<GenericRecord>(older).write(r, enc);
            enc.flush();
            Chunk c = AvroSerde.forValue(client, Chunk.class).deserialize("chunks", out.toByteArray());
            assertEquals("d-9", c.getDocId());
            assertEquals("abcd", c.getText());
            assertEquals(3, c.getNumChunks());
        }
    }

    @Test
    void rejectsUnframedAndTruncatedPayloads() throws Exception {
        try (LoopbackRegistry reg = new LoopbackRegistry()) {
            AvroSerde<Chunk> serde = AvroSerde.forValue(new SchemaRegistryClient(RegistrySettings.of(reg.url())), Chunk.class);
            SerializationException e = assertThrows(SerializationException.class,
                    () -> serde.deserialize("chunks", "{\"json\":1}".getBytes()));
            assertTrue(e.getMessage().contains("not Confluent-framed"), e.getMessage());
            byte[] good = serde.serialize("chunks", chunk());
            byte[] cut = java.util.Arrays.copyOf(good, good.length - 3);
            assertThrows(SerializationException.class, () -> serde.deserialize("chunks", cut));
            byte[] unknownId = good.clone();
            unknownId[4] = 99;
            SerializationException e2 = assertThrows(SerializationException.class,
                    () -> serde.deserialize("chunks", unknownId));
            assertTrue(e2.getMessage().contains("schema id"), e2.getMessage());
            assertNull(serde.deserialize("chunks", null));
            assertArrayEquals(null, serde.serialize("chunks", null));
        }
    }
}

package dev.longpo.schema;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import dev.longpo.avro.Chunk;
import dev.longpo.avro.Document;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.Size;
import org.apache.kafka.common.errors.SerializationException;

/**
 * The serde under thousands of generated inputs: every record round-trips (its text byte for byte), and any byte
 * string (random, or a valid record truncated, flipped, extended or given another schema id) is either
 * decoded to a record that re-encodes, or refused with a {@link SerializationException} that says why;
 * no other exception escapes.
 */
class AvroSerdeFuzzTest {
    private static final String TOPIC = "documents";
    private final SchemaRegistryClient registry = new SchemaRegistryClient(RegistrySettings.of("mock://fuzz-" + UUID.randomUUID()));
    private final AvroSerde<Document> documents = AvroSerde.forValue(registry, Document.class);
    private final int chunkSchemaId = ByteBuffer.wrap(AvroSerde.forValue(registry, Chunk.class).serialize("chunks",
            Chunk.newBuilder().setDocId("d").setChunkIndex(0).setNumChunks(1).setStartByte(0).setEndByte(1).setNumTokens(1)
                    .setText("x").setDocSha256("s").build()), 1, 4).getInt();

    /**
     * Any Unicode text: code points from the whole range, supplementary planes and NUL included; no lone
     * surrogates, which no UTF-8 input can produce and UTF-8 cannot carry.
     */
    static Arbitrary<String> unicode(int maxCodePoints) {
        return Arbitraries.integers().between(0, Character.MAX_CODE_POINT)
                .filter(c -> c < Character.MIN_SURROGATE || c > Character.MAX_SURROGATE).list().ofMaxSize(maxCodePoints)
                .map(cps -> new String(cps.stream().mapToInt(Integer::intValue).toArray(), 0, cps.size()));
    }

    @Provide
    Arbitrary<Document> documents() {
        Arbitrary<String> text = Arbitraries.oneOf(unicode(300), Arbitraries.strings().ascii().ofMaxLength(300));
        Arbitrary<String> id = Arbitraries.strings().withCharRange('!', '~').ofMinLength(1).ofMaxLength(40);
        Arbitrary<Map<String, String>> meta = Arbitraries.maps(unicode(12), text).ofMaxSize(4);
        return Combinators.combine(id, text.injectNull(0.2), text, meta, Arbitraries.longs().between(0, 4_000_000_000_000L),
                Arbitraries.integers().between(0, Integer.MAX_VALUE)).as((d, title, body, m, at, n) ->
                Document.newBuilder().setDocId(d).setSource("fuzz/" + d).setTitle(title).setText(body).setSha256("00")
                        .setNumBytes(body.length()).setNumTokens(n).setTokenizer("byte").setNumChunks(n % 97)
                        .setMetadata(m).setIngestedAt(Instant.ofEpochMilli(at)).build());
    }

    @Property(tries = 2000)
    void everyDocumentRoundTripsByteForByte(@ForAll("documents") Document d) {
        byte[] bytes = documents.serialize(TOPIC, d);
        Document back = documents.deserialize(TOPIC, bytes);
        assertEquals(d, back);
        assertArrayEquals(d.getText().getBytes(StandardCharsets.UTF_8), back.getText().getBytes(StandardCharsets.UTF_8));
        if (d.getMetadata().size() <= 1) {
            assertArrayEquals(bytes, documents.serialize(TOPIC, back), "one encoding (a map's order is its own)");
        }
    }

    /** A way to damage a valid encoding. */
    enum Damage { TRUNCATE, FLIP, APPEND, OTHER_SCHEMA, UNKNOWN_SCHEMA, MAGIC }

    @Property(tries = 3000)
    void aDamagedRecordIsDecodedOrRefusedWithAReason(@ForAll("documents") Document d, @ForAll Damage damage,
                                                      @ForAll long seed) {
        Random rnd = new Random(seed);
        byte[] b = documents.serialize(TOPIC, d);
        byte[] bad = switch (damage) {
            case TRUNCATE -> Arrays.copyOf(b, rnd.nextInt(b.length));
            case FLIP -> {
                byte[] c = b.clone();
                for (int i = 0; i < 1 + rnd.nextInt(4); i++) {
                    int at = 5 + rnd.nextInt(c.length - 5);
                    c[at] = (byte) (c[at] ^ (1 + rnd.nextInt(255)));
                }
                yield c;
            }
            case APPEND -> {
                byte[] c = Arrays.copyOf(b, b.length + 1 + rnd.nextInt(16));
                for (int i = b.length; i < c.length; i++) {
                    c[i] = (byte) rnd.nextInt(256);
                }
                yield c;
            }
            case OTHER_SCHEMA -> withSchemaId(b, chunkSchemaId);
            case UNKNOWN_SCHEMA -> withSchemaId(b, 1_000_000 + rnd.nextInt(1_000_000));
            case MAGIC -> {
                byte[] c = b.clone();
                c[0] = (byte) (1 + rnd.nextInt(255));
                yield c;
            }
        };
        decodedOrRefused(bad);
    }

    @Property(tries = 2000)
    void randomBytesAreRefusedWithAReason(@ForAll @Size(max = 64) byte[] body, @ForAll boolean framed) {
        byte[] bytes = body;
        if (framed) {
            int id = ByteBuffer.wrap(documents.serialize(TOPIC, minimal()), 1, 4).getInt();
            bytes = ByteBuffer.allocate(5 + body.length).put((byte) 0).putInt(id).put(body).array();
        }
        decodedOrRefused(bytes);
    }

    private void decodedOrRefused(byte[] bytes) {
        Document got;
        try {
            got = documents.deserialize(TOPIC, bytes);
        } catch (SerializationException e) {
            assertNotNull(e.getMessage());
            assertFalse(e.getMessage().isBlank(), "a refusal says why");
            return;
        }
        assertNotNull(got);
        assertEquals(got, documents.deserialize(TOPIC, documents.serialize(TOPIC, got)), "what decodes re-encodes");
    }

    private static byte[] withSchemaId(byte[] b, int id) {
        byte[] c = b.clone();
        ByteBuffer.wrap(c, 1, 4).putInt(id);
        return c;
    }

    private static Document minimal() {
        return Document.newBuilder().setDocId("m").setSource("s").setText("t").setSha256("00").setNumBytes(1)
                .setNumTokens(1).setTokenizer("byte").setNumChunks(1).setMetadata(Map.of()).setIngestedAt(Instant.EPOCH)
                .build();
    }
}

package dev.longpo.experiments;

import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.longpo.avro.TrainingSample;
import dev.longpo.files.AtomicFiles;
import dev.longpo.schema.AvroSerde;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.apache.avro.file.DataFileReader;
import org.apache.avro.file.DataFileWriter;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;

/**
 * The reproduction's folder: the training samples as an Avro container file ({@code samples.avro}, with
 * its schema, readable by any Avro tool), the pipeline summary, pi_S's evaluation and one JSON file per
 * finished arm. Every file is written atomically, so an interrupted run resumes from what is complete.
 */
final class ResultStore {
    /** NaN (a metric that does not apply, a length without a long task) is kept, as the string "NaN". */
    private static final ObjectMapper JSON = JsonMapper.builder().enable(SerializationFeature.INDENT_OUTPUT)
            .enable(JsonWriteFeature.WRITE_NAN_AS_STRINGS).enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build();
    private final Path dir;

    ResultStore(Path dir) {
        this.dir = dir;
    }

    boolean hasSamples() {
        return Files.isRegularFile(dir.resolve("samples.avro"));
    }

    void saveSamples(List<TrainingSample> samples, Reproduction.Pipeline pipeline) throws IOException {
        AtomicFiles.write(dir.resolve("samples.avro"), out -> {
            try (DataFileWriter<TrainingSample> w = new DataFileWriter<>(new SpecificDatumWriter<>(TrainingSample.class))) {
                w.create(TrainingSample.getClassSchema(), out);
                for (TrainingSample s : samples) {
                    w.append(s);
                }
            }
        });
        write("pipeline.json", pipeline);
    }

    List<TrainingSample> samples() throws IOException {
        AvroSerde.trustEventClasses();
        List<TrainingSample> out = new ArrayList<>();
        try (DataFileReader<TrainingSample> r = new DataFileReader<>(dir.resolve("samples.avro").toFile(),
                new SpecificDatumReader<>(TrainingSample.class))) {
            r.forEach(out::add);
        }
        return out;
    }

    Optional<Reproduction.Pipeline> pipeline() throws IOException {
        return read("pipeline.json", Reproduction.Pipeline.class);
    }

    void saveBase(Reproduction.Eval base) throws IOException {
        write("base.json", base);
    }

    Optional<Reproduction.Eval> base() throws IOException {
        return read("base.json", Reproduction.Eval.class);
    }

    void saveArm(Reproduction.ArmResult arm) throws IOException {
        write("arms/" + arm.arm() + ".json", arm);
    }

    Optional<Reproduction.ArmResult> arm(String name) throws IOException {
        return read("arms/" + name + ".json", Reproduction.ArmResult.class);
    }

    private void write(String name, Object value) throws IOException {
        AtomicFiles.write(dir.resolve(name), JSON.writeValueAsBytes(value));
    }

    private <T> Optional<T> read(String name, Class<T> type) throws IOException {
        Path f = dir.resolve(name);
        return Files.isRegularFile(f) ? Optional.of(JSON.readValue(f.toFile(), type)) : Optional.empty();
    }
}

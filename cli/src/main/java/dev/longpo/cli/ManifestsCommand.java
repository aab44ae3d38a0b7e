package dev.longpo.cli;

import dev.longpo.deploy.Manifests;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code longpo manifests --out DIR --image IMAGE}: Strimzi topics and users, Kubernetes workloads per role
 * and a compose file, generated from the topic registry and the roles under the current configuration.
 */
@Command(name = "manifests", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Write Strimzi, Kubernetes and compose manifests generated from the topic registry and the roles.")
final class ManifestsCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions options;

    @Option(names = "--out", required = true, description = "folder to write strimzi/, kubernetes/ and compose.yaml into")
    Path out;

    @Option(names = "--image", required = true, description = "the container image of the longpo command line")
    String image;

    @Override
    public Integer call() throws Exception {
        List<Path> files = new Manifests(options.load(), image).write(out);
        files.forEach(f -> System.out.println("wrote " + f));
        return 0;
    }
}

package dev.longpo.cli;

import dev.longpo.deploy.EmbeddedStack;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code longpo up}: start the embedded Kafka broker and schema registry and create the topics. */
@Command(name = "up", mixinStandardHelpOptions = true, versionProvider = Main.Version.class, description = "Start the embedded stack (Kafka KRaft broker + Apicurio registry) and create topics.")
final class UpCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions options;

    @Override
    public Integer call() throws Exception {
        EmbeddedStack stack = new EmbeddedStack(options.load());
        long t0 = System.nanoTime();
        EmbeddedStack.State s = stack.up();
        System.out.printf("stack up in %.1f s: kafka 127.0.0.1:%d (pid %d), registry http://127.0.0.1:%d (pid %d); data in %s%n",
                (System.nanoTime() - t0) / 1e9, s.kafkaPort(), s.kafkaPid(), s.registryPort(), s.registryPid(), stack.dir());
        return 0;
    }
}

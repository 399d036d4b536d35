// SearchLauncher starts an embedded OpenSearch 2.19.6 node on 127.0.0.1 for
// integration tests, CI and demos: the search engine behind Amundsen's people
// search (the user_search_index_v2_1 alias), without Docker and without a
// distribution download. scripts/search builds it with Maven (see pom.xml) and
// runs it:
//
//   java -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
//        -cp 'tools/search-launcher/target/classes:tools/search-launcher/target/lib/*' \
//        SearchLauncher HOME HTTP_PORT
//
// Arguments:
//   HOME       node home: data/ and logs/ are created beneath it
//   HTTP_PORT  REST port on 127.0.0.1 (the transport port is picked from 9300-9400)
//
// The node is a plain org.opensearch.node.Node with three classpath plugins,
// loaded through Node's protected constructor: Netty4Plugin (HTTP and
// transport), CommonAnalysisPlugin (the pattern tokenizer, kstem, stemmer and
// shingle filters of Amundsen's analyzers) and MapperExtrasPlugin
// (rank_features). One node, single-node discovery, no security plugin (plain
// HTTP, no auth), the disk-usage threshold off. Replicas are a cluster matter:
// scripts/search sets cluster.default_number_of_replicas=0 persistently once
// the node is up, so indices go green.
//
// It prints "SEARCH_STARTING pid=... version=..." first and, once the node has
// started, exactly one line "SEARCH_READY http://127.0.0.1:<port>" to stdout.
// It runs until SIGTERM/SIGINT; its shutdown hook closes the node (log4j's own
// shutdown hook is turned off so that logging lasts until the node is closed),
// then prints "SEARCH_STOPPED". Any failure prints a stack trace and exits 1.

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.opensearch.Version;
import org.opensearch.analysis.common.CommonAnalysisPlugin;
import org.opensearch.common.logging.LogConfigurator;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.index.mapper.MapperExtrasPlugin;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.plugins.Plugin;
import org.opensearch.transport.Netty4Plugin;

public class SearchLauncher {
    private static final String HOST = "127.0.0.1";
    private static final String NAME = "oktasync-search";

    /** A Node with the given classpath plugins (Node's public constructor loads none). */
    static final class EmbeddedNode extends Node {
        EmbeddedNode(Environment env, Collection<Class<? extends Plugin>> plugins) {
            super(env, plugins, true);
        }
    }

    public static void main(String[] args) {
        // Before anything touches log4j: its shutdown hook would stop logging
        // before ours has closed the node.
        System.setProperty("log4j2.shutdownHookEnabled", "false");
        System.setProperty("log4j.shutdownHookEnabled", "false");
        System.setProperty("log4j2.disable.jmx", "true");
        if (args.length != 2) {
            System.err.println("usage: SearchLauncher HOME HTTP_PORT");
            System.exit(64);
        }
        try {
            Path home = Path.of(args[0]).toAbsolutePath().normalize();
            int port = Integer.parseInt(args[1]);
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException("http port out of range: " + port);
            }
            Files.createDirectories(home.resolve("data"));
            Files.createDirectories(home.resolve("logs"));
            System.out.printf("SEARCH_STARTING pid=%d version=%s home=%s http=%s:%d heap=%dMiB%n",
                    ProcessHandle.current().pid(), Version.CURRENT, home, HOST, port,
                    Runtime.getRuntime().maxMemory() / (1024 * 1024));
            System.out.flush();

            Settings settings = Settings.builder()
                    .put("cluster.name", NAME)
                    .put("node.name", NAME)
                    .put("path.home", home.toString())
                    .put("path.data", home.resolve("data").toString())
                    .put("path.logs", home.resolve("logs").toString())
                    .put("network.host", HOST)
                    .put("http.port", port)
                    .put("transport.port", "9300-9400")
                    .put("http.type", "netty4")
                    .put("transport.type", "netty4")
                    .put("discovery.type", "single-node")
                    .put("cluster.routing.allocation.disk.threshold_enabled", false)
                    // With a small heap and SerialGC, the real-memory parent breaker trips
                    // on garbage not yet collected; count only what the breakers account.
                    .put("indices.breaker.total.use_real_memory", false)
                    .put("logger.level", "INFO")
                    .build();
            // Console logging (stdout, i.e. the launcher log), no log4j2.properties needed.
            LogConfigurator.registerErrorListener();
            LogConfigurator.setNodeName(NAME);
            LogConfigurator.configureWithoutConfig(settings);

            Environment env = InternalSettingsPreparer.prepareEnvironment(settings, Map.of(), null, () -> NAME);
            List<Class<? extends Plugin>> plugins = List.of(
                    Netty4Plugin.class, CommonAnalysisPlugin.class, MapperExtrasPlugin.class);
            Node node = new EmbeddedNode(env, plugins);

            CountDownLatch stopped = new CountDownLatch(1);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                System.out.println("SEARCH_STOPPING");
                System.out.flush();
                try {
                    node.close();
                    if (!node.awaitClose(20, TimeUnit.SECONDS)) {
                        System.out.println("SEARCH_STOP_TIMEOUT node did not close within 20 s");
                    }
                } catch (Exception e) {
                    e.printStackTrace();
                } finally {
                    System.out.println("SEARCH_STOPPED");
                    System.out.flush();
                    stopped.countDown();
                }
            }, "search-launcher-shutdown"));

            node.start();
            System.out.println("SEARCH_READY http://" + HOST + ":" + port);
            System.out.flush();
            stopped.await();
        } catch (Throwable t) {
            t.printStackTrace();
            System.out.flush();
            System.err.flush();
            Runtime.getRuntime().halt(1);
        }
    }
}
